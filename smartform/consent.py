"""Consent (授权) to read base-library fields for one form.

Before prefill the user is shown which fields, from which library, for which form and why
(``ConsentService.request``). What they grant is recorded (user, form, fields, purpose, granted,
expires, revoked) and audited; only fields under a live consent are ever read; a revocation takes
effect at once.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from domain_errors import DomainError
from smartform.base_library import split_field
from smartform.schemas import FormSchema
from store.audit import AuditLog
from store.database import Database
from store.tables.base import utcnow
from store.tables.forms import consents

LIBRARY_NAMES = {"population": "人口库", "legal_person": "法人库", "license": "电子证照库"}


class ConsentError(DomainError):
    """A consent that cannot be granted as asked (a field the form does not read, …)."""

    def __init__(self, message: str) -> None:
        super().__init__("consent_invalid", message)


@dataclass(frozen=True)
class Consent:
    id: str
    user_id: str
    item_code: str
    form_version: int
    fields: list[str]
    purpose: str
    granted_at: datetime
    expires_at: datetime
    revoked_at: datetime | None

    @property
    def live(self) -> bool:
        return self.revoked_at is None and self.expires_at > utcnow()

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "item_code": self.item_code, "form_version": self.form_version,
                "fields": self.fields, "purpose": self.purpose, "granted_at": self.granted_at.isoformat(),
                "expires_at": self.expires_at.isoformat(),
                "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None}


def consent_request(form: FormSchema) -> dict[str, Any]:
    """What the user is asked: for this form, these fields, from these libraries, for this purpose."""
    fields = [{"source": f.source, "label": f.label, "field": f.key,
               "library": LIBRARY_NAMES[split_field(f.source)[0]]}
              for f in form.sourced_fields() if f.source]
    return {"item_code": form.item_code, "form_title": form.title, "purpose": form.purpose, "fields": fields}


class ConsentService:
    def __init__(self, db: Database, audit: AuditLog, *, ttl_days: float = 30) -> None:
        self.db = db
        self.audit = audit
        self.ttl = timedelta(days=ttl_days)

    async def grant(self, user_id: str, form: FormSchema, fields: list[str]) -> Consent:
        readable = {f.source for f in form.sourced_fields()}
        unknown = sorted(set(fields) - readable)
        if unknown:
            raise ConsentError(f"这张表不读取这些字段：{', '.join(unknown)}")
        if not fields:
            raise ConsentError("至少选择一项授权字段")
        now = utcnow()
        consent = Consent(uuid.uuid4().hex, user_id, form.item_code, form.version, sorted(set(fields)), form.purpose,
                          now, now + self.ttl, None)
        async with self.db.transaction() as conn:
            await conn.execute(consents.insert().values(
                id=consent.id, user_id=user_id, item_code=form.item_code, form_version=form.version,
                fields=consent.fields, purpose=form.purpose, granted_at=now, expires_at=consent.expires_at))
            await self.audit.record(conn, actor=f"user:{user_id}", action="consent.grant", target_type="consent",
                                    target_id=consent.id, after=consent.to_json())
        return consent

    async def revoke(self, user_id: str, consent_id: str) -> bool:
        """Revoke one of the user's live consents; False if there is no such live consent of theirs."""
        now = utcnow()
        async with self.db.transaction() as conn:
            result = await conn.execute(consents.update().where(
                consents.c.id == consent_id, consents.c.user_id == user_id, consents.c.revoked_at.is_(None),
            ).values(revoked_at=now))
            if result.rowcount != 1:
                return False
            await self.audit.record(conn, actor=f"user:{user_id}", action="consent.revoke", target_type="consent",
                                    target_id=consent_id, after={"revoked_at": now.isoformat()})
        return True

    async def of_user(self, user_id: str, item_code: str | None = None) -> list[Consent]:
        query = sa.select(consents).where(consents.c.user_id == user_id).order_by(consents.c.granted_at.desc())
        if item_code:
            query = query.where(consents.c.item_code == item_code)
        async with self.db.read() as conn:
            return [Consent(**row._mapping) for row in await conn.execute(query)]

    async def live_fields(self, user_id: str, item_code: str) -> tuple[set[str], list[str]]:
        """The fields the user's live consents for this form cover, and those consents' ids."""
        live = [c for c in await self.of_user(user_id, item_code) if c.live]
        return {f for c in live for f in c.fields}, [c.id for c in live]
