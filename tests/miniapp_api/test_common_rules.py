"""The API's common rules: rate limits (429 with Retry-After), ETags on item details, CORS,
pagination, request ids, and the API document itself."""

from __future__ import annotations

from server import create_app
from tests.console.conftest import PASSWORD
from tests.helpers import add_application, assert_error, signed_in, walk_pages
from tests.miniapp_api.conftest import serve
from tests.wechat.local_wechat import APPID, SECRET, LocalWeChat
from web.rate_limits import SharedBuckets, TokenBuckets


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


def test_shared_buckets_hold_one_bucket_per_key_and_reuse_the_least_recently_seen_slot():
    table = SharedBuckets.allocate(slots=8)  # every key may use all 8 slots: 8 keys fill the table
    buckets = TokenBuckets(rate_per_second=0.001, burst=1, table=table)  # spent buckets stay spent here
    assert [buckets.take(f"user:{n}", now=float(n)) for n in range(8)] == [0] * 8
    assert buckets.take("user:7", now=8.0) > 0  # each key has its own bucket, now spent
    assert buckets.take("user:8", now=9.0) == 0  # a ninth key takes the slot seen longest ago: user:0's
    assert buckets.take("user:1", now=10.0) > 0  # the others keep theirs
    assert buckets.take("user:0", now=11.0) == 0  # user:0 was forgotten: a full bucket again


async def test_signing_in_again_does_not_refill_the_users_bucket(test_settings):
    """The per-user limit follows the user, not the token: a new login is the same user, and a
    different user has their own bucket."""
    with LocalWeChat() as wechat:
        app = create_app(test_settings.with_overrides(
            assistant=False, miniapp_appid=APPID, miniapp_secret=SECRET, wechat_api_base=wechat.base_url,
            rate_limit_user_per_second=0.001, rate_limit_user_burst=3))  # no refill within the test

        async def me(token: str):  # type: ignore[no-untyped-def]
            return await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})

        async with serve(app) as client:
            first = (await client.post("/api/v1/auth/login", json={"code": "flood-1"})).json()["token"]
            assert [(await me(first)).status_code for _ in range(4)] == [200, 200, 200, 429]
            again = (await client.post("/api/v1/auth/login", json={"code": "flood-2"})).json()["token"]
            assert again != first
            limited = await me(again)
            assert_error(limited, 429, "rate_limited")
            assert int(limited.headers["Retry-After"]) > 60
            other = (await client.post("/api/v1/auth/login", json={"code": "calm-1"})).json()["token"]
            assert (await me(other)).status_code == 200

            # a staff member's bucket follows them the same way
            await app.ctx.staff_accounts.create("test", "li.editor", "李编辑", "editor", PASSWORD)

            async def staff_token() -> dict[str, str]:
                signed = await client.post("/api/v1/staff/sessions", json={"username": "li.editor", "password": PASSWORD})
                return {"Authorization": f"Bearer {signed.json()['token']}"}

            first_staff = await staff_token()
            assert [(await client.get("/api/v1/staff/me", headers=first_staff)).status_code
                    for _ in range(4)] == [200, 200, 200, 429]
            assert_error(await client.get("/api/v1/staff/me", headers=await staff_token()), 429, "rate_limited")


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


async def test_every_paged_list_follows_one_pagination_rule(app, client):
    user, auth = await signed_in(app, "o_pager")
    for n in range(5):  # five applications, and a message for each status report
        await add_application(app, user, f"SQ2026112200030{n}")
    document = (await client.get("/docs/openapi.json")).json()
    paged = sorted(path for path, operations in document["paths"].items()
                   if {"page", "page_size"} <= {p["name"] for p in operations.get("get", {}).get("parameters", [])})
    # /api/v1/policies is walked in test_policies_api, where the demo policies are loaded, and the staff
    # list of nodes in tests/console/test_policy_api.py, with a staff token
    assert paged == ["/api/v1/items", "/api/v1/me/applications", "/api/v1/me/messages", "/api/v1/policies",
                     "/api/v1/staff/policy/nodes"]
    for path in paged[:3]:
        await walk_pages(client, path, auth)


async def test_request_ids_are_kept_or_given(client):
    given = await client.get("/healthz", headers={"X-Request-ID": "mini-42.a"})
    assert given.headers["X-Request-ID"] == "mini-42.a"
    made = await client.get("/api/v1/items/NOPE", headers={"X-Request-ID": "<script>"})  # not a safe id: replaced
    assert len(made.headers["X-Request-ID"]) == 32 and made.headers["X-Request-ID"] != "<script>"


async def test_the_api_document_describes_every_operation(client):
    document = (await client.get("/docs/openapi.json")).json()
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            where = f"{method.upper()} {path}"
            assert operation.get("summary"), where
            success = [s for s in operation["responses"] if s.startswith("2")]
            assert success, f"{where}: no success answer documented"
            if path.startswith("/api/"):
                schema = operation["responses"][success[0]]["content"]["application/json"]["schema"]
                assert schema.get("properties") and schema.get("example"), f"{where}: no answer schema with an example"
                assert "429" in operation["responses"] or path == "/api/v1/approval/callback", where
            body = operation.get("requestBody", {}).get("content", {})
            if "application/json" in body:
                assert body["application/json"]["schema"].get("example"), f"{where}: no request example"
