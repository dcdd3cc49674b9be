"""``/api/v1/chat`` and ``/api/v1/chat/feedback``: the assistant for the mini-program.

A signed-in citizen's sessions are theirs: the dialogue keys them by user and session id
(``assistant.dialogue.signed_in_session``), so only that user can continue one or rate its answers,
here and in ``/api/v1/evaluations``. An anonymous session belongs to whoever holds its id."""

from __future__ import annotations

import secrets

from pydantic import BaseModel, ConfigDict, Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json
from sanic_ext import openapi

from assistant.dialogue import signed_in_session
from miniapp_api.auth import current_user
from miniapp_api.responses.chat import ChatAnswer
from miniapp_api.responses.common import Ok
from web.bodies import parse_body
from web.docs import documented
from web.errors import ApiError

bp = Blueprint("chat", url_prefix="/api/v1/chat")
CHANNEL = "miniapp"
SESSION_ID = r"^[0-9A-Za-z_\-]{8,64}$"


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    session_id: str | None = Field(default=None, pattern=SESSION_ID)
    text: str = Field(max_length=4000)  # up to 2,000 characters are read


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    session_id: str = Field(pattern=SESSION_ID)
    turn_id: int = Field(ge=1)
    helpful: bool
    reason: str | None = Field(default=None, max_length=500)


async def _conversation(request: Request, session_id: str) -> tuple[str, str | None]:
    """The dialogue's user for this session and the signed-in owner (None: anonymous). Signing in is
    optional for the chat, but a token that is sent must be valid."""
    owner = await current_user(request) if "Authorization" in request.headers else None
    return (signed_in_session(owner, session_id) if owner else session_id), owner


def dialogue(request: Request):  # type: ignore[no-untyped-def]
    manager = getattr(request.app.ctx, "dialogue", None)
    if manager is None:
        if request.app.ctx.readiness.components.get("assistant", {}).get("enabled") is False:
            raise ApiError(503, "assistant_unavailable", "本服务未启用智能助手")
        raise ApiError(503, "assistant_starting", "助手正在启动，请稍后再试")
    return manager


@bp.post("/")
@openapi.summary("One turn of the conversation with the assistant")
@documented(ChatRequest, response=ChatAnswer, errors=(400, 401, 503), example={"text": "身份证丢了怎么补办"})
async def chat(request: Request) -> HTTPResponse:
    body: ChatRequest = parse_body(ChatRequest, request)
    session_id = body.session_id or secrets.token_urlsafe(16)
    # a signed-in user can also ask about their own applications
    user, owner = await _conversation(request, session_id)
    turn = await dialogue(request).handle(CHANNEL, user, body.text, owner=owner)
    return json({"session_id": session_id, "turn_id": turn.turn_id, "reply": turn.reply.to_json()})


@bp.post("/feedback")
@openapi.summary("Helpful / not helpful on one of the session's answers (a signed-in session: its user only)")
@documented(FeedbackRequest, response=Ok, errors=(400, 401, 404, 503), example={"session_id": "s-12345678", "turn_id": 1, "helpful": True})
async def feedback(request: Request) -> HTTPResponse:
    body: FeedbackRequest = parse_body(FeedbackRequest, request)
    user, _ = await _conversation(request, body.session_id)
    # someone else's answer is "not found" too: turn ids are not to be probed
    if not await dialogue(request).feedback(CHANNEL, user, body.turn_id, body.helpful, body.reason):
        raise ApiError(404, "turn_not_found", "没有找到这条回答", details={"turn_id": body.turn_id})
    return json({"ok": True})
