"""What a search is asked and what it answers: filters, hits, results, and the error for a query
the search cannot run. Plain data, shared by the searcher, the service facade and the HTTP layer."""

from __future__ import annotations

from dataclasses import dataclass, field, fields

from domain_errors import DomainError
from retrieval.fusion import MatchSignals

METHODS = ("lexical", "vector", "fuzzy")
FACETS = ("audience", "department", "item_type", "level", "district")


class SearchError(DomainError):
    """A query the service cannot run, with a message fit for the person who typed it."""


@dataclass(frozen=True)
class SearchFilters:
    audience: str | None = None  # 个人 / 法人
    department: str | None = None
    item_type: str | None = None
    level: str | None = None
    district: str | None = None

    @property
    def active(self) -> bool:
        return any(getattr(self, f.name) for f in fields(self))


@dataclass
class SearchHit:
    code: str
    name: str
    department: str
    score: float  # fused score relative to the best possible (first in every method)
    matched_by: list[str]
    snippet: str  # HTML-escaped, matched words wrapped in <em>
    scores: dict[str, float]  # each method's own score, for hit testing


@dataclass
class SearchResult:
    query: str
    normalized: str
    results: list[SearchHit]
    facets: dict[str, dict[str, int]]
    no_good_match: bool
    confidence: float
    took_ms: float
    methods: list[str]
    expansions: list[str] = field(default_factory=list)
    truncated: bool = False
    signals: MatchSignals | None = None
