"""Prefill (预填): values for a form from the base libraries (under the user's live consent only,
every read audited), each field marked with where its value came from and whether it is locked.
When the library cannot be reached the form still works: nothing is prefilled and the result says
so."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from smartform.base_library import BaseLibrary, LibraryUnavailable, Subject, split_field
from smartform.consent import ConsentService
from smartform.schemas import FormSchema
from store.audit import AuditLog
from store.database import Database

log = logging.getLogger(__name__)


@dataclass
class Prefill:
    values: dict[str, dict[str, Any]] = field(default_factory=dict)  # field key → {value, provenance, locked}
    library_unavailable: bool = False
    message: str = ""
    not_consented: list[str] = field(default_factory=list)  # sources the user has not (or no longer) consented to
    identity_verification_required: bool = False  # consented, but nobody verified whose records to read

    def to_json(self) -> dict[str, Any]:
        return {"values": self.values, "library_unavailable": self.library_unavailable, "message": self.message,
                "not_consented": self.not_consented,
                "identity_verification_required": self.identity_verification_required}


class PrefillService:
    def __init__(self, db: Database, audit: AuditLog, consents: ConsentService, library: BaseLibrary) -> None:
        self.db = db
        self.audit = audit
        self.consents = consents
        self.library = library

    async def prefill(self, user_id: str, form: FormSchema, subject: Subject) -> Prefill:
        allowed, consent_ids = await self.consents.live_fields(user_id, form.item_code)
        sourced = form.sourced_fields()
        wanted = sorted({f.source for f in sourced if f.source and f.source in allowed})
        result = Prefill(not_consented=sorted({f.source for f in sourced if f.source and f.source not in allowed}))
        if not wanted:
            result.message = "未授权读取基础库信息，请手动填写"
            return result
        if subject.id_number is None and subject.uscc is None:  # Identities.subject: verified people only
            result.identity_verification_required = True
            result.message = "读取基础库信息需先通过统一身份认证（人脸核身），也可以手动填写"
            return result
        try:
            values = await self.library.fetch(subject, wanted)
        except LibraryUnavailable as exc:
            log.warning("prefill of %s without the base library: %s", form.item_code, exc)
            result.library_unavailable = True
            result.message = "基础库暂时无法访问，本次无法自动填写，请手动填写后提交"
            return result
        async with self.db.transaction() as conn:  # who read what, for which form, under which consent
            await self.audit.record(conn, actor=f"user:{user_id}", action="base_library.read", target_type="form",
                                    target_id=form.item_code, details={
                                        "library": self.library.name, "fields": wanted,
                                        "returned": sorted(values), "consents": consent_ids})
        for f in sourced:
            if f.source in values:
                result.values[f.key] = {"value": values[f.source], "provenance": split_field(f.source)[0],
                                        "source": f.source, "locked": f.locked}
        return result
