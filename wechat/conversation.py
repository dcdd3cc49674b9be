"""What to say to one incoming message. The assistant decides; this module only knows WeChat's
message types: text and recognised voice go to the assistant, a subscription gets the welcome, an
unsubscription forgets the conversation, a menu click runs its configured action, and types the
assistant cannot read get a short, honest reply (or none)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from assistant.dialogue import DialogueManager
from store.database import Database
from store.tables.wechat import wechat_users
from wechat.messages import Incoming
from wechat.render import render, text_reply

CHANNEL = "wechat"
MENU_ACTIONS = frozenset({"hot", "progress", "human"})
_NUMBER = re.compile(r"^\s*(\d{1,2})\s*[.。、]?\s*$")

NOT_HEARD = "抱歉，没有听清您的语音，请再说一遍，或直接发文字给我。"
IMAGE = "暂时还看不懂图片。请用文字说说您要办的事，比如“身份证丢了怎么补办”。"
LOCATION = "收到您的位置。请告诉我您要办理的事项，我来告诉您在哪里办、要带什么。"
LINK = "暂时还不能打开链接。请用文字告诉我您想了解的事项。"
MEDIA = "暂时还不能处理这类消息，请发文字或语音给我。"
ASSISTANT_OFF = "智能助手暂未开通。办事咨询请拨打12345政务服务便民热线。"
_SHORT_REPLIES = {"image": IMAGE, "location": LOCATION, "link": LINK, "video": MEDIA, "shortvideo": MEDIA,
                  "file": MEDIA}


def parse_menu(spec: str) -> dict[str, str]:
    """``"MENU_HOT:hot,MENU_HUMAN:human"`` → ``{"MENU_HOT": "hot", "MENU_HUMAN": "human"}``."""
    menu: dict[str, str] = {}
    for entry in filter(None, (part.strip() for part in spec.split(","))):
        key, _, action = entry.partition(":")
        if not key.strip() or action.strip() not in MENU_ACTIONS:
            raise ValueError(f"RYB_WECHAT_MENU: {entry!r} is not KEY:ACTION with ACTION one of {sorted(MENU_ACTIONS)}")
        menu[key.strip()] = action.strip()
    return menu


class Conversation:
    def __init__(self, db: Database, dialogue: Callable[[], DialogueManager | None],
                 assistant_enabled: Callable[[], bool], menu: dict[str, str]) -> None:
        self.db = db
        self.dialogue = dialogue  # None while the assistant is still starting
        self.assistant_enabled = assistant_enabled
        self.menu = menu

    async def answer(self, incoming: Incoming) -> dict[str, Any] | None:
        """The rendered reply (see ``wechat.render``), or None for an empty reply."""
        created = incoming.create_time
        if incoming.kind == "event":
            return await self._event(incoming)
        if incoming.kind in _SHORT_REPLIES:
            return text_reply(_SHORT_REPLIES[incoming.kind], created)
        if incoming.kind not in ("text", "voice"):
            return None  # a type we do not know: an empty reply says nothing wrong
        if not incoming.text:
            return text_reply(NOT_HEARD if incoming.kind == "voice" else MEDIA, created)
        manager = await self._manager()
        if manager is None:
            return text_reply(ASSISTANT_OFF, created)
        text = await self._chosen_option(incoming.openid, incoming.text)
        turn = await manager.handle(CHANNEL, incoming.openid, text)
        return render(turn.reply, created)

    async def _event(self, incoming: Incoming) -> dict[str, Any] | None:
        if incoming.event in ("subscribe", "subscribe_scan"):
            manager = await self._manager()
            return render(manager.welcome(), incoming.create_time) if manager else text_reply(
                ASSISTANT_OFF, incoming.create_time)
        if incoming.event == "unsubscribe":
            manager = self.dialogue()
            if manager is not None:
                await manager.forget(CHANNEL, incoming.openid)
            async with self.db.transaction() as conn:
                await conn.execute(wechat_users.update().where(wechat_users.c.openid == incoming.openid)
                                   .values(subscribed=False, options=[]))
            return None
        if incoming.event == "click" and incoming.event_key in self.menu:
            manager = await self._manager()
            if manager is None:
                return text_reply(ASSISTANT_OFF, incoming.create_time)
            turn = await manager.menu(CHANNEL, incoming.openid, self.menu[incoming.event_key])
            return render(turn.reply, incoming.create_time)
        return None  # view (a menu link), location reports, scans by followers, unknown keys

    async def _manager(self) -> DialogueManager | None:
        """The assistant, waiting while it starts (the reply deadline covers the wait)."""
        while (manager := self.dialogue()) is None:
            if not self.assistant_enabled():
                return None
            await asyncio.sleep(0.2)
        return manager

    @staticmethod
    async def remember_options(conn: AsyncConnection, openid: str, options: list[str]) -> None:
        """The numbered options the follower is about to see (in the caller's transaction)."""
        await conn.execute(wechat_users.update().where(wechat_users.c.openid == openid).values(options=options))

    async def _chosen_option(self, openid: str, text: str) -> str:
        """A bare number picks one of the numbered options of the last reply."""
        match = _NUMBER.match(text)
        if not match:
            return text
        async with self.db.read() as conn:
            options = (await conn.execute(sa.select(wechat_users.c.options)
                                          .where(wechat_users.c.openid == openid))).scalar()
        index = int(match.group(1))
        return options[index - 1] if options and 1 <= index <= len(options) else text
