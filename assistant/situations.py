"""Which situation (情形) of an item a person is in, read from their words: "身份证丢了" is 遗失补领,
"租房子住想取公积金" is 租房提取. Pure: no database, no model.

A situation is recognised by its name and aliases, and by the words of its name that no other
situation of the same item shares ("遗失补领" → 遗失; "补领" is shared by every situation of
居民身份证补领 and tells nothing).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from assistant.models import ServiceItem, Situation
from assistant.passages import SITUATION_SECTIONS
from retrieval.lexical import normalize_text

_SPLIT = re.compile(r"[（）()、，,/\s]+|或|和|及|与")
# an aspect → the sections of the guide its answer quotes; the answer depends on the situation only
# when a situation replaces one of them
ASPECT_SECTIONS = {
    None: ("conditions", "materials", "fees", "time_limit"), "材料": ("materials",), "条件": ("conditions",),
    "时限": ("time_limit",), "费用": ("fees",), "流程": ("process",), "是否需要材料": ("materials",),
    "金额标准": ("conditions", "fees", "notes"), "待遇期限": ("conditions", "notes"),
    "截止时间": ("conditions", "notes", "time_limit"), "次数频率": ("conditions", "notes"),
    "代办委托": ("conditions", "materials"),
}


def _words(situation: Situation) -> list[str]:
    names = [normalize_text(situation.name), *(normalize_text(a) for a in situation.aliases)]
    parts = [p for name in names[:1] for p in _SPLIT.split(name) if len(p) >= 2]
    return [n for n in [*names, *parts] if len(n) >= 2]


def _distinctive(item: ServiceItem) -> dict[str, list[str]]:
    """Each situation's words that are neither another situation's nor the item's own name."""
    words = {s.id: _words(s) for s in item.situations}
    item_name = normalize_text(item.name)
    distinctive = {}
    for situation_id, own in words.items():
        others = {w for other, ws in words.items() if other != situation_id for w in ws}
        distinctive[situation_id] = [w for w in own if w not in others and w not in item_name]
    return distinctive


def detect(item: ServiceItem, text: str) -> Situation | None:
    """The situation the text names, or None when it names none or two equally."""
    if not item.situations:
        return None
    norm = normalize_text(text)
    best: list[tuple[int, str]] = []
    for situation_id, words in _distinctive(item).items():
        found = [w for w in words if w in norm]
        if found:
            best.append((max(len(w) for w in found), situation_id))
    if not best:
        return None
    best.sort(reverse=True)
    if len(best) > 1 and best[0][0] == best[1][0]:
        return None  # two situations named as clearly: ask rather than guess
    return item.situation(best[0][1])


def choose(item: ServiceItem, text: str, offered: Iterable[str]) -> Situation | None:
    """A reply to "which situation": a number of the offered list ("2", "第二个") or its words."""
    offered = list(offered)
    norm = normalize_text(text).replace(" ", "")
    match = re.match(r"^(?:第)?([1-9一二两三四五六七八九])(?:个|种|项|条)?", norm)
    numerals = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
    if match and len(norm) <= 4:
        raw = match.group(1)
        index = int(raw) if raw.isdigit() else numerals[raw]
        return item.situation(offered[index - 1]) if 1 <= index <= len(offered) else None
    for situation in item.situations:
        if situation.id in offered and normalize_text(situation.name) in norm:
            return situation
    return detect(item, text)


def matters(item: ServiceItem, aspects: list[str]) -> bool:
    """Whether the answer to these aspects differs between the item's situations."""
    if not item.situations:
        return False
    sections = {s for aspect in (aspects or [None]) for s in ASPECT_SECTIONS.get(aspect, ())}  # type: ignore[arg-type]
    for situation in item.situations:
        for section in SITUATION_SECTIONS:
            if section in sections and _replaces(situation, section):
                return True
    return False


def _replaces(situation: Situation, section: str) -> bool:
    if section == "time_limit":
        return bool(situation.legal_time_limit or situation.promised_time_limit)
    return bool(getattr(situation, section))


def apply(item: ServiceItem, situation: Situation | None) -> ServiceItem:
    """The item as it reads for one situation: the situation's fields in place of the item's."""
    if situation is None:
        return item
    changes = {field: getattr(situation, field) for field in
               ("conditions", "materials", "legal_time_limit", "promised_time_limit", "fees", "process", "notes")
               if getattr(situation, field)}
    return item.model_copy(update=changes)
