"""Fuzzy and pinyin matching of a query against document names (names and aliases).

People type "公积斤" (a homophone typo), "gongjijin" (full pinyin), "gjj" (initials) or
"jiashizheng huanzheng". Each name is kept three ways — its characters, its toneless full
pinyin and its initials — and the query is compared with whichever forms fit what was typed,
using rapidfuzz's partial matching so that a name found inside a longer query counts.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from rapidfuzz import fuzz, process

from retrieval.lexical import normalize_text
from retrieval.pinyin import split_pinyin, to_initials, to_pinyin

_CJK = re.compile(r"[\u3400-\u9fff]")
_NOT_CJK = re.compile(r"[^\u3400-\u9fff]+")
_LATIN_WORD = re.compile(r"[a-z]+")
# function words that only dilute a character-level comparison
_FILLER = re.compile(r"怎么办|怎么|如何|怎样|办理|需要|什么|哪里|哪儿|可以|能否|请问|一下|我想|我要|我的|想要|要求|的|了|吗|呢|啊|呀|吧")


MAX_NAME_LIKE_CHARS = 16


@dataclass(frozen=True)
class _Names:
    """Every name three ways, plus what bounds a character comparison without running it."""

    owners: list[str]
    chars: list[str]
    pinyins: list[str]
    initials: list[str]
    char_lengths: np.ndarray  # len(chars[i])
    char_postings: dict[str, tuple[np.ndarray, np.ndarray]]  # character → (name indexes, its count in each)

    def char_candidates(self, text: str, score_cutoff: float) -> np.ndarray | None:
        """Indexes of the names whose ``partial_ratio`` with ``text`` can reach ``score_cutoff``
        (None: all of them). An upper bound, so the comparison's result is unchanged: with c
        characters in common (as multisets) and L the shorter length, every alignment
        partial_ratio scores is 2·LCS/(L + k) for a window of k ≤ L characters, with
        LCS ≤ min(c, k), so at most 2c/(L + c)."""
        if score_cutoff <= 0:
            return None
        common = np.zeros(len(self.chars), dtype=np.float64)
        for char, count in Counter(text).items():
            posting = self.char_postings.get(char)
            if posting is not None:
                indexes, counts = posting
                common[indexes] += np.minimum(counts, count)
        shorter = np.minimum(self.char_lengths, len(text))
        bound = 200.0 * common / np.maximum(shorter + common, 1)
        return np.flatnonzero((common > 0) & (bound >= score_cutoff - 1e-6))


class FuzzyNameIndex:
    def __init__(self, *, score_cutoff: float = 60.0) -> None:
        self.score_cutoff = score_cutoff
        self._names: dict[str, list[str]] = {}
        self._forms_cache: dict[str, tuple[str, str, str]] = {}
        self._arrays: _Names | None = None
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._names)

    def upsert(self, doc_id: str, names: Iterable[str]) -> None:
        cleaned = []
        for name in names:
            name = normalize_text(name)
            if len(name) >= 2 and name not in cleaned:
                cleaned.append(name)
        with self._lock:
            self._names[doc_id] = cleaned
            self._arrays = None  # rebuilt on the next search; cheap next to an embedding

    def remove(self, doc_id: str) -> None:
        with self._lock:
            if self._names.pop(doc_id, None) is not None:
                self._arrays = None

    def _forms(self, name: str) -> tuple[str, str, str]:
        forms = self._forms_cache.get(name)
        if forms is None:
            forms = (name, to_pinyin(name), to_initials(name))
            self._forms_cache[name] = forms
        return forms

    def _build(self) -> _Names:
        owners, chars, pinyins, initials = [], [], [], []
        for doc_id, names in self._names.items():
            for name in names:
                name_chars, name_pinyin, name_initials = self._forms(name)
                owners.append(doc_id)
                chars.append(name_chars)
                pinyins.append(name_pinyin)
                initials.append(name_initials)
        postings: dict[str, tuple[list[int], list[int]]] = {}
        for index, name in enumerate(chars):
            for char, count in Counter(name).items():
                indexes, counts = postings.setdefault(char, ([], []))
                indexes.append(index)
                counts.append(count)
        return _Names(owners, chars, pinyins, initials,
                      char_lengths=np.fromiter(map(len, chars), dtype=np.float64, count=len(chars)),
                      char_postings={char: (np.asarray(indexes, dtype=np.intp), np.asarray(counts, dtype=np.float64))
                                     for char, (indexes, counts) in postings.items()})

    def prepare(self) -> _Names:
        """Compute the pinyin forms of every name (done lazily otherwise)."""
        with self._lock:
            if self._arrays is None:
                self._arrays = self._build()
            return self._arrays

    def search(self, query: str, top_k: int, allowed: set[str] | None = None) -> list[tuple[str, float, str]]:
        """(doc id, score 0–1, the matched name), best first."""
        names = self.prepare()
        owners, chars, pinyins, initials = names.owners, names.chars, names.pinyins, names.initials
        query = normalize_text(query)
        core = _FILLER.sub("", _NOT_CJK.sub("", query))
        words = _LATIN_WORD.findall(query)
        syllables = [split_pinyin(w) for w in words]
        typed_pinyin = "".join(w for w, s in zip(words, syllables, strict=True) if s)
        # (query form, name forms, which of them can match (None: all), scorer, weight):
        # homophone and pinyin matches are a little less sure
        comparisons = []
        # a long sentence is not a mistyped name: the lexical and vector methods handle those,
        # and partial matching costs grow with the query's length
        if 2 <= len(core) <= MAX_NAME_LIKE_CHARS:
            # characters: only names sharing enough of them can score (most share none)
            comparisons.append((core, chars, names.char_candidates(core, self.score_cutoff), fuzz.partial_ratio, 1.0))
            comparisons.append((to_pinyin(core), pinyins, None, fuzz.partial_ratio, 0.95))
        if len(typed_pinyin) >= 4:
            comparisons.append((typed_pinyin, pinyins, None, fuzz.partial_ratio, 0.95))
        if words and not _CJK.search(query):
            # "gjj", "sfz bl", "gjj tiqu": every word as initials (pinyin words contribute theirs)
            typed_initials = "".join("".join(p[0] for p in s) if s and len(s) > 1 else w
                                     for w, s in zip(words, syllables, strict=True))
            if 2 <= len(typed_initials) <= 10:
                scorer = fuzz.ratio if len(typed_initials) <= 3 else fuzz.partial_ratio
                comparisons.append((typed_initials, initials, None, scorer, 0.9))

        best: dict[str, tuple[float, str]] = {}
        for text, choices, candidates, scorer, weight in comparisons:
            # the candidates keep their order, so ties among the first top_k * 4 fall as over all names
            subset = choices if candidates is None else [choices[i] for i in candidates.tolist()]
            for _, score, position in process.extract(text, subset, scorer=scorer, limit=top_k * 4,
                                                      score_cutoff=self.score_cutoff):
                index = position if candidates is None else int(candidates[position])
                doc_id = owners[index]
                if allowed is not None and doc_id not in allowed:
                    continue
                # a name found inside a much longer query is only partly what was asked
                coverage = min(1.0, len(choices[index]) / max(len(text), 1)) ** 0.25
                value = score / 100 * weight * coverage
                if value > best.get(doc_id, (0.0, ""))[0]:
                    best[doc_id] = (value, chars[index])
        ranked = sorted(best.items(), key=lambda kv: -kv[1][0])[:top_k]
        return [(doc_id, score, name) for doc_id, (score, name) in ranked]
