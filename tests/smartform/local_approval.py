"""A local approval back end for tests and benchmarks: a real HTTP server on loopback that checks
signatures, applies each application once per idempotency key (as a real one must), and can be
told to fail (HTTP 500) or stall (answer after the client gave up) at random, and to hold every
request once ``pause_after`` applications have arrived (``paused`` is then set) until ``resume`` is
set: a test can stop a sender with deliveries in flight at a point of its choosing."""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from typing import Any

from smartform.approval import verify_signature
from tests.local_http import LocalHttpServer


class LocalApproval(LocalHttpServer):
    def __init__(self, secret: str, *, fail_rate: float = 0.0, stall_rate: float = 0.0, stall_seconds: float = 2.0,
                 seed: int = 1, pause_after: int | None = None) -> None:
        self.secret = secret
        self.fail_rate, self.stall_rate, self.stall_seconds = fail_rate, stall_rate, stall_seconds
        self.random = random.Random(seed)
        self.attempts: Counter[str] = Counter()
        self.applied: dict[str, dict[str, Any]] = {}
        self.refused_signatures = 0
        self.lock = threading.Lock()
        self.pause_after = pause_after
        self.paused, self.resume = threading.Event(), threading.Event()

    def respond(self, method: str, path: str, headers: Any, raw: bytes) -> tuple[int, None]:
        if not verify_signature(self.secret, headers.get("X-Timestamp", ""), headers.get("X-Signature", ""), raw):
            with self.lock:
                self.refused_signatures += 1
            return 401, None
        key = headers.get("Idempotency-Key", "")
        with self.lock:
            hold = self.pause_after is not None and len(self.applied) >= self.pause_after
        if hold:
            self.paused.set()
            self.resume.wait(timeout=120)
        with self.lock:
            self.attempts[key] += 1
            roll = self.random.random()
        if roll < self.fail_rate:
            return 500, None
        if roll < self.fail_rate + self.stall_rate:
            time.sleep(self.stall_seconds)  # the client has given up by now; we still apply it below
        with self.lock:
            if key in self.applied:
                return 409, None  # already have it: the sender may stop
            self.applied[key] = json.loads(raw)
        return 201, None
