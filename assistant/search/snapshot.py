"""The index snapshot: everything one search reads, published as a whole.

``IndexSnapshot`` is frozen: the item table, the synonym pairs, the distinctive words, the pinyin
vocabulary and the allowed filter values of a snapshot never change once it is published; a sync
builds the next snapshot and swaps it in with one assignment, so a search that started on the old
one finishes on it. The three component indexes (jieba/BM25, fuzzy names, faiss vectors) are
the exception, for cost: they are updated item by item in place under their own locks rather than
copied on every edit, and each snapshot refers to them.

``apply_changes`` makes the next snapshot from the previous one and the catalog's changes; it
needs no database, so a test can build a snapshot from documents in memory.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from assistant.models import Synonym
from assistant.search.documents import IndexedItem
from assistant.search.results import FACETS
from retrieval.fuzzy import FuzzyNameIndex
from retrieval.lexical import BM25Index, Tokenizer, normalize_text
from retrieval.pinyin import PinyinVocabulary
from retrieval.vector import VectorIndex

# situations (办理情形: their names and the words people use for them) weigh as the FAQ questions do:
# curated words of the item's own cases, weaker than its names (set so, not tuned)
FIELD_WEIGHTS = {"name": 3.0, "aliases": 2.0, "faq": 1.5, "situations": 1.5, "body": 0.6, "department": 0.5}
# words in nearly every local guide: they only add noise to a lexical match
LOCAL_STOPWORDS = ("成都", "成都市", "四川", "四川省", "本市", "市民")
DISTINCTIVE_MAX_ITEMS = 5


@dataclass(frozen=True)
class IndexSnapshot:
    items: Mapping[str, IndexedItem]
    tokenizer: Tokenizer
    lexical: BM25Index
    fuzzy: FuzzyNameIndex
    vectors: VectorIndex | None  # None without an embedder
    vector_ready: bool  # every item's vectors are in ``vectors`` (searches use them only then)
    pinyin: PinyinVocabulary
    synonyms: tuple[tuple[str, str], ...]  # (colloquial, official), normalised, longest colloquial first
    synonym_terms: tuple[str, ...]  # both sides of every synonym, longest first
    distinctive_words: frozenset[str]
    allowed_values: Mapping[str, list[str]]  # facet → its valid filter values

    @property
    def methods(self) -> list[str]:
        """The methods this snapshot can answer with."""
        return ["lexical", "fuzzy"] if not self.vector_ready else ["lexical", "vector", "fuzzy"]


def empty_snapshot(tokenizer: Tokenizer, vector_dim: int | None = None) -> IndexSnapshot:
    """A snapshot of nothing, with fresh component indexes (``vector_dim``: the embedder's, if any)."""
    return IndexSnapshot(
        items={}, tokenizer=tokenizer, lexical=BM25Index(tokenizer, FIELD_WEIGHTS), fuzzy=FuzzyNameIndex(),
        vectors=VectorIndex(vector_dim) if vector_dim else None, vector_ready=False, pinyin=PinyinVocabulary(),
        synonyms=(), synonym_terms=(), distinctive_words=frozenset(), allowed_values=_allowed_values({}))


def apply_changes(previous: IndexSnapshot, documents: dict[str, IndexedItem], changed: Iterable[IndexedItem],
                  removed: Iterable[str], synonyms: list[Synonym]) -> IndexSnapshot:
    """Put ``changed`` into the component indexes, take ``removed`` out, and derive the next snapshot
    (``documents``: every item now in the catalog). Vectors of changed items are the index's job."""
    changed, tokenizer = list(changed), previous.tokenizer
    tokenizer.add_words(
        [w for d in changed for w in (d.name, *d.aliases)] + [t for s in synonyms for t in (s.colloquial, s.official)])
    for code in removed:
        previous.lexical.remove(code)
        previous.fuzzy.remove(code)
        if previous.vectors is not None:
            previous.vectors.remove(code)
    for doc in changed:
        previous.lexical.upsert(doc.code, doc.lexical_fields)
        previous.fuzzy.upsert(doc.code, (doc.name, *doc.aliases))
    previous.fuzzy.prepare()  # now, rather than in the first search after a change
    # words that point to a few items only ("驾驶证", "营业执照"), not "申请" or "登记": words of
    # official names (nouns, unlike colloquial aliases such as "拿到"), and whole synonym terms ("医保")
    per_item = Counter(w for d in documents.values() for w in set(tokenizer.tokenize(d.name)) if len(w) >= 2)
    # the words people may type in pinyin or mistype by sound: our names, aliases, synonyms and their parts
    phrases = [n for d in documents.values() for n in (d.name, *d.aliases)]
    phrases += [t for s in synonyms for t in (s.colloquial, s.official)]
    pinyin = PinyinVocabulary()
    pinyin.build([w for p in phrases for w in (normalize_text(p), *tokenizer.tokenize(p))])
    return dataclasses.replace(
        previous, items=documents, pinyin=pinyin,
        synonyms=tuple(sorted(((normalize_text(s.colloquial), normalize_text(s.official)) for s in synonyms),
                              key=lambda pair: -len(pair[0]))),
        synonym_terms=tuple(sorted({normalize_text(t) for s in synonyms for t in (s.colloquial, s.official)
                                    if len(t) >= 2}, key=len, reverse=True)),
        distinctive_words=frozenset(w for w, n in per_item.items() if n <= DISTINCTIVE_MAX_ITEMS),
        allowed_values=_allowed_values(documents))


def _allowed_values(documents: Mapping[str, IndexedItem]) -> dict[str, list[str]]:
    allowed = {facet: sorted({v for item in documents.values() for v in item.facet_value(facet)}) for facet in FACETS}
    allowed["audience"] = ["个人", "法人"]
    return allowed
