"""A local stand-in for WeChat's HTTP API: a real HTTP server on loopback that speaks WeChat's JSON
shapes and error codes for the endpoints we call, records what it receives, and can be told to
fail or to be slow. Tests and benchmarks point ``RYB_WECHAT_API_BASE`` at it; nothing else changes.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlparse

from tests.local_http import LocalHttpServer

APPID, SECRET = "wx0123456789abcdef", "local-secret-0123456789abcdef01"
TOKEN_LIFETIME = 7200


@dataclass
class Received:
    path: str
    query: dict[str, str]
    body: dict[str, Any]
    at: float


@dataclass
class LocalWeChat(LocalHttpServer):
    appid: str = APPID
    secret: str = SECRET
    received: list[Received] = field(default_factory=list)
    token_fetches: int = 0
    _tokens: dict[str, float] = field(default_factory=dict)  # token → expires at
    _failures: dict[str, list[tuple[int, str]]] = field(default_factory=dict)  # path → queued errors
    _delays: dict[str, float] = field(default_factory=dict)
    _used_codes: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # --- what tests control ----------------------------------------------------------------
    def fail_next(self, path: str, errcode: int, errmsg: str = "error", times: int = 1) -> None:
        """The next ``times`` calls to ``path`` answer with WeChat error ``errcode``."""
        with self._lock:
            self._failures.setdefault(path, []).extend([(errcode, errmsg)] * times)

    def slow(self, path: str, seconds: float) -> None:
        with self._lock:
            self._delays[path] = seconds

    def invalidate_tokens(self) -> None:
        """As when the secret is reset or someone fetches through the non-stable endpoint."""
        with self._lock:
            self._tokens.clear()

    def calls(self, path: str) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.path == path]

    # --- the server ------------------------------------------------------------------------
    def respond(self, method: str, path: str, headers: Any, raw: bytes) -> tuple[int, dict[str, Any]]:
        url = urlparse(path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = {"_raw": raw.decode("utf-8", "replace")}
        return self._answer(url.path, query, body)

    # --- WeChat's behaviour ----------------------------------------------------------------
    def _answer(self, path: str, query: dict[str, str], body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.received.append(Received(path, query, body, time.time()))
            delay = self._delays.get(path, 0.0)
            queued = self._failures.get(path)
            failure = queued.pop(0) if queued else None
        if delay:
            time.sleep(delay)
        if failure:
            return 200, {"errcode": failure[0], "errmsg": failure[1]}
        if path in ("/cgi-bin/token", "/cgi-bin/stable_token"):
            given = query if path == "/cgi-bin/token" else body
            if given.get("appid") != self.appid:
                return 200, {"errcode": 40013, "errmsg": "invalid appid"}
            if given.get("secret") != self.secret:
                return 200, {"errcode": 40125, "errmsg": "invalid appsecret"}
            return 200, self._issue_token(force=path == "/cgi-bin/token" or bool(body.get("force_refresh")))
        if path == "/sns/jscode2session":
            return 200, self._code2session(query)
        if path in ("/cgi-bin/message/custom/send", "/cgi-bin/message/template/send",
                    "/cgi-bin/message/subscribe/send"):
            error = self._check_token(query.get("access_token", ""))
            if error:
                return 200, error
            if not isinstance(body.get("touser"), str) or not body["touser"]:
                return 200, {"errcode": 40003, "errmsg": "invalid openid"}
            if path.endswith("custom/send") and body.get("msgtype") not in ("text", "news", "image", "link"):
                return 200, {"errcode": 40008, "errmsg": "invalid message type"}
            if not path.endswith("custom/send") and not body.get("template_id"):
                return 200, {"errcode": 40037, "errmsg": "invalid template_id"}
            answer: dict[str, Any] = {"errcode": 0, "errmsg": "ok"}
            if path.endswith("template/send"):
                answer["msgid"] = len(self.received)
            return 200, answer
        return 404, {"errcode": 40066, "errmsg": "invalid url"}

    def _issue_token(self, *, force: bool) -> dict[str, Any]:
        with self._lock:
            self.token_fetches += 1
            now = time.time()
            live = {t: exp for t, exp in self._tokens.items() if exp > now}
            if live and not force:  # the stable token: the same one until it expires
                token, expires = max(live.items(), key=lambda kv: kv[1])
                return {"access_token": token, "expires_in": int(expires - now)}
            token = "LOCAL_" + secrets.token_hex(24)
            self._tokens = {token: now + TOKEN_LIFETIME}
            return {"access_token": token, "expires_in": TOKEN_LIFETIME}

    def _check_token(self, token: str) -> dict[str, Any] | None:
        with self._lock:
            expires = self._tokens.get(token)
        if expires is None:
            return {"errcode": 40001, "errmsg": "invalid credential, access_token is invalid or not latest"}
        if expires <= time.time():
            return {"errcode": 42001, "errmsg": "access_token expired"}
        return None

    def _code2session(self, query: dict[str, str]) -> dict[str, Any]:
        if query.get("appid") != self.appid or query.get("secret") != self.secret:
            return {"errcode": 40013, "errmsg": "invalid appid"}
        code = query.get("js_code", "")
        if not code or code.startswith("bad"):
            return {"errcode": 40029, "errmsg": "invalid code"}
        with self._lock:
            if code in self._used_codes:
                return {"errcode": 40163, "errmsg": "code been used"}
            self._used_codes.add(code)
        # codes are single use; "<user>-<n>" codes of one user give that user's one openid
        digest = hashlib.sha256(code.rsplit("-", 1)[0].encode()).hexdigest()
        return {"openid": "o" + digest[:27], "session_key": digest[27:51], "unionid": "u" + digest[51:63]}
