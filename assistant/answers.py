"""Grounded answers: jinja2 templates that render the curated records' own fields. The default
answer path never generates free text; every reply names the records it used."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2

from assistant.catalog import ItemRecord
from assistant.models import FaqEntry
from assistant.reply import Card, Reply, Source

TEMPLATES = Path(__file__).parent / "templates"

# aspect (as the intents package names it) → template
ASPECT_TEMPLATES = {
    None: "overview.j2", "材料": "materials.j2", "条件": "conditions.j2", "时限": "time_limit.j2",
    "费用": "fees.j2", "地点": "places.j2", "流程": "process.j2", "电话": "phones.j2", "在线办理": "online.j2",
}


class AnswerRenderer:
    def __init__(self) -> None:
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(TEMPLATES), undefined=jinja2.StrictUndefined,
            autoescape=False, trim_blocks=False, keep_trailing_newline=False)  # plain text, not HTML
        self.env.filters["first_line"] = lambda text: text.strip().splitlines()[0] if text.strip() else ""

    def text(self, template: str, **values: Any) -> str:
        return self.env.get_template(template).render(**values).strip()

    def faq_answer(self, faq: FaqEntry, version: int, items: list[ItemRecord], *, confidence: float,
                   aspect: str | None) -> Reply:
        return Reply(
            text=self.text("faq.j2", faq=faq, item_names=[r.item.name for r in items]),
            intent="consult", confidence=confidence, aspect=aspect,
            cards=[Card(title=r.item.name, description=r.item.department, item_code=r.item.code) for r in items],
            quick_replies=["要带什么材料", "在哪里办"],
            sources=[Source("faq", faq.id, faq.question, version),
                     *(Source("service_item", r.item.code, r.item.name, r.version) for r in items)],
        )

