"""Fixtures for the official-account channel: the local WeChat API server, and a test-side
"WeChat" that signs, encrypts and posts callbacks the way WeChat's servers do (with wechatpy's
``WeChatCrypto`` as an independent implementation of the crypto)."""

from __future__ import annotations

import itertools
import secrets
import time
from dataclasses import dataclass

import httpx
import pytest
import xmltodict
from wechatpy.crypto import WeChatCrypto

from tests.wechat.local_wechat import APPID, SECRET, LocalWeChat
from wechat.security import plain_signature

TOKEN = "rongyibantoken"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"  # 43 characters, as WeChat issues them
ACCOUNT = "gh_0123456789ab"
_MSG_IDS = itertools.count(int(time.time() * 1000) * 1000)


@pytest.fixture
def local_wechat():
    with LocalWeChat() as server:
        yield server


def wechat_settings(settings, api_base: str, **overrides):  # type: ignore[no-untyped-def]
    return settings.with_overrides(wechat_token=TOKEN, wechat_aes_key=AES_KEY, wechat_appid=APPID,
                                   wechat_secret=SECRET, wechat_api_base=api_base, **overrides)


def text_xml(openid: str, content: str, msg_id: int | None = None, created: int | None = None) -> str:
    return (f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
            f"<CreateTime>{created or int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id or next(_MSG_IDS)}</MsgId></xml>")


def event_xml(openid: str, event: str, key: str = "", created: int | None = None) -> str:
    return (f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
            f"<CreateTime>{created or int(time.time())}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
            f"<Event><![CDATA[{event}]]></Event><EventKey><![CDATA[{key}]]></EventKey></xml>")


@dataclass
class Delivery:
    status: int
    body: str
    fields: dict | None  # the (decrypted) reply XML's fields; None for "success" or an error

    @property
    def content(self) -> str:
        return (self.fields or {}).get("Content", "")


class PlaysWeChat:
    """Posts callbacks as WeChat does: signed, and in safe mode encrypted (wechatpy)."""

    def __init__(self, http: httpx.AsyncClient, token: str = TOKEN, aes_key: str = AES_KEY, appid: str = APPID):
        self.http = http
        self.token = token
        self.crypto = WeChatCrypto(token, aes_key, appid)

    def signed_query(self, timestamp: str | None = None) -> dict[str, str]:
        timestamp = timestamp or str(int(time.time()))
        nonce = str(secrets.randbelow(10**9))
        return {"timestamp": timestamp, "nonce": nonce, "signature": plain_signature(self.token, timestamp, nonce)}

    async def post(self, xml: str, *, mode: str = "safe") -> Delivery:
        query, body = self.sign_and_encrypt(xml, mode=mode)
        response = await self.http.post("/wechat/callback", params=query, content=body.encode("utf-8"))
        return self.read(response, query, encrypted=mode != "plaintext")

    def sign_and_encrypt(self, xml: str, *, mode: str = "safe") -> tuple[dict[str, str], str]:
        query = self.signed_query()
        body = xml
        if mode in ("safe", "compatible"):
            encrypted = xmltodict.parse(self.crypto.encrypt_message(xml, query["nonce"], query["timestamp"]))["xml"]
            query.update(encrypt_type="aes", msg_signature=encrypted["MsgSignature"])
            if mode == "safe":
                body = f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName><Encrypt><![CDATA[{encrypted['Encrypt']}]]></Encrypt></xml>"
            else:  # compatible mode: the plaintext fields and the ciphertext side by side
                body = xml.replace("</xml>", f"<Encrypt><![CDATA[{encrypted['Encrypt']}]]></Encrypt></xml>")
        return query, body

    def read(self, response: httpx.Response, query: dict[str, str], *, encrypted: bool) -> Delivery:
        if response.status_code != 200 or response.text == "success":
            return Delivery(response.status_code, response.text, None)
        xml = response.text
        if encrypted:  # decrypting also checks the reply's msg_signature
            envelope = xmltodict.parse(xml)["xml"]
            xml = self.crypto.decrypt_message(xml, envelope["MsgSignature"], envelope["TimeStamp"], envelope["Nonce"])
        return Delivery(200, response.text, xmltodict.parse(xml)["xml"])
