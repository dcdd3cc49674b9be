"""Guide drafts (办事指南草稿): the staff side of curating service items.

A staff member edits a guide as a draft — one per item code, kept in ``guide_drafts`` beside the
published catalog — and a publisher writes it into the catalog (``CatalogService.save_item``),
which makes it visible to search and the assistant. A draft remembers the catalog version it was
based on (``base_version``; None for a new item) and counts its own revisions, so that:

- an edit made from a stale copy of the draft is a conflict and overwrites nothing;
- publishing a draft whose base is no longer the published version (someone else published
  meanwhile) is a conflict and overwrites nothing;
- nobody who saved any revision of a draft may publish it (``own_change``): publishing is the
  review of the change, and a colleague's re-save must not make an author their own reviewer.

Every change is written to the audit log in the same transaction, with before and after. This
module also owns the staff's overview of guides: published items and drafts together, searched
and filtered for the console's list.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from pydantic import ValidationError

from assistant.catalog import CatalogConflict, CatalogService, ItemRecord
from assistant.models import ServiceItem
from domain_errors import DomainError
from store.audit import AuditLog
from store.database import Database
from store.tables.base import utcnow
from store.tables.catalog import service_items
from store.tables.console import guide_drafts

MAX_WORDS = 5  # words of a list search; more are ignored
MAX_SEARCH_CANDIDATES = 2000  # rows a text search reads before it checks names and aliases
MAX_PAGE_SIZE = 100


class GuideDraftError(DomainError):
    """A guide change that cannot be made as asked: a stable ``code``, a message for staff, and
    ``details`` (for invalid guides: problems with a ``path``)."""


@dataclass(frozen=True)
class GuideDraft:
    code: str
    item: ServiceItem
    base_version: int | None  # the catalog version it was based on; None: a new item
    revision: int  # 1 when created, +1 on every save
    author: str  # who saved it last
    created_at: datetime
    updated_at: datetime
    revision_authors: tuple[dict[str, Any], ...] = ()  # [{"revision", "author"}] for every save

    @property
    def authors(self) -> list[str]:
        """Everyone who saved a revision of this draft, in the order they first did."""
        return list(dict.fromkeys(entry["author"] for entry in self.revision_authors))

    def authored_by(self, staff: str) -> bool:
        return staff in self.authors


@dataclass(frozen=True)
class GuideRow:
    """One line of the staff's guide list: a published item, or a draft of a new one."""

    code: str
    name: str
    department: str
    audience: tuple[str, ...]
    status: str
    version: int | None  # None: not yet published
    updated_at: datetime
    draft_revision: int | None
    draft_author: str | None


# pydantic's error types in the words staff read
_MESSAGES = {
    "missing": "必填", "string_too_short": "不能为空", "string_pattern_mismatch": "只能含字母、数字、-、_ 和 .",
    "literal_error": "取值不在允许范围内", "int_parsing": "应为整数", "int_from_float": "应为整数",
    "date_from_datetime_parsing": "日期格式应为 YYYY-MM-DD", "date_parsing": "日期格式应为 YYYY-MM-DD",
    "bool_parsing": "应为“是”或“否”", "extra_forbidden": "不是指南的字段",
}


def validation_problems(exc: ValidationError) -> list[dict[str, str]]:
    """A pydantic refusal as problems staff can act on: the field's path and what is wrong, in Chinese."""
    return [_problem(error) for error in exc.errors()[:50]]


def _problem(error: Any) -> dict[str, str]:
    kind, context = error["type"], error.get("ctx") or {}
    if kind in ("string_too_long", "too_long"):
        limit = context.get("max_length")
        message = f"最多 {limit} 个字" if kind == "string_too_long" else f"最多 {limit} 项"
    elif kind in ("less_than_equal", "greater_than_equal"):
        message = f"不能大于 {context.get('le')}" if kind == "less_than_equal" else f"不能小于 {context.get('ge')}"
    else:
        message = _MESSAGES.get(kind, error.get("msg", "不正确"))
    return {"path": ".".join(str(part) for part in error["loc"]), "message": message}


def parse_item(document: dict[str, Any]) -> ServiceItem:
    """A guide as the editor sent it, checked; ``GuideDraftError`` ``invalid_item`` lists every problem by path."""
    try:
        item = ServiceItem.model_validate(document)
    except ValidationError as exc:
        raise GuideDraftError("invalid_item", "指南有需要修改的地方", validation_problems(exc)) from None
    if item.valid_from and item.valid_to and item.valid_from > item.valid_to:
        raise GuideDraftError("invalid_item", "指南有需要修改的地方",
                              [{"path": "valid_to", "message": "失效日期不能早于生效日期"}])
    return item


def _draft(row: Any) -> GuideDraft:
    return GuideDraft(code=row.code, item=ServiceItem.model_validate(row.document), base_version=row.base_version,
                      revision=row.revision, author=row.author, created_at=row.created_at, updated_at=row.updated_at,
                      revision_authors=tuple(row.revision_authors))


def _document(item: ServiceItem) -> dict[str, Any]:
    return item.model_dump(mode="json")


class GuideDrafts:
    def __init__(self, db: Database, audit: AuditLog, catalog: CatalogService,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.db, self.audit, self.catalog, self.clock = db, audit, catalog, clock

    # --- reading ------------------------------------------------------------------------
    async def get(self, code: str) -> GuideDraft | None:
        async with self.db.read() as conn:
            row = (await conn.execute(sa.select(guide_drafts).where(guide_drafts.c.code == code))).first()
        return _draft(row) if row else None

    async def departments(self) -> list[str]:
        async with self.db.read() as conn:
            rows = await conn.execute(sa.select(service_items.c.department).distinct()
                                      .where(service_items.c.department != "").order_by(service_items.c.department))
            return list(rows.scalars())

    async def item_names(self, *, limit: int = 5000) -> dict[str, str]:
        """Codes and names of published items (for choosing linked items), without reading documents."""
        async with self.db.read() as conn:
            rows = await conn.execute(sa.select(service_items.c.code, service_items.c.name)
                                      .order_by(service_items.c.code).limit(limit))
            return dict(rows.tuples().all())

    async def overview(self, *, words: str = "", department: str | None = None, audience: str | None = None,
                       status: str | None = None, only_drafts: bool = False, page: int = 1,
                       page_size: int = 30) -> tuple[list[GuideRow], int]:
        """One page of the staff's guide list and how many match: published items (active and
        retired) and drafts of items not yet published, with every word found in the code, the
        name or an alias."""
        terms = [w.lower() for w in words.split()[:MAX_WORDS] if w]
        page, page_size = max(1, page), max(1, min(page_size, MAX_PAGE_SIZE))
        conditions: list[Any] = []
        if department:
            conditions.append(service_items.c.department == department)
        if audience == "个人":
            conditions.append(service_items.c.for_person.is_(True))
        elif audience == "法人":
            conditions.append(service_items.c.for_legal_person.is_(True))
        if status in ("active", "retired"):
            conditions.append(service_items.c.status == status)
        if only_drafts:
            conditions.append(guide_drafts.c.code.is_not(None))
        document_text = sa.cast(service_items.c.document, sa.Text)
        for term in terms:
            # a cheap pre-selection in SQL (aliases live in the JSON document, stored with or without
            # \\u escapes depending on the driver); names and aliases are checked exactly below
            conditions.append(sa.or_(sa.func.lower(service_items.c.code).contains(term, autoescape=True),
                                     service_items.c.name.contains(term, autoescape=True),
                                     document_text.contains(term, autoescape=True),
                                     document_text.contains(json.dumps(term)[1:-1], autoescape=True)))
        joined = service_items.outerjoin(guide_drafts, guide_drafts.c.code == service_items.c.code)
        columns = [service_items.c.code, service_items.c.name, service_items.c.department, service_items.c.status,
                   service_items.c.version, service_items.c.updated_at, service_items.c.for_person,
                   service_items.c.for_legal_person, guide_drafts.c.revision.label("draft_revision"),
                   guide_drafts.c.author.label("draft_author")]
        async with self.db.read() as conn:
            new_drafts = [_draft(r) for r in await conn.execute(sa.select(guide_drafts).where(
                guide_drafts.c.base_version.is_(None), guide_drafts.c.code.not_in(sa.select(service_items.c.code)))
                .order_by(guide_drafts.c.code).limit(MAX_PAGE_SIZE))]
            if terms:
                rows = (await conn.execute(sa.select(*columns, service_items.c.document).select_from(joined)
                                           .where(*conditions).order_by(service_items.c.code)
                                           .limit(MAX_SEARCH_CANDIDATES))).all()
                rows = [r for r in rows if _names_match(r.code, [r.name, *r.document.get("aliases", [])], terms)]
                total, rows = len(rows), rows[(page - 1) * page_size:page * page_size]
            else:
                total = (await conn.execute(sa.select(sa.func.count()).select_from(joined).where(*conditions)))\
                    .scalar_one()
                rows = (await conn.execute(sa.select(*columns).select_from(joined).where(*conditions)
                                           .order_by(service_items.c.code)
                                           .offset((page - 1) * page_size).limit(page_size))).all()
        unpublished = [GuideRow(d.code, d.item.name, d.item.department, tuple(d.item.audience), d.item.status, None,
                                d.updated_at, d.revision, d.author)
                       for d in new_drafts if _names_match(d.code, d.item.all_names, terms)
                       and (not department or d.item.department == department)
                       and (not audience or audience in d.item.audience) and (not status or d.item.status == status)]
        published = [GuideRow(r.code, r.name, r.department,
                              tuple(a for a, on in (("个人", r.for_person), ("法人", r.for_legal_person)) if on),
                              r.status, r.version, r.updated_at, r.draft_revision, r.draft_author) for r in rows]
        # drafts of new items lead the first page: they are what someone is working on
        return (unpublished if page == 1 else []) + published, total + len(unpublished)

    # --- changing ------------------------------------------------------------------------
    async def save(self, actor: str, item: ServiceItem, base_version: int | None,
                   revision: int | None) -> GuideDraft:
        """Create a draft (``revision`` None, ``base_version`` the published version it starts
        from) or save the next revision of one (``revision`` as it was read). Refused with a
        conflict, changing nothing, when the draft or the published item moved on meanwhile."""
        try:
            await self._save(actor, item, base_version, revision)
        except sa.exc.IntegrityError:  # two people created the same draft at once: the first one won
            raise GuideDraftError("draft_exists", f"事项 {item.code} 刚刚有人建了草稿，请在那份草稿上修改") from None
        draft = await self.get(item.code)
        assert draft is not None
        return draft

    async def _save(self, actor: str, item: ServiceItem, base_version: int | None, revision: int | None) -> None:
        now = self.clock()
        document = _document(item)
        async with self.db.transaction() as conn:
            published = (await conn.execute(sa.select(service_items.c.version)
                                            .where(service_items.c.code == item.code))).scalar()
            row = (await conn.execute(sa.select(guide_drafts).where(guide_drafts.c.code == item.code)
                                      .with_for_update())).first()
            if revision is None:
                if row is not None:
                    raise GuideDraftError("draft_exists", f"事项 {item.code} 已有一份草稿（{row.author} 第 "
                                          f"{row.revision} 次修改），请在那份草稿上修改")
                if published != base_version:
                    raise GuideDraftError("item_changed", f"编号 {item.code} 已被使用" if base_version is None
                                          else f"事项 {item.code} 已发布了新版本（第 {published} 版）")
                await conn.execute(guide_drafts.insert().values(
                    code=item.code, base_version=base_version, document=document, revision=1, author=actor,
                    revision_authors=[{"revision": 1, "author": actor}], created_at=now, updated_at=now))
                before = None
            else:
                if row is None:
                    raise GuideDraftError("draft_gone", "这份草稿已被发布或放弃")
                if row.revision != revision or row.base_version != base_version:
                    raise GuideDraftError("draft_changed", f"草稿已被他人修改（{row.author} 第 {row.revision} 次修改）")
                await conn.execute(guide_drafts.update().where(guide_drafts.c.code == item.code).values(
                    document=document, revision=row.revision + 1, author=actor, updated_at=now,
                    revision_authors=[*row.revision_authors, {"revision": row.revision + 1, "author": actor}]))
                before = row.document
            await self.audit.record(conn, actor=actor, action="guide_draft.save", target_type="guide_draft",
                                    target_id=item.code, before=before, after=document,
                                    details={"base_version": base_version, "revision": (revision or 0) + 1,
                                             "published_version": published})

    async def publish(self, actor: str, code: str, revision: int | None = None) -> ItemRecord:
        """Write the draft into the catalog, if the published item is still the version the draft
        was based on (and, given ``revision``, the draft is still the one the publisher read) and
        the publisher saved none of its revisions; then the draft is gone."""
        draft = await self.get(code)
        if draft is None:
            raise GuideDraftError("draft_missing", f"事项 {code} 没有草稿")
        if draft.authored_by(actor):
            raise GuideDraftError("own_change", "您保存过这份草稿，不能发布自己参与的修改，请由其他审核人员发布",
                                  {"authors": draft.authors})
        if revision is not None and draft.revision != revision:
            raise GuideDraftError("draft_changed",
                                  f"草稿已被修改（{draft.author} 第 {draft.revision} 次修改），请核对后再发布")
        try:
            # the version check happens inside save_item's transaction: nothing published meanwhile is lost
            record = await self.catalog.save_item(draft.item, actor=actor, expected_version=draft.base_version)
        except CatalogConflict as exc:
            raise GuideDraftError("item_changed",
                                  f"草稿基于第 {draft.base_version} 版，而事项现在是第 {exc.current_version} 版：有人在此期间"
                                  "发布了修改。请对照最新版本修改草稿（或放弃草稿后重新编辑）" if exc.current_version else
                                  f"编号 {code} 在此期间已被发布为另一个事项", {"current_version": exc.current_version})\
                from None
        async with self.db.transaction() as conn:
            removed = await conn.execute(guide_drafts.delete().where(guide_drafts.c.code == code,
                                                                     guide_drafts.c.revision == draft.revision))
            if removed.rowcount == 0:
                # saved again while we published: those edits were made on top of what is now
                # published, so the draft now starts from the new version
                await conn.execute(guide_drafts.update().where(guide_drafts.c.code == code)
                                   .values(base_version=record.version))
            await self.audit.record(conn, actor=actor, action="guide_draft.publish", target_type="guide_draft",
                                    target_id=code, before=_document(draft.item), after=None,
                                    details={"base_version": draft.base_version, "revision": draft.revision,
                                             "published_version": record.version})
        return record

    async def discard(self, actor: str, code: str, revision: int | None = None) -> None:
        """Throw the draft away (the published item stays as it is)."""
        async with self.db.transaction() as conn:
            row = (await conn.execute(sa.select(guide_drafts).where(guide_drafts.c.code == code)
                                      .with_for_update())).first()
            if row is None:
                raise GuideDraftError("draft_missing", f"事项 {code} 没有草稿")
            if revision is not None and row.revision != revision:
                raise GuideDraftError("draft_changed", f"草稿已被他人修改（{row.author} 第 {row.revision} 次修改）")
            await conn.execute(guide_drafts.delete().where(guide_drafts.c.code == code))
            await self.audit.record(conn, actor=actor, action="guide_draft.discard", target_type="guide_draft",
                                    target_id=code, before=row.document, after=None,
                                    details={"base_version": row.base_version, "revision": row.revision})


def _names_match(code: str, names: list[str], terms: list[str]) -> bool:
    haystack = [code.lower(), *(n.lower() for n in names)]
    return all(any(term in text for text in haystack) for term in terms)

