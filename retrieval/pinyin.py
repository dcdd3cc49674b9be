"""Pinyin: conversions, and turning what people type in pinyin or with homophone typos back into
the words of our own vocabulary.

"gjj tiqu" → 公积金 提取, "jiehundengji" → 结婚 登记, "结昏登记" → 结婚 登记, "户照" → 护照.
The vocabulary is the words of item names, aliases and synonyms; a query's syllables are
segmented into vocabulary words by dynamic programming (longest words first), and initials
("sfz", "dzyyzz") map to the most frequent vocabulary word with those initials.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from functools import cache

from pypinyin import Style, lazy_pinyin, pinyin_dict

_CJK = re.compile(r"[\u3400-\u9fff]")
_CJK_RUN = re.compile(r"[\u3400-\u9fff]+")
_LATIN_WORD = re.compile(r"[a-z]+")
MAX_WORD_SYLLABLES = 8


def to_pinyin(text: str) -> str:
    return "".join(lazy_pinyin(text, errors="ignore")).lower()


def to_initials(text: str) -> str:
    return "".join(lazy_pinyin(text, style=Style.FIRST_LETTER, errors="ignore")).lower()


@cache
def _syllables() -> frozenset[str]:
    """Every toneless pinyin syllable, from pypinyin's own dictionary (ü written as v)."""
    found = set()
    for readings in pinyin_dict.pinyin_dict.values():
        for reading in readings.split(","):
            bare = "".join(c for c in unicodedata.normalize("NFD", reading) if not unicodedata.combining(c))
            found.add(bare.lower().replace("ü", "v"))
    return frozenset(found - {"m", "n", "ng", "hm", "hng"})  # interjections that would match any consonant


@cache
def split_pinyin(word: str) -> tuple[str, ...] | None:
    """``"jiashizheng"`` → ``("jia", "shi", "zheng")``; None if the word is not pinyin ("card")."""
    if not word:
        return ()
    for end in range(min(6, len(word)), 0, -1):
        if word[:end] in _syllables():
            rest = split_pinyin(word[end:])
            if rest is not None:
                return (word[:end], *rest)
    return None


class PinyinVocabulary:
    def __init__(self) -> None:
        self._by_syllables: dict[tuple[str, ...], str] = {}
        self._by_initials: dict[str, str] = {}

    def build(self, words: Iterable[str]) -> None:
        """``words`` may repeat: a word seen more often wins a tie between homophones."""
        counts = Counter(w for w in words if len(w) >= 2 and _CJK.fullmatch(w[0]) and _CJK_RUN.fullmatch(w))
        by_syllables: dict[tuple[str, ...], str] = {}
        by_initials: dict[str, str] = {}
        for word, _ in sorted(counts.items(), key=lambda kv: (-kv[1], -len(kv[0]), kv[0])):
            syllables = tuple(lazy_pinyin(word))
            if len(syllables) <= MAX_WORD_SYLLABLES:
                by_syllables.setdefault(syllables, word)
                by_initials.setdefault(to_initials(word), word)
        self._by_syllables, self._by_initials = by_syllables, by_initials

    def _segment(self, syllables: tuple[str, ...]) -> list[str | None]:
        """Cover the syllables with vocabulary words (None marks a syllable no word covers),
        preferring fewer, longer words."""
        n = len(syllables)
        best: list[tuple[int, list[str | None]] | None] = [None] * (n + 1)
        best[0] = (0, [])
        for i in range(n):
            current = best[i]
            if current is None:
                continue
            cost, words = current
            for length in range(min(MAX_WORD_SYLLABLES, n - i), 0, -1):
                word = self._by_syllables.get(syllables[i:i + length]) if length >= 2 else None
                step = (cost + 1, [*words, word]) if word else (cost + 3, [*words, None]) if length == 1 else None
                prior = best[i + length]
                if step and (prior is None or step[0] < prior[0]):
                    best[i + length] = step
        last = best[n]
        return last[1] if last else []

    def transliterate(self, text: str) -> tuple[str, list[str]]:
        """Replace pinyin words by vocabulary words; also return homophone corrections of the
        Chinese parts (words the query sounds like but does not contain)."""
        replaced = []
        for word in text.split(" "):
            parts = []
            for piece in re.split(r"([a-z]+)", word):
                if not _LATIN_WORD.fullmatch(piece):
                    parts.append(piece)
                    continue
                syllables = split_pinyin(piece)
                segmented = self._segment(syllables) if syllables and len(syllables) >= 2 else []
                if segmented and all(segmented):
                    parts.append("".join(w for w in segmented if w))
                elif 2 <= len(piece) <= 8 and piece in self._by_initials:
                    parts.append(self._by_initials[piece])
                else:
                    parts.append(piece)
            replaced.append("".join(parts))
        converted = " ".join(replaced)

        corrections = []
        for run in _CJK_RUN.findall(converted):
            for heard in self._segment(tuple(lazy_pinyin(run))):
                if heard and heard not in run and heard not in corrections:
                    corrections.append(heard)
        return converted, corrections
