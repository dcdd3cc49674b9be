"""The provincial unified identity platform (统一身份认证, "一次认证、全网通办") as an OpenID
Connect provider: the authorization-code flow with PKCE (S256), the ID token's signature checked
against the platform's published keys and its claims (issuer, audience, expiry, nonce) checked with
``joserfc``. What comes back is a verified real-name identity and its assurance level: ``high``
when the platform reports that it did face verification (人脸核身, its ``acr`` value), ``basic``
otherwise.

``OidcIdentityPlatform`` speaks to any OIDC provider by its issuer URL; in tests and local runs
that is ``smartform/local_identity_platform.py``, a small provider of our own on loopback.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import time
from dataclasses import dataclass
from typing import Any, Protocol, cast
from urllib.parse import urlencode

import httpx
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, KeySetSerialization

from smartform.validators import check_id_number

HIGH, BASIC = "high", "basic"
ALGORITHMS = ["RS256", "ES256", "PS256"]  # asymmetric only: a shared-secret token proves nothing here
KEYS_REFRESH_SECONDS = 60.0  # an unknown key id refetches the platform's keys, at most this often


class PlatformError(Exception):
    """The platform refused, could not be reached, or returned something we cannot trust."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class VerifiedIdentity:
    subject: str  # the platform's id of the person (``sub``)
    name: str
    id_number: str
    level: str  # HIGH or BASIC
    acr: str


def pkce_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class IdentityPlatform(Protocol):
    async def authorization_url(self, state: str, nonce: str, code_verifier: str) -> str: ...

    async def redeem(self, code: str, code_verifier: str, nonce: str) -> VerifiedIdentity: ...


class OidcIdentityPlatform:
    def __init__(self, issuer: str, client_id: str, client_secret: str, redirect_uri: str, *,
                 high_acr_values: frozenset[str], id_number_claim: str = "id_number",
                 timeout_seconds: float = 10.0) -> None:
        self.issuer = issuer.rstrip("/")
        self.client_id, self.client_secret, self.redirect_uri = client_id, client_secret, redirect_uri
        self.high_acr_values = high_acr_values
        self.id_number_claim = id_number_claim
        self._http = httpx.AsyncClient(timeout=timeout_seconds)
        self._metadata: dict[str, Any] | None = None
        self._keys: KeySet | None = None
        self._keys_at = 0.0
        self._lock = asyncio.Lock()

    async def close(self) -> None:
        await self._http.aclose()

    async def authorization_url(self, state: str, nonce: str, code_verifier: str) -> str:
        metadata = await self._discover()
        query = {"response_type": "code", "client_id": self.client_id, "redirect_uri": self.redirect_uri,
                 "scope": "openid profile", "state": state, "nonce": nonce,
                 "code_challenge": pkce_challenge(code_verifier), "code_challenge_method": "S256",
                 "acr_values": " ".join(sorted(self.high_acr_values))}
        return f"{metadata['authorization_endpoint']}?{urlencode(query)}"

    async def redeem(self, code: str, code_verifier: str, nonce: str) -> VerifiedIdentity:
        metadata = await self._discover()
        answer = await self._call("POST", metadata["token_endpoint"], data={
            "grant_type": "authorization_code", "code": code, "redirect_uri": self.redirect_uri,
            "code_verifier": code_verifier}, auth=(self.client_id, self.client_secret))
        id_token = answer.get("id_token")
        if not isinstance(id_token, str) or len(id_token) > 16_000:
            raise PlatformError("platform_answer_invalid", "统一身份认证平台的应答中没有有效的身份令牌")
        claims = await self._verified_claims(id_token, nonce)
        id_check = check_id_number(str(claims.get(self.id_number_claim, "")))
        name = str(claims.get("name", "")).strip()
        if not id_check.ok or not name:
            raise PlatformError("platform_answer_invalid", "统一身份认证平台未返回有效的姓名和身份证号")
        acr = str(claims.get("acr", ""))
        return VerifiedIdentity(str(claims["sub"]), name[:30], id_check.parts["normalized"],
                                HIGH if acr in self.high_acr_values else BASIC, acr)

    async def _verified_claims(self, id_token: str, nonce: str) -> dict[str, Any]:
        try:
            token = jwt.decode(id_token, await self._key_set(refresh=False), algorithms=ALGORITHMS)
        except (JoseError, ValueError):
            # perhaps signed with a key the platform published after we fetched its keys
            try:
                token = jwt.decode(id_token, await self._key_set(refresh=True), algorithms=ALGORITHMS)
            except (JoseError, ValueError) as exc:
                raise PlatformError("id_token_invalid", "身份令牌签名无效") from exc
        registry = jwt.JWTClaimsRegistry(
            leeway=60,  # clocks of two government systems may differ by seconds, not minutes
            iss={"essential": True, "value": self.issuer}, aud={"essential": True, "value": self.client_id},
            exp={"essential": True}, iat={"essential": True}, sub={"essential": True},
            nonce={"essential": True, "value": nonce})
        try:
            registry.validate(token.claims)
        except JoseError as exc:
            raise PlatformError("id_token_invalid", f"身份令牌校验未通过（{exc.error}）") from exc
        audience = token.claims.get("aud")
        if isinstance(audience, list) and len(audience) > 1 and token.claims.get("azp") != self.client_id:
            raise PlatformError("id_token_invalid", "身份令牌不是签发给本应用的")
        return dict(token.claims)

    async def _discover(self) -> dict[str, Any]:
        if self._metadata is None:
            async with self._lock:
                if self._metadata is None:
                    metadata = await self._call("GET", f"{self.issuer}/.well-known/openid-configuration")
                    if metadata.get("issuer", "").rstrip("/") != self.issuer:  # OIDC Discovery §4.3
                        raise PlatformError("platform_answer_invalid", "统一身份认证平台的配置与签发方不符")
                    self._metadata = metadata
        return self._metadata

    async def _key_set(self, refresh: bool) -> KeySet:
        if self._keys is None or refresh and time.monotonic() - self._keys_at > KEYS_REFRESH_SECONDS:
            metadata = await self._discover()
            answer = await self._call("GET", metadata["jwks_uri"])
            try:
                self._keys = KeySet.import_key_set(cast(KeySetSerialization, answer))  # checked right here
            except (JoseError, ValueError, KeyError, TypeError) as exc:
                raise PlatformError("platform_answer_invalid", "统一身份认证平台的公钥无法读取") from exc
            self._keys_at = time.monotonic()
        return self._keys

    async def _call(self, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = await self._http.request(method, url, **kwargs)
        except httpx.HTTPError as exc:
            raise PlatformError("platform_unavailable", "统一身份认证平台暂时无法访问，请稍后再试") from exc
        if response.status_code >= 500:
            raise PlatformError("platform_unavailable", "统一身份认证平台暂时无法访问，请稍后再试")
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if response.status_code >= 400 or not isinstance(answer, dict):
            reason = answer.get("error", "") if isinstance(answer, dict) else ""
            raise PlatformError("platform_refused", f"统一身份认证未通过，请重新认证（{str(reason)[:60]}）")
        return answer
