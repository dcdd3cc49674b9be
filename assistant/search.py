"""Smart search (智能搜索) over the guide catalog.

A query runs through three methods — BM25 over jieba tokens (with colloquial → official
synonym expansion), e5 vectors over each item and its guide sections (conditions, materials,
linked FAQ questions), and fuzzy/pinyin matching of item names and aliases — whose rankings are
fused by reciprocal rank, deduplicated to items, and given a calibrated confidence. Below the
confidence threshold the response says ``no_good_match`` instead of pretending.

Indexes are kept in memory per server process and follow the catalog incrementally: every
``search_sync_seconds`` (and right after a local change) the service compares each item's
fingerprint with what it indexed and re-indexes only what changed. The lexical and fuzzy indexes
are ready within a second of start; vectors are built in the background from the persistent
embedding cache, and searches use them once they are complete (``/readyz`` shows progress).
"""

from __future__ import annotations

import asyncio
import bisect
import hashlib
import html
import logging
import re
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field, fields
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from assistant.catalog import CatalogService, ItemRecord
from assistant.models import FaqEntry, Synonym
from logs import mask_personal_data
from retrieval.embedding_cache import CachedEmbedder
from retrieval.fusion import DEFAULT_CALIBRATION, Calibration, MatchSignals, reciprocal_rank_fusion
from retrieval.fuzzy import FuzzyNameIndex
from retrieval.lexical import BM25Index, Tokenizer, normalize_text
from retrieval.pinyin import PinyinVocabulary, to_initials, to_pinyin
from retrieval.vector import VectorIndex
from store.tables import search_queries, utcnow

log = logging.getLogger(__name__)

METHODS = ("lexical", "vector", "fuzzy")
FIELD_WEIGHTS = {"name": 3.0, "aliases": 2.0, "faq": 1.5, "body": 0.6, "department": 0.5}
CANDIDATE_DEPTH = 100  # results taken from each method before fusion
FUZZY_DEPTH = 30  # fuzzy name matches past the first few dozen are noise, and costly to rank
FACET_DEPTH = 100  # facets count the best this many fused candidates
VECTOR_MATCH_DEPTH = 10  # "matched_by vector" means within the vector method's first ten
SECTION_CHARS = 300  # a section's text is embedded up to this length
EMBED_BATCH = 32
# words in nearly every local guide: they only add noise to a lexical match
LOCAL_STOPWORDS = ("成都", "成都市", "四川", "四川省", "本市", "市民")
DISTINCTIVE_MAX_ITEMS = 5
FUZZY_FLOOR = 0.6  # weaker fuzzy matches are coincidences of a character or two


class SearchError(ValueError):
    """A query the service cannot run, with a message fit for the person who typed it."""

    def __init__(self, code: str, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.details = details


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


@dataclass(frozen=True)
class IndexedItem:
    """What the indexes hold of one item: its facets, its texts, and a fingerprint of both."""

    code: str
    name: str
    aliases: tuple[str, ...]
    department: str
    item_type: str
    audience: tuple[str, ...]
    level: str
    district: str
    sections: dict[str, str]  # label → text; embedded, and used for snippets
    lexical_fields: dict[str, str]
    fingerprint: str

    def facet_value(self, facet: str) -> Sequence[str]:
        value = getattr(self, facet)
        return value if isinstance(value, tuple) else (value,) if value else ()

    def passes(self, filters: SearchFilters) -> bool:
        return all(
            getattr(filters, f.name) is None or getattr(filters, f.name) in self.facet_value(f.name)
            for f in fields(filters)
        )


@dataclass
class SearchHit:
    code: str
    name: str
    department: str
    score: float  # fused score relative to the best possible (first in every method)
    matched_by: list[str]
    snippet: str  # HTML-escaped, matched words wrapped in <em>
    scores: dict[str, float]  # each method's own score, for hit testing

    def to_json(self) -> dict[str, Any]:
        return {"id": self.code, "code": self.code, "name": self.name, "department": self.department,
                "score": round(self.score, 4), "matched_by": self.matched_by, "snippet": self.snippet,
                "scores": {m: round(s, 4) for m, s in self.scores.items()}}


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

    def to_json(self) -> dict[str, Any]:
        return {"query": self.query, "results": [hit.to_json() for hit in self.results], "facets": self.facets,
                "no_good_match": self.no_good_match, "confidence": round(self.confidence, 4),
                "took_ms": round(self.took_ms, 2), "methods": self.methods, "expansions": self.expansions,
                "truncated": self.truncated}


class SearchService:
    def __init__(
        self,
        catalog: CatalogService,
        embedder: CachedEmbedder | None,
        executor: Executor,
        *,
        weights: dict[str, float] | None = None,
        rrf_k: float = 10.0,
        min_confidence: float = 0.5,
        max_query_chars: int = 200,
        calibration: Calibration = DEFAULT_CALIBRATION,
        readiness: Any = None,
    ) -> None:
        self.catalog = catalog
        self.db = catalog.db
        self.embedder = embedder
        self.executor = executor
        self.weights = weights or {"lexical": 1.0, "vector": 1.0, "fuzzy": 0.3}
        self.rrf_k = rrf_k
        self.min_confidence = min_confidence
        self.max_query_chars = max_query_chars
        self.calibration = calibration
        self.readiness = readiness

        self.tokenizer: Tokenizer | None = None
        self.lexical: BM25Index | None = None
        self.fuzzy = FuzzyNameIndex()
        self.pinyin = PinyinVocabulary()
        self.vectors = VectorIndex(embedder.dim) if embedder else None
        self.items: dict[str, IndexedItem] = {}
        self.distinctive_words: frozenset[str] = frozenset()
        self._synonym_terms: list[str] = []
        self.vector_ready = False
        self._vector_pending: set[str] = set()
        self._vector_task: asyncio.Task[None] | None = None
        self._synonyms: list[tuple[str, str]] = []
        self._suggest_keys: list[tuple[str, str, str]] = []  # (key, display, code), sorted by key
        self._kb_version: int | None = None
        self._sync_lock = asyncio.Lock()
        self._background: set[asyncio.Task[Any]] = set()
        self._hot_cache: tuple[float, list[dict[str, Any]]] = (0.0, [])
        self._watch_task: asyncio.Task[None] | None = None

    # --- building and following the catalog ---------------------------------------------
    async def start(self, *, sync_seconds: float | None = None) -> None:
        """Build the lexical and fuzzy indexes now, the vectors in the background."""
        loop = asyncio.get_running_loop()
        self.tokenizer = await loop.run_in_executor(self.executor, Tokenizer, LOCAL_STOPWORDS)
        self.lexical = BM25Index(self.tokenizer, FIELD_WEIGHTS)
        await self.sync()
        self._report("lexical_index", ready=True, items=len(self.items))
        if sync_seconds:
            self._watch_task = loop.create_task(self._watch(sync_seconds))

    async def stop(self) -> None:
        for task in (self._watch_task, self._vector_task):
            if task is not None:
                task.cancel()
        await asyncio.gather(*(t for t in (self._watch_task, self._vector_task) if t), return_exceptions=True)
        await asyncio.gather(*self._background, return_exceptions=True)

    async def _watch(self, seconds: float) -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                await self.sync()
            except Exception:
                log.exception("search index sync failed; will retry")

    async def sync(self) -> int:
        """Bring the indexes up to the catalog; returns how many items were (re)indexed or removed."""
        async with self._sync_lock:
            version = await self.catalog.kb_version()
            if version == self._kb_version:
                return 0
            records = await self.catalog.all_items()
            faq = await self.catalog.faq()
            synonyms = await self.catalog.synonyms()
            documents = build_documents(records, faq, synonyms)
            changed = [d for code, d in documents.items()
                       if code not in self.items or self.items[code].fingerprint != d.fingerprint]
            removed = [code for code in self.items if code not in documents]
            await asyncio.get_running_loop().run_in_executor(
                self.executor, self._apply, changed, removed, synonyms, documents)
            self._kb_version = version
            if self.vectors is not None and (changed or removed or not self.vector_ready):
                self._vector_pending.update(d.code for d in changed)
                self._vector_pending.difference_update(removed)
                if not self.vector_ready:
                    self._report("vector_index", ready=False, done=0, total=len(self._vector_pending))
                if self._vector_task is None or self._vector_task.done():
                    self._vector_task = asyncio.get_running_loop().create_task(self._build_vectors())
            return len(changed) + len(removed)

    def _apply(self, changed: list[IndexedItem], removed: list[str], synonyms: list[Synonym],
               documents: dict[str, IndexedItem]) -> None:
        assert self.tokenizer is not None and self.lexical is not None
        self.tokenizer.add_words(
            [w for d in changed for w in (d.name, *d.aliases)] + [t for s in synonyms for t in (s.colloquial, s.official)])
        self._synonyms = sorted(((normalize_text(s.colloquial), normalize_text(s.official)) for s in synonyms),
                                key=lambda pair: -len(pair[0]))
        for code in removed:
            self.lexical.remove(code)
            self.fuzzy.remove(code)
            if self.vectors is not None:
                self.vectors.remove(code)
        for doc in changed:
            self.lexical.upsert(doc.code, doc.lexical_fields)
            self.fuzzy.upsert(doc.code, (doc.name, *doc.aliases))
        self.fuzzy.prepare()  # now, rather than in the first search after a change
        self.items = documents
        self._suggest_keys = build_suggest_keys(documents.values())
        # words that point to a few items only ("驾驶证", "营业执照"), not "申请" or "登记": words of
        # official names (nouns, unlike colloquial aliases such as "拿到"), and whole synonym terms ("医保")
        per_item = Counter(w for d in documents.values() for w in set(self.tokenizer.tokenize(d.name)) if len(w) >= 2)
        self.distinctive_words = frozenset(w for w, n in per_item.items() if n <= DISTINCTIVE_MAX_ITEMS)
        self._synonym_terms = sorted({normalize_text(t) for s in synonyms for t in (s.colloquial, s.official)
                                      if len(t) >= 2}, key=len, reverse=True)
        # the words people may type in pinyin or mistype by sound: our names, aliases, synonyms and their parts
        phrases = [n for d in documents.values() for n in (d.name, *d.aliases)]
        phrases += [t for s in synonyms for t in (s.colloquial, s.official)]
        self.pinyin.build([w for p in phrases for w in (normalize_text(p), *self.tokenizer.tokenize(p))])

    async def _build_vectors(self) -> None:
        assert self.vectors is not None and self.embedder is not None
        loop = asyncio.get_running_loop()
        done = 0
        while self._vector_pending:
            batch = [code for code in sorted(self._vector_pending)[:EMBED_BATCH] if code in self.items]
            self._vector_pending.difference_update(sorted(self._vector_pending)[:EMBED_BATCH])
            await loop.run_in_executor(self.executor, self._embed_and_index, [self.items[c] for c in batch])
            done += len(batch)
            if not self.vector_ready:
                self._report("vector_index", ready=False, done=done, total=done + len(self._vector_pending))
        self.vector_ready = True
        self._report("vector_index", ready=True, items=len(self.vectors), vectors=self.vectors.vector_count)

    def _embed_and_index(self, docs: list[IndexedItem]) -> None:
        assert self.vectors is not None and self.embedder is not None
        texts = [text for doc in docs for text in doc.sections.values()]
        vectors = self.embedder.embed_passages(texts)
        start = 0
        for doc in docs:
            count = len(doc.sections)
            if doc.code in self.items:  # it may have been retired while we embedded
                self.vectors.upsert(doc.code, vectors[start:start + count], list(doc.sections))
            start += count

    async def wait_for_vectors(self) -> None:
        while self._vector_task is not None and not self._vector_task.done():
            await asyncio.shield(self._vector_task)

    def _report(self, name: str, **state: Any) -> None:
        if self.readiness is not None:
            self.readiness.report(name, **state)

    def names_an_item(self, text: str) -> bool:
        """Whether the text contains a word that points to particular items."""
        assert self.tokenizer is not None
        converted, corrections = self.pinyin.transliterate(normalize_text(text))
        expanded = " ".join([converted, *corrections])
        return (any(t in self.distinctive_words for t in self.tokenizer.tokenize(expanded))
                or any(term in expanded for term in self._synonym_terms))

    def unknown_words(self, text: str) -> list[str]:
        """Content words of the text that no item contains at all ("考研", "签证")."""
        assert self.tokenizer is not None and self.lexical is not None
        converted, corrections = self.pinyin.transliterate(normalize_text(text))
        words = self.tokenizer.tokenize(" ".join([converted, *corrections]))
        # Latin words are English or pinyin the vocabulary could not place: no evidence either way
        return [w for w in words if len(w) >= 2 and not w.isascii() and not self.lexical.known(w)]

    # --- searching ------------------------------------------------------------------------
    @property
    def available_methods(self) -> list[str]:
        return [m for m in METHODS if m != "vector" or self.vector_ready]

    def allowed_values(self, facet: str) -> list[str]:
        if facet == "audience":
            return ["个人", "法人"]
        return sorted({v for item in self.items.values() for v in item.facet_value(facet)})

    def check_filters(self, filters: SearchFilters) -> None:
        for f in fields(filters):
            value = getattr(filters, f.name)
            if value is not None and value not in self.allowed_values(f.name):
                allowed = self.allowed_values(f.name)
                raise SearchError("invalid_filter", f"筛选条件 {f.name} 的取值“{value}”不存在",
                                  details={"field": f.name, "allowed": allowed})

    async def search(
        self,
        query: str,
        filters: SearchFilters | None = None,
        top_k: int = 10,
        *,
        methods: Iterable[str] | None = None,
        channel: str | None = "api",
    ) -> SearchResult:
        """Search; ``methods`` restricts to some methods (for baselines), ``channel=None`` skips the log."""
        started = time.perf_counter()
        filters = filters or SearchFilters()
        text = normalize_text(query or "")
        if not text:
            raise SearchError("empty_query", "请输入要查询的事项或问题，例如“公积金提取”“身份证丢了怎么补办”")
        truncated = len(text) > self.max_query_chars
        text = text[:self.max_query_chars]
        self.check_filters(filters)
        chosen = [m for m in (methods or METHODS) if m in self.available_methods]
        result = await asyncio.get_running_loop().run_in_executor(
            self.executor, self._search_sync, text, filters, top_k, chosen)
        result.query, result.truncated = query, truncated
        result.took_ms = (time.perf_counter() - started) * 1000
        if channel is not None:
            self._log_later(channel, query, text, result)
        return result

    def _rank(self, texts: list[str], tokens: list[str], query_vector: Any, methods: list[str],
              allowed: set[str] | None) -> dict[str, list[tuple[str, float, str]]]:
        assert self.lexical is not None
        ranked: dict[str, list[tuple[str, float, str]]] = {}
        if "lexical" in methods:
            ranked["lexical"] = [(c, s, "") for c, s in self.lexical.search(tokens, CANDIDATE_DEPTH, allowed)]
        if "vector" in methods and self.vectors is not None:
            ranked["vector"] = self.vectors.search(query_vector, CANDIDATE_DEPTH, allowed)
        if "fuzzy" in methods:
            best: dict[str, tuple[str, float, str]] = {}
            for text in texts:  # as typed, and as transliterated from pinyin
                for code, score, name in self.fuzzy.search(text, FUZZY_DEPTH, allowed):
                    if score > best.get(code, ("", 0.0, ""))[1]:
                        best[code] = (code, score, name)
            ranked["fuzzy"] = sorted((row for row in best.values() if row[1] >= FUZZY_FLOOR), key=lambda row: -row[1])
        return ranked

    def _search_sync(self, text: str, filters: SearchFilters, top_k: int, methods: list[str]) -> SearchResult:
        assert self.tokenizer is not None and self.lexical is not None
        # pinyin → our words, homophone typos → the words they sound like, colloquial → official
        converted, corrections = self.pinyin.transliterate(text)
        expansions = [official for colloquial, official in self._synonyms
                      if colloquial in converted and official not in converted]
        expansions = list(dict.fromkeys([*corrections, *expansions]))
        tokens = self.tokenizer.tokenize(" ".join([converted, *expansions]))
        query_tokens = self.tokenizer.tokenize(converted)
        query_vector = None
        if "vector" in methods and self.embedder is not None:
            query_vector = self.embedder.embed_queries([" ".join([converted, *corrections])])[0]

        texts = list(dict.fromkeys([text, converted]))
        unfiltered = self._rank(texts, tokens, query_vector, methods, None)
        ranked = unfiltered
        if filters.active:
            allowed = {code for code, item in self.items.items() if item.passes(filters)}
            ranked = self._rank(texts, tokens, query_vector, methods, allowed)

        weights = {m: self.weights.get(m, 1.0) for m in ranked}
        if "lexical" in ranked and tokens:
            # a lexical ranking built on one incidental word ("申请") should not outvote the others
            coverage = max((len(self.lexical.matched_terms(c, tokens)) / len(tokens)
                            for c, _, _ in ranked["lexical"][:3]), default=0.0)
            weights["lexical"] *= coverage
        best_possible = sum(self.weights.get(m, 1.0) for m in ranked) / (self.rrf_k + 1) or 1.0
        fused = reciprocal_rank_fusion({m: [c for c, _, _ in r] for m, r in ranked.items()}, weights, self.rrf_k)
        facet_candidates = fused if not filters.active else reciprocal_rank_fusion(
            {m: [c for c, _, _ in r] for m, r in unfiltered.items()}, weights, self.rrf_k)
        facets = self._facets([code for code, _ in facet_candidates[:FACET_DEPTH]])

        by_method = {m: {c: (rank, score, label) for rank, (c, score, label) in enumerate(r, 1)}
                     for m, r in ranked.items()}
        hits = []
        for code, score in fused[:top_k]:
            item = self.items[code]
            matched_terms = self.lexical.matched_terms(code, tokens)
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
            signals = self._signals(fused, ranked, by_method, best_possible, query_tokens)
            confidence = self.calibration.confidence(signals)
        return SearchResult(
            query=text, normalized=converted, results=hits, facets=facets,
            no_good_match=confidence < self.min_confidence, confidence=confidence, took_ms=0.0,
            methods=list(ranked), expansions=expansions, signals=signals,
        )

    def _signals(self, fused: list[tuple[str, float]], ranked: dict[str, list[tuple[str, float, str]]],
                 by_method: dict[str, dict[str, tuple[int, float, str]]], best_possible: float,
                 query_tokens: list[str]) -> MatchSignals:
        assert self.lexical is not None
        top, top_score = fused[0]
        second_score = fused[1][1] if len(fused) > 1 else 0.0
        vector_rows = ranked.get("vector", [])
        top_cosine = by_method.get("vector", {}).get(top, (0, 0.0, ""))[1]
        other_cosine = max((s for c, s, _ in vector_rows if c != top), default=0.0)
        content = [t for t in query_tokens if len(t) >= 2] or query_tokens
        coverage = len(self.lexical.matched_terms(top, content)) / len(content) if content else 0.0
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

    def _facets(self, codes: list[str]) -> dict[str, dict[str, int]]:
        facets: dict[str, dict[str, int]] = {}
        for facet in ("audience", "department", "item_type", "level", "district"):
            counts: Counter[str] = Counter()
            for code in codes:
                counts.update(self.items[code].facet_value(facet))
            facets[facet] = dict(counts.most_common())
        return facets

    # --- suggestions and analytics --------------------------------------------------------
    async def suggest(self, prefix: str, limit: int = 10) -> list[dict[str, str]]:
        """Completions for a search box: hot queries, then item names and aliases, by text or pinyin prefix."""
        text = normalize_text(prefix)
        if not text:
            return []
        latin = re.sub(r"[^a-z]", "", text)
        suggestions: list[dict[str, str]] = []
        seen: set[str] = set()
        for hot in await self.hot(limit=50):
            query = hot["query"]
            if query.startswith(text) or (latin and latin == re.sub(r"[^a-z]", "", text)
                                          and (to_pinyin(query).startswith(latin) or to_initials(query).startswith(latin))):
                suggestions.append({"text": query, "kind": "hot"})
                seen.add(query)
        keys = self._suggest_keys
        for key in {text, latin} - {""}:
            start = bisect.bisect_left(keys, (key, "", ""))
            for candidate, display, code in keys[start:start + 200]:
                if not candidate.startswith(key):
                    break
                if display not in seen:
                    suggestions.append({"text": display, "kind": "item", "code": code})
                    seen.add(display)
        return suggestions[:limit]

    async def hot(self, limit: int = 10, days: int = 7) -> list[dict[str, Any]]:
        """The most frequent queries of the last ``days`` that found something (cached for 30 s)."""
        cached_at, cached = self._hot_cache
        if time.monotonic() - cached_at < 30 and len(cached) >= limit:
            return cached[:limit]
        since = utcnow() - timedelta(days=days)
        async with self.db.read() as conn:
            rows = await conn.execute(
                sa.select(search_queries.c.normalized, sa.func.count().label("n"))
                .where(search_queries.c.at >= since, search_queries.c.no_good_match.is_(False))
                .group_by(search_queries.c.normalized).order_by(sa.desc("n"), search_queries.c.normalized)
                .limit(max(limit, 50)))
            hot = [{"query": q, "count": n} for q, n in rows]
        self._hot_cache = (time.monotonic(), hot)
        return hot[:limit]

    def _log_later(self, channel: str, query: str, text: str, result: SearchResult) -> None:
        async def write() -> None:
            try:
                async with self.db.transaction() as conn:
                    await conn.execute(search_queries.insert().values(
                        at=utcnow(), channel=channel[:32], query=mask_personal_data(query)[:500],
                        normalized=mask_personal_data(text)[:200], result_count=len(result.results),
                        top_code=result.results[0].code if result.results else None,
                        confidence=result.confidence, no_good_match=result.no_good_match,
                        took_ms=result.took_ms))
            except Exception:
                log.exception("could not log a search query")

        task = asyncio.get_running_loop().create_task(write())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def flush_logs(self) -> None:
        await asyncio.gather(*self._background, return_exceptions=True)


# --- documents ------------------------------------------------------------------------------
def build_documents(records: list[ItemRecord], faq: list[FaqEntry], synonyms: list[Synonym]) -> dict[str, IndexedItem]:
    questions: dict[str, list[FaqEntry]] = {}
    for entry in faq:
        for code in entry.items:
            questions.setdefault(code, []).append(entry)
    documents = {}
    for record in records:
        item = record.item
        names = [item.name, *item.aliases]
        # a colloquial term whose official term is in a name becomes an extra alias (教资 → 教师资格认定)
        colloquial = [s.colloquial for s in synonyms
                      if any(s.official in n for n in names) and s.colloquial not in names]
        linked = questions.get(item.code, [])[:10]
        sections = {"item": "；".join([item.name, *item.aliases[:10]])}
        if item.conditions:
            sections["conditions"] = item.conditions[:SECTION_CHARS]
        if item.materials:
            sections["materials"] = ("申请材料：" + "、".join(m.name for m in item.materials))[:SECTION_CHARS]
        for entry in linked:
            sections[f"faq:{entry.id}"] = entry.question
        body = "\n".join([item.conditions, "、".join(m.name for m in item.materials), *item.process, item.notes,
                          item.fees, item.legal_time_limit, item.promised_time_limit])
        lexical_fields = {"name": item.name, "aliases": " ".join([*item.aliases, *colloquial]),
                          "faq": " ".join(e.question for e in linked), "body": body, "department": item.department}
        fingerprint = hashlib.sha256("\0".join(
            [record.item.content_hash(), *sections.values(), *colloquial]).encode()).hexdigest()
        documents[item.code] = IndexedItem(
            code=item.code, name=item.name, aliases=tuple(item.aliases), department=item.department,
            item_type=item.item_type, audience=tuple(item.audience), level=item.level, district=item.district,
            sections=sections, lexical_fields=lexical_fields, fingerprint=fingerprint)
    return documents


def build_suggest_keys(documents: Iterable[IndexedItem]) -> list[tuple[str, str, str]]:
    keys = []
    for doc in documents:
        for name in (doc.name, *doc.aliases):
            text = normalize_text(name)
            for key in {text, to_pinyin(text), to_initials(text)}:
                if key:
                    keys.append((key, name, doc.code))
    return sorted(keys)


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
    pattern = re.compile("|".join(re.escape(w) for w in words))
    pieces, last = [], 0
    for match in pattern.finditer(excerpt):
        pieces.append(html.escape(excerpt[last:match.start()]))
        pieces.append(f"<em>{html.escape(match.group(0))}</em>")
        last = match.end()
    pieces.append(html.escape(excerpt[last:]))
    return "".join(pieces)
