"""The searcher: one query against one ``IndexSnapshot`` — pure ranking, no database, no event loop.

A query is expanded (pinyin → our words, homophone typos → the words they sound like, colloquial
→ official synonyms), ranked by up to three methods — BM25 over jieba tokens, e5 vectors pooled to
each item's best section, fuzzy/pinyin matching of names and aliases — and the rankings are fused
by weighted reciprocal rank. Facets count the best candidates; snippets are made only for the
results returned; a calibrated confidence says whether the first result is a good match.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from assistant.search.results import FACETS, SearchFilters, SearchHit, SearchResult
from assistant.search.snapshot import IndexSnapshot
from assistant.search.snippets import make_snippet
from retrieval.fusion import DEFAULT_CALIBRATION, Calibration, MatchSignals, reciprocal_rank_fusion
from retrieval.lexical import normalize_text

CANDIDATE_DEPTH = 100  # results taken from each method before fusion
FUZZY_DEPTH = 30  # fuzzy name matches past the first few dozen are noise, and costly to rank
FACET_DEPTH = 100  # facets count the best this many fused candidates
VECTOR_MATCH_DEPTH = 10  # "matched_by vector" means within the vector method's first ten
FUZZY_FLOOR = 0.6  # weaker fuzzy matches are coincidences of a character or two
DEFAULT_WEIGHTS = {"lexical": 1.0, "vector": 1.0, "fuzzy": 0.3}

Ranking = list[tuple[str, float, str]]  # (item code, the method's own score, label of what matched)


class QueryEmbedder(Protocol):
    def embed_queries(self, texts: Sequence[str]) -> np.ndarray: ...


class Searcher:
    def __init__(self, embedder: QueryEmbedder | None = None, *, weights: dict[str, float] | None = None,
                 rrf_k: float = 10.0, min_confidence: float = 0.5,
                 calibration: Calibration = DEFAULT_CALIBRATION) -> None:
        self.embedder = embedder
        self.weights = weights or dict(DEFAULT_WEIGHTS)
        self.rrf_k = rrf_k
        self.min_confidence = min_confidence
        self.calibration = calibration

    # --- reading a query ------------------------------------------------------------------
    def names_an_item(self, snapshot: IndexSnapshot, text: str) -> bool:
        """Whether the text contains a word that points to particular items."""
        converted, corrections = snapshot.pinyin.transliterate(normalize_text(text))
        expanded = " ".join([converted, *corrections])
        return (any(t in snapshot.distinctive_words for t in snapshot.tokenizer.tokenize(expanded))
                or any(term in expanded for term in snapshot.synonym_terms))

    def unknown_words(self, snapshot: IndexSnapshot, text: str) -> list[str]:
        """Content words of the text that no item contains at all ("考研", "签证")."""
        converted, corrections = snapshot.pinyin.transliterate(normalize_text(text))
        words = snapshot.tokenizer.tokenize(" ".join([converted, *corrections]))
        # Latin words are English or pinyin the vocabulary could not place: no evidence either way
        return [w for w in words if len(w) >= 2 and not w.isascii() and not snapshot.lexical.known(w)]

    # --- searching ------------------------------------------------------------------------
    def search(self, snapshot: IndexSnapshot, text: str, filters: SearchFilters, top_k: int,
               methods: list[str]) -> SearchResult:
        """``text`` is normalised and within length; ``methods`` are among ``snapshot.methods``."""
        # pinyin → our words, homophone typos → the words they sound like, colloquial → official
        converted, corrections = snapshot.pinyin.transliterate(text)
        expansions = [official for colloquial, official in snapshot.synonyms
                      if colloquial in converted and official not in converted]
        expansions = list(dict.fromkeys([*corrections, *expansions]))
        tokens = snapshot.tokenizer.tokenize(" ".join([converted, *expansions]))
        query_tokens = tokens if not expansions else snapshot.tokenizer.tokenize(converted)
        query_vector = None
        if "vector" in methods and self.embedder is not None:
            query_vector = self.embedder.embed_queries([" ".join([converted, *corrections])])[0]

        texts = list(dict.fromkeys([text, converted]))
        unfiltered = self._rank(snapshot, texts, tokens, query_vector, methods, None)
        ranked = unfiltered
        if filters.active:
            allowed = {code for code, item in snapshot.items.items() if item.passes(filters)}
            ranked = self._rank(snapshot, texts, tokens, query_vector, methods, allowed)

        lexical = snapshot.lexical
        weights = {m: self.weights.get(m, 1.0) for m in ranked}
        if "lexical" in ranked and tokens:
            # a lexical ranking built on one incidental word ("申请") should not outvote the others
            coverage = max((len(lexical.matched_terms(c, tokens)) / len(tokens)
                            for c, _, _ in ranked["lexical"][:3]), default=0.0)
            weights["lexical"] *= coverage
        best_possible = sum(self.weights.get(m, 1.0) for m in ranked) / (self.rrf_k + 1) or 1.0
        fused = reciprocal_rank_fusion({m: [c for c, _, _ in r] for m, r in ranked.items()}, weights, self.rrf_k)
        facet_candidates = fused if not filters.active else reciprocal_rank_fusion(
            {m: [c for c, _, _ in r] for m, r in unfiltered.items()}, weights, self.rrf_k)
        facets = count_facets(snapshot, [code for code, _ in facet_candidates[:FACET_DEPTH]])

        by_method = {m: {c: (rank, score, label) for rank, (c, score, label) in enumerate(r, 1)}
                     for m, r in ranked.items()}
        hits = []
        for code, score in fused[:top_k]:  # snippets and match details for what is returned only
            item = snapshot.items[code]
            matched_terms = lexical.matched_terms(code, tokens)
            matched_by = [m for m in ranked if code in by_method[m] and (
                (m == "lexical" and matched_terms) or (m == "vector" and by_method[m][code][0] <= VECTOR_MATCH_DEPTH)
                or m == "fuzzy")]
            vector_label = by_method.get("vector", {}).get(code, (0, 0.0, ""))[2]
            hits.append(SearchHit(
                code=code, name=item.name, department=item.department, score=score / best_possible,
                matched_by=matched_by, snippet=make_snippet(item, matched_terms, vector_label),
                scores={m: by_method[m][code][1] for m in ranked if code in by_method[m]},
            ))

        signals = None
        confidence = 0.0
        if fused:
            signals = self._signals(snapshot, fused, ranked, by_method, best_possible, query_tokens)
            confidence = self.calibration.confidence(signals)
        return SearchResult(
            query=text, normalized=converted, results=hits, facets=facets,
            no_good_match=confidence < self.min_confidence, confidence=confidence, took_ms=0.0,
            methods=list(ranked), expansions=expansions, signals=signals,
        )

    def _rank(self, snapshot: IndexSnapshot, texts: list[str], tokens: list[str], query_vector: Any,
              methods: list[str], allowed: set[str] | None) -> dict[str, Ranking]:
        ranked: dict[str, Ranking] = {}
        if "lexical" in methods:
            ranked["lexical"] = [(c, s, "") for c, s in snapshot.lexical.search(tokens, CANDIDATE_DEPTH, allowed)]
        if "vector" in methods and snapshot.vectors is not None:
            ranked["vector"] = snapshot.vectors.search(query_vector, CANDIDATE_DEPTH, allowed)
        if "fuzzy" in methods:
            best: dict[str, tuple[str, float, str]] = {}
            for text in texts:  # as typed, and as transliterated from pinyin
                for code, score, name in snapshot.fuzzy.search(text, FUZZY_DEPTH, allowed):
                    if score > best.get(code, ("", 0.0, ""))[1]:
                        best[code] = (code, score, name)
            ranked["fuzzy"] = sorted((row for row in best.values() if row[1] >= FUZZY_FLOOR), key=lambda row: -row[1])
        return ranked

    def _signals(self, snapshot: IndexSnapshot, fused: list[tuple[str, float]], ranked: dict[str, Ranking],
                 by_method: dict[str, dict[str, tuple[int, float, str]]], best_possible: float,
                 query_tokens: list[str]) -> MatchSignals:
        top, top_score = fused[0]
        second_score = fused[1][1] if len(fused) > 1 else 0.0
        vector_rows = ranked.get("vector", [])
        top_cosine = by_method.get("vector", {}).get(top, (0, 0.0, ""))[1]
        other_cosine = max((s for c, s, _ in vector_rows if c != top), default=0.0)
        content = [t for t in query_tokens if len(t) >= 2] or query_tokens
        coverage = len(snapshot.lexical.matched_terms(top, content)) / len(content) if content else 0.0
        firsts = [rows[0][0] for rows in ranked.values() if rows]
        return MatchSignals(
            fused=top_score / best_possible,
            fused_margin=(top_score - second_score) / best_possible,
            vector=top_cosine,
            vector_margin=top_cosine - other_cosine if vector_rows else 0.0,
            lexical_coverage=coverage,
            fuzzy=by_method.get("fuzzy", {}).get(top, (0, 0.0, ""))[1],
            agreement=sum(first == top for first in firsts) / max(len(ranked), 1),
        )


def count_facets(snapshot: IndexSnapshot, codes: list[str]) -> dict[str, dict[str, int]]:
    """Each facet's values among the items, most frequent first (ties in order of appearance)."""
    counts: dict[str, dict[str, int]] = {facet: {} for facet in FACETS}
    for code in codes:
        for facet, values in snapshot.items[code].facet_values.items():
            facet_counts = counts[facet]
            for value in values:
                facet_counts[value] = facet_counts.get(value, 0) + 1
    return {facet: dict(sorted(c.items(), key=lambda kv: kv[1], reverse=True)) for facet, c in counts.items()}
