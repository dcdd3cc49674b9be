"""``/wechat/callback``: the official account's server URL (服务器地址).

GET answers WeChat's URL verification; POST takes a message in plaintext, compatible or safe mode
(``encrypt_type=aes`` with ``msg_signature``) and answers with the passive reply, encrypted the
way the message came, or ``success``. Every refusal is logged with its reason and answered in the
API's one JSON error shape; nothing is parsed before the signature, the timestamp and the size pass.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, text
from sanic_ext import openapi
from sanic_ext.extensions.openapi.definitions import Parameter, Response

from web.bodies import read_body
from web.docs import ERROR
from web.errors import ApiError
from wechat.inbox import MessageInbox
from wechat.messages import parse_incoming
from wechat.render import passive_xml
from wechat.security import MessageCrypto, Rejected, check_plain_signature, check_timestamp, parse_xml

log = logging.getLogger(__name__)
bp = Blueprint("wechat", url_prefix="/wechat")
MAX_ARG = 128  # WeChat's query arguments are short hex or digit strings
_ARGS = {"signature": "SHA-1 of token, timestamp, nonce", "timestamp": "seconds since the epoch", "nonce": "random",
         "echostr": "echoed on verification", "openid": "the follower", "encrypt_type": "aes in safe mode",
         "msg_signature": "SHA-1 over the ciphertext (safe mode)"}
_REFUSED = [Response({"application/json": ERROR}, status=status, description=text)
            for status, text in ((400, "malformed"), (403, "signature or timestamp refused"), (413, "too large"),
                                 (503, "the channel is off: RYB_WECHAT_* not set"))]


def _args(*names: str) -> list[Parameter]:
    return [Parameter(name, {"type": "string", "maxLength": MAX_ARG}, "query", description=_ARGS[name],
                      required=name in ("signature", "timestamp", "nonce", "echostr")) for name in names]


@dataclass
class WeChatCallback:
    token: str
    crypto: MessageCrypto | None  # None: no AES key, plaintext mode only
    inbox: MessageInbox
    timestamp_window_seconds: float
    max_body_bytes: int
    clock: Callable[[], float]  # seconds since the epoch, as WeChat's timestamps


def _callback(request: Request) -> WeChatCallback:
    callback = getattr(request.app.ctx, "wechat", None)
    if callback is None:
        raise ApiError(503, "wechat_disabled", "公众号渠道未启用")
    return callback


def _arg(request: Request, name: str) -> str:
    value = request.args.get(name, "")
    if len(value) > MAX_ARG:
        raise Rejected(400, "bad_argument", f"{name} is too long")
    return value


def _refuse(request: Request, rejected: Rejected) -> ApiError:
    log.warning("wechat callback refused (%s): %s", rejected.code, rejected, extra={
        "code": rejected.code, "client": request.remote_addr or request.ip})
    return ApiError(rejected.status, rejected.code, "请求未通过校验" if rejected.status == 403 else "请求内容不正确")


@bp.get("/callback")
@openapi.definition(summary="WeChat's server-URL verification", parameter=_args("signature", "timestamp", "nonce", "echostr"),
                    response=[Response({"text/plain": {"type": "string"}}, status=200, description="echostr"), *_REFUSED])
async def verify_url(request: Request) -> HTTPResponse:
    """URL verification (验证服务器地址): echo ``echostr`` when the signature is ours."""
    callback = _callback(request)
    try:
        timestamp, nonce, echostr = _arg(request, "timestamp"), _arg(request, "nonce"), _arg(request, "echostr")
        check_timestamp(timestamp, callback.clock(), callback.timestamp_window_seconds)
        check_plain_signature(callback.token, _arg(request, "signature"), timestamp, nonce)
    except Rejected as rejected:
        raise _refuse(request, rejected) from None
    return text(echostr)


# streamed, to hold the body to RYB_WECHAT_MAX_BODY_BYTES while it is read, not to the API's larger limit
@bp.post("/callback", stream=True)
@openapi.definition(
    summary="A follower's message or event (XML; plaintext, compatible or safe mode)",
    parameter=_args("signature", "timestamp", "nonce", "openid", "encrypt_type", "msg_signature"),
    body={"text/xml": {"type": "string", "example": "<xml><ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName>"
                       "<![CDATA[o_1]]></FromUserName><CreateTime>1764547200</CreateTime><MsgType><![CDATA[text]]>"
                       "</MsgType><Content><![CDATA[社保卡怎么补办]]></Content><MsgId>1</MsgId></xml>"}},
    response=[Response({"text/xml": {"type": "string"}}, status=200,
                       description="the passive reply, or the text success when the answer goes out later"), *_REFUSED])
async def receive_message(request: Request) -> HTTPResponse:
    callback = _callback(request)
    try:
        try:
            await read_body(request, callback.max_body_bytes)
        except ApiError:  # read_body's one refusal: too large
            raise Rejected(413, "payload_too_large", f"body over {callback.max_body_bytes} bytes") from None
        timestamp, nonce = _arg(request, "timestamp"), _arg(request, "nonce")
        encrypted = _arg(request, "encrypt_type").lower() == "aes"
        check_timestamp(timestamp, callback.clock(), callback.timestamp_window_seconds)
        signature = _arg(request, "signature")
        if signature or not encrypted:  # safe mode signs the ciphertext; the plain one is then optional
            check_plain_signature(callback.token, signature, timestamp, nonce)
        fields = parse_xml(request.body)
        if encrypted:
            if callback.crypto is None:
                raise Rejected(400, "encryption_not_configured", "encrypted callback but no RYB_WECHAT_AES_KEY")
            msg_signature = _arg(request, "msg_signature")
            if not msg_signature:
                raise Rejected(403, "bad_signature", "encrypted callback without msg_signature")
            plaintext = callback.crypto.decrypt(fields, msg_signature, timestamp, nonce)
            parse_xml(plaintext)  # the decrypted document gets the same screening
            incoming = parse_incoming(plaintext)
        else:
            incoming = parse_incoming(request.body.decode("utf-8"))
    except Rejected as rejected:
        raise _refuse(request, rejected) from None

    reply = await callback.inbox.receive(incoming)
    if reply is None:
        return text("success")
    xml = passive_xml(reply, to_user=incoming.openid, account=incoming.account)
    if encrypted:
        assert callback.crypto is not None
        xml = callback.crypto.encrypt(xml, nonce or secrets.token_hex(8), str(int(callback.clock())))
    return text(xml, content_type="application/xml")
