"""The WeChat HTTP API (``RYB_WECHAT_API_BASE``, by default https://api.weixin.qq.com) over httpx.

Every call returns WeChat's JSON object or raises ``WeChatApiError`` with its ``errcode``; calls that
need the access token take it from the ``AccessTokenManager`` and, when WeChat says the token is
invalid or expired, refresh it once and try again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

import httpx

log = logging.getLogger(__name__)

# the token was invalidated (another fetch, a secret reset) or it expired early
TOKEN_INVALID = frozenset({40001, 40014, 42001})
# come back later: the daily (45009) or per-minute (45011) call quota, or "system busy" (-1)
RATE_LIMITED = frozenset({45009, 45011, -1})
# retrying cannot help: invalid openid, the user unsubscribed or is blocked, the customer-service
# window closed (45015) or its quota is used up (45047), an invalid template or data
REFUSED = frozenset({40003, 43004, 43101, 45015, 45047, 40037, 47003, 48001})


class WeChatApiError(Exception):
    def __init__(self, errcode: int, errmsg: str, path: str) -> None:
        super().__init__(f"{path}: errcode {errcode}: {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg


class WeChatUnreachable(Exception):
    """No answer from WeChat (connection refused, timeout, not JSON)."""


class AccessTokens(Protocol):
    """Where the calls that need the access token get it (``wechat.tokens.AccessTokenManager``)."""

    async def get(self) -> str: ...

    async def invalidate(self, failed_token: str) -> str: ...


class StableTokenSource(Protocol):
    """What an access-token manager fetches fresh tokens from: this API, for one appid."""

    appid: str

    async def fetch_stable_token(self, *, force_refresh: bool = False) -> tuple[str, int]: ...


class WeChatApi:
    """``tokens`` builds the access-token manager from this API (which it fetches tokens from),
    e.g. ``partial(AccessTokenManager, db)``; without it only ``code2session`` and the token fetch
    itself work (the mini-program's login needs nothing more)."""

    def __init__(self, base_url: str, appid: str, secret: str, *, timeout_seconds: float = 5.0,
                 tokens: Callable[[StableTokenSource], AccessTokens] | None = None) -> None:
        self.appid = appid
        self._secret = secret
        self.http = httpx.AsyncClient(base_url=base_url.rstrip("/"), timeout=timeout_seconds)
        self.tokens: AccessTokens | None = tokens(self) if tokens is not None else None

    async def close(self) -> None:
        await self.http.aclose()

    async def _request(self, method: str, path: str, *, params: dict[str, str] | None = None,
                       body: dict[str, Any] | None = None) -> dict[str, Any]:
        try:
            response = await self.http.request(method, path, params=params, json=body)
            data = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            # the URL may carry the access token: name the path only
            raise WeChatUnreachable(f"{path}: {type(exc).__name__}") from None
        if not isinstance(data, dict):
            raise WeChatUnreachable(f"{path}: the answer is not a JSON object")
        errcode = int(data.get("errcode") or 0)
        if errcode != 0:
            raise WeChatApiError(errcode, str(data.get("errmsg", ""))[:300], path)
        return data

    # --- token ----------------------------------------------------------------------------
    async def fetch_stable_token(self, *, force_refresh: bool = False) -> tuple[str, int]:
        """``POST /cgi-bin/stable_token``: the token and its lifetime in seconds. Unlike the plain
        ``/cgi-bin/token`` endpoint, fetching does not invalidate the token other holders use."""
        data = await self._request("POST", "/cgi-bin/stable_token", body={
            "grant_type": "client_credential", "appid": self.appid, "secret": self._secret,
            "force_refresh": force_refresh})
        return str(data["access_token"]), int(data.get("expires_in", 7200))

    async def _with_token(self, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        assert self.tokens is not None, "the access-token manager was not wired"
        token = await self.tokens.get()
        try:
            return await self._request(method, path, params={"access_token": token}, body=body)
        except WeChatApiError as exc:
            if exc.errcode not in TOKEN_INVALID:
                raise
            log.warning("WeChat refused the access token (errcode %s); refreshing once", exc.errcode)
            token = await self.tokens.invalidate(token)
            return await self._request(method, path, params={"access_token": token}, body=body)

    # --- outbound messages ----------------------------------------------------------------
    async def send_custom_message(self, message: dict[str, Any]) -> None:
        """客服消息: ``{"touser", "msgtype": "text", "text": {"content"}}`` (or news with one article)."""
        await self._with_token("POST", "/cgi-bin/message/custom/send", message)

    async def send_template_message(self, message: dict[str, Any]) -> dict[str, Any]:
        """模板消息: ``{"touser", "template_id", "url"?, "data": {key: {"value"}}}``."""
        return await self._with_token("POST", "/cgi-bin/message/template/send", message)

    async def send_subscribe_message(self, message: dict[str, Any]) -> None:
        """订阅消息 (mini-program): ``{"touser", "template_id", "page"?, "data": {key: {"value"}}}``."""
        await self._with_token("POST", "/cgi-bin/message/subscribe/send", message)

    # --- mini-program login ---------------------------------------------------------------
    async def code2session(self, js_code: str) -> dict[str, Any]:
        """``GET /sns/jscode2session``: the user's ``openid`` (and ``unionid``, ``session_key``)."""
        return await self._request("GET", "/sns/jscode2session", params={
            "appid": self.appid, "secret": self._secret, "js_code": js_code, "grant_type": "authorization_code"})
