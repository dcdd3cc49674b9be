"""The API's common rules: rate limits (429 with Retry-After), ETags on item details, CORS."""

from __future__ import annotations

from miniapp_api.rate_limits import TokenBuckets
from server import create_app
from tests.miniapp_api.conftest import serve
from tests.miniapp_api.test_items_api import assert_error


def test_a_token_bucket_allows_the_burst_then_the_rate():
    buckets = TokenBuckets(rate_per_second=2, burst=3)
    assert [buckets.take("ip", now=0.0) for _ in range(3)] == [0, 0, 0]
    assert buckets.take("ip", now=0.0) == 0.5  # the next token in half a second
    assert buckets.take("ip", now=0.5) == 0 and buckets.take("other", now=0.5) == 0


async def test_floods_from_one_address_or_one_user_get_429(test_settings):
    app = create_app(test_settings.with_overrides(
        assistant=False, rate_limit_ip_per_second=1, rate_limit_ip_burst=5,
        rate_limit_user_per_second=0.5, rate_limit_user_burst=2))
    async with serve(app) as client:
        statuses = [(await client.get("/api/v1/items/CD-0001")).status_code for _ in range(8)]
        assert statuses[:5] == [200] * 5 and statuses[5:] == [429] * 3
        limited = await client.get("/api/v1/items/CD-0001")
        assert_error(limited, 429, "rate_limited")
        assert int(limited.headers["Retry-After"]) >= 1
        assert (await client.get("/healthz")).status_code == 200  # only the API is limited
        app.ctx.rate_limits.by_ip.rate = 1000  # the address may go on; now one user floods
        user = await app.ctx.identities.user_for_openid("o_flood")
        token, _ = await app.ctx.tokens.issue(user)
        auth = {"Authorization": f"Bearer {token}"}
        statuses = [(await client.get("/api/v1/me", headers=auth)).status_code for _ in range(4)]
        assert statuses[:2] == [200, 200] and 429 in statuses[2:]


async def test_item_details_carry_an_etag(client):
    first = await client.get("/api/v1/items/CD-0001")
    etag = first.headers["ETag"]
    assert etag == '"CD-0001-v1"'
    again = await client.get("/api/v1/items/CD-0001", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert (await client.get("/api/v1/items/CD-0001", headers={"If-None-Match": '"CD-0001-v0"'})).status_code == 200


async def test_cors_for_configured_origins_only(test_settings):
    app = create_app(test_settings.with_overrides(assistant=False, cors_origins="https://web.example.org"))
    async with serve(app) as client:
        allowed = await client.get("/api/v1/items/CD-0001", headers={"Origin": "https://web.example.org"})
        assert allowed.headers["Access-Control-Allow-Origin"] == "https://web.example.org"
        other = await client.get("/api/v1/items/CD-0001", headers={"Origin": "https://evil.example.com"})
        assert "Access-Control-Allow-Origin" not in other.headers
        preflight = await client.options("/api/v1/forms/CD-0053/consent", headers={
            "Origin": "https://web.example.org", "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type"})
        assert preflight.status_code == 204 and "POST" in preflight.headers["Access-Control-Allow-Methods"]
