"""Bearer-token authentication for the mini-program API: opaque random tokens, stored server-side
as their SHA-256 with an expiry, revocable. ``current_user(request)`` is what a handler calls."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

import sqlalchemy as sa
from sanic import Request

from store.database import Database
from store.tables.base import utcnow
from store.tables.identity import user_sessions
from web.errors import ApiError


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class SessionTokens:
    def __init__(self, db: Database, *, ttl_hours: float = 72) -> None:
        self.db = db
        self.ttl = timedelta(hours=ttl_hours)

    async def issue(self, user_id: str) -> tuple[str, int]:
        """A new token for the user and its lifetime in seconds."""
        token = secrets.token_urlsafe(32)
        now = utcnow()
        async with self.db.transaction() as conn:
            await conn.execute(user_sessions.insert().values(
                token_hash=_hash(token), user_id=user_id, created_at=now, expires_at=now + self.ttl))
        return token, int(self.ttl.total_seconds())

    async def user_of(self, token: str) -> str:
        """The token's user, or ``ApiError`` 401 saying what is wrong with it."""
        async with self.db.read() as conn:
            row = (await conn.execute(sa.select(user_sessions).where(user_sessions.c.token_hash == _hash(token)))).first()
        if row is None:
            raise ApiError(401, "token_invalid", "登录凭证无效，请重新登录")
        if row.revoked_at is not None:
            raise ApiError(401, "token_revoked", "登录已退出，请重新登录")
        if row.expires_at <= utcnow():
            raise ApiError(401, "token_expired", "登录已过期，请重新登录")
        return str(row.user_id)

    async def revoke(self, token: str) -> None:
        async with self.db.transaction() as conn:
            await conn.execute(user_sessions.update().where(user_sessions.c.token_hash == _hash(token))
                               .values(revoked_at=utcnow()))


async def current_user(request: Request) -> str:
    """The signed-in user, or ``ApiError`` 401. Looked up once per request: the rate limits ask
    before the handler does."""
    known = getattr(request.ctx, "current_user", None)
    if known is None:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip() or len(token) > 200:
            raise ApiError(401, "token_missing", "请先登录", details={"header": "Authorization: Bearer <token>"})
        try:
            known = await request.app.ctx.tokens.user_of(token.strip())
        except ApiError as refused:
            known = refused
        request.ctx.current_user = known
    if isinstance(known, ApiError):
        raise ApiError(known.status_code, known.code, str(known), known.details)
    return known


async def signed_in_person(request: Request) -> str | None:
    """Who the bearer token speaks for, for the rate limits: ``user:<id>``, ``staff:<username>``, or
    None (no token, or one that is not valid: such requests are limited by their address alone and
    refused by any operation that needs a signed-in user)."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    try:
        return f"user:{await current_user(request)}"  # remembered on the request: the handler asks again
    except ApiError:
        pass
    accounts = getattr(request.app.ctx, "staff_accounts", None)
    session = await accounts.session(token.strip()) if accounts is not None else None
    return f"staff:{session.staff.username}" if session is not None else None
