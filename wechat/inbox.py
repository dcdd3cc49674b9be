"""Each callback message is answered once, within WeChat's deadline, and never twice.

WeChat waits 5 s for a callback's reply and retries a message up to three times; a reply that comes
later is lost. So:

1. The first delivery of a message inserts its row (keyed by ``MsgId``, or the event's follower,
   time and name) and starts the answer in the background. Whichever worker of whichever process
   receives a retry finds the row: the key lives in the database, not in memory.
2. The delivery waits for the answer up to the budget (4.5 s by default). In time, the answer is
   the passive reply and is stored with the row, so a retry gets exactly the same reply.
3. Not in time, the row is switched to ``late`` together with an outbox job, and the callback says
   ``success``. When the answer is ready the job sends it as a customer-service message. The switch
   and the answer's completion are serialised on the row, so an answer is either a passive reply or
   a late message, never both: no follower receives the same answer twice.
4. A retry of a message still being answered waits for the same answer within its own budget, and
   then says ``success`` (the answer goes late).
5. The worker answering a message renews a short lease on its row. If it dies, the next retry
   (or the late job) finds the lease expired and answers in its place: nothing is lost.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from dataclasses import asdict
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from store.database import Database
from store.outbox import Outbox, OutboxJob, RetryLater
from store.tables.base import utcnow
from store.tables.wechat import wechat_messages
from wechat.conversation import Conversation
from wechat.messages import Incoming
from wechat.render import custom_message, text_reply
from wechat.senders import CUSTOM, WeChatSenders

log = logging.getLogger(__name__)

LATE_REPLY = "wechat.late_reply"
PROCESSING, ANSWERED = "processing", "answered"
PASSIVE, LATE = "passive", "late"
SORRY = "抱歉，系统有点忙，没能及时回答。请稍后再问一次，或拨打12345政务服务便民热线。"
_POLL_SECONDS = 0.05
# of the budget, the share spent waiting for the answer; the rest is for switching to a late answer
# (a database write that may queue behind others under load) and sending the response
_WAIT_SHARE = 0.9


class MessageInbox:
    def __init__(self, db: Database, outbox: Outbox, conversation: Conversation, senders: WeChatSenders, *,
                 budget_seconds: float = 4.5, lease_seconds: float = 6.0, answer_timeout_seconds: float = 60.0,
                 concurrent_answers: int = 4, wake_outbox: Callable[[], None] = lambda: None) -> None:
        self.db = db
        self.outbox = outbox
        self.conversation = conversation
        self.senders = senders
        self.budget = budget_seconds
        self.lease = timedelta(seconds=lease_seconds)
        self.answer_timeout = answer_timeout_seconds
        self.wake_outbox = wake_outbox
        self.owner = f"inbox-{uuid.uuid4().hex[:12]}"
        self._working: dict[str, asyncio.Task[None]] = {}
        # answering is CPU work: more at once only slows each down, and a message that waits for a
        # slot past the budget is simply answered late
        self._answer_slots = asyncio.Semaphore(concurrent_answers)

    # --- the callback's side --------------------------------------------------------------
    async def receive(self, incoming: Incoming) -> dict[str, Any] | None:
        """The passive reply for this delivery of ``incoming``, or None for ``success``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.budget * _WAIT_SHARE
        key = incoming.dedupe_key
        if await self._claim(incoming):
            self._start(incoming)
        while True:
            task = self._working.get(key)
            remaining = deadline - loop.time()
            if task is not None:
                await asyncio.wait({task}, timeout=max(remaining, 0))
            else:
                await asyncio.sleep(max(min(_POLL_SECONDS, remaining), 0))
            row = await self._row(key)
            if row is None:  # pruned: a very late retry of a long-answered message
                return None
            if row.mode == LATE:
                return None
            if row.status == ANSWERED:
                return row.reply
            if loop.time() >= deadline:
                return await self._go_late(key, incoming.openid)
            if task is None and row.lease_until < utcnow() and await self._take_over(key):
                log.warning("took over message %s from a worker that stopped answering it", key)
                self._start(incoming)

    async def _claim(self, incoming: Incoming) -> bool:
        """Record the message; True if this is its first delivery (ours to answer)."""
        now = utcnow()
        async with self.db.transaction() as conn:
            dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
            result = await conn.execute(dialect.insert(wechat_messages).values(
                dedupe_key=incoming.dedupe_key, openid=incoming.openid, status=PROCESSING, mode=PASSIVE,
                owner=self.owner, lease_until=now + self.lease, received_at=now, message=asdict(incoming),
            ).on_conflict_do_nothing(index_elements=["dedupe_key"]))
            first = result.rowcount == 1
            if first and not (incoming.kind == "event" and incoming.event in ("unsubscribe", "view", "location")):
                # a message, a menu click, a subscription or a scan opens the customer-service window
                await self.senders.record_interaction(conn, incoming.openid,
                                                      "event" if incoming.kind == "event" else "message")
        return first

    async def _take_over(self, key: str) -> bool:
        now = utcnow()
        async with self.db.transaction() as conn:
            result = await conn.execute(wechat_messages.update().where(
                wechat_messages.c.dedupe_key == key, wechat_messages.c.status == PROCESSING,
                wechat_messages.c.lease_until < now,
            ).values(owner=self.owner, lease_until=now + self.lease))
        return result.rowcount == 1

    async def _go_late(self, key: str, openid: str) -> dict[str, Any] | None:
        """The budget is spent: hand the answer to the outbox, unless it arrived meanwhile."""
        async with self.db.transaction() as conn:
            result = await conn.execute(wechat_messages.update().where(
                wechat_messages.c.dedupe_key == key, wechat_messages.c.status == PROCESSING,
                wechat_messages.c.mode == PASSIVE,
            ).values(mode=LATE))
            if result.rowcount == 1:
                # the job waits for the answer; it is made due the moment the answer is ready, and
                # if the answering worker dies it answers the message itself
                await self.outbox.enqueue(conn, LATE_REPLY, {"dedupe_key": key, "openid": openid},
                                          f"wechat-late:{key}", delay_seconds=self.lease.total_seconds())
                return None
        row = await self._row(key)
        return row.reply if row is not None and row.mode == PASSIVE and row.status == ANSWERED else None

    # --- answering ------------------------------------------------------------------------
    def _start(self, incoming: Incoming) -> asyncio.Task[None]:
        key = incoming.dedupe_key
        task = asyncio.get_running_loop().create_task(self._answer(incoming), name=f"wechat-answer {key}")
        self._working[key] = task
        task.add_done_callback(lambda _: self._working.pop(key, None))
        return task

    async def _answer(self, incoming: Incoming) -> None:
        key = incoming.dedupe_key
        heartbeat = asyncio.get_running_loop().create_task(self._keep_lease(key))
        try:
            async with self._answer_slots:
                reply = await asyncio.wait_for(self.conversation.answer(incoming), timeout=self.answer_timeout)
        except Exception:
            log.exception("answering message %s failed; sending an apology", key)
            reply = text_reply(SORRY, incoming.create_time)
        finally:
            heartbeat.cancel()
        await self._finish(key, incoming.openid, reply)

    async def _keep_lease(self, key: str) -> None:
        while True:
            await asyncio.sleep(self.lease.total_seconds() / 3)
            try:
                async with self.db.transaction() as conn:
                    await conn.execute(wechat_messages.update().where(
                        wechat_messages.c.dedupe_key == key, wechat_messages.c.owner == self.owner,
                        wechat_messages.c.status == PROCESSING,
                    ).values(lease_until=utcnow() + self.lease))
            except Exception:  # the next beat tries again; a missed one only risks a takeover
                log.warning("could not renew the lease on message %s", key, exc_info=True)

    async def _finish(self, key: str, openid: str, reply: dict[str, Any] | None) -> None:
        late = False
        async with self.db.transaction() as conn:
            row = (await conn.execute(sa.select(wechat_messages.c.status, wechat_messages.c.mode)
                                      .where(wechat_messages.c.dedupe_key == key).with_for_update())).first()
            if row is None or row.status != PROCESSING:
                return  # another worker took over and answered first
            await conn.execute(wechat_messages.update().where(wechat_messages.c.dedupe_key == key).values(
                status=ANSWERED, reply=reply, answered_at=utcnow(), message=None))
            if reply is not None and reply["type"] == "text":
                await self.conversation.remember_options(conn, openid, reply["options"])
            if row.mode == LATE:
                await self.outbox.hasten(conn, f"wechat-late:{key}")
                late = True
        if late:
            self.wake_outbox()

    async def _row(self, key: str) -> Any:
        async with self.db.read() as conn:
            return (await conn.execute(sa.select(wechat_messages).where(wechat_messages.c.dedupe_key == key))).first()

    # --- the late answer (an outbox job) -----------------------------------------------------
    async def deliver_late(self, job: OutboxJob) -> None:
        key, openid = job.payload["dedupe_key"], job.payload["openid"]
        row = await self._wait_for_answer(key)
        if row is None or row.delivered_at is not None or row.reply is None:
            return  # pruned, already delivered, or nothing to say (an empty reply)
        await self.senders.send(CUSTOM, custom_message(row.reply, openid), job.idempotency_key)
        async with self.db.transaction() as conn:
            await conn.execute(wechat_messages.update().where(wechat_messages.c.dedupe_key == key)
                               .values(delivered_at=utcnow()))

    async def _wait_for_answer(self, key: str, patience_seconds: float = 10.0) -> Any:
        loop = asyncio.get_running_loop()
        give_up = loop.time() + patience_seconds
        while True:
            row = await self._row(key)
            if row is None or row.status == ANSWERED:
                return row
            if row.lease_until < utcnow() and await self._take_over(key):
                log.warning("answering late message %s in place of a worker that stopped", key)
                await self._start(Incoming(**row.message))
                continue
            if loop.time() >= give_up:
                raise RetryLater(f"message {key} is still being answered", 1.0)
            task = self._working.get(key)
            if task is not None:
                await asyncio.wait({task}, timeout=give_up - loop.time())
            else:
                await asyncio.sleep(_POLL_SECONDS * 4)

    def handlers(self) -> dict[str, Any]:
        return {LATE_REPLY: self.deliver_late}

    async def prune(self, older_than_days: float = 7.0) -> int:
        """Forget messages WeChat can no longer retry (it gives up within a minute)."""
        async with self.db.transaction() as conn:
            result = await conn.execute(wechat_messages.delete().where(
                wechat_messages.c.received_at < utcnow() - timedelta(days=older_than_days)))
        return result.rowcount
