"""Unanswered questions (未解决问题): what citizens asked that the knowledge base could not
answer, grouped so that staff can close a whole group at once by adding an FAQ (常见问题), a
synonym (同义词), or by dismissing it.

Sources, within a range of China dates: assistant turns about a service or policy that got no
answer (``chat_turns.no_answer``), turns marked 没用 (``helpful`` false, with the reason given),
and searches with no good match (``search_queries.no_good_match``). Texts are stored masked
already. A text counts once it is normalised (NFKC, lower case, spaces, end punctuation); texts
handled before (``unanswered_handled``, keyed by the SHA-256 of that normalised text) are left
out, so a handled question comes back only if it is asked in other words.

Grouping is greedy, most frequent text first: a text joins the first group whose representative
is close enough (cosine of the search's e5 vectors, which its embedder caches by content hash;
character-bigram Jaccard when the search has no embedder), or starts a group of its own.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from assistant.search import SearchError, SearchHit, SearchService
from china_time import day_bounds
from retrieval.lexical import normalize_text
from store.audit import AuditLog
from store.database import Database
from store.tables.base import utcnow
from store.tables.console import unanswered_handled
from store.tables.dialogue import chat_turns
from store.tables.search import search_queries

OUTCOMES = ("faq", "synonym", "dismissed")
MAX_ROWS = 20_000  # rows read per source: beyond that, the newest are what matter
MAX_TEXTS = 1000  # distinct texts grouped (the most frequent); each costs ~20 ms to embed once
MAX_GROUPS = 50  # groups shown, each with a search for its top hit
MAX_RANGE_DAYS = 366
MAX_HANDLED = 1000  # texts marked handled in one action
EXAMPLES = 5
EMBED_CHUNK = 64  # embed in chunks so that citizens' searches get the CPU pool in between
COSINE_THRESHOLD = 0.92  # e5: rewordings of one question ≥ 0.92, different topics ≤ 0.90
JACCARD_THRESHOLD = 0.4  # bigram sets of rewordings share about half their bigrams
EMBED_CHARS = 200  # the search reads no further either
# consultations without an answer; greetings, demands and "转人工" have no_answer set by design
QUESTION_INTENTS = ("consult", "policy")
_END_PUNCTUATION = " \t?？!！。.，,~～…、;；:："
_NOT_TEXT = re.compile(r"[\W_]+")
# question words every question shares: without them, bigrams compare what is asked about
_QUESTION_WORDS = re.compile(r"怎么办|怎么|如何|咋个|在哪里|在哪儿|在哪|哪里|去哪|什么|请问|需要|可以|吗|呢|吧|啊|要")
HASH = re.compile(r"^[0-9a-f]{64}$")


def normalised(text: str) -> str:
    return normalize_text(text).strip(_END_PUNCTUATION)


def text_hash(text: str) -> str:
    """The key of a handled question: SHA-256 of its normalised text."""
    return _digest(normalised(text))


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def bigrams(text: str) -> frozenset[str]:
    plain = _NOT_TEXT.sub("", text)
    plain = _QUESTION_WORDS.sub("", plain) or plain
    return frozenset(plain[i:i + 2] for i in range(len(plain) - 1)) or frozenset(plain)


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0


@dataclass
class AskedText:
    """One normalised text and every time it was asked."""

    key: str  # normalised
    hash: str
    shown: str  # as it was typed (masked), the newest time
    count: int = 0
    channels: Counter[str] = field(default_factory=Counter)
    last_seen: datetime | None = None
    kinds: Counter[str] = field(default_factory=Counter)  # no_answer, unhelpful, search
    reasons: list[str] = field(default_factory=list)  # 没用 feedback reasons

    def add(self, at: datetime, channel: str, kind: str, reason: str | None) -> None:
        self.count += 1
        self.channels[channel] += 1
        self.kinds[kind] += 1
        if self.last_seen is None or at > self.last_seen:
            self.last_seen = at
        if reason and reason not in self.reasons and len(self.reasons) < EXAMPLES:
            self.reasons.append(reason)


@dataclass
class UnansweredGroup:
    texts: list[AskedText]  # the representative (the most frequent) first
    top_hit: SearchHit | None = None
    suggested_colloquial: str = ""

    @property
    def representative(self) -> str:
        return self.texts[0].shown

    @property
    def key(self) -> str:
        """Names the group in forms: its representative's hash."""
        return self.texts[0].hash

    @property
    def count(self) -> int:
        return sum(t.count for t in self.texts)

    @property
    def hashes(self) -> list[str]:
        return [t.hash for t in self.texts]

    @property
    def examples(self) -> list[AskedText]:
        return self.texts[:EXAMPLES]

    @property
    def channels(self) -> list[str]:
        total: Counter[str] = Counter()
        for t in self.texts:
            total.update(t.channels)
        return [c for c, _ in total.most_common()]

    @property
    def kinds(self) -> dict[str, int]:
        total: Counter[str] = Counter()
        for t in self.texts:
            total.update(t.kinds)
        return dict(total)

    @property
    def reasons(self) -> list[str]:
        return list(dict.fromkeys(r for t in self.texts for r in t.reasons))[:EXAMPLES]

    @property
    def last_seen(self) -> datetime | None:
        return max((t.last_seen for t in self.texts if t.last_seen), default=None)


@dataclass
class UnansweredReport:
    groups: list[UnansweredGroup]  # most frequent first, at most ``MAX_GROUPS``
    total_groups: int
    total_questions: int
    method: str  # "vector" or "bigram"
    truncated: bool  # more distinct texts than were grouped


class UnansweredService:
    def __init__(self, db: Database, search: SearchService, audit: AuditLog, *,
                 cosine_threshold: float = COSINE_THRESHOLD, jaccard_threshold: float = JACCARD_THRESHOLD,
                 use_embedder: bool = True) -> None:
        self.db = db
        self.search = search
        self.audit = audit
        self.cosine_threshold = cosine_threshold
        self.jaccard_threshold = jaccard_threshold
        self.use_embedder = use_embedder  # off: the bigram grouping, as without an embedder

    async def groups(self, start: date, end: date, *, limit: int = MAX_GROUPS) -> UnansweredReport:
        """The groups of unanswered questions asked from ``start`` to ``end`` (China dates)."""
        if end < start:
            start, end = end, start
        start = max(start, end - timedelta(days=MAX_RANGE_DAYS - 1))
        asked = await self._asked(*day_bounds(start, end))
        handled = await self._handled([t.hash for t in asked.values()])
        texts = sorted((t for t in asked.values() if t.hash not in handled),
                       key=lambda t: (-t.count, -(t.last_seen or utcnow()).timestamp(), t.key))
        truncated = len(texts) > MAX_TEXTS
        texts = texts[:MAX_TEXTS]
        embedder = self.search.embedder if self.use_embedder else None
        if embedder is not None:
            groups, method = await self._by_vectors(texts), "vector"
        else:
            groups, method = self._by_bigrams(texts), "bigram"
        groups.sort(key=lambda g: (-g.count, -(g.last_seen or utcnow()).timestamp()))
        for group in groups[:limit]:
            await self._describe(group)
        return UnansweredReport(groups[:limit], len(groups), sum(g.count for g in groups), method, truncated)

    async def _asked(self, since: datetime, until: datetime) -> dict[str, AskedText]:
        asked: dict[str, AskedText] = {}

        def add(text: str, at: datetime, channel: str, kind: str, reason: str | None = None) -> None:
            key = normalised(text)
            if not key:
                return
            entry = asked.get(key)
            if entry is None:  # rows come newest first: the first one seen is the newest wording
                entry = asked[key] = AskedText(key, _digest(key), text.strip())
            entry.add(at, channel, kind, reason)

        async with self.db.read() as conn:
            turns = await conn.execute(
                sa.select(chat_turns.c.at, chat_turns.c.channel, chat_turns.c.text, chat_turns.c.helpful,
                          chat_turns.c.feedback_reason)
                .where(chat_turns.c.at >= since, chat_turns.c.at < until,
                       sa.or_(sa.and_(chat_turns.c.no_answer.is_(True), chat_turns.c.intent.in_(QUESTION_INTENTS)),
                              chat_turns.c.helpful.is_(False)))
                .order_by(chat_turns.c.id.desc()).limit(MAX_ROWS))
            for row in turns:
                add(row.text, row.at, row.channel, "unhelpful" if row.helpful is False else "no_answer",
                    row.feedback_reason)
            searches = await conn.execute(
                sa.select(search_queries.c.at, search_queries.c.channel, search_queries.c.query)
                .where(search_queries.c.at >= since, search_queries.c.at < until,
                       search_queries.c.no_good_match.is_(True))
                .order_by(search_queries.c.id.desc()).limit(MAX_ROWS))
            for row in searches:
                add(row.query, row.at, row.channel, "search")
        return asked

    async def _handled(self, hashes: list[str]) -> set[str]:
        handled: set[str] = set()
        async with self.db.read() as conn:
            for start in range(0, len(hashes), 500):
                handled.update((await conn.execute(sa.select(unanswered_handled.c.text_hash).where(
                    unanswered_handled.c.text_hash.in_(hashes[start:start + 500])))).scalars())
        return handled

    async def _by_vectors(self, texts: list[AskedText]) -> list[UnansweredGroup]:
        embedder = self.search.embedder
        assert embedder is not None
        loop = asyncio.get_running_loop()
        chunks = []
        for start in range(0, len(texts), EMBED_CHUNK):
            batch = [t.key[:EMBED_CHARS] for t in texts[start:start + EMBED_CHUNK]]
            # citizens' questions: embedded as queries, kept in memory only (never written to the cache file)
            chunks.append(await loop.run_in_executor(self.search.executor, embedder.embed_queries, batch))
        if not chunks:
            return []
        vectors = np.vstack(chunks)
        vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        return await loop.run_in_executor(self.search.executor, self._greedy_vectors, texts, vectors)

    def _greedy_vectors(self, texts: list[AskedText], vectors: np.ndarray) -> list[UnansweredGroup]:
        groups: list[UnansweredGroup] = []
        representatives = np.zeros((len(texts), vectors.shape[1]), dtype=np.float32)
        for text, vector in zip(texts, vectors, strict=True):
            if groups:
                similarity = representatives[:len(groups)] @ vector
                best = int(np.argmax(similarity))
                if similarity[best] >= self.cosine_threshold:
                    groups[best].texts.append(text)
                    continue
            representatives[len(groups)] = vector
            groups.append(UnansweredGroup([text]))
        return groups

    def _by_bigrams(self, texts: list[AskedText]) -> list[UnansweredGroup]:
        groups: list[UnansweredGroup] = []
        representatives: list[frozenset[str]] = []
        for text in texts:
            grams = bigrams(text.key)
            scores = [jaccard(grams, r) for r in representatives]
            best = max(range(len(scores)), key=scores.__getitem__, default=None)
            if best is not None and scores[best] >= self.jaccard_threshold:
                groups[best].texts.append(text)
            else:
                representatives.append(grams)
                groups.append(UnansweredGroup([text]))
        return groups

    async def _describe(self, group: UnansweredGroup) -> None:
        """The top search hit for the representative, and a colloquial term for a synonym."""
        try:
            result = await self.search.search(group.representative, top_k=1, channel=None)
            group.top_hit = result.results[0] if result.results else None
        except SearchError:
            group.top_hit = None
        unknown = self.search.unknown_words(group.representative) if self.search.tokenizer else []
        group.suggested_colloquial = (unknown[0] if unknown else group.texts[0].key)[:100]

    async def mark_handled(self, hashes: list[str], *, outcome: str, actor: str, target: str | None = None,
                           representative: str = "") -> int:
        """Record a group's texts as handled (audited, in one transaction); returns how many."""
        if outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {outcome!r}")
        hashes = list(dict.fromkeys(h for h in hashes if HASH.match(h)))[:MAX_HANDLED]
        if not hashes:
            return 0
        now = utcnow()
        rows = [{"text_hash": h, "outcome": outcome, "target": (target or "")[:200] or None, "actor": actor[:32],
                 "at": now} for h in hashes]
        async with self.db.transaction() as conn:
            dialect: Any = postgresql if conn.dialect.name == "postgresql" else sqlite
            statement = dialect.insert(unanswered_handled).values(rows)
            await conn.execute(statement.on_conflict_do_update(
                index_elements=["text_hash"],
                set_={k: statement.excluded[k] for k in ("outcome", "target", "actor", "at")}))
            await self.audit.record(conn, actor=actor, action=f"unanswered.{outcome}", target_type="unanswered",
                                    target_id=hashes[0], after={"outcome": outcome, "target": target,
                                                                "representative": representative[:200],
                                                                "texts": len(hashes)},
                                    details={"hashes": hashes})
        return len(hashes)
