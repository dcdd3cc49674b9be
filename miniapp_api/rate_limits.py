"""Per-client rate limits for ``/api/``: a token bucket per IP address and one per signed-in user
(by token), each refilled at a steady rate up to a burst. Over the limit: 429 ``rate_limited`` with
``Retry-After``. Buckets live in each server process (N workers allow up to N times the rate);
the WeChat callback and the approval back end's callback are not limited here — they come from
known servers, and refusing them would lose messages."""

from __future__ import annotations

import hashlib
import math
import time
from collections import OrderedDict

from sanic import Request

from miniapp_api.common import ApiError, client_address

EXEMPT = ("/api/v1/approval/callback",)
MAX_BUCKETS = 100_000  # the least recently seen are forgotten: memory stays bounded under a flood


class TokenBuckets:
    def __init__(self, rate_per_second: float, burst: float) -> None:
        self.rate = rate_per_second
        self.burst = burst
        self.buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key → (tokens, at)

    def take(self, key: str, now: float | None = None) -> float:
        """0 if the request may go ahead, otherwise the seconds until it may."""
        now = time.monotonic() if now is None else now
        tokens, at = self.buckets.pop(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - at) * self.rate)
        wait = 0.0 if tokens >= 1 else (1 - tokens) / self.rate
        self.buckets[key] = (tokens - 1 if tokens >= 1 else tokens, now)
        if len(self.buckets) > MAX_BUCKETS:
            self.buckets.popitem(last=False)
        return wait


class RateLimits:
    def __init__(self, ip_per_second: float, ip_burst: float, user_per_second: float, user_burst: float) -> None:
        self.by_ip = TokenBuckets(ip_per_second, ip_burst)
        self.by_user = TokenBuckets(user_per_second, user_burst)

    def check(self, request: Request) -> None:
        if not request.path.startswith("/api/") or request.path in EXEMPT:
            return
        waits = [self.by_ip.take(client_address(request))]
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and token:
            waits.append(self.by_user.take(hashlib.sha256(token.strip().encode()).hexdigest()))
        wait = max(waits)
        if wait > 0:
            raise ApiError(429, "rate_limited", "请求太频繁，请稍后再试", details={"retry_after": math.ceil(wait)},
                           headers={"Retry-After": str(math.ceil(wait))})
