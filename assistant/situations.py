"""Which situation (情形) of an item a person is in, read from their words: "身份证丢了" is 遗失补领,
"租房子住想取公积金" is 租房提取. Pure: no database, no model.

A situation is recognised by its name and aliases, and by the words of its name that no other
situation of the same item shares ("遗失补领" → 遗失; "补领" is shared by every situation of
居民身份证补领 and tells nothing).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from assistant.models import ServiceItem, Situation
from assistant.passages import SITUATION_SECTIONS
from retrieval.lexical import Tokenizer, normalize_text

_SPLIT = re.compile(r"[（）()、，,/\s]+|或|和|及|与")
# an aspect → the sections of the guide its answer quotes; the answer depends on the situation only
# when a situation replaces one of them
# (no aspect: the overview answers at once and offers the situations as quick replies)
ASPECT_SECTIONS: dict[str, tuple[str, ...]] = {
    "材料": ("materials",), "条件": ("conditions",),
    "时限": ("time_limit",), "费用": ("fees",), "流程": ("process",), "是否需要材料": ("materials",),
    "金额标准": ("conditions", "fees", "notes"), "待遇期限": ("conditions", "notes"),
    "截止时间": ("conditions", "notes", "time_limit"), "次数频率": ("conditions", "notes"),
    "代办委托": ("conditions", "materials"),
}


_TOKENIZER: Tokenizer | None = None


def _tokens(text: str) -> list[str]:
    global _TOKENIZER
    if _TOKENIZER is None:
        _TOKENIZER = Tokenizer()
    return _TOKENIZER.tokenize(text)


# words of situation names that say nothing about which case it is
_GENERIC = {"登记", "项目", "信息", "办理", "申请", "申领", "人员", "证明", "日期", "情形", "出来", "成都", "四川", "本市"}


def _words(situation: Situation, item_words: set[str]) -> set[str]:
    """Its name and aliases whole, the words of its name, and each alias without the item's own
    words ("身份证到期" → 到期)."""
    names = [normalize_text(n) for n in (situation.name, *situation.aliases)]
    words = set(names) | {p for p in _SPLIT.split(names[0])} | set(_tokens(names[0]))
    for alias in names[1:]:
        for own in sorted(item_words, key=len, reverse=True):
            alias = alias.replace(own, " ")
        words |= set(alias.split())
    return {w for w in words if len(w) >= 2 and w not in _GENERIC}


@lru_cache(maxsize=512)
def _distinctive_words(key: tuple[str, tuple[tuple[str, str, tuple[str, ...]], ...]]) -> dict[str, list[str]]:
    item_name, rows = key
    item_words = {w for w in (normalize_text(item_name), *_tokens(item_name)) if len(w) >= 2}
    words = {sid: _words(Situation(id=sid, name=name, aliases=list(aliases)), item_words)
             for sid, name, aliases in rows}
    distinctive = {}
    for situation_id, own in words.items():
        others = {w for other, ws in words.items() if other != situation_id for w in ws}
        distinctive[situation_id] = sorted(w for w in own if w not in others and not any(w in i for i in item_words))
    return distinctive


def _distinctive(item: ServiceItem) -> dict[str, list[str]]:
    """Each situation's words that are neither another situation's nor the item's own name's."""
    return _distinctive_words((item.name, tuple((s.id, s.name, tuple(s.aliases)) for s in item.situations)))


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
    sections = {s for aspect in aspects for s in ASPECT_SECTIONS.get(aspect, ())}
    for situation in item.situations:
        for section in SITUATION_SECTIONS:
            if section in sections and _replaces(situation, section):
                return True
    return False


def item_says(item: ServiceItem, aspects: list[str]) -> bool:
    """Whether the item's own rows say anything for these aspects (rows for every situation, or a
    summary of them): then they are answered at once and the situations offered beside them."""
    sections = {s for aspect in aspects for s in ASPECT_SECTIONS.get(aspect, ())}
    return any(_replaces(item, section) for section in sections)


def _replaces(situation: Situation | ServiceItem, section: str) -> bool:
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
