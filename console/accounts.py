"""Staff accounts (工作人员账号): argon2id password hashes, sessions with the CSRF token their forms
carry, and sign-in throttling by name and by address. All of it lives in the database, so every
worker process agrees on who is signed in and who is locked out."""

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from console.passwords import MAX_CHARS, password_problem
from console.roles import ROLES, allowed
from domain_errors import DomainError
from store.audit import AuditLog
from store.database import Database
from store.tables.base import utcnow
from store.tables.staff import staff_accounts, staff_sessions
from store.throttle import Throttle, Throttled, ThrottleRule

USERNAME = re.compile(r"^[a-z][a-z0-9_.\-]{2,31}$")
KNOWN_PAIR = timedelta(days=30)  # how long a successful sign-in makes a name+address "known"
_HASHER = PasswordHasher()  # argon2id with the library's current recommended cost
# verified against when the name is unknown, so that a wrong name costs as long as a wrong password
_DUMMY_HASH = _HASHER.hash(secrets.token_urlsafe(16))


class AccountError(DomainError):
    """A staff account or sign-in that cannot be made as asked."""


@dataclass(frozen=True)
class Staff:
    username: str
    display_name: str
    role: str

    def can(self, permission: str) -> bool:
        return allowed(self.role, permission)

    def to_json(self) -> dict[str, str]:
        return {"username": self.username, "display_name": self.display_name, "role": self.role}


@dataclass(frozen=True)
class StaffSession:
    staff: Staff
    token: str
    csrf_token: str
    expires_at: datetime


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_password(password: str, username: str = "") -> None:
    """The one password rule, on every path (console, staff API, command line); the password is
    taken exactly as typed, never stripped. See ``console/passwords.py``."""
    problem = password_problem(password, username)
    if problem:
        raise AccountError("weak_password", problem)


def _wait_text(seconds: int) -> str:
    return f"{seconds}秒" if seconds < 60 else f"{(seconds + 59) // 60}分钟"


@dataclass(frozen=True)
class SignInRules:
    """How staff sign-in is throttled (``store/throttle.py``). The values: five free failures per
    name and address, as before this module counted atomically; twenty per address (a shared office
    NAT mistyping) and fifty per name across addresses (ten addresses' worth of the pair allowance)
    before the broader keys slow down; delays double from 30 s and stop at ``throttle_minutes``, so
    nobody is kept out longer than that by someone else's guesses."""

    pair: ThrottleRule
    address: ThrottleRule
    name: ThrottleRule

    @classmethod
    def of(cls, failures_per_name: int, failures_per_address: int, throttle_minutes: float) -> SignInRules:
        cap = timedelta(minutes=throttle_minutes)
        def rule(scope: str, free: int) -> ThrottleRule:
            return ThrottleRule(scope, free, base_delay=timedelta(seconds=30), max_delay=cap, window=cap)
        return cls(rule("staff_pair", failures_per_name), rule("staff_address", failures_per_address),
                   rule("staff_name", failures_per_name * 10))


class StaffAccounts:
    def __init__(self, db: Database, audit: AuditLog, *, session_hours: float = 8.0,
                 max_failures_per_name: int = 5, max_failures_per_address: int = 20,
                 throttle_minutes: float = 15.0, clock: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.audit = audit
        self.session_length = timedelta(hours=session_hours)
        self.rules = SignInRules.of(max_failures_per_name, max_failures_per_address, throttle_minutes)
        self.throttle = Throttle(db, clock)
        self.clock = clock

    # --- accounts ------------------------------------------------------------------------------
    async def create(self, actor: str, username: str, display_name: str, role: str, password: str) -> Staff:
        if not USERNAME.match(username):
            raise AccountError("username_invalid", "用户名为3到32位小写字母、数字或 _ . -，以字母开头")
        if role not in ROLES:
            raise AccountError("role_invalid", f"角色须为 {'、'.join(ROLES)} 之一")
        if not display_name.strip() or len(display_name) > 50:
            raise AccountError("display_name_invalid", "请填写姓名（不超过50字）")
        check_password(password, username)
        password_hash = await asyncio.to_thread(_HASHER.hash, password)
        now = self.clock()
        staff = Staff(username, display_name.strip(), role)
        async with self.db.transaction() as conn:
            if (await conn.execute(sa.select(staff_accounts.c.username).where(
                    staff_accounts.c.username == username))).first():
                raise AccountError("username_taken", f"用户名 {username} 已存在")
            await conn.execute(staff_accounts.insert().values(
                username=username, display_name=staff.display_name, role=role, password_hash=password_hash,
                active=True, created_at=now, updated_at=now))
            await self.audit.record(conn, actor=actor, action="staff.create", target_type="staff",
                                    target_id=username, after=staff.to_json())
        return staff

    async def update(self, actor: str, username: str, *, role: str | None = None, active: bool | None = None,
                     password: str | None = None) -> Staff:
        """Change an account's role, switch it on or off, or set a new password. Switching an
        account off or changing its password ends its sessions."""
        if role is not None and role not in ROLES:
            raise AccountError("role_invalid", f"角色须为 {'、'.join(ROLES)} 之一")
        values: dict[str, object] = {"updated_at": self.clock()}
        if role is not None:
            values["role"] = role
        if active is not None:
            values["active"] = active
        if password is not None:
            check_password(password, username)
            values["password_hash"] = await asyncio.to_thread(_HASHER.hash, password)
        async with self.db.transaction() as conn:
            before = (await conn.execute(sa.select(staff_accounts).where(staff_accounts.c.username == username))).first()
            if before is None:
                raise AccountError("staff_not_found", f"没有用户 {username}")
            await conn.execute(staff_accounts.update().where(staff_accounts.c.username == username).values(**values))
            if active is False or password is not None:
                await conn.execute(staff_sessions.update().where(
                    staff_sessions.c.username == username, staff_sessions.c.revoked_at.is_(None))
                    .values(revoked_at=self.clock()))
            shown = {"role": before.role, "active": before.active}
            await self.audit.record(conn, actor=actor, action="staff.update", target_type="staff", target_id=username,
                                    before=shown, after={**shown, **{k: v for k, v in (("role", role), ("active", active))
                                                                      if v is not None}},
                                    details={"password_changed": password is not None})
        return Staff(username, before.display_name, role or before.role)

    async def all(self) -> list[dict[str, object]]:
        async with self.db.read() as conn:
            rows = await conn.execute(sa.select(staff_accounts).order_by(staff_accounts.c.username))
            return [{"username": r.username, "display_name": r.display_name, "role": r.role, "active": r.active,
                     "last_login_at": r.last_login_at} for r in rows]

    async def count(self) -> int:
        async with self.db.read() as conn:
            return int((await conn.execute(sa.select(sa.func.count()).select_from(staff_accounts))).scalar() or 0)

    # --- signing in and out --------------------------------------------------------------------
    async def sign_in(self, username: str, password: str, address: str) -> StaffSession:
        """A new session, or ``bad_credentials`` (the same for a wrong name and a wrong
        password), or ``too_many_attempts`` while the name, the address or the pair of them
        must wait (``store/throttle.py``: the attempt is counted before the password is checked, so
        parallel guesses cannot all get through)."""
        username, address = username.strip().lower()[:32], address[:64]
        password = password[:MAX_CHARS + 1]  # longer is never right (the rule stops at MAX_CHARS)
        pair = f"{username}|{address}"
        keys = [(self.rules.pair, pair)]
        # a name and address that signed in before (the person's own office) are never slowed by
        # what others do from elsewhere or behind the same NAT: only by their own failures
        if not await self.throttle.succeeded_recently(self.rules.pair, pair, KNOWN_PAIR):
            keys += [(self.rules.address, address), (self.rules.name, username)]
        try:
            reservation = await self.throttle.reserve(keys)
        except Throttled as exc:
            # a captcha-style step-up would plug in here: a solved challenge lets one more attempt through
            raise AccountError("too_many_attempts", f"登录失败次数过多，请{_wait_text(exc.retry_after)}后再试",
                               {"retry_after_seconds": exc.retry_after}, retry_after=exc.retry_after or None) from None
        async with self.db.read() as conn:
            account = (await conn.execute(sa.select(staff_accounts).where(
                staff_accounts.c.username == username))).first()
        ok = await asyncio.to_thread(_verify, account.password_hash if account else _DUMMY_HASH, password)
        ok = ok and account is not None and account.active
        await self.throttle.settle(reservation, succeeded=ok, reset=(self.rules.pair.scope,))
        now = self.clock()
        if not ok:
            async with self.db.transaction() as conn:
                await self.audit.record(conn, actor=username or "-", action="staff.sign_in_failed",
                                        target_type="staff", target_id=username or "-", details={"address": address})
            raise AccountError("bad_credentials", "用户名或密码不正确")
        assert account is not None
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        expires = now + self.session_length
        async with self.db.transaction() as conn:
            await conn.execute(staff_sessions.insert().values(
                token_hash=_hash(token), username=username, csrf_token=csrf, created_at=now, expires_at=expires))
            await conn.execute(staff_accounts.update().where(staff_accounts.c.username == username)
                               .values(last_login_at=now))
            await self.audit.record(conn, actor=username, action="staff.sign_in", target_type="staff",
                                    target_id=username, details={"address": address})
        return StaffSession(Staff(username, account.display_name, account.role), token, csrf, expires)

    async def session(self, token: str) -> StaffSession | None:
        """The live session of a token (not revoked, not expired, account still active)."""
        if not token or len(token) > 200:
            return None
        async with self.db.read() as conn:
            row = (await conn.execute(
                sa.select(staff_sessions, staff_accounts.c.display_name, staff_accounts.c.role, staff_accounts.c.active)
                .join(staff_accounts, staff_accounts.c.username == staff_sessions.c.username)
                .where(staff_sessions.c.token_hash == _hash(token)))).first()
        if row is None or row.revoked_at is not None or row.expires_at <= self.clock() or not row.active:
            return None
        return StaffSession(Staff(row.username, row.display_name, row.role), token, row.csrf_token, row.expires_at)

    async def sign_out(self, session: StaffSession) -> None:
        async with self.db.transaction() as conn:
            await conn.execute(staff_sessions.update().where(staff_sessions.c.token_hash == _hash(session.token))
                               .values(revoked_at=self.clock()))
            await self.audit.record(conn, actor=session.staff.username, action="staff.sign_out", target_type="staff",
                                    target_id=session.staff.username)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
