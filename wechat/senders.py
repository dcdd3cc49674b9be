"""Outbound WeChat messages (客服消息, 模板消息, 订阅消息), delivered through the outbox.

Callers enqueue in their own transaction (``enqueue_custom``, ``enqueue_template``,
``enqueue_subscribe``); the outbox worker sends with backoff. Rate limits (45009, 45011, busy)
come back later; refusals that retrying cannot fix (window closed, quota used up, unsubscribed,
invalid openid or template) dead-letter at once for staff to see. Every attempt is recorded in
``wechat_sends``.

Customer-service messages may only be sent for a while after the user interacted, and only so
many: 5 within 48 hours of a message, 3 within a minute of a menu click, a subscription or a QR
scan; each interaction renews the window and its quota (it does not add to it). We keep that
window per follower and do not call WeChat when it is closed.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from store.database import Database
from store.outbox import Outbox, OutboxJob, PermanentFailure, RetryLater
from store.tables.base import utcnow
from store.tables.wechat import wechat_sends, wechat_users
from wechat.api import RATE_LIMITED, REFUSED, WeChatApi, WeChatApiError, WeChatUnreachable
from wechat.tokens import TokenBudgetExhausted

log = logging.getLogger(__name__)

CUSTOM, TEMPLATE, SUBSCRIBE = "wechat.custom", "wechat.template", "wechat.subscribe"
# (messages allowed, for how long) after each kind of interaction
SERVICE_WINDOWS = {"message": (5, timedelta(hours=48)), "event": (3, timedelta(minutes=1))}
_RETRY_AFTER = {45011: 60.0, 45009: 3600.0, -1: 5.0}  # seconds


class WeChatSenders:
    def __init__(self, db: Database, outbox: Outbox, api: WeChatApi) -> None:
        self.db = db
        self.outbox = outbox
        self.api = api

    # --- the customer-service window ----------------------------------------------------------
    async def record_interaction(self, conn: AsyncConnection, openid: str, kind: str, *,
                                 subscribed: bool = True) -> None:
        """The follower did something that opens the customer-service window (in the caller's
        transaction, so a message is recorded together with the window it opened)."""
        now = utcnow()
        quota, length = SERVICE_WINDOWS[kind]
        row = (await conn.execute(sa.select(wechat_users).where(wechat_users.c.openid == openid))).first()
        if row is None:
            dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
            await conn.execute(dialect.insert(wechat_users).values(
                openid=openid, subscribed=subscribed, options=[], last_seen_at=now,
                service_window_until=now + length, service_quota_left=quota,
            ).on_conflict_do_nothing(index_elements=["openid"]))
            return
        still_open = row.service_window_until > now
        await conn.execute(wechat_users.update().where(wechat_users.c.openid == openid).values(
            subscribed=subscribed, last_seen_at=now,
            service_window_until=max(row.service_window_until, now + length) if still_open else now + length,
            service_quota_left=max(row.service_quota_left, quota) if still_open else quota))

    async def _reserve(self, openid: str) -> bool:
        """Take one message of the follower's quota, if the window is open."""
        async with self.db.transaction() as conn:
            result = await conn.execute(wechat_users.update().where(
                wechat_users.c.openid == openid, wechat_users.c.service_window_until > utcnow(),
                wechat_users.c.service_quota_left > 0,
            ).values(service_quota_left=wechat_users.c.service_quota_left - 1))
        return result.rowcount == 1

    async def _release(self, openid: str) -> None:
        async with self.db.transaction() as conn:
            await conn.execute(wechat_users.update().where(wechat_users.c.openid == openid).values(
                service_quota_left=wechat_users.c.service_quota_left + 1))

    # --- enqueue ------------------------------------------------------------------------------
    async def enqueue_custom(self, conn: AsyncConnection, openid: str, content: str, key: str) -> bool:
        return await self.outbox.enqueue(conn, CUSTOM, {
            "touser": openid, "msgtype": "text", "text": {"content": content}}, key)

    async def enqueue_template(self, conn: AsyncConnection, openid: str, template_id: str,
                               data: dict[str, str], key: str, *, url: str | None = None) -> bool:
        return await self.outbox.enqueue(conn, TEMPLATE, _templated(openid, template_id, data, url=url), key)

    async def enqueue_subscribe(self, conn: AsyncConnection, openid: str, template_id: str,
                                data: dict[str, str], key: str, *, page: str | None = None,
                                delay_seconds: float = 0.0) -> bool:
        """``delay_seconds``: hold it back, e.g. until quiet hours end."""
        return await self.outbox.enqueue(conn, SUBSCRIBE, _templated(openid, template_id, data, page=page), key,
                                         delay_seconds=delay_seconds)

    # --- send ---------------------------------------------------------------------------------
    def handlers(self) -> dict[str, Any]:
        return {CUSTOM: self._deliver, TEMPLATE: self._deliver, SUBSCRIBE: self._deliver}

    async def _deliver(self, job: OutboxJob) -> None:
        await self.send(job.kind, job.payload, job.idempotency_key)

    async def send(self, kind: str, message: dict[str, Any], key: str) -> None:
        """One attempt. Raises ``RetryLater`` or ``PermanentFailure`` for the outbox to act on,
        or another exception for an ordinary retry with backoff."""
        openid = str(message.get("touser", ""))
        if kind == CUSTOM and not await self._reserve(openid):
            await self._record(kind, openid, key, "refused", None, "customer-service window closed or quota used")
            raise PermanentFailure("the customer-service window is closed or its quota is used up")
        try:
            if kind == CUSTOM:
                await self.api.send_custom_message(message)
            elif kind == TEMPLATE:
                await self.api.send_template_message(message)
            else:
                await self.api.send_subscribe_message(message)
        except WeChatApiError as exc:
            if kind == CUSTOM and exc.errcode != 45047:  # 45047: WeChat says the quota is gone
                await self._release(openid)
            if exc.errcode in REFUSED:
                await self._record(kind, openid, key, "refused", exc.errcode, exc.errmsg)
                raise PermanentFailure(str(exc)) from None
            await self._record(kind, openid, key, "retry", exc.errcode, exc.errmsg)
            if exc.errcode in RATE_LIMITED:
                raise RetryLater(str(exc), _RETRY_AFTER[exc.errcode]) from None
            raise
        except (WeChatUnreachable, TokenBudgetExhausted, TimeoutError) as exc:
            if kind == CUSTOM:
                await self._release(openid)
            await self._record(kind, openid, key, "retry", None, str(exc))
            if isinstance(exc, TokenBudgetExhausted):
                raise RetryLater(str(exc), 3600.0) from None
            raise
        await self._record(kind, openid, key, "sent", 0, "ok")

    async def _record(self, kind: str, openid: str, key: str, outcome: str, errcode: int | None,
                      errmsg: str | None) -> None:
        async with self.db.transaction() as conn:
            await conn.execute(wechat_sends.insert().values(
                at=utcnow(), kind=kind.removeprefix("wechat."), openid=openid[:128], idempotency_key=key[:200],
                outcome=outcome, errcode=errcode, errmsg=(errmsg or "")[:500] or None))

    async def sends(self, key: str | None = None) -> list[dict[str, Any]]:
        async with self.db.read() as conn:
            query = sa.select(wechat_sends).order_by(wechat_sends.c.id)
            if key is not None:
                query = query.where(wechat_sends.c.idempotency_key == key)
            return [dict(row._mapping) for row in await conn.execute(query)]


def _templated(openid: str, template_id: str, data: dict[str, str], **link: str | None) -> dict[str, Any]:
    """A template or subscribe message: WeChat wants each value wrapped as ``{"value": …}``; the
    link (a template's ``url``, a subscribe message's mini-program ``page``) only when given."""
    message: dict[str, Any] = {"touser": openid, "template_id": template_id,
                               "data": {name: {"value": value} for name, value in data.items()}}
    message.update({name: target for name, target in link.items() if target})
    return message
