"""Rank fusion and match confidence.

Reciprocal-rank fusion combines rankings whose scores are not comparable (BM25, cosine,
fuzzy ratio): each method contributes ``weight / (k + rank)``. Confidence answers a different
question — "is the top result what the person wanted?" — and is a logistic model over signals
of the top result (how strongly and how unanimously the methods agree on it, and by how much it
leads). Its coefficients are fitted on our own labelled development queries, including queries
that nothing in the catalog answers (``benchmarks/calibrate_search.py`` prints them), so that a
confidence of 0.8 means right about 80 % of the time on those queries.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields


def reciprocal_rank_fusion(
    rankings: Mapping[str, Sequence[str]], weights: Mapping[str, float], k: float = 60.0
) -> list[tuple[str, float]]:
    """Fuse ranked lists of ids into one list of (id, score), best first; ties keep first-seen order."""
    scores: dict[str, float] = {}
    for method, ranking in rankings.items():
        weight = weights.get(method, 1.0)
        for rank, doc_id in enumerate(ranking, start=1):
            scores[doc_id] = scores.get(doc_id, 0.0) + weight / (k + rank)
    return sorted(scores.items(), key=lambda kv: -kv[1])


@dataclass(frozen=True)
class MatchSignals:
    """What the methods say about the fused top result (all roughly in 0–1)."""

    fused: float  # its fused score relative to the best possible (first everywhere)
    fused_margin: float  # its lead over the second, relative to the best possible
    vector: float  # its cosine similarity (0 when the vector index is not ready)
    vector_margin: float  # its cosine lead over the best other item
    lexical_coverage: float  # share of the query's content words found in it
    fuzzy: float  # its fuzzy/pinyin name score
    agreement: float  # share of the methods that rank it first

    def as_list(self) -> list[float]:
        return [getattr(self, f.name) for f in fields(self)]


@dataclass(frozen=True)
class Calibration:
    intercept: float
    weights: tuple[float, ...]  # in MatchSignals field order

    def confidence(self, signals: MatchSignals) -> float:
        z = self.intercept + sum(w * x for w, x in zip(self.weights, signals.as_list(), strict=True))
        return 1 / (1 + math.exp(-z))


# fitted by `benchmarks/calibrate_search.py --with-gd` on benchmarks/queries/{demo,gd}_*.jsonl (452 queries)
DEFAULT_CALIBRATION = Calibration(intercept=-9.480, weights=(2.101, 3.778, 7.232, 5.466, 1.534, 0.622, 2.385))
