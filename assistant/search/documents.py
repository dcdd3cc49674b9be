"""What the search indexes hold of one service item (``IndexedItem``): its facets, the sections
that are embedded and quoted in snippets, the fields BM25 weighs, and a fingerprint of all of it,
built from catalog records by ``build_documents`` (pure: no database, no models)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, fields
from functools import cached_property

from assistant.catalog import ItemRecord
from assistant.models import FaqEntry, Synonym
from assistant.search.results import FACETS, SearchFilters

SECTION_CHARS = 300  # a section's text is embedded up to this length


@dataclass(frozen=True)
class IndexedItem:
    """What the indexes hold of one item: its facets, its texts, and a fingerprint of both."""

    code: str
    name: str
    aliases: tuple[str, ...]
    department: str
    item_type: str
    audience: tuple[str, ...]
    level: str
    district: str
    sections: dict[str, str]  # label → text; embedded, and used for snippets
    lexical_fields: dict[str, str]
    fingerprint: str

    def facet_value(self, facet: str) -> Sequence[str]:
        value = getattr(self, facet)
        return value if isinstance(value, tuple) else (value,) if value else ()

    @cached_property
    def facet_values(self) -> dict[str, Sequence[str]]:
        """Every facet's values, worked out once per item rather than once per search."""
        return {facet: self.facet_value(facet) for facet in FACETS}

    def passes(self, filters: SearchFilters) -> bool:
        values = self.facet_values
        return all(getattr(filters, f.name) is None or getattr(filters, f.name) in values[f.name]
                   for f in fields(filters))


def build_documents(records: list[ItemRecord], faq: list[FaqEntry], synonyms: list[Synonym]) -> dict[str, IndexedItem]:
    questions: dict[str, list[FaqEntry]] = {}
    for entry in faq:
        for code in entry.items:
            questions.setdefault(code, []).append(entry)
    documents = {}
    for record in records:
        item = record.item
        names = [item.name, *item.aliases]
        # a colloquial term whose official term is in a name becomes an extra alias (教资 → 教师资格认定)
        colloquial = [s.colloquial for s in synonyms
                      if any(s.official in n for n in names) and s.colloquial not in names]
        linked = questions.get(item.code, [])[:10]
        sections = {"item": "；".join([item.name, *item.aliases[:10]])}
        if item.conditions:
            sections["conditions"] = item.conditions[:SECTION_CHARS]
        if item.materials:
            sections["materials"] = ("申请材料：" + "、".join(m.name for m in item.materials))[:SECTION_CHARS]
        for entry in linked:
            sections[f"faq:{entry.id}"] = entry.question
        situation_words = [w for s in item.situations for w in (s.name, *s.aliases)]
        if situation_words:
            sections["situations"] = ("办理情形：" + "、".join(situation_words))[:SECTION_CHARS]
        body = "\n".join([item.conditions, "、".join(m.name for m in item.materials), *item.process, item.notes,
                          item.fees, item.legal_time_limit, item.promised_time_limit,
                          *(s.conditions for s in item.situations)])
        lexical_fields = {"name": item.name, "aliases": " ".join([*item.aliases, *colloquial]),
                          "faq": " ".join(e.question for e in linked), "situations": " ".join(situation_words),
                          "body": body, "department": item.department}
        fingerprint = hashlib.sha256("\0".join(
            [record.item.content_hash(), *sections.values(), *colloquial]).encode()).hexdigest()
        documents[item.code] = IndexedItem(
            code=item.code, name=item.name, aliases=tuple(item.aliases), department=item.department,
            item_type=item.item_type, audience=tuple(item.audience), level=item.level, district=item.district,
            sections=sections, lexical_fields=lexical_fields, fingerprint=fingerprint)
    return documents
