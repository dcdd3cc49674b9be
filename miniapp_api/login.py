"""Signing in: ``POST /api/v1/auth/login {"code"}`` (a ``wx.login`` code, exchanged through an
``IdentityProvider`` — WeChat's ``jscode2session`` by default) and ``POST /api/v1/auth/logout``."""

from __future__ import annotations

import logging
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json
from sanic_ext import openapi

from miniapp_api.auth import current_user
from miniapp_api.responses.common import Ok
from miniapp_api.responses.identity import LoginAnswer
from web.bodies import parse_body
from web.docs import documented
from web.errors import ApiError
from wechat.api import WeChatApi, WeChatApiError, WeChatUnreachable

log = logging.getLogger(__name__)
bp = Blueprint("login", url_prefix="/api/v1")


class IdentityProvider(Protocol):
    """Who is signing in: a stable subject id for a one-time code. WeChat's login by default; a
    city's unified identity platform (OAuth2) can take its place."""

    async def subject_for(self, code: str) -> str: ...


class WeChatLogin:
    def __init__(self, api: WeChatApi) -> None:
        self.api = api

    async def subject_for(self, code: str) -> str:
        session = await self.api.code2session(code)  # the session_key in it is neither kept nor logged
        return str(session["openid"])


class LoginBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(min_length=1, max_length=128)


@bp.post("/auth/login")
@openapi.summary("Sign in with a wx.login code; returns our own session token")
@documented(LoginBody, response=LoginAnswer, errors=(400, 401, 502, 503), example={"code": "081xYz000abcde1Fg2h3"})
async def login(request: Request) -> HTTPResponse:
    provider: IdentityProvider | None = request.app.ctx.identity_provider
    if provider is None:
        raise ApiError(503, "login_unavailable", "小程序登录未配置（RYB_MINIAPP_APPID / RYB_MINIAPP_SECRET）")
    body: LoginBody = parse_body(LoginBody, request)
    try:
        subject = await provider.subject_for(body.code)
    except WeChatApiError as exc:
        if exc.errcode in (40029, 40163, 40226):
            raise ApiError(401, "login_code_invalid", "登录凭证无效或已使用，请重新登录") from None
        if exc.errcode in (45011, -1):
            raise ApiError(503, "login_busy", "登录繁忙，请稍后再试") from None
        log.warning("login refused by WeChat: errcode %s", exc.errcode)
        raise ApiError(502, "login_failed", "登录失败，请稍后再试") from None
    except WeChatUnreachable:
        raise ApiError(503, "login_unavailable", "暂时无法登录，请稍后再试") from None
    user = await request.app.ctx.identities.user_for_openid(subject)
    token, expires_in = await request.app.ctx.tokens.issue(user)
    return json({"token": token, "expires_in": expires_in})


@bp.post("/auth/logout")
@openapi.summary("Revoke this session token")
@documented(response=Ok, errors=(), secured=True)
async def logout(request: Request) -> HTTPResponse:
    await current_user(request)
    await request.app.ctx.tokens.revoke(request.headers["Authorization"].partition(" ")[2].strip())
    return json({"ok": True})
