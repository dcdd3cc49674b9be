"""Snippets: a short, HTML-escaped excerpt of the section of an item that best matches the query,
with the matched words wrapped in ``<em>``. Made only for the results a search returns."""

from __future__ import annotations

import html
import re
from functools import lru_cache

from assistant.search.documents import IndexedItem


@lru_cache(maxsize=4096)
def _highlighter(words: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile("|".join(re.escape(w) for w in words))


def make_snippet(item: IndexedItem, terms: set[str], preferred_section: str = "", width: int = 80) -> str:
    """A short, HTML-escaped excerpt of the best-matching section, matched words in <em>."""
    words = sorted({t for t in terms if len(t) >= 2} or terms, key=len, reverse=True)
    order = [preferred_section] if preferred_section in item.sections else []
    order += [label for label in item.sections if label not in order and label != "item"]
    text = next((item.sections[label] for label in order if any(w in item.sections[label] for w in words)),
                item.sections.get("conditions") or item.sections["item"])
    text = " ".join(text.split())
    first = min((text.find(w) for w in words if w in text), default=0)
    start = max(0, first - width // 4)
    excerpt = ("…" if start else "") + text[start:start + width] + ("…" if start + width < len(text) else "")
    if not words:
        return html.escape(excerpt)
    pieces, last = [], 0
    for match in _highlighter(tuple(words)).finditer(excerpt):
        pieces.append(html.escape(excerpt[last:match.start()]))
        pieces.append(f"<em>{html.escape(match.group(0))}</em>")
        last = match.end()
    pieces.append(html.escape(excerpt[last:]))
    return "".join(pieces)
