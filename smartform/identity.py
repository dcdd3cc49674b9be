"""Who a user is (实名) and whom they may act for. A person is bound to an account through the
unified identity platform (``identity_platform.py``: level ``high`` with face verification,
``basic`` without) or, as a rate-limited fallback, by a name and ID number the population library
confirms (level ``knowledge``). One person is bound to one account. Reading base-library data,
applying and acting for an enterprise need level ``high``; an agent acts for an enterprise only
within a live grant of its legal representative (``enterprise_grants.py``).

The ID number is kept encrypted (to read the user's own records), with a keyed hash (to find it)
and a masked form (to show); it is never logged."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

import sqlalchemy as sa
from cryptography.fernet import Fernet

from codes import check_credit_code
from domain_errors import DomainError
from logs import mask_id_number, mask_name
from smartform.base_library import BaseLibrary, Subject
from smartform.enterprise_grants import EnterpriseGrants
from smartform.identity_platform import HIGH, IdentityPlatform, PlatformError
from smartform.validators import check_id_number
from store.audit import AuditLog
from store.database import Database
from store.tables.base import utcnow
from store.tables.identity import identity_authorizations, users
from store.throttle import Throttle, Throttled, ThrottleRule

# Knowledge-only binding attempts. Five failures a day per account (as before this module counted
# atomically) and per ID number (so that many accounts cannot share the guessing of one person);
# thirty per address (a shared office NAT), then waits that double from ten minutes up to a day.
BIND_PER_ACCOUNT = ThrottleRule("bind_account", 5, base_delay=timedelta(days=1), max_delay=timedelta(days=1),
                                window=timedelta(days=1))
BIND_PER_PERSON = ThrottleRule("bind_person", 5, base_delay=timedelta(days=1), max_delay=timedelta(days=1),
                               window=timedelta(days=1))
BIND_PER_ADDRESS = ThrottleRule("bind_address", 30, base_delay=timedelta(minutes=10), max_delay=timedelta(days=1),
                                window=timedelta(days=1))
AUTHORIZATION_TTL = timedelta(minutes=10)  # time to finish signing in at the platform
REPRESENTATIVE, AGENT = "法定代表人", "经办人"
T = TypeVar("T")
_UNBOUND = {"id_number_cipher": None, "id_number_hash": None, "id_number_masked": None, "name_masked": None,
            "bound_at": None, "uscc": None, "enterprise_role": None, "identity_level": None, "identity_subject": None}


class BindingError(DomainError):
    """A real-name or enterprise binding that cannot be made as asked (``too_many_attempts``: when
    to try again is in ``details`` and ``retry_after``)."""


class Identities:
    def __init__(self, db: Database, library: BaseLibrary, secret_key: str, audit: AuditLog,
                 platform: IdentityPlatform | None = None) -> None:
        self.db = db
        self.library = library
        self.audit = audit
        self.platform = platform  # None: only the knowledge-only fallback, no high-assurance binding
        self.throttle = Throttle(db)
        key = hashlib.sha256(f"id-number:{secret_key}".encode()).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(key))
        self._hash_key = hashlib.sha256(f"id-hash:{secret_key}".encode()).digest()
        self.grants = EnterpriseGrants(db, audit, library, self.id_hash)

    def id_hash(self, id_number: str) -> str:
        return hmac.new(self._hash_key, id_number.encode(), hashlib.sha256).hexdigest()

    async def user_for_openid(self, openid: str) -> str:
        """The user id of a WeChat openid, created on first sight."""
        async with self.db.transaction() as conn:
            found = (await conn.execute(sa.select(users.c.id).where(users.c.openid == openid))).scalar()
            if found:
                return str(found)
            user_id = uuid.uuid4().hex
            await conn.execute(users.insert().values(id=user_id, openid=openid, created_at=utcnow()))
            return user_id

    # --- binding through the identity platform (high assurance) ---------------------------------
    async def start_platform_sign_in(self, user_id: str) -> str:
        """Where to send the user to sign in at the identity platform. The state (stored as its
        hash), the nonce and the PKCE verifier stay here, tied to this user, for ten minutes."""
        if self.platform is None:
            raise BindingError("platform_not_configured", "统一身份认证暂未开通，请稍后再试")
        state, nonce, verifier = secrets.token_urlsafe(32), secrets.token_urlsafe(24), secrets.token_urlsafe(48)
        now = utcnow()
        url = await self._platform_call(self.platform.authorization_url(state, nonce, verifier))
        async with self.db.transaction() as conn:
            await conn.execute(identity_authorizations.delete().where(identity_authorizations.c.expires_at < now))
            await conn.execute(identity_authorizations.insert().values(
                state_hash=_sha256(state), user_id=user_id, nonce=nonce, code_verifier=verifier, created_at=now,
                expires_at=now + AUTHORIZATION_TTL))
        return url

    async def finish_platform_sign_in(self, user_id: str, code: str, state: str) -> str:
        """Redeem the platform's code for a verified identity and bind it; returns its level. The
        state must be one this user started, unexpired and unused (it is used up here, whatever the
        outcome), so a code cannot be replayed or pushed into someone else's account."""
        if self.platform is None:
            raise BindingError("platform_not_configured", "统一身份认证暂未开通，请稍后再试")
        now = utcnow()
        async with self.db.transaction() as conn:
            row = (await conn.execute(sa.select(identity_authorizations).where(
                identity_authorizations.c.state_hash == _sha256(state)))).first()
            fresh = row is not None and row.user_id == user_id and row.used_at is None and row.expires_at > now
            if fresh and row is not None:
                await conn.execute(identity_authorizations.update().where(
                    identity_authorizations.c.state_hash == row.state_hash).values(used_at=now))
        if not fresh or row is None:
            raise BindingError("authorization_invalid", "认证已过期或已使用，请重新发起统一身份认证")
        identity = await self._platform_call(self.platform.redeem(code, row.code_verifier, row.nonce))
        await self._bind(user_id, identity.id_number, identity.name, level=identity.level,
                         subject=identity.subject, takes_over=identity.level == HIGH)
        return identity.level

    async def _platform_call(self, call: Awaitable[T]) -> T:
        try:
            return await call
        except PlatformError as exc:
            raise BindingError(exc.code, str(exc)) from None

    async def level(self, user_id: str) -> str | None:
        async with self.db.read() as conn:
            return (await conn.execute(sa.select(users.c.identity_level).where(users.c.id == user_id))).scalar()

    async def require_high(self, user_id: str, what: str) -> None:
        """Reading base-library data and applying need an identity the platform verified with face
        verification; a knowledge-only binding is not enough."""
        if await self.level(user_id) != HIGH:
            raise BindingError("identity_verification_required",
                               f"{what}需先通过统一身份认证（人脸核身）确认是您本人")

    # --- knowledge-only binding (the rate-limited fallback) ---------------------------------------
    async def bind_person(self, user_id: str, name: str, id_number: str, address: str = "-") -> None:
        """Knowledge-only real-name binding (the fallback when the identity platform is not used),
        verified against the population library. Attempts are counted before the library is asked,
        per account, per ID number and per address (``store/throttle.py``), so that parallel guesses
        cannot turn it into a name/ID-number oracle. The binding's level is ``knowledge``."""
        check = check_id_number(id_number)
        if not check.ok:  # refused before the library is asked, and not counted
            raise BindingError(check.code, check.reason)
        normalized = check.parts["normalized"]
        id_hash = self.id_hash(normalized)
        try:
            reservation = await self.throttle.reserve([(BIND_PER_ACCOUNT, user_id), (BIND_PER_PERSON, id_hash),
                                                       (BIND_PER_ADDRESS, address)])
        except Throttled as exc:
            raise BindingError("too_many_attempts", "实名认证尝试次数过多，请明天再试，或使用统一身份认证",
                               {"retry_after_seconds": exc.retry_after}, retry_after=exc.retry_after or 86400) from None
        match = await self.library.verify_person(name.strip(), normalized)
        await self.throttle.settle(reservation, succeeded=bool(match))
        if not match:
            raise BindingError("identity_mismatch", "姓名与身份证号不匹配，或人口库中没有该身份证号")
        await self._bind(user_id, normalized, name.strip(), level="knowledge", subject=None, takes_over=False)

    async def _bind(self, user_id: str, id_number: str, name: str, *, level: str, subject: str | None,
                    takes_over: bool) -> None:
        """Record the binding. One person is bound to one account: a platform-verified person takes
        their binding over from another account (a new phone), a knowledge-only one is refused."""
        id_hash = self.id_hash(id_number)
        async with self.db.transaction() as conn:
            other = (await conn.execute(sa.select(users.c.id).where(
                users.c.id_number_hash == id_hash, users.c.id != user_id))).scalar()
            if other is not None and not takes_over:
                raise BindingError("identity_bound_elsewhere",
                                   "该身份已绑定另一个账号。如果是您本人，请通过统一身份认证（人脸核身）重新绑定")
            if other is not None:
                await conn.execute(users.update().where(users.c.id == other).values(**_UNBOUND))
            current = (await conn.execute(sa.select(users.c.id_number_hash, users.c.identity_level)
                                          .where(users.c.id == user_id))).first()
            if current is not None and current.id_number_hash == id_hash and level == "knowledge" \
                    and current.identity_level in ("high", "basic"):
                return  # already bound more strongly to the same person
            await conn.execute(users.update().where(users.c.id == user_id).values(
                id_number_cipher=self._fernet.encrypt(id_number.encode()).decode(),
                id_number_hash=id_hash, id_number_masked=mask_id_number(id_number),
                name_masked=mask_name(name), bound_at=utcnow(), identity_level=level, identity_subject=subject,
                **({} if current is not None and current.id_number_hash == id_hash else {"uscc": None,
                                                                                          "enterprise_role": None})))
            await self.audit.record(conn, actor=f"user:{user_id}", action="identity.bind", target_type="user",
                                    target_id=user_id, details={"level": level, "taken_over_from": other})

    async def unbind_person(self, user_id: str) -> None:
        async with self.db.transaction() as conn:
            await conn.execute(users.update().where(users.c.id == user_id).values(**_UNBOUND))

    # --- acting for an enterprise ------------------------------------------------------------------
    async def bind_enterprise(self, user_id: str, uscc: str, role: str) -> None:
        """Act for an enterprise: as its legal representative (checked against the legal-person
        library) or as an agent (经办人) the representative has authorised (a live grant). Both
        need a platform-verified identity: a name and an ID number are not proof of a person."""
        check = check_credit_code(uscc)
        if not check.ok:
            raise BindingError(check.code, check.reason)
        normalized = check.parts["normalized"]
        person = await self._person(user_id)
        if person is None:
            raise BindingError("identity_required", "请先完成个人实名认证")
        await self.require_high(user_id, "代表企业办事")
        is_representative = await self.library.is_legal_representative(normalized, person.id_number)
        if is_representative is None:
            raise BindingError("enterprise_not_found", "法人库中没有这个统一社会信用代码")
        if role == REPRESENTATIVE and not is_representative:
            raise BindingError("not_legal_representative", "您不是该企业登记的法定代表人")
        if role == AGENT and await self.grants.live(normalized, person.id_hash) is None:
            raise BindingError("grant_required", "该企业的法定代表人尚未授权您办理。请法定代表人在“企业授权管理”中添加您")
        async with self.db.transaction() as conn:
            await conn.execute(users.update().where(users.c.id == user_id).values(uscc=normalized, enterprise_role=role))
            await self.audit.record(conn, actor=f"user:{user_id}", action="enterprise.bind", target_type="enterprise",
                                    target_id=normalized, details={"role": role})

    async def acting_enterprise(self, user_id: str, scope: str, use: str) -> str | None:
        """The enterprise the user may act for within ``scope`` right now, or None: its legal
        representative always (while verified), an agent only within a live grant with that scope.
        An agent's every use is audited against the grant."""
        async with self.db.read() as conn:
            row = (await conn.execute(sa.select(users.c.uscc, users.c.enterprise_role, users.c.id_number_hash,
                                                users.c.identity_level).where(users.c.id == user_id))).first()
        if row is None or not row.uscc or row.identity_level != HIGH:
            return None
        if row.enterprise_role == REPRESENTATIVE:
            return str(row.uscc)
        grant = await self.grants.live(row.uscc, row.id_number_hash, scope)
        if grant is None:
            return None
        await self.grants.record_use(grant["id"], user_id, use)
        return str(row.uscc)

    async def representative_of(self, user_id: str) -> str:
        """The enterprise this user is the verified legal representative of, for managing its grants."""
        async with self.db.read() as conn:
            row = (await conn.execute(sa.select(users.c.uscc, users.c.enterprise_role, users.c.identity_level)
                                      .where(users.c.id == user_id))).first()
        if row is None or not row.uscc or row.enterprise_role != REPRESENTATIVE or row.identity_level != HIGH:
            raise BindingError("representative_required", "只有通过统一身份认证的企业法定代表人可以管理经办人授权")
        return str(row.uscc)

    async def profile(self, user_id: str) -> dict[str, object]:
        """What the user may see of themselves: masked."""
        async with self.db.read() as conn:
            row = (await conn.execute(sa.select(users).where(users.c.id == user_id))).one()
        return {"user_id": row.id, "identity_bound": row.bound_at is not None, "name": row.name_masked,
                "id_number": row.id_number_masked, "bound_at": row.bound_at.isoformat() if row.bound_at else None,
                "identity_level": row.identity_level,
                "enterprise": {"uscc": row.uscc, "role": row.enterprise_role} if row.uscc else None}

    async def subject(self, user_id: str, use: str = "prefill") -> Subject:
        """Whose records the base libraries may be asked for on this user's behalf: their own only
        once the platform verified them (high), their enterprise's only within a live right to act
        for it with the ``apply`` scope."""
        person = await self._person(user_id)
        if person is None or person.level != HIGH:
            return Subject()
        return Subject(id_number=person.id_number, uscc=await self.acting_enterprise(user_id, "apply", use))

    async def _person(self, user_id: str) -> _Person | None:
        async with self.db.read() as conn:
            row = (await conn.execute(sa.select(users.c.id_number_cipher, users.c.id_number_hash,
                                                users.c.identity_level).where(users.c.id == user_id))).first()
        if row is None or not row.id_number_cipher:
            return None
        return _Person(self._fernet.decrypt(row.id_number_cipher.encode()).decode(), row.id_number_hash,
                       row.identity_level)


@dataclass(frozen=True)
class _Person:
    id_number: str
    id_hash: str
    level: str | None


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
