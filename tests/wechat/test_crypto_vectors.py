"""Test vectors from two independent sources (wechatpy's own test suite and Tencent's official
WXBizMsgCrypt sample, in ``../shared/data/wechat/crypto_vectors.json``), through our callback over
HTTP, with the app configured with each set's token, key and AppID and its clock at the vector's
time (so the replay window does not refuse a message from 2014)."""

from __future__ import annotations

import asyncio
import json

import pytest
import sqlalchemy as sa
import xmltodict
from wechatpy.crypto import WeChatCrypto

from server import create_app
from store.tables.dialogue import chat_turns
from tests.helpers import assert_error
from tests.miniapp_api.conftest import serve


def vectors(shared_data) -> dict:
    return json.loads((shared_data / "wechat" / "crypto_vectors.json").read_text(encoding="utf-8"))


async def test_url_verification_with_the_plain_signature_vector(shared_data, test_settings):
    vector = vectors(shared_data)["plain_signature"]
    app = create_app(test_settings.with_overrides(
        assistant=False, wechat_token=vector["token"], wechat_appid="wx_any", wechat_secret="s"),
        clock=lambda: float(vector["timestamp"]))
    query = {"timestamp": vector["timestamp"], "nonce": vector["nonce"], "echostr": "5927782489442352469"}
    async with serve(app) as http:
        ok = await http.get("/wechat/callback", params={**query, "signature": vector["signature"]})
        assert ok.status_code == 200 and ok.text == "5927782489442352469"
        wrong = await http.get("/wechat/callback", params={**query, "signature": vector["a_wrong_signature"]})
        assert_error(wrong, 403, "bad_signature")


@pytest.mark.parametrize("source", ["wechatpy", "tencent_official"])
async def test_encrypted_vectors_decrypt_through_the_callback(source, shared_data, test_settings, local_wechat):
    vector = vectors(shared_data)[source]
    sample = vector["decrypt"]
    app = create_app(test_settings.with_overrides(
        wechat_token=vector["token"], wechat_aes_key=vector["encoding_aes_key"], wechat_appid=vector["app_id"],
        wechat_secret="s", wechat_api_base=local_wechat.base_url), clock=lambda: float(sample["timestamp"]))
    body = f"<xml><ToUserName><![CDATA[{vector['app_id']}]]></ToUserName><Encrypt><![CDATA[{sample['encrypt']}]]></Encrypt></xml>"
    query = {"timestamp": sample["timestamp"], "nonce": sample["nonce"], "encrypt_type": "aes",
             "msg_signature": sample["msg_signature"]}
    async with serve(app) as http:
        await asyncio.wait_for(asyncio.shield(app.ctx.dialogue_task), timeout=300)
        response = await http.post("/wechat/callback", params=query, content=body)
        assert response.status_code == 200 and "<Encrypt>" in response.text
        envelope = xmltodict.parse(response.text)["xml"]
        reply = xmltodict.parse(WeChatCrypto(vector["token"], vector["encoding_aes_key"], vector["app_id"])
                                .decrypt_message(response.text, envelope["MsgSignature"], envelope["TimeStamp"],
                                                 envelope["Nonce"]))["xml"]
        expected = sample["expected"]
        assert reply["MsgType"] == "text" and reply["Content"]
        if "FromUserName" in expected:
            assert reply["ToUserName"] == expected["FromUserName"]
        async with app.ctx.db.read() as conn:
            [turn] = list(await conn.execute(sa.select(chat_turns)))
        assert turn.text == expected["Content"] and turn.channel == "wechat"
        # the plaintext also names the sender: the answer went back to them
        assert turn.session_key == f"wechat:{reply['ToUserName']}"

        # the same ciphertext with one signature digit changed is refused
        bad = {**query, "msg_signature": sample["msg_signature"][:-1] + ("0" if sample["msg_signature"][-1] != "0" else "1")}
        assert_error(await http.post("/wechat/callback", params=bad, content=body), 403, "bad_signature")
