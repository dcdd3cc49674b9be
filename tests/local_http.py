"""A real HTTP server on loopback, in a thread: the base of our stand-ins for remote systems
(WeChat, the data-sharing platform, the approval back end). A stand-in says what it answers in
``respond``; this class serves it, with JSON bodies, and stays quiet about clients that hang up."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class LocalHttpServer:
    _server: ThreadingHTTPServer | None = None

    def respond(self, method: str, path: str, headers: Any, raw: bytes) -> tuple[int, Any]:
        """(status, a JSON-able body or None for an empty one) for one request."""
        raise NotImplementedError

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self):  # type: ignore[no-untyped-def]
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as the clients under test use it

            def log_message(self, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status, answer = stand_in.respond(self.command, self.path, self.headers, raw)
                data = b"" if answer is None else json.dumps(answer, ensure_ascii=False).encode("utf-8")
                try:
                    self.send_response(status)
                    if data:
                        self.send_header("Content-Type", "application/json; charset=utf-8")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except ConnectionError:
                    pass  # the client gave up waiting and left

            do_GET = do_POST = _handle

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            request_queue_size = 512  # the default backlog of 5 refuses a burst of concurrent clients

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client that hung up mid-request: nothing to report

        self._server = Server(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: Any) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()
