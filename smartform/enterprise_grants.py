"""Enterprise authorisation (经办人授权): an enterprise's legal representative lets a person act for
it, named by their verified identity, within scopes and until a date, and can revoke it at any
time. An agent acts for the enterprise only within a live grant; every grant, use and revocation is
written to the audit log, and the representative sees them all.

Scopes: ``policy`` (see the enterprise's facts and policy matches) and ``apply`` (prefill the
enterprise's legal-person data and apply in its name).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from domain_errors import DomainError
from logs import mask_id_number, mask_name
from smartform.base_library import BaseLibrary
from smartform.validators import check_id_number
from store.audit import AuditLog
from store.database import Database
from store.tables.audit import audit_log
from store.tables.base import utcnow
from store.tables.identity import enterprise_grants

SCOPES = {"policy": "查看企业信息和政策匹配", "apply": "读取企业登记信息并代企业申请"}
MAX_GRANT_DAYS = 366  # a grant is renewed at least yearly, as a paper 授权委托书 usually is


class GrantError(DomainError):
    """An enterprise authorisation (企业授权) that cannot be granted as asked."""


class EnterpriseGrants:
    def __init__(self, db: Database, audit: AuditLog, library: BaseLibrary, id_hash: Callable[[str], str],
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.audit = audit
        self.library = library
        self.id_hash = id_hash
        self.clock = clock

    async def grant(self, representative: str, uscc: str, agent_name: str, agent_id_number: str,
                    scopes: list[str], days: int) -> dict[str, Any]:
        """The representative (already checked by the caller) names an agent by name and ID number,
        which the population library must confirm: a grant to a typo would authorise nobody, or
        someone else."""
        check = check_id_number(agent_id_number)
        if not check.ok:
            raise GrantError(check.code, check.reason)
        if not scopes or any(s not in SCOPES for s in scopes):
            raise GrantError("scope_invalid", f"授权范围须为 {'、'.join(SCOPES)} 中的一项或几项")
        if not 1 <= days <= MAX_GRANT_DAYS:
            raise GrantError("expiry_invalid", f"授权期限须为1到{MAX_GRANT_DAYS}天")
        normalized = check.parts["normalized"]
        if not await self.library.verify_person(agent_name.strip(), normalized):
            raise GrantError("agent_mismatch", "经办人的姓名与身份证号不匹配")
        now = self.clock()
        grant_id = uuid.uuid4().hex
        record = {"id": grant_id, "uscc": uscc, "agent_id_hash": self.id_hash(normalized),
                  "agent_name_masked": mask_name(agent_name.strip()), "agent_id_masked": mask_id_number(normalized),
                  "scopes": sorted(set(scopes)), "granted_by": representative, "granted_at": now,
                  "expires_at": now + timedelta(days=days)}
        async with self.db.transaction() as conn:
            await conn.execute(enterprise_grants.insert().values(**record))
            await self.audit.record(conn, actor=f"user:{representative}", action="enterprise_grant.grant",
                                    target_type="enterprise_grant", target_id=grant_id,
                                    after=_shown(record, now), details={"uscc": uscc})
        return _shown(record, now)

    async def revoke(self, representative: str, uscc: str, grant_id: str) -> bool:
        now = self.clock()
        async with self.db.transaction() as conn:
            row = (await conn.execute(sa.select(enterprise_grants).where(
                enterprise_grants.c.id == grant_id, enterprise_grants.c.uscc == uscc,
                enterprise_grants.c.revoked_at.is_(None)))).first()
            if row is None:
                return False
            await conn.execute(enterprise_grants.update().where(enterprise_grants.c.id == grant_id)
                               .values(revoked_at=now, revoked_by=representative))
            await self.audit.record(conn, actor=f"user:{representative}", action="enterprise_grant.revoke",
                                    target_type="enterprise_grant", target_id=grant_id,
                                    before=_shown(row._asdict(), now), details={"uscc": uscc})
        return True

    async def live(self, uscc: str, agent_id_hash: str, scope: str | None = None) -> dict[str, Any] | None:
        """The agent's live grant for this enterprise (with ``scope``, if given), or None."""
        async with self.db.read() as conn:
            rows = (await conn.execute(sa.select(enterprise_grants).where(
                enterprise_grants.c.uscc == uscc, enterprise_grants.c.agent_id_hash == agent_id_hash,
                enterprise_grants.c.revoked_at.is_(None), enterprise_grants.c.expires_at > self.clock())
                .order_by(enterprise_grants.c.expires_at.desc()))).all()
        return next((r._asdict() for r in rows if scope is None or scope in r.scopes), None)

    async def record_use(self, grant_id: str, user_id: str, action: str) -> None:
        async with self.db.transaction() as conn:
            await self.audit.record(conn, actor=f"user:{user_id}", action="enterprise_grant.use",
                                    target_type="enterprise_grant", target_id=grant_id, details={"use": action})

    async def of_enterprise(self, uscc: str, uses_per_grant: int = 20) -> list[dict[str, Any]]:
        """Every grant of the enterprise, newest first, each with its latest uses: what the legal
        representative is shown. The uses of all grants are read in one query."""
        async with self.db.read() as conn:
            rows = (await conn.execute(sa.select(enterprise_grants).where(enterprise_grants.c.uscc == uscc)
                                       .order_by(enterprise_grants.c.granted_at.desc()).limit(200))).all()
            newest_first = sa.func.row_number().over(partition_by=audit_log.c.target_id,
                                                     order_by=audit_log.c.id.desc()).label("n")
            ranked = sa.select(audit_log.c.target_id, audit_log.c.at, audit_log.c.details, newest_first).where(
                audit_log.c.target_type == "enterprise_grant", audit_log.c.action == "enterprise_grant.use",
                audit_log.c.target_id.in_([row.id for row in rows])).subquery()
            uses = (await conn.execute(sa.select(ranked).where(ranked.c.n <= uses_per_grant)
                                       .order_by(ranked.c.target_id, ranked.c.n))).all()
        by_grant: dict[str, list[dict[str, Any]]] = {row.id: [] for row in rows}
        for use in uses:
            by_grant[use.target_id].append({"at": use.at.isoformat(), "use": (use.details or {}).get("use")})
        now = self.clock()
        return [{**_shown(row._asdict(), now), "uses": by_grant[row.id]} for row in rows]


def _shown(record: dict[str, Any], now: datetime) -> dict[str, Any]:
    revoked = record.get("revoked_at")
    status = "revoked" if revoked else ("expired" if record["expires_at"] <= now else "live")
    return {"id": record["id"], "agent_name": record["agent_name_masked"], "agent_id_number": record["agent_id_masked"],
            "scopes": list(record["scopes"]), "granted_at": record["granted_at"].isoformat(),
            "expires_at": record["expires_at"].isoformat(), "status": status,
            "revoked_at": revoked.isoformat() if revoked else None}
