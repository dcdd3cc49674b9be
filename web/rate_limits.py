"""Per-client rate limits for ``/api/``: a token bucket per IP address and one per signed-in person
(the mini-program user or the staff member behind the bearer token — not the token, so signing in
again does not refill it; who that is, ``identify`` says, given by the composition root), each
refilled at a steady rate up to a burst. Over the limit: 429 ``rate_limited`` with ``Retry-After``.

Under ``rongyiban serve`` the buckets live in memory shared by all of that server's worker
processes (Sanic's shared context, set up by ``share_between_workers``), so N workers allow the rate
once, not N times. An app served in-process (the tests) keeps them in its own memory. Servers on
different machines each keep their own: limiting across machines would need a shared store.
The WeChat callback and the approval back end's callback are not limited here — they come from
known servers, and refusing them would lose messages."""

from __future__ import annotations

import hashlib
import math
import multiprocessing
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from sanic import Request, Sanic

from web.addresses import client_address
from web.errors import ApiError

EXEMPT = ("/api/v1/approval/callback",)
MAX_BUCKETS = 100_000  # the least recently seen are forgotten: memory stays bounded under a flood
SHARED_SLOTS = 1 << 17  # per kind of bucket: about 3 MB of shared memory each
PROBES = 8  # how many neighbouring slots a key may use before the least recently seen is reused

Bucket = tuple[float, float]  # (tokens, at: time.monotonic(), one clock for every process)
Change = Callable[[Bucket | None], Bucket]
# who a request speaks for (``user:<id>``, ``staff:<username>``), or None: limited by address alone
Identify = Callable[[Request], Awaitable[str | None]]


class BucketTable(Protocol):
    def change(self, key: str, change: Change) -> None:
        """Replace the key's bucket (None: never seen, or forgotten) by ``change(bucket)``, atomically."""


class LocalBuckets:
    """Buckets in this process's memory."""

    def __init__(self) -> None:
        self.buckets: OrderedDict[str, Bucket] = OrderedDict()

    def change(self, key: str, change: Change) -> None:
        self.buckets[key] = change(self.buckets.pop(key, None))
        if len(self.buckets) > MAX_BUCKETS:
            self.buckets.popitem(last=False)


class SharedBuckets:
    """Buckets in shared memory, the same for every worker process of one server: an open-addressing
    table of 64-bit key hashes and (tokens, at) pairs behind one process-shared lock. A key lives in
    one of the ``PROBES`` slots from its hash on; when they are all taken by other keys, the least
    recently seen of them is reused (as ``LocalBuckets`` forgets its oldest)."""

    def __init__(self, keys: Any, values: Any, lock: Any) -> None:
        self.keys, self.values, self.lock = keys, values, lock
        self.slots = len(keys)

    @classmethod
    def allocate(cls, slots: int = SHARED_SLOTS) -> SharedBuckets:
        # the context Sanic starts its workers with (spawn): a lock made for another one cannot go to them
        context = multiprocessing.get_context()
        return cls(context.RawArray("q", slots), context.RawArray("d", 2 * slots), context.Lock())

    def parts(self) -> tuple[Any, Any, Any]:
        """What goes on ``app.shared_ctx`` (it takes multiprocessing objects only)."""
        return self.keys, self.values, self.lock

    def change(self, key: str, change: Change) -> None:
        # 0 marks an empty slot, so a hash is never 0
        hashed = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "little", signed=True) or 1
        start = hashed % self.slots
        with self.lock:
            slot, oldest = None, math.inf
            for n in range(PROBES):
                candidate = (start + n) % self.slots
                held = self.keys[candidate]
                if held == hashed or held == 0:
                    slot = candidate
                    break
                if self.values[2 * candidate + 1] < oldest:
                    slot, oldest = candidate, self.values[2 * candidate + 1]
            assert slot is not None
            current = (self.values[2 * slot], self.values[2 * slot + 1]) if self.keys[slot] == hashed else None
            tokens, at = change(current)
            self.keys[slot], self.values[2 * slot], self.values[2 * slot + 1] = hashed, tokens, at


class TokenBuckets:
    def __init__(self, rate_per_second: float, burst: float, table: BucketTable | None = None) -> None:
        self.rate = rate_per_second
        self.burst = burst
        self.table: BucketTable = table or LocalBuckets()

    def take(self, key: str, now: float | None = None) -> float:
        """0 if the request may go ahead, otherwise the seconds until it may."""
        now = time.monotonic() if now is None else now
        wait = 0.0

        def take_one(bucket: Bucket | None) -> Bucket:
            nonlocal wait
            tokens, at = bucket or (self.burst, now)
            tokens = min(self.burst, tokens + max(0.0, now - at) * self.rate)
            if tokens >= 1:
                return tokens - 1, now
            wait = (1 - tokens) / self.rate
            return tokens, now

        self.table.change(key, take_one)
        return wait


class RateLimits:
    def __init__(self, ip_per_second: float, ip_burst: float, user_per_second: float, user_burst: float,
                 identify: Identify | None = None) -> None:
        self.by_ip = TokenBuckets(ip_per_second, ip_burst)
        self.by_user = TokenBuckets(user_per_second, user_burst)
        self.identify = identify

    async def check(self, request: Request) -> None:
        if not request.path.startswith("/api/") or request.path in EXEMPT:
            return
        # the address first: a flood of made-up tokens is stopped before any of them is looked up
        self._refuse_after(self.by_ip.take(client_address(request)))
        person = await self.identify(request) if self.identify is not None else None
        if person is not None:
            self._refuse_after(self.by_user.take(person))

    @staticmethod
    def _refuse_after(wait: float) -> None:
        if wait > 0:
            raise ApiError(429, "rate_limited", "请求太频繁，请稍后再试", details={"retry_after": math.ceil(wait)},
                           headers={"Retry-After": str(math.ceil(wait))})


def share_between_workers(app: Sanic) -> None:
    """Keep the buckets in memory shared by the worker processes ``Sanic.serve`` starts: made in
    the main process, handed to each worker by Sanic's shared context."""

    @app.main_process_start
    async def allocate(app: Sanic) -> None:
        app.shared_ctx.rate_limit_ip = SharedBuckets.allocate().parts()
        app.shared_ctx.rate_limit_user = SharedBuckets.allocate().parts()

    @app.before_server_start
    async def attach(app: Sanic) -> None:
        limits = getattr(app.ctx, "rate_limits", None)
        shared = getattr(app.shared_ctx, "rate_limit_ip", None), getattr(app.shared_ctx, "rate_limit_user", None)
        if limits is not None and None not in shared:
            limits.by_ip.table = SharedBuckets(*shared[0])
            limits.by_user.table = SharedBuckets(*shared[1])
