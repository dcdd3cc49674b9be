"""The search index's life: built at start, following the catalog, vectors in the background.

``SearchIndex`` owns the current ``IndexSnapshot``. ``start`` builds the lexical and fuzzy indexes
(about a second for the real catalog) and starts the vectors in the background from the
persistent embedding cache; searches use vectors once every item has them (``/readyz`` shows the
progress through ``readiness``). ``sync`` — every ``sync_seconds``, and right after a local change —
compares each item's fingerprint with what was indexed and re-indexes only what changed (edited,
added, retired), then publishes a new snapshot.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any, Protocol

from assistant.catalog import CatalogService
from assistant.models import Synonym
from assistant.search.documents import IndexedItem, build_documents
from assistant.search.snapshot import LOCAL_STOPWORDS, IndexSnapshot, apply_changes, empty_snapshot
from retrieval.embedding_cache import CachedEmbedder
from retrieval.lexical import Tokenizer

log = logging.getLogger(__name__)

EMBED_BATCH = 32


class Readiness(Protocol):
    def report(self, name: str, *, ready: bool, **progress: Any) -> None: ...


class SearchIndex:
    def __init__(self, catalog: CatalogService, embedder: CachedEmbedder | None, executor: Executor, *,
                 readiness: Readiness | None = None,
                 on_change: Callable[[IndexSnapshot], None] | None = None) -> None:
        """``on_change`` runs in the executor with each snapshot whose items changed."""
        self.catalog = catalog
        self.embedder = embedder
        self.executor = executor
        self.readiness = readiness
        self.on_change = on_change
        self._snapshot: IndexSnapshot | None = None
        self._vector_pending: set[str] = set()
        self._vector_task: asyncio.Task[None] | None = None
        self._watch_task: asyncio.Task[None] | None = None
        self._kb_version: int | None = None
        self._sync_lock = asyncio.Lock()

    @property
    def snapshot(self) -> IndexSnapshot:
        """The current snapshot (read it once per search: a sync may publish the next one meanwhile)."""
        if self._snapshot is None:
            raise RuntimeError("the search index is not started")
        return self._snapshot

    @property
    def started(self) -> bool:
        return self._snapshot is not None

    # --- lifecycle -------------------------------------------------------------------------
    async def start(self, *, sync_seconds: float | None = None) -> None:
        """Build the lexical and fuzzy indexes now, the vectors in the background."""
        loop = asyncio.get_running_loop()
        tokenizer = await loop.run_in_executor(self.executor, Tokenizer, LOCAL_STOPWORDS)
        self._snapshot = empty_snapshot(tokenizer, self.embedder.dim if self.embedder else None)
        await self.sync()
        self._report("lexical_index", ready=True, items=len(self.snapshot.items))
        if sync_seconds:
            self._watch_task = loop.create_task(self._watch(sync_seconds))

    async def stop(self) -> None:
        tasks = [t for t in (self._watch_task, self._vector_task) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _watch(self, seconds: float) -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                await self.sync()
            except Exception:
                log.exception("search index sync failed; will retry")

    # --- following the catalog ---------------------------------------------------------------
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
            items = self.snapshot.items
            changed = [d for code, d in documents.items()
                       if code not in items or items[code].fingerprint != d.fingerprint]
            removed = [code for code in items if code not in documents]
            snapshot = await asyncio.get_running_loop().run_in_executor(
                self.executor, self._apply, changed, removed, synonyms, documents)
            # published here, on the loop, like the vectors' readiness (which may have come meanwhile)
            self._snapshot = dataclasses.replace(snapshot, vector_ready=self.snapshot.vector_ready)
            self._kb_version = version
            if self.snapshot.vectors is not None and (changed or removed or not self.snapshot.vector_ready):
                self._vector_pending.update(d.code for d in changed)
                self._vector_pending.difference_update(removed)
                if not self.snapshot.vector_ready:
                    self._report("vector_index", ready=False, done=0, total=len(self._vector_pending))
                if self._vector_task is None or self._vector_task.done():
                    self._vector_task = asyncio.get_running_loop().create_task(self._build_vectors())
            return len(changed) + len(removed)

    def _apply(self, changed: list[IndexedItem], removed: list[str], synonyms: list[Synonym],
               documents: dict[str, IndexedItem]) -> IndexSnapshot:
        snapshot = apply_changes(self.snapshot, documents, changed, removed, synonyms)
        if self.on_change is not None:
            self.on_change(snapshot)
        return snapshot

    # --- vectors in the background -------------------------------------------------------------
    async def _build_vectors(self) -> None:
        loop = asyncio.get_running_loop()
        done = 0
        while self._vector_pending:
            first = sorted(self._vector_pending)[:EMBED_BATCH]
            items = self.snapshot.items
            batch = [code for code in first if code in items]
            self._vector_pending.difference_update(first)
            await loop.run_in_executor(self.executor, self._embed_and_index, [items[c] for c in batch])
            done += len(batch)
            if not self.snapshot.vector_ready:
                self._report("vector_index", ready=False, done=done, total=done + len(self._vector_pending))
        vectors = self.snapshot.vectors
        assert vectors is not None
        if not self.snapshot.vector_ready:
            self._snapshot = dataclasses.replace(self.snapshot, vector_ready=True)
        self._report("vector_index", ready=True, items=len(vectors), vectors=vectors.vector_count)

    def _embed_and_index(self, docs: list[IndexedItem]) -> None:
        vectors, embedder = self.snapshot.vectors, self.embedder
        assert vectors is not None and embedder is not None
        embedded = embedder.embed_passages([text for doc in docs for text in doc.sections.values()])
        start = 0
        for doc in docs:
            count = len(doc.sections)
            if doc.code in self.snapshot.items:  # it may have been retired while we embedded
                vectors.upsert(doc.code, embedded[start:start + count], list(doc.sections))
            start += count

    async def wait_for_vectors(self) -> None:
        while self._vector_task is not None and not self._vector_task.done():
            await asyncio.shield(self._vector_task)

    def _report(self, name: str, **state: Any) -> None:
        if self.readiness is not None:
            self.readiness.report(name, **state)
