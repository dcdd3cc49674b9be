"""Signing in through the local WeChat API server (jscode2session), real-name binding, logout, and
the tokens and input refused."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from server import create_app
from smartform.synthetic import people
from store.tables.identity import user_sessions
from tests.helpers import assert_error
from tests.identity_platform import verify_through_api
from tests.miniapp_api.conftest import serve
from tests.smartform.local_platform import APP_KEY, LocalPlatform
from tests.smartform.local_platform import SECRET as PLATFORM_SECRET
from tests.wechat.local_wechat import APPID, SECRET, LocalWeChat


async def test_login_bind_prefill_logout(test_settings):
    person = people()[30]
    with LocalWeChat() as wechat:
        app = create_app(test_settings.with_overrides(assistant=False, miniapp_appid=APPID, miniapp_secret=SECRET,
                                                      wechat_api_base=wechat.base_url))
        async with serve(app) as client:
            first = (await client.post("/api/v1/auth/login", json={"code": "alice-1"})).json()
            again = (await client.post("/api/v1/auth/login", json={"code": "alice-2"})).json()
            assert first["token"] != again["token"] and first["expires_in"] == 72 * 3600
            assert await app.ctx.tokens.user_of(first["token"]) == await app.ctx.tokens.user_of(again["token"])
            assert_error(await client.post("/api/v1/auth/login", json={"code": "alice-1"}), 401, "login_code_invalid")
            assert_error(await client.post("/api/v1/auth/login", json={"code": "bad-code"}), 401, "login_code_invalid")
            wechat.fail_next("/sns/jscode2session", 45011, "api minute-quota reach limit")
            assert_error(await client.post("/api/v1/auth/login", json={"code": "alice-3"}), 503, "login_busy")
            assert_error(await client.post("/api/v1/auth/login", json={"code": ""}), 400, "invalid_request")
            assert "session_key" not in str(first)

            auth = {"Authorization": f"Bearer {first['token']}"}
            wrong = await client.post("/api/v1/me/identity", headers=auth,
                                      json={"name": "张三", "id_number": person["id_number"]})
            assert_error(wrong, 422, "identity_mismatch")
            invalid = await client.post("/api/v1/me/identity", headers=auth,
                                        json={"name": person["name"], "id_number": person["id_number"][:-1] + "0"
                                              if person["id_number"][-1] != "0" else person["id_number"][:-1] + "1"})
            assert_error(invalid, 422, "id_check_digit")
            bound = await client.post("/api/v1/me/identity", headers=auth,
                                      json={"name": person["name"], "id_number": person["id_number"]})
            assert bound.status_code == 200
            await client.post("/api/v1/forms/CD-0006/consent", headers=auth, json={"fields": ["population.name"]})
            opened = (await client.post("/api/v1/forms/CD-0006/prefill", headers=auth)).json()
            # a name and an ID number are not proof of a person: no base-library read until verified
            assert opened["prefill"]["identity_verification_required"] and opened["draft"]["data"] == {}
            assert (await verify_through_api(client, auth, person)).json()["identity_level"] == "high"
            draft = (await client.post("/api/v1/forms/CD-0006/prefill", headers=auth)).json()["draft"]
            assert person["name"] in draft["data"].values()

            assert (await client.post("/api/v1/auth/logout", headers=auth)).status_code == 200
            assert_error(await client.post("/api/v1/forms/CD-0006/prefill", headers=auth), 401, "token_revoked")
        assert [c.query["js_code"] for c in wechat.calls("/sns/jscode2session")][:2] == ["alice-1", "alice-2"]


async def test_login_is_off_until_configured(test_settings):
    app = create_app(test_settings.with_overrides(assistant=False))
    async with serve(app) as client:
        assert_error(await client.post("/api/v1/auth/login", json={"code": "x-1"}), 503, "login_unavailable")


async def test_bad_tokens_and_bad_input_are_refused_before_any_library_call(test_settings):
    with LocalPlatform() as platform:
        app = create_app(test_settings.with_overrides(assistant=False, base_library_url=platform.base_url,
                                                      base_library_app_key=APP_KEY, base_library_secret=PLATFORM_SECRET))
        async with serve(app) as client:
            user = await app.ctx.identities.user_for_openid("o_bad_input")
            token, _ = await app.ctx.tokens.issue(user)
            auth = {"Authorization": f"Bearer {token}"}
            expired, _ = await app.ctx.tokens.issue(user)
            async with app.ctx.db.transaction() as conn:
                await conn.execute(user_sessions.update().where(
                    user_sessions.c.token_hash == hashlib.sha256(expired.encode()).hexdigest())
                    .values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
            for headers, code in (({}, "token_missing"), ({"Authorization": token}, "token_missing"),
                                  ({"Authorization": f"Basic {token}"}, "token_missing"),
                                  ({"Authorization": "Bearer " + "x" * 300}, "token_missing"),
                                  ({"Authorization": "Bearer forged-token-0123456789"}, "token_invalid"),
                                  ({"Authorization": f"Bearer {expired}"}, "token_expired")):
                assert_error(await client.get("/api/v1/me", headers=headers), 401, code)

            person = people()[7]
            wrong_digit = person["id_number"][:-1] + ("1" if person["id_number"][-1] != "1" else "2")
            for body, status, code in (
                    ({"name": person["name"], "id_number": wrong_digit}, 422, "id_check_digit"),
                    ({"name": person["name"], "id_number": "51010419900230123X"}, 422, "id_birth_date"),
                    ({"name": person["name"], "id_number": person["id_number"], "admin": True}, 400, "invalid_request"),
                    ({"name": "名" * 31, "id_number": person["id_number"]}, 400, "invalid_request")):
                assert_error(await client.post("/api/v1/me/identity", headers=auth, json=body), status, code)
            assert_error(await client.post("/api/v1/me/identity", headers=auth, content=b"{not json"), 400, "invalid_json")
            assert_error(await client.post("/api/v1/me/identity", headers=auth, content=b"{" + b" " * 1_100_000 + b"}"),
                         413, "payload_too_large")
            assert_error(await client.post("/api/v1/me/enterprise", headers=auth,
                                           json={"uscc": "91440101052565100X", "role": "经办人"}), 422, "uscc_check_digit")
            assert platform.requests == []  # nothing reached the population or legal-person library

            bound = await client.post("/api/v1/me/identity", headers=auth,
                                      json={"name": person["name"], "id_number": person["id_number"]})
            assert bound.status_code == 200 and [path for path, _ in platform.requests] == ["/population/verify"]
