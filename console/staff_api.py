"""Staff sign-in for API clients: ``POST /api/v1/staff/sessions`` gives a bearer token,
``DELETE /api/v1/staff/sessions/current`` ends it, ``GET /api/v1/staff/me`` says who and what
they may do. The console pages sign in with the same accounts through a form and a cookie."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json
from sanic_ext import openapi

from console.auth import staff_session
from console.roles import PERMISSIONS
from web.addresses import client_address
from web.bodies import parse_body
from web.docs import documented

bp = Blueprint("staff", url_prefix="/api/v1/staff")


class SignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=32)
    password: str = Field(min_length=1, max_length=200)


class StaffModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str
    display_name: str
    role: str


class SignedIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"example": {
        "token": "Qm9vdHN0cmFwLXRva2Vu", "expires_at": "2026-12-02T17:00:00+00:00",
        "staff": {"username": "li.editor", "display_name": "李编辑", "role": "editor"}}})
    token: str
    expires_at: str
    staff: StaffModel


class Me(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"example": {
        "staff": {"username": "li.editor", "display_name": "李编辑", "role": "editor"},
        "permissions": ["policy.edit", "policy.view"]}})
    staff: StaffModel
    permissions: list[str]


class SignedOut(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"example": {"signed_out": True}})
    signed_out: bool


@bp.post("/sessions")
@openapi.summary("Staff sign-in: a bearer token for the staff API (throttled after repeated failures)")
@documented(SignIn, response=SignedIn, ok=201, errors=(400, 401, 429), example={"username": "li.editor", "password": "…"})
async def sign_in(request: Request) -> HTTPResponse:
    body: SignIn = parse_body(SignIn, request)
    session = await request.app.ctx.staff_accounts.sign_in(body.username, body.password, client_address(request))
    return json({"token": session.token, "expires_at": session.expires_at.isoformat(),
                 "staff": session.staff.to_json()}, status=201)


@bp.delete("/sessions/current")
@openapi.summary("Staff sign-out: the token stops working")
@documented(response=SignedOut, errors=(), staff=True)
async def sign_out(request: Request) -> HTTPResponse:
    session = await staff_session(request)
    await request.app.ctx.staff_accounts.sign_out(session)
    return json({"signed_out": True})


@bp.get("/me")
@openapi.summary("The signed-in staff member and what their role permits")
@documented(response=Me, errors=(), staff=True)
async def me(request: Request) -> HTTPResponse:
    session = await staff_session(request)
    return json({"staff": session.staff.to_json(), "permissions": sorted(PERMISSIONS[session.staff.role])})
