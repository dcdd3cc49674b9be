"""Drafts (草稿): a form being filled in, saved as the user types and resumable on another device.

Opening a form resumes the user's open draft for it or starts one, prefilled from the base
libraries (consented fields only) and, for fields the libraries do not fill, from the user's
earlier drafts; each value keeps its provenance. Locked fields (authoritative library values) cannot
be changed. Saves carry the revision they started from, so two devices cannot overwrite each
other silently. Drafts expire after a period without changes.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from domain_errors import DomainError
from smartform.base_library import Subject
from smartform.prefill import PrefillService
from smartform.schemas import FormSchema
from store.database import Database
from store.tables.base import utcnow
from store.tables.forms import attachments, drafts

OPEN, SUBMITTED = "open", "submitted"
# what a file must start with to be what its name says (a renamed .exe is not a .pdf)
MAGIC = {"pdf": (b"%PDF-",), "png": (b"\x89PNG\r\n\x1a\n",), "jpg": (b"\xff\xd8\xff",), "jpeg": (b"\xff\xd8\xff",)}


class DraftError(DomainError):
    """A draft (or its attachment) that cannot be read or changed as asked."""


@dataclass
class Draft:
    id: str
    user_id: str
    item_code: str
    form_version: int
    data: dict[str, Any]
    provenance: dict[str, Any]
    status: str
    revision: int
    updated_at: datetime
    expires_at: datetime


def _draft(row: Any) -> Draft:
    return Draft(**{k: row._mapping[k] for k in Draft.__dataclass_fields__})


class DraftService:
    def __init__(self, db: Database, prefill: PrefillService, attachment_dir: Path, *, ttl_days: float = 30) -> None:
        self.db = db
        self.prefill = prefill
        self.attachment_dir = attachment_dir
        self.ttl = timedelta(days=ttl_days)

    async def open(self, user_id: str, form: FormSchema, subject: Subject) -> tuple[Draft, dict[str, Any]]:
        """Resume the user's open draft of this form or start one; prefill what is still empty.
        Returns the draft and the prefill report (library down, fields not consented)."""
        now = utcnow()
        draft = await self._open_draft(user_id, form.item_code)
        prefill = await self.prefill.prefill(user_id, form, subject)
        data = dict(draft.data) if draft else {}
        provenance = dict(draft.provenance) if draft else {}
        for key, filled in prefill.values.items():
            if filled["locked"] or key not in data:
                data[key], provenance[key] = filled["value"], {"from": filled["provenance"], "locked": filled["locked"],
                                                               "value": filled["value"] if filled["locked"] else None}
        for key, value in (await self._earlier_values(user_id, form)).items():
            if key not in data:
                data[key], provenance[key] = value, {"from": "earlier_draft", "locked": False, "value": None}
        async with self.db.transaction() as conn:
            if draft is None:
                draft = Draft(uuid.uuid4().hex, user_id, form.item_code, form.version, data, provenance, OPEN, 1,
                              now, now + self.ttl)
                await conn.execute(drafts.insert().values(created_at=now, **draft.__dict__))
            else:
                await conn.execute(drafts.update().where(drafts.c.id == draft.id).values(
                    data=data, provenance=provenance, updated_at=now, expires_at=now + self.ttl))
                draft.data, draft.provenance, draft.updated_at, draft.expires_at = data, provenance, now, now + self.ttl
        return draft, prefill.to_json()

    async def _open_draft(self, user_id: str, item_code: str) -> Draft | None:
        async with self.db.read() as conn:
            row = (await conn.execute(sa.select(drafts).where(
                drafts.c.user_id == user_id, drafts.c.item_code == item_code, drafts.c.status == OPEN,
                drafts.c.expires_at > utcnow()).order_by(drafts.c.updated_at.desc()).limit(1))).first()
        return _draft(row) if row else None

    async def _earlier_values(self, user_id: str, form: FormSchema) -> dict[str, Any]:
        """Values the user typed for fields of the same name in their other recent drafts (a phone
        number, an address), newest first."""
        wanted = {f.key for f in form.fields if f.type != "group" and not f.locked}
        async with self.db.read() as conn:
            rows = await conn.execute(sa.select(drafts.c.data, drafts.c.provenance).where(
                drafts.c.user_id == user_id, drafts.c.item_code != form.item_code,
            ).order_by(drafts.c.updated_at.desc()).limit(10))
            found: dict[str, Any] = {}
            for data, provenance in rows:
                for key, value in data.items():
                    if key in wanted and key not in found and provenance.get(key, {}).get("from") == "user":
                        found[key] = value
        return found

    async def get(self, user_id: str, draft_id: str) -> Draft:
        async with self.db.read() as conn:
            row = (await conn.execute(sa.select(drafts).where(drafts.c.id == draft_id, drafts.c.user_id == user_id))).first()
        if row is None or (row.status == OPEN and row.expires_at <= utcnow()):
            raise DraftError("draft_not_found", "没有找到这份草稿（草稿超过期限未修改会被清除）")
        return _draft(row)

    async def save(self, user_id: str, form: FormSchema, draft_id: str, data: dict[str, Any], revision: int) -> Draft:
        """Replace the draft's values (autosave). Unknown fields and changes to locked fields are
        refused; a stale revision is a conflict (another device saved first)."""
        unknown = sorted(set(data) - {f.key for f in form.fields})
        if unknown:
            raise DraftError("unknown_fields", "表单中没有这些字段", details={"fields": unknown})
        now = utcnow()
        async with self.db.transaction() as conn:
            row = (await conn.execute(sa.select(drafts).where(drafts.c.id == draft_id, drafts.c.user_id == user_id)
                                      .with_for_update())).first()
            if row is None or row.expires_at <= now:
                raise DraftError("draft_not_found", "没有找到这份草稿（草稿超过期限未修改会被清除）")
            if row.status != OPEN:
                raise DraftError("draft_submitted", "这份草稿已经提交，不能再修改")
            if row.revision != revision:
                raise DraftError("draft_conflict", "草稿已在其他设备上修改，请刷新后再改",
                                 details={"revision": row.revision})
            locked = [k for k, p in row.provenance.items() if p.get("locked") and data.get(k) != p.get("value")]
            if locked:
                raise DraftError("field_locked", "这些信息来自权威数据，不能修改", details={"fields": locked})
            provenance = {k: (row.provenance.get(k) if row.data.get(k) == v and k in row.provenance
                              else {"from": "user", "locked": False, "value": None}) for k, v in data.items()}
            await conn.execute(drafts.update().where(drafts.c.id == draft_id).values(
                data=data, provenance=provenance, revision=row.revision + 1, updated_at=now, expires_at=now + self.ttl))
        return await self.get(user_id, draft_id)

    async def attach(self, user_id: str, form: FormSchema, draft_id: str, key: str, filename: str,
                     content: bytes) -> dict[str, Any]:
        """Store an uploaded file for one of the form's attachments (replacing an earlier one)."""
        draft = await self.get(user_id, draft_id)
        if draft.status != OPEN:
            raise DraftError("draft_submitted", "这份草稿已经提交，不能再修改")
        spec = next((a for a in form.attachments if a.key == key), None)
        if spec is None:
            raise DraftError("unknown_attachment", "表单中没有这项附件", details={"key": key})
        extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
        if extension not in spec.types or not content.startswith(MAGIC[extension]):
            raise DraftError("attachment_type", f"{spec.label}只接受 {'、'.join(spec.types)} 文件",
                             details={"key": key, "allowed": spec.types})
        if len(content) > spec.max_mb * 1024 * 1024:
            raise DraftError("attachment_too_large", f"{spec.label}不能超过{spec.max_mb:g}MB",
                             details={"key": key, "max_mb": spec.max_mb})
        digest = hashlib.sha256(content).hexdigest()
        path = self.stored_file(digest)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.with_suffix(".part")
            temporary.write_bytes(content)
            temporary.replace(path)  # never a half-written file under the final name
        record = {"id": uuid.uuid4().hex, "draft_id": draft_id, "key": key, "filename": filename[-200:],
                  "file_type": extension, "size": len(content), "sha256": digest, "created_at": utcnow()}
        async with self.db.transaction() as conn:
            await conn.execute(attachments.delete().where(attachments.c.draft_id == draft_id, attachments.c.key == key))
            await conn.execute(attachments.insert().values(**record))
        return {k: v for k, v in record.items() if k not in ("draft_id", "created_at")}

    def stored_file(self, sha256: str) -> Path:
        """Where an uploaded file is kept (by its hash)."""
        return self.attachment_dir / sha256[:2] / sha256

    async def attachments_of(self, draft_id: str) -> list[dict[str, Any]]:
        async with self.db.read() as conn:
            rows = await conn.execute(sa.select(attachments).where(attachments.c.draft_id == draft_id))
            return [{k: v for k, v in row._mapping.items() if k not in ("draft_id", "created_at")} for row in rows]
