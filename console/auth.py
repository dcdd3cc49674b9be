"""Who is asking, and may they: ``staff_member(request, permission)`` is the one check every
console page and staff API operation makes.

A staff session token arrives either as the console's cookie (pages and their scripts) or as
``Authorization: Bearer`` (API clients). A browser attaches a cookie to requests other sites make
it send, so a cookie-borne request that changes something must also carry the session's CSRF token
(the ``csrf_token`` form field or the ``X-CSRF-Token`` header); a bearer token is never sent by
a browser on its own and needs none.
"""

from __future__ import annotations

import secrets

from sanic import Request
from sanic.response import HTTPResponse

from console.accounts import StaffSession
from console.roles import ROLE_NAMES
from web.errors import ApiError

COOKIE = "ryb_staff"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def staff_session(request: Request) -> StaffSession:
    accounts = request.app.ctx.staff_accounts
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        session = await accounts.session(token.strip())
        if session is None:
            raise ApiError(401, "staff_token_invalid", "登录已失效，请重新登录")
        return session
    session = await accounts.session(request.cookies.get(COOKIE, ""))
    if session is None:
        raise ApiError(401, "staff_sign_in_required", "请先登录工作人员后台")
    if request.method not in SAFE_METHODS:
        given = request.headers.get("X-CSRF-Token") or _form_field(request, "csrf_token")
        if not given or not secrets.compare_digest(given, session.csrf_token):
            raise ApiError(403, "csrf_invalid", "页面已过期或来源不明，请刷新页面后重试")
    return session


async def staff_member(request: Request, permission: str) -> StaffSession:
    """The signed-in staff member's session, if their role has ``permission``; 401 or 403 otherwise."""
    session = await staff_session(request)
    request.ctx.staff_session = session  # an error page still shows who is signed in
    if not session.staff.can(permission):
        raise ApiError(403, "permission_denied",
                       f"您的角色（{ROLE_NAMES.get(session.staff.role, session.staff.role)}）不能进行此操作",
                       details={"needs": permission})
    return session


def set_session_cookie(request: Request, response: HTTPResponse, session: StaffSession) -> None:
    # Secure whenever the console is reached over HTTPS (behind a proxy: set Sanic's
    # FORWARDED_SECRET or PROXIES_COUNT so that request.scheme sees it)
    response.add_cookie(COOKIE, session.token, path="/", httponly=True, samesite="Strict",
                        secure=request.scheme == "https", expires=session.expires_at)


def clear_session_cookie(response: HTTPResponse) -> None:
    response.delete_cookie(COOKIE, path="/")


def _form_field(request: Request, name: str) -> str | None:
    content_type = request.headers.get("content-type", "")
    if "form" not in content_type:
        return None
    try:
        return request.form.get(name)
    except Exception:  # a malformed form body: no token in it
        return None
