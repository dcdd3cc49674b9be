"""Signing in through the local WeChat API server (jscode2session), real-name binding, logout."""

from __future__ import annotations

from server import create_app
from smartform.synthetic import people
from tests.miniapp_api.conftest import serve
from tests.miniapp_api.test_items_api import assert_error
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
            draft = (await client.post("/api/v1/forms/CD-0006/prefill", headers=auth)).json()["draft"]
            assert person["name"] in draft["data"].values()

            assert (await client.post("/api/v1/auth/logout", headers=auth)).status_code == 200
            assert_error(await client.post("/api/v1/forms/CD-0006/prefill", headers=auth), 401, "token_revoked")
        assert [c.query["js_code"] for c in wechat.calls("/sns/jscode2session")][:2] == ["alice-1", "alice-2"]


async def test_login_is_off_until_configured(test_settings):
    app = create_app(test_settings.with_overrides(assistant=False))
    async with serve(app) as client:
        assert_error(await client.post("/api/v1/auth/login", json={"code": "x-1"}), 503, "login_unavailable")
