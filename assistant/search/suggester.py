"""Search-box completions (``/api/v1/suggest``): hot queries first, then item names and aliases,
matched by prefix of their characters, their full pinyin or their initials ("gj", "gongji", "身份").
The keys are sorted once per index snapshot; a completion is a binary search."""

from __future__ import annotations

import bisect
import re
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from assistant.search.documents import IndexedItem
from retrieval.lexical import normalize_text
from retrieval.pinyin import to_initials, to_pinyin

SuggestKeys = list[tuple[str, str, str]]  # (key, display, code), sorted by key
HotQueries = Callable[..., Awaitable[list[dict[str, Any]]]]


def build_suggest_keys(documents: Iterable[IndexedItem]) -> SuggestKeys:
    keys = []
    for doc in documents:
        for name in (doc.name, *doc.aliases):
            text = normalize_text(name)
            for key in {text, to_pinyin(text), to_initials(text)}:
                if key:
                    keys.append((key, name, doc.code))
    return sorted(keys)


class Suggester:
    def __init__(self, hot: HotQueries) -> None:
        self._hot = hot
        self.keys: SuggestKeys = []

    def use(self, documents: Iterable[IndexedItem]) -> None:
        """Complete from these items from now on (called with each new index snapshot, off the loop)."""
        self.keys = build_suggest_keys(documents)

    async def suggest(self, prefix: str, limit: int = 10) -> list[dict[str, str]]:
        """Completions for a search box: hot queries, then item names and aliases, by text or pinyin prefix."""
        text = normalize_text(prefix)
        if not text:
            return []
        latin = re.sub(r"[^a-z]", "", text)
        suggestions: list[dict[str, str]] = []
        seen: set[str] = set()
        for hot in await self._hot(limit=50):
            query = hot["query"]
            if query.startswith(text) or (latin and latin == re.sub(r"[^a-z]", "", text)
                                          and (to_pinyin(query).startswith(latin) or to_initials(query).startswith(latin))):
                suggestions.append({"text": query, "kind": "hot"})
                seen.add(query)
        keys = self.keys
        for key in {text, latin} - {""}:
            start = bisect.bisect_left(keys, (key, "", ""))
            for candidate, display, code in keys[start:start + 200]:
                if not candidate.startswith(key):
                    break
                if display not in seen:
                    suggestions.append({"text": display, "kind": "item", "code": code})
                    seen.add(display)
        return suggestions[:limit]
