"""A local approval back end for tests and benchmarks: a real HTTP server on loopback that checks
signatures, applies each application once per idempotency key (as a real one must), and can be
told to fail (HTTP 500) or stall (answer after the client gave up) at random."""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from smartform.approval import verify_signature


class LocalApproval:
    def __init__(self, secret: str, *, fail_rate: float = 0.0, stall_rate: float = 0.0, stall_seconds: float = 2.0,
                 seed: int = 1) -> None:
        self.secret = secret
        self.fail_rate, self.stall_rate, self.stall_seconds = fail_rate, stall_rate, stall_seconds
        self.random = random.Random(seed)
        self.attempts: Counter[str] = Counter()
        self.applied: dict[str, dict[str, Any]] = {}
        self.refused_signatures = 0
        self.lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def _answer(self, headers: Any, raw: bytes) -> int:
        if not verify_signature(self.secret, headers.get("X-Timestamp", ""), headers.get("X-Signature", ""), raw):
            with self.lock:
                self.refused_signatures += 1
            return 401
        key = headers.get("Idempotency-Key", "")
        with self.lock:
            self.attempts[key] += 1
            roll = self.random.random()
        if roll < self.fail_rate:
            return 500
        if roll < self.fail_rate + self.stall_rate:
            time.sleep(self.stall_seconds)  # the client has given up by now; we still apply it below
        with self.lock:
            if key in self.applied:
                return 409  # already have it: the sender may stop
            self.applied[key] = json.loads(raw)
        return 201

    def __enter__(self) -> LocalApproval:
        approval = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status = approval._answer(self.headers, raw)
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except ConnectionError:
                    pass  # the client timed out and left

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            request_queue_size = 512

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass

        self._server = Server(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: Any) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()
