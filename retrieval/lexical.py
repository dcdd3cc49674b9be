"""The lexical index: jieba tokenisation with a user dictionary, and field-weighted BM25.

jieba's search mode emits a compound word *and* its parts ("住房公积金提取" → 住房, 公积金,
提取, 住房公积金提取), and the user dictionary (item names, aliases, synonyms) keeps our own
compound names whole, so both the full name and its parts match. Documents can be added,
replaced and removed one at a time; nothing is ever rebuilt.
"""

from __future__ import annotations

import math
import re
import threading
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping

import jieba

# words that carry no meaning for finding an item; removing them keeps BM25 on the content words
STOPWORDS = frozenset("""
的 了 吗 呢 吧 啊 呀 么 嘛 是 在 有 和 与 及 或 我 你 他 她 我们 你们 要 想 想要 需要 需 请问 请 问 一下 一个
怎么 怎么办 怎样 怎么样 如何 什么 啥 哪里 哪儿 哪个 哪些 多少 几 能 能不能 可以 可不可以 吗 是否 还 就 都 也
办 办理 去 到 给 把 被 让 对 这个 那个 这 那 该 应该 之后 以后 现在 已经 没有 不 没 个 些 时候 里 上 下 中
事情 事儿 东西 问题 情况 方面 相关
the a an of to for and or is are how what i my me do does can
""".split())

_SPLIT_SPACES = re.compile(r"\s+")
_WORD = re.compile(r"[\w\u3400-\u9fff]", re.UNICODE)


def normalize_text(text: str) -> str:
    """NFKC (full-width → half-width), lower case, collapsed spaces."""
    return _SPLIT_SPACES.sub(" ", unicodedata.normalize("NFKC", text)).strip().lower()


class Tokenizer:
    def __init__(self, extra_stopwords: Iterable[str] = ()) -> None:
        self.stopwords = STOPWORDS | {normalize_text(w) for w in extra_stopwords}
        self._jieba = jieba.Tokenizer()
        self._jieba.initialize()
        self._known: set[str] = set()
        self._lock = threading.Lock()  # jieba's add_word mutates shared dictionaries

    def add_words(self, words: Iterable[str]) -> None:
        with self._lock:
            for word in words:
                word = normalize_text(word)
                if len(word) >= 2 and word not in self._known and " " not in word:
                    self._jieba.add_word(word, freq=200_000)
                    self._known.add(word)

    def tokenize(self, text: str) -> list[str]:
        with self._lock:
            pieces = self._jieba.lcut_for_search(normalize_text(text))
        return [p for p in pieces if p.strip() and p not in self.stopwords and _WORD.search(p)]


class BM25Index:
    """Okapi BM25 per field, summed with field weights (a simple BM25F)."""

    def __init__(self, tokenizer: Tokenizer, field_weights: Mapping[str, float], *, k1: float = 1.2,
                 b: float = 0.75) -> None:
        self.tokenizer = tokenizer
        self.field_weights = dict(field_weights)
        self.k1, self.b = k1, b
        self._postings: dict[str, dict[str, dict[str, int]]] = {f: defaultdict(dict) for f in field_weights}
        self._lengths: dict[str, dict[str, int]] = {f: {} for f in field_weights}
        self._total_length: dict[str, int] = dict.fromkeys(field_weights, 0)
        self._doc_terms: dict[str, dict[str, Counter[str]]] = {}
        self._lock = threading.RLock()

    def __len__(self) -> int:
        return len(self._doc_terms)

    def __contains__(self, doc_id: str) -> bool:
        return doc_id in self._doc_terms

    def upsert(self, doc_id: str, fields: Mapping[str, str]) -> None:
        terms = {f: Counter(self.tokenizer.tokenize(fields.get(f, ""))) for f in self.field_weights}
        with self._lock:
            self.remove(doc_id)
            for f, counts in terms.items():
                for term, tf in counts.items():
                    self._postings[f][term][doc_id] = tf
                length = sum(counts.values())
                self._lengths[f][doc_id] = length
                self._total_length[f] += length
            self._doc_terms[doc_id] = terms

    def remove(self, doc_id: str) -> None:
        with self._lock:
            terms = self._doc_terms.pop(doc_id, None)
            if terms is None:
                return
            for f, counts in terms.items():
                for term in counts:
                    postings = self._postings[f][term]
                    postings.pop(doc_id, None)
                    if not postings:
                        del self._postings[f][term]
                self._total_length[f] -= self._lengths[f].pop(doc_id)

    def search(self, tokens: list[str], top_k: int, allowed: set[str] | None = None) -> list[tuple[str, float]]:
        scores: dict[str, float] = defaultdict(float)
        with self._lock:
            n = len(self._doc_terms)
            if not n:
                return []
            for f, weight in self.field_weights.items():
                average = (self._total_length[f] / n) or 1.0
                lengths = self._lengths[f]
                for term in set(tokens):
                    postings = self._postings[f].get(term)
                    if not postings:
                        continue
                    idf = math.log(1 + (n - len(postings) + 0.5) / (len(postings) + 0.5))
                    for doc_id, tf in postings.items():
                        if allowed is not None and doc_id not in allowed:
                            continue
                        norm = tf * (self.k1 + 1) / (tf + self.k1 * (1 - self.b + self.b * lengths[doc_id] / average))
                        scores[doc_id] += weight * idf * norm
        return sorted(scores.items(), key=lambda kv: -kv[1])[:top_k]

    def known(self, term: str) -> bool:
        """Whether any document contains the term at all."""
        return any(term in postings for postings in self._postings.values())

    def matched_terms(self, doc_id: str, tokens: list[str]) -> set[str]:
        """Which query tokens occur anywhere in the document (for coverage and highlighting)."""
        terms = self._doc_terms.get(doc_id, {})
        return {t for t in tokens if any(t in counts for counts in terms.values())}
