"""Signing a person in at the identity platform, as the mini-program's web-view does: start at our
API (or service), open the platform's authorization URL with the demo person and face verification
chosen, take the code and state from the redirect, and hand them back. The platform is the local
OIDC provider ``smartform/local_identity_platform.py`` started by ``tests/conftest.py``."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

CLIENT_ID, CLIENT_SECRET = "rongyiban-test", "identity-platform-test-secret"
REDIRECT_URI = "https://miniapp.example/identity-return"


def settings_for(issuer: str) -> dict[str, str]:
    return {"oidc_issuer": issuer, "oidc_client_id": CLIENT_ID, "oidc_client_secret": CLIENT_SECRET,
            "oidc_redirect_uri": REDIRECT_URI}


async def authorize(url: str, person: dict[str, Any], *, face: bool = True) -> tuple[str, str]:
    """The person signs in at the platform: (code, state) from its redirect."""
    async with httpx.AsyncClient() as http:
        answer = await http.get(f"{url}&{urlencode({'login_hint': person['id_number'], 'face': '1' if face else '0'})}")
    assert answer.status_code == 302, answer.text
    location = urlsplit(answer.headers["Location"])
    assert location.geturl().startswith(REDIRECT_URI)
    query = parse_qs(location.query)
    return query["code"][0], query["state"][0]


async def verify_through_api(client: httpx.AsyncClient, auth: dict[str, str], person: dict[str, Any], *,
                             face: bool = True) -> httpx.Response:
    started = await client.post("/api/v1/me/identity/platform", headers=auth)
    assert started.status_code == 201, started.text
    code, state = await authorize(started.json()["authorize_url"], person, face=face)
    return await client.post("/api/v1/me/identity/platform/callback", headers=auth, json={"code": code, "state": state})


async def verify_user(identities: Any, user_id: str, person: dict[str, Any], *, face: bool = True) -> str:
    """The same through the service, for tests that are not about the API; returns the level."""
    code, state = await authorize(await identities.start_platform_sign_in(user_id), person, face=face)
    return await identities.finish_platform_sign_in(user_id, code, state)
