"""The callback's gate: who may talk to us and what we agree to parse.

- The plain ``signature`` (SHA-1 of token, timestamp, nonce) and, in the compatible and safe modes,
  the ``msg_signature`` over the ciphertext, both computed by wechatpy.
- A replay window on ``timestamp``.
- XML screening before any parser sees the body: size, UTF-8, no DOCTYPE or entity declarations
  (the billion-laughs and external-entity attacks need one), one ``<xml>`` root, bounded depth.
- AES decryption and encryption (wechatpy's ``WeChatCrypto``), which also checks that the message
  was encrypted for our AppID.
"""

from __future__ import annotations

import hmac
import re
from typing import Any

import xmltodict
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
from wechatpy.utils import WeChatSigner


class Rejected(Exception):
    """The request is refused; ``status`` and ``code`` say how, the message says why (in English,
    for the log; WeChat does not show it to anyone)."""

    def __init__(self, status: int, code: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.code = code


_DECLARATION = re.compile(rb"<!\s*(DOCTYPE|ENTITY|ELEMENT|ATTLIST)", re.IGNORECASE)
_ROOT = re.compile(r"^\s*(<\?xml[^>]{0,200}\?>\s*)?<xml>", re.DOTALL)
MAX_FIELDS = 64  # WeChat's messages have around ten; a bigger tree is not one of them


def plain_signature(token: str, timestamp: str, nonce: str) -> str:
    signer = WeChatSigner()
    signer.add_data(token, timestamp, nonce)
    return signer.signature


def check_plain_signature(token: str, signature: str, timestamp: str, nonce: str) -> None:
    if not signature or not hmac.compare_digest(plain_signature(token, timestamp, nonce), signature):
        raise Rejected(403, "bad_signature", "signature does not match")


def check_timestamp(timestamp: str, now: float, window_seconds: float) -> None:
    # ASCII digits only: str.isdigit() also accepts "²" and full-width digits, which int() refuses
    if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 12:
        raise Rejected(403, "bad_timestamp", "timestamp is not a number")
    if abs(int(timestamp) - now) > window_seconds:
        raise Rejected(403, "stale_timestamp", f"timestamp is {int(timestamp) - now:+.0f} s from now")


def parse_xml(body: bytes | str) -> dict[str, Any]:
    """The ``<xml>`` element of a WeChat message as a flat dict of strings, or ``Rejected``."""
    raw = body.encode("utf-8") if isinstance(body, str) else body
    if _DECLARATION.search(raw):
        raise Rejected(400, "xml_declaration_refused", "XML with a DOCTYPE or entity declaration")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Rejected(400, "bad_encoding", "body is not UTF-8") from None
    if not _ROOT.match(text):
        raise Rejected(400, "not_xml", "body is not a WeChat <xml> message")
    try:
        document = xmltodict.parse(text, disable_entities=True)
    except Exception as exc:  # expat's errors, and anything else a broken document raises
        raise Rejected(400, "malformed_xml", f"malformed XML: {type(exc).__name__}") from None
    root = document.get("xml") if isinstance(document, dict) else None
    if not isinstance(root, dict) or len(root) > MAX_FIELDS:
        raise Rejected(400, "not_xml", "no <xml> root with fields")
    return root


class MessageCrypto:
    """Safe-mode (安全模式) decryption and encryption with our token, AES key and AppID."""

    def __init__(self, token: str, aes_key: str, appid: str) -> None:
        try:
            self.crypto = WeChatCrypto(token, aes_key, appid)
        except Exception as exc:  # wrong length or not base64
            raise ValueError("RYB_WECHAT_AES_KEY must be the 43-character EncodingAESKey") from exc

    def decrypt(self, fields: dict[str, Any], msg_signature: str, timestamp: str, nonce: str) -> str:
        encrypted = fields.get("Encrypt")
        if not isinstance(encrypted, str) or not encrypted:
            raise Rejected(400, "missing_encrypt", "no <Encrypt> in an encrypted callback")
        try:
            return self.crypto.decrypt_message({"Encrypt": encrypted}, msg_signature, timestamp, nonce)
        except InvalidSignatureException:
            raise Rejected(403, "bad_signature", "msg_signature does not match") from None
        except InvalidAppIdException:
            raise Rejected(403, "wrong_appid", "message was encrypted for another AppID") from None
        except Exception as exc:  # bad base64, bad padding, a short block
            raise Rejected(400, "bad_ciphertext", f"cannot decrypt: {type(exc).__name__}") from None

    def encrypt(self, xml: str, nonce: str, timestamp: str) -> str:
        return self.crypto.encrypt_message(xml, nonce, timestamp)
