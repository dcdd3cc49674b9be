"""A local stand-in for the unified identity platform (统一身份认证): a small OpenID Connect
provider of our own, on loopback, for tests and local demo runs only. It knows the synthetic demo
people (``smartform/synthetic.py``), never real ones, and holds no real credentials.

It speaks the parts of OIDC our client uses: discovery, the signing keys (JWKS), the authorization
endpoint (a page where one picks a demo person and ticks "人脸核身通过"; or, for scripts, the person
as ``login_hint`` and ``face=1``, answered at once with the redirect), and the token endpoint
(client authentication, one-time codes bound to the redirect URI, PKCE S256). ID tokens are RS256,
signed with a key made at start, carrying ``name``, ``id_number`` and ``acr`` (``face`` after face
verification, ``password`` otherwise).
"""

from __future__ import annotations

import base64
import html
import json
import secrets
import threading
import time
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from joserfc import jwt
from joserfc.jwk import RSAKey

from smartform.identity_platform import pkce_challenge

FACE, PASSWORD = "face", "password"
CODE_SECONDS = 60  # an authorization code is redeemed at once or never
TOKEN_SECONDS = 300


class LocalIdentityPlatform:
    def __init__(self, people: Iterable[dict[str, Any]], *, client_id: str, client_secret: str,
                 host: str = "127.0.0.1", port: int = 0) -> None:
        self.people = {p["id_number"]: p for p in people}
        self.client_id, self.client_secret = client_id, client_secret
        self._host, self._port = host, port
        self._key = RSAKey.generate_key(2048, parameters={"kid": secrets.token_hex(8), "use": "sig", "alg": "RS256"})
        self._codes: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def issuer(self) -> str:
        assert self._server is not None, "start the platform first"
        return f"http://{self._host}:{self._server.server_address[1]}"

    def start(self) -> LocalIdentityPlatform:
        platform = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 — http.server's naming
                platform._answer(self, "GET")

            def do_POST(self) -> None:  # noqa: N802
                platform._answer(self, "POST")

        self._server = ThreadingHTTPServer((self._host, self._port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> LocalIdentityPlatform:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- the protocol -------------------------------------------------------------------------
    def _answer(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        url = urlsplit(handler.path)
        length = min(int(handler.headers.get("Content-Length") or 0), 64_000)
        form = {k: v[0] for k, v in parse_qs(handler.rfile.read(length).decode("utf-8", "replace")).items()} \
            if method == "POST" else {}
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        if url.path == "/.well-known/openid-configuration":
            return _json(handler, 200, self._metadata())
        if url.path == "/jwks":
            return _json(handler, 200, {"keys": [self._key.as_dict(private=False)]})
        if url.path == "/authorize":
            return self._authorize(handler, {**query, **form})
        if url.path == "/token" and method == "POST":
            return self._token(handler, form)
        return _json(handler, 404, {"error": "not_found"})

    def _metadata(self) -> dict[str, Any]:
        return {"issuer": self.issuer, "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token", "jwks_uri": f"{self.issuer}/jwks",
                "response_types_supported": ["code"], "subject_types_supported": ["pairwise"],
                "id_token_signing_alg_values_supported": ["RS256"], "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic"],
                "acr_values_supported": [FACE, PASSWORD], "claims_supported": ["sub", "name", "id_number", "acr"]}

    def _authorize(self, handler: BaseHTTPRequestHandler, params: dict[str, str]) -> None:
        if params.get("client_id") != self.client_id or params.get("response_type") != "code" \
                or params.get("code_challenge_method") != "S256" or not params.get("code_challenge") \
                or not params.get("redirect_uri", "").startswith(("http://", "https://")):
            return _json(handler, 400, {"error": "invalid_request"})
        person = self.people.get(params.get("login_hint", ""))
        if person is None:  # a person to pick, as the real platform's sign-in page would ask
            return _page(handler, self._chooser(params))
        face = params.get("face") == "1"
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._codes[code] = {"person": person, "acr": FACE if face else PASSWORD, "nonce": params.get("nonce"),
                                 "redirect_uri": params["redirect_uri"], "challenge": params["code_challenge"],
                                 "expires": time.time() + CODE_SECONDS}
        target = f"{params['redirect_uri']}{'&' if '?' in params['redirect_uri'] else '?'}" \
                 f"{urlencode({'code': code, 'state': params.get('state', '')})}"
        handler.send_response(302)
        handler.send_header("Location", target)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    def _token(self, handler: BaseHTTPRequestHandler, form: dict[str, str]) -> None:
        scheme, _, encoded = (handler.headers.get("Authorization") or "").partition(" ")
        try:
            client_id, _, secret = base64.b64decode(encoded).decode().partition(":")
        except ValueError:
            client_id, secret = "", ""
        if scheme.lower() != "basic" or client_id != self.client_id \
                or not secrets.compare_digest(secret, self.client_secret):
            return _json(handler, 401, {"error": "invalid_client"})
        with self._lock:
            grant = self._codes.pop(form.get("code", ""), None)  # one use, whatever happens next
        if grant is None or grant["expires"] < time.time() or form.get("redirect_uri") != grant["redirect_uri"] \
                or form.get("grant_type") != "authorization_code":
            return _json(handler, 400, {"error": "invalid_grant"})
        if pkce_challenge(form.get("code_verifier", "")) != grant["challenge"]:
            return _json(handler, 400, {"error": "invalid_grant", "error_description": "PKCE verification failed"})
        now = int(time.time())
        person = grant["person"]
        claims = {"iss": self.issuer, "aud": self.client_id, "sub": f"demo-{person['id_number'][-8:]}", "iat": now,
                  "exp": now + TOKEN_SECONDS, "auth_time": now, "nonce": grant["nonce"], "acr": grant["acr"],
                  "name": person["name"], "id_number": person["id_number"]}
        id_token = jwt.encode({"alg": "RS256", "kid": self._key.kid}, claims, self._key)
        _json(handler, 200, {"access_token": secrets.token_urlsafe(24), "token_type": "Bearer",
                             "expires_in": TOKEN_SECONDS, "id_token": id_token})

    def _chooser(self, params: dict[str, str]) -> str:
        hidden = "".join(f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
                         for k, v in params.items() if k not in ("login_hint", "face"))
        options = "".join(f'<option value="{html.escape(p["id_number"])}">{html.escape(p["name"])}'
                          f'（{html.escape(p["id_number"][:6])}…{html.escape(p["id_number"][-4:])}）</option>'
                          for p in list(self.people.values())[:50])
        return ("<!doctype html><meta charset=utf-8><title>统一身份认证（本地演示）</title>"
                "<h1>统一身份认证 · 本地演示平台</h1><p>仅用于测试和本地演示，只有合成的演示人员。</p>"
                f'<form method=post action="/authorize">{hidden}<label>演示人员 <select name=login_hint>{options}'
                "</select></label><p><label><input type=checkbox name=face value=1 checked> 人脸核身通过</label></p>"
                "<button>确认登录</button></form>")


def _json(handler: BaseHTTPRequestHandler, status: int, body: Any) -> None:
    data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json; charset=utf-8")
    handler.send_header("Content-Length", str(len(data)))
    handler.send_header("Cache-Control", "no-store")
    handler.end_headers()
    handler.wfile.write(data)


def _page(handler: BaseHTTPRequestHandler, body: str) -> None:
    data = body.encode("utf-8")
    handler.send_response(200)
    handler.send_header("Content-Type", "text/html; charset=utf-8")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)
