"""Passages: a guide cut into pieces that can answer on their own — each condition clause, each
material row with its notes, each fee, each time limit, each place, the online channel, each step,
each legal basis, each tip, each FAQ answer — and each situation's own rows. Pure: no database.

A passage knows its item, section, situation (None: the item's own row, true of every situation
unless the situation replaces that section) and version, so an answer quotes it verbatim and
cites where it came from.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from assistant.models import FaqEntry, Material, ServiceItem, Situation

# the guide's sections, as an answer names them, and the aspects each answers first
SECTIONS = {
    "conditions": "受理条件", "materials": "申请材料", "fees": "收费标准", "time_limit": "办理时限",
    "places": "办理地点", "online": "网上办理", "process": "办理流程", "phones": "咨询电话",
    "legal_basis": "设定依据", "notes": "温馨提示", "faq": "常见问题",
}
# sections a situation may replace (``Situation`` fields of the same meaning)
SITUATION_SECTIONS = ("conditions", "materials", "fees", "time_limit", "process", "notes")
_CLAUSES = re.compile(r"(?<=[。；;！!？?])|\n")  # a clause ends with a full stop, a semicolon or a line


@dataclass(frozen=True)
class Passage:
    item: str  # the item's code
    section: str  # a key of SECTIONS
    situation: str | None  # the situation's id, None for the item's own rows
    text: str  # quoted verbatim in answers
    version: int

    @property
    def section_name(self) -> str:
        return SECTIONS[self.section]


def clauses(text: str) -> list[str]:
    parts = [p.strip() for p in _CLAUSES.split(text or "")]
    return [p for p in parts if len(p) >= 2]


def material_row(material: Material) -> str:
    form = f"（{material.form}{f'{material.count}份' if material.count else ''}）" if material.form else ""
    optional = "〔视情况提供〕" if not material.required else ""
    notes = f"：{material.notes}" if material.notes else ""
    return f"{material.name}{form}{optional}{notes}"


def _time_rows(legal: str, promised: str) -> list[str]:
    rows = []
    if promised:
        rows.append(f"承诺时限：{promised}")
    if legal:
        rows.append(f"法定时限：{legal}")
    return rows


def _rows(section: str, source: ServiceItem | Situation) -> list[str]:
    """The rows of one section of an item or a situation (empty when it says nothing there)."""
    if section == "conditions":
        return clauses(source.conditions)
    if section == "materials":
        return [material_row(m) for m in source.materials]
    if section == "fees":
        return clauses(source.fees)
    if section == "time_limit":
        return _time_rows(source.legal_time_limit, source.promised_time_limit)
    if section == "process":
        return [step.strip() for step in source.process if step.strip()]
    if section == "notes":
        return clauses(source.notes)
    return []


def split_guide(item: ServiceItem, version: int, faq: Sequence[FaqEntry] = ()) -> list[Passage]:
    """Every passage of one item's guide: the item's own rows, then each situation's rows."""
    passages: list[Passage] = []

    def add(section: str, situation: str | None, rows: list[str]) -> None:
        passages.extend(Passage(item.code, section, situation, row, version) for row in rows if row)

    for section in SITUATION_SECTIONS:
        add(section, None, _rows(section, item))
    add("places", None, [f"{p.name}{f'（{p.address}）' if p.address and p.address != p.name else ''}"
                         f"{f'，办公时间：{p.hours}' if p.hours else ''}" for p in item.places])
    online = item.online
    if online.available:
        add("online", None, [f"可通过{online.channel or '网上渠道'}办理" + (f"：{online.note}" if online.note else "")])
    else:
        add("online", None, [f"暂不能全程网上办理{f'：{online.note}' if online.note else ''}"
                             f"{f'（{online.channel}）' if online.channel else ''}"])
    if item.visits is not None:
        add("online", None, ["可全程网办，不用跑窗口" if item.visits == 0 else f"最多跑{item.visits}次"])
    if item.phones.consult:
        add("phones", None, [f"咨询电话：{item.phones.consult}"
                             + (f"；投诉电话：{item.phones.complaint}" if item.phones.complaint else "")])
    add("legal_basis", None, list(item.legal_basis))
    for entry in faq:
        if entry.status == "active" and item.code in entry.items:
            add("faq", None, [f"问：{entry.question} 答：{entry.answer.strip()}"])
    for situation in item.situations:
        for section in SITUATION_SECTIONS:
            add(section, situation.id, _rows(section, situation))
    return passages


def for_situation(passages: list[Passage], item: ServiceItem, situation: str | None) -> list[Passage]:
    """The passages true of one situation: its own rows, and the item's rows of every section the
    situation does not replace. Without a situation: the item's own rows only."""
    if situation is None or item.situation(situation) is None:
        return [p for p in passages if p.situation is None]
    own = [p for p in passages if p.situation == situation]
    replaced = {p.section for p in own}
    return [*own, *(p for p in passages if p.situation is None and p.section not in replaced)]
