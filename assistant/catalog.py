"""The guide catalog service: reading and writing service items, FAQ and synonyms.

Every change to published knowledge bumps the knowledge-base version (``kb_version``) in the
same transaction, so caches and indexes can tell that they are stale. Item changes keep a
full snapshot per version (for history and diffs).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from assistant.models import FaqEntry, ServiceItem, Synonym
from domain_errors import DomainError
from store.audit import AuditLog
from store.database import Database
from store.tables.base import utcnow
from store.tables.catalog import faq_entries, item_versions, kb_meta, service_items, synonyms

KB_VERSION = "kb_version"
ANY_VERSION = -1  # save_item without a version check (importers, scripts)


@dataclass(frozen=True)
class ItemRecord:
    item: ServiceItem
    version: int
    source: str
    updated_at: datetime


@dataclass
class UpsertCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    changed_codes: list[str] = field(default_factory=list)

    @property
    def changed(self) -> int:
        return self.created + self.updated


class CatalogConflict(DomainError):
    """A staff edit that cannot be applied as asked; ``current_version`` is what is stored now."""

    def __init__(self, code: str, message: str, current_version: int | None = None) -> None:
        super().__init__(code, message)
        self.current_version = current_version


def _faq_json(row: Any) -> dict[str, Any]:
    return {"id": row.id, "question": row.question, "answer": row.answer, "items": row.item_codes, "status": row.status}


class CatalogService:
    def __init__(self, db: Database, audit: AuditLog, clock: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.audit = audit
        self.clock = clock

    # --- reading -----------------------------------------------------------------
    async def get_item(self, code: str) -> ItemRecord | None:
        async with self.db.read() as conn:
            row = (await conn.execute(sa.select(service_items).where(service_items.c.code == code))).first()
        return _record(row) if row else None

    async def list_items(
        self,
        *,
        audience: str | None = None,
        department: str | None = None,
        include_retired: bool = False,
        page: int = 1,
        page_size: int = 20,
    ) -> tuple[list[ItemRecord], int]:
        """One page of items ordered by code, and the total that match."""
        conditions = []
        if not include_retired:
            conditions.append(service_items.c.status == "active")
        if audience == "个人":
            conditions.append(service_items.c.for_person.is_(True))
        elif audience == "法人":
            conditions.append(service_items.c.for_legal_person.is_(True))
        if department:
            conditions.append(service_items.c.department == department)
        query = sa.select(service_items).where(*conditions)
        async with self.db.read() as conn:
            total = (await conn.execute(
                sa.select(sa.func.count()).select_from(service_items).where(*conditions))).scalar_one()
            rows = await conn.execute(
                query.order_by(service_items.c.code).offset((page - 1) * page_size).limit(page_size))
            return [_record(row) for row in rows], total

    async def all_items(self, *, include_retired: bool = False) -> list[ItemRecord]:
        query = sa.select(service_items).order_by(service_items.c.code)
        if not include_retired:
            query = query.where(service_items.c.status == "active")
        async with self.db.read() as conn:
            return [_record(row) for row in await conn.execute(query)]

    async def item_history(self, code: str) -> list[dict[str, Any]]:
        async with self.db.read() as conn:
            rows = await conn.execute(
                sa.select(item_versions).where(item_versions.c.code == code).order_by(item_versions.c.version))
            return [dict(row._mapping) for row in rows]

    async def faq(self, *, include_retired: bool = False) -> list[FaqEntry]:
        query = sa.select(faq_entries).order_by(faq_entries.c.id)
        if not include_retired:
            query = query.where(faq_entries.c.status == "active")
        async with self.db.read() as conn:
            return [
                FaqEntry(id=r.id, question=r.question, answer=r.answer, items=r.item_codes, status=r.status)
                for r in await conn.execute(query)
            ]

    async def faq_versions(self) -> dict[str, int]:
        async with self.db.read() as conn:
            return dict((await conn.execute(sa.select(faq_entries.c.id, faq_entries.c.version))).tuples().all())

    async def synonyms(self) -> list[Synonym]:
        async with self.db.read() as conn:
            rows = await conn.execute(
                sa.select(synonyms).where(synonyms.c.status == "active").order_by(synonyms.c.colloquial))
            return [Synonym(colloquial=r.colloquial, official=r.official) for r in rows]

    async def kb_version(self) -> int:
        async with self.db.read() as conn:
            value = (await conn.execute(sa.select(kb_meta.c.value).where(kb_meta.c.key == KB_VERSION))).scalar()
        return value or 0

    async def count_items(self) -> int:
        async with self.db.read() as conn:
            return (await conn.execute(sa.select(sa.func.count()).select_from(service_items))).scalar_one()

    # --- writing (on the caller's transaction, so an import is all or nothing) ------
    async def upsert_items(
        self, conn: AsyncConnection, items: Iterable[ServiceItem], *, source: str, actor: str
    ) -> UpsertCounts:
        items = list(items)
        counts = UpsertCounts()
        existing: dict[str, tuple[str, int]] = {}
        codes = [item.code for item in items]
        for start in range(0, len(codes), 500):  # stay under SQLite's bound-parameter limit
            rows = await conn.execute(
                sa.select(service_items.c.code, service_items.c.content_hash, service_items.c.version)
                .where(service_items.c.code.in_(codes[start:start + 500])))
            existing.update({code: (digest, version) for code, digest, version in rows})

        now = self.clock()
        inserts, updates, snapshots = [], [], []
        for item in items:
            digest = item.content_hash()
            document = item.model_dump(mode="json")
            if item.code in existing:
                old_digest, old_version = existing[item.code]
                if old_digest == digest:
                    counts.unchanged += 1
                    continue
                version = old_version + 1
                updates.append({"b_code": item.code, **_columns(item, document, digest, version, source, now)})
                counts.updated += 1
            else:
                version = 1
                inserts.append({"code": item.code, **_columns(item, document, digest, version, source, now)})
                counts.created += 1
            snapshots.append(dict(code=item.code, version=version, document=document, actor=actor, changed_at=now))
            counts.changed_codes.append(item.code)

        if inserts:
            await conn.execute(service_items.insert(), inserts)
        if updates:
            await conn.execute(
                service_items.update().where(service_items.c.code == sa.bindparam("b_code")), updates)
        if snapshots:
            await conn.execute(item_versions.insert(), snapshots)
            await self._bump_kb_version(conn)
        return counts

    async def save_item(self, item: ServiceItem, *, actor: str, source: str = "console",
                        expected_version: int | None = ANY_VERSION) -> ItemRecord:
        """Create or edit one item (a staff action): audited with before and after. With
        ``expected_version`` (None: the item must not exist yet) it is refused with
        ``CatalogConflict`` when the stored version differs, checked in the same transaction as
        the write so that nobody's publication slips in between."""
        async with self.db.transaction() as conn:
            stored = (await conn.execute(
                sa.select(service_items.c.document, service_items.c.version)
                .where(service_items.c.code == item.code))).first()
            before = stored.document if stored else None
            current = stored.version if stored else None
            if expected_version != ANY_VERSION and current != expected_version:
                raise CatalogConflict("item_changed" if stored else "item_missing",
                                      f"事项 {item.code} 已有第 {current} 版" if stored else f"事项 {item.code} 已不存在",
                                      current)
            counts = await self.upsert_items(conn, [item], source=source, actor=actor)
            if counts.changed:
                await self.audit.record(conn, actor=actor, action="item.save", target_type="service_item",
                                        target_id=item.code, before=before, after=item.model_dump(mode="json"))
        record = await self.get_item(item.code)
        assert record is not None
        return record

    async def faq_entry(self, faq_id: str) -> tuple[FaqEntry, int] | None:
        """One FAQ entry (retired ones too) and its version, for editing."""
        async with self.db.read() as conn:
            r = (await conn.execute(sa.select(faq_entries).where(faq_entries.c.id == faq_id))).first()
        if r is None:
            return None
        return FaqEntry(id=r.id, question=r.question, answer=r.answer, items=r.item_codes, status=r.status), r.version

    async def save_faq(self, entry: FaqEntry, *, actor: str, expected_version: int | None) -> int:
        """Create (``expected_version`` None) or edit one FAQ entry as a staff action: refused with
        ``CatalogConflict`` when it was changed since it was read, or when a new entry's id is taken,
        or when it links an item that does not exist. Audited; returns the new version."""
        async with self.db.transaction() as conn:
            before = (await conn.execute(sa.select(faq_entries).where(faq_entries.c.id == entry.id))).first()
            current = before.version if before else None
            if current != expected_version:
                raise CatalogConflict("faq_changed" if before else "faq_missing",
                                      "该问题已被他人修改，请刷新后再改" if expected_version and before else
                                      f"编号 {entry.id} 已被使用" if before else "该问题不存在", current)
            known = set((await conn.execute(sa.select(service_items.c.code).where(
                service_items.c.code.in_(entry.items)))).scalars())
            if missing := [code for code in entry.items if code not in known]:
                raise CatalogConflict("unknown_items", f"没有这些事项：{'、'.join(missing)}", current)
            counts = await self.upsert_faq(conn, [entry])
            if counts.changed:
                await self.audit.record(conn, actor=actor, action="faq.save", target_type="faq", target_id=entry.id,
                                        before=_faq_json(before) if before else None, after=entry.model_dump(mode="json"))
            return (current or 0) + (1 if counts.changed else 0)

    async def save_synonym(self, pair: Synonym, *, actor: str, retire: bool = False) -> None:
        """Add or change a colloquial term's official term, or retire it (a staff action, audited)."""
        async with self.db.transaction() as conn:
            before = (await conn.execute(sa.select(synonyms).where(synonyms.c.colloquial == pair.colloquial))).first()
            status = "retired" if retire else "active"
            if before and before.official == pair.official and before.status == status:
                return
            values = {"official": pair.official, "status": status, "updated_at": self.clock()}
            if before:
                await conn.execute(synonyms.update().where(synonyms.c.colloquial == pair.colloquial).values(**values))
            else:
                await conn.execute(synonyms.insert().values(colloquial=pair.colloquial, **values))
            await self._bump_kb_version(conn)
            await self.audit.record(conn, actor=actor, action="synonym.retire" if retire else "synonym.save",
                                    target_type="synonym", target_id=pair.colloquial,
                                    before={"official": before.official, "status": before.status} if before else None,
                                    after={"official": pair.official, "status": status})

    async def upsert_faq(self, conn: AsyncConnection, entries: Iterable[FaqEntry]) -> UpsertCounts:
        counts = UpsertCounts()
        existing = {r.id: (r.content_hash, r.version) for r in await conn.execute(
            sa.select(faq_entries.c.id, faq_entries.c.content_hash, faq_entries.c.version))}
        now = self.clock()
        for entry in entries:
            digest = entry.content_hash()
            values = dict(question=entry.question, answer=entry.answer, item_codes=entry.items,
                          status=entry.status, content_hash=digest, updated_at=now)
            if entry.id not in existing:
                await conn.execute(faq_entries.insert().values(id=entry.id, version=1, **values))
                counts.created += 1
            elif existing[entry.id][0] != digest:
                await conn.execute(faq_entries.update().where(faq_entries.c.id == entry.id)
                                   .values(version=existing[entry.id][1] + 1, **values))
                counts.updated += 1
            else:
                counts.unchanged += 1
                continue
            counts.changed_codes.append(entry.id)
        if counts.changed:
            await self._bump_kb_version(conn)
        return counts

    async def upsert_synonyms(self, conn: AsyncConnection, pairs: Iterable[Synonym]) -> UpsertCounts:
        counts = UpsertCounts()
        existing = dict((await conn.execute(sa.select(synonyms.c.colloquial, synonyms.c.official))).tuples().all())
        now = self.clock()
        for pair in pairs:
            if pair.colloquial not in existing:
                await conn.execute(synonyms.insert().values(
                    colloquial=pair.colloquial, official=pair.official, status="active", updated_at=now))
                counts.created += 1
            elif existing[pair.colloquial] != pair.official:
                await conn.execute(synonyms.update().where(synonyms.c.colloquial == pair.colloquial)
                                   .values(official=pair.official, updated_at=now))
                counts.updated += 1
            else:
                counts.unchanged += 1
                continue
            counts.changed_codes.append(pair.colloquial)
        if counts.changed:
            await self._bump_kb_version(conn)
        return counts

    async def _bump_kb_version(self, conn: AsyncConnection) -> None:
        result = await conn.execute(
            kb_meta.update().where(kb_meta.c.key == KB_VERSION).values(value=kb_meta.c.value + 1))
        if result.rowcount == 0:
            await conn.execute(kb_meta.insert().values(key=KB_VERSION, value=1))


def _columns(item: ServiceItem, document: dict[str, Any], digest: str, version: int, source: str,
             now: datetime) -> dict[str, Any]:
    return dict(
        name=item.name, department=item.department, item_type=item.item_type,
        for_person="个人" in item.audience, for_legal_person="法人" in item.audience,
        level=item.level, district=item.district, source=source, status=item.status,
        version=version, content_hash=digest, document=document, updated_at=now,
    )


def _record(row: Any) -> ItemRecord:
    return ItemRecord(item=ServiceItem.model_validate(row.document), version=row.version,
                      source=row.source, updated_at=row.updated_at)
