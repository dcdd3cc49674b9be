"""The channel-neutral ``Reply`` rendered for WeChat, and WeChat's passive reply XML.

A rendered reply is a small JSON-able dict, stored with the message so that a retry gets exactly
the same reply and a late answer goes out as the same customer-service message:

- ``{"type": "text", "content": ..., "options": [...], "created": ts}``: plain text within WeChat's
  2,048-byte limit; the quick replies are numbered so that the user can answer with a number
  (``options`` keeps them in order for that);
- ``{"type": "news", "article": {...}, "options": [], "created": ts}``: one article, when the answer
  is a link to an online service (WeChat shows at most one article in a passive reply).
"""

from __future__ import annotations

import re
from typing import Any

from wechatpy.replies import ArticlesReply, TextReply

from assistant.reply import Reply

MAX_TEXT_BYTES = 2048  # WeChat's limit for a text reply's content, in UTF-8 bytes
_TRUNCATED = "\n…（内容较长，完整信息请在蓉易办小程序查看）"
_NUMBERED = re.compile(r"^\s*(\d+)[.、．]\s*(.+?)\s*$")
ONLINE_ASPECT = "在线办理"


def utf8_len(text: str) -> int:
    return len(text.encode("utf-8"))


def cut_to_bytes(text: str, limit: int) -> str:
    """The longest prefix of ``text`` within ``limit`` UTF-8 bytes, never splitting a character."""
    encoded = text.encode("utf-8")
    if len(encoded) <= limit:
        return text
    return encoded[:limit].decode("utf-8", errors="ignore")


def _options_block(text: str, options: list[str]) -> str:
    """Number the quick replies, unless the text already lists them (clarifications do)."""
    listed = [m.group(2) for line in text.splitlines() if (m := _NUMBERED.match(line))]
    if listed and options[: len(listed)] == listed:
        # "not sure" lists the items and mentions “转人工” in its own words: show only what is new
        extra = [(i, o) for i, o in enumerate(options, 1) if i > len(listed) and f"“{o}”" not in text]
        return "".join(f"\n{i}. {o}" for i, o in extra)
    return "\n\n回复序号继续：\n" + "\n".join(f"{i}. {o}" for i, o in enumerate(options, 1))


def _sources_line(reply: Reply) -> str:
    if not reply.sources:
        return ""
    names = []
    for source in reply.sources:
        label = f"{source.name}（{'常见问题' if source.type == 'faq' else '办事指南'} v{source.version}）"
        if label not in names:
            names.append(label)
    return "\n依据：" + "；".join(names[:2]) + ("等" if len(names) > 2 else "")


def render_text(reply: Reply, *, max_bytes: int = MAX_TEXT_BYTES) -> str:
    """Body, numbered options and a sources line, within ``max_bytes``; a long body is cut at a
    line end (the options and sources are what the user needs to go on, so they are kept)."""
    tail = (_options_block(reply.text, reply.quick_replies) if reply.quick_replies else "") + _sources_line(reply)
    body = reply.text.strip()
    room = max_bytes - utf8_len(tail)
    if utf8_len(body) > room:
        budget = max(room - utf8_len(_TRUNCATED), 0)
        cut = cut_to_bytes(body, budget)
        if "\n" in cut[len(cut) // 2:]:
            cut = cut[: cut.rindex("\n")]
        body = cut.rstrip() + _TRUNCATED
    return cut_to_bytes(body + tail, max_bytes)


def render(reply: Reply, created: int) -> dict[str, Any]:
    """The stored form of a WeChat reply (see the module docstring)."""
    online = next((card for card in reply.cards if card.url), None)
    if reply.aspect == ONLINE_ASPECT and online is not None:
        article = {"title": f"在线办理：{online.title}"[:64], "description": cut_to_bytes(reply.text, 300),
                   "url": online.url, "image": ""}
        return {"type": "news", "article": article, "options": [], "created": created}
    return {"type": "text", "content": render_text(reply), "options": list(reply.quick_replies), "created": created}


def text_reply(content: str, created: int, options: list[str] | None = None) -> dict[str, Any]:
    return {"type": "text", "content": cut_to_bytes(content, MAX_TEXT_BYTES), "options": options or [],
            "created": created}


_NOT_XML_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml_safe(value: str) -> str:
    """wechatpy puts text in CDATA sections: a "]]>" inside would end one early."""
    return _NOT_XML_CHARS.sub("", value).replace("]]>", "]] >")


def passive_xml(rendered: dict[str, Any], *, to_user: str, account: str) -> str:
    """The passive reply XML (被动回复) for the callback's response."""
    to_user, account = _xml_safe(to_user), _xml_safe(account)
    if rendered["type"] == "news":
        reply = ArticlesReply(target=to_user, source=account, time=rendered["created"])
        reply.add_article({key: _xml_safe(value) for key, value in rendered["article"].items()})
        return reply.render()
    return TextReply(target=to_user, source=account, time=rendered["created"],
                     content=_xml_safe(rendered["content"])).render()


def custom_message(rendered: dict[str, Any], openid: str) -> dict[str, Any]:
    """The same reply as a customer-service message (客服消息), for answers that come late."""
    if rendered["type"] == "news":
        article = rendered["article"]
        return {"touser": openid, "msgtype": "news", "news": {"articles": [{
            "title": article["title"], "description": article["description"], "url": article["url"],
            "picurl": article["image"]}]}}
    return {"touser": openid, "msgtype": "text", "text": {"content": rendered["content"]}}
