"""One callback message, parsed by wechatpy and reduced to what the channel needs (``Incoming``)."""

from __future__ import annotations

from dataclasses import dataclass

from wechatpy import parse_message
from wechatpy.messages import UnknownMessage

from wechat.security import Rejected

MAX_OPENID = 128


@dataclass(frozen=True)
class Incoming:
    kind: str  # text, voice, image, location, link, video, shortvideo, event, unknown
    openid: str  # FromUserName: the follower
    account: str  # ToUserName: our account's original id (gh_…)
    create_time: int
    msg_id: str | None = None
    text: str = ""  # a text message's content, or a voice message's recognition
    event: str = ""  # subscribe, subscribe_scan, unsubscribe, click, scan, view, location, …
    event_key: str = ""

    @property
    def dedupe_key(self) -> str:
        """What makes WeChat's retries of this message recognisable: ``MsgId``, or for events
        (which have none) the follower, ``CreateTime`` and the event."""
        if self.msg_id:
            return f"msg:{self.msg_id}"
        return f"event:{self.openid}:{self.create_time}:{self.event or self.kind}"[:200]


def parse_incoming(xml: str) -> Incoming:
    """``Rejected`` (400) for anything that is not a WeChat message we can key and answer."""
    try:
        message = parse_message(xml)
        openid, account, created = message.source, message.target, int(message.time)
    except Exception as exc:  # a missing MsgType, a CreateTime that is not a number, …
        raise Rejected(400, "bad_message", f"not a WeChat message: {type(exc).__name__}") from None
    if not openid or len(openid) > MAX_OPENID or not account or len(account) > MAX_OPENID:
        raise Rejected(400, "bad_message", "FromUserName or ToUserName missing or too long")
    raw_id = message._data.get("MsgId")
    msg_id = str(raw_id)[:64] if isinstance(raw_id, str) and raw_id.strip() else None
    if str(message._data.get("MsgType", "")).lower() == "event":
        # wechatpy renames a subscribe from a QR code to "subscribe_scan" and strips "qrscene_"
        event = getattr(message, "event", None) or message._data.get("Event")
        return Incoming("event", openid, account, created, msg_id, event=_text(event).lower()[:64],
                        event_key=_text(message._data.get("EventKey"))[:200])
    kind = "unknown" if isinstance(message, UnknownMessage) else message.type
    if kind == "text":
        text = _text(message.content)
    elif kind == "voice":
        text = _text(message.recognition)
    else:
        text = ""
    return Incoming(kind, openid, account, created, msg_id, text=text)


def _text(value: object) -> str:
    return value.strip()[:4000] if isinstance(value, str) else ""
