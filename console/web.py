"""The console's frame: jinja2 rendering with autoescaping, the page layout and its navigation,
sign-in and sign-out, notices after a form is saved, staff accounts (admin), and errors shown as
pages rather than JSON. Every area of the console is a blueprint of its own, listed in ``AREAS``.

Pages are server-rendered; the few scripts (the condition editor, confirmations) enhance forms
that also work as plain forms. Every form carries the session's CSRF token, and
``console.auth.staff_member`` checks it on every POST.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sanic import Blueprint, Request, Sanic
from sanic.response import HTTPResponse, html, redirect
from sanic_ext import openapi

from china_time import to_minute
from console.accounts import AccountError
from console.auth import clear_session_cookie, set_session_cookie, staff_member, staff_session
from console.roles import ROLE_NAMES, ROLES
from web.addresses import client_address
from web.errors import ApiError, status_of

TEMPLATES = Path(__file__).with_name("templates")
STATIC = Path(__file__).with_name("static")
NOTICE_COOKIE = "ryb_notice"
LOGIN_CSRF_COOKIE = "ryb_login_csrf"  # double-submit token: the sign-in form has no session yet

log = logging.getLogger("rongyiban.console")
bp = Blueprint("console", url_prefix="/console")


@dataclass(frozen=True)
class NavEntry:
    path: str
    label: str
    permission: str


# the navigation, in the order a civil servant's day goes; each entry only shows to roles that may open it
NAV = (
    NavEntry("/console/", "首页", "console.view"),
    NavEntry("/console/guides", "办事指南", "guides.view"),
    NavEntry("/console/faq", "常见问题", "guides.view"),
    NavEntry("/console/synonyms", "同义词", "guides.view"),
    NavEntry("/console/policy", "政策图谱", "policy.view"),
    NavEntry("/console/policy/review", "审核队列", "policy.view"),
    NavEntry("/console/hit-test", "命中测试", "hit_test"),
    NavEntry("/console/unanswered", "未解决问题", "unanswered.view"),
    NavEntry("/console/workbench", "审批工作台", "applications.process"),
    NavEntry("/console/operations", "运维", "operations.manage"),
    NavEntry("/console/analytics", "数据分析", "analytics.view"),
    NavEntry("/console/staff", "人员管理", "staff.manage"),
)

STATE_NAMES = {"draft": "草稿", "in_review": "待审核", "approved": "待发布", "published": "已发布",
               "superseded": "已被取代", "retired": "已废止", "true": "符合", "false": "不符合", "unknown": "待确认"}
ACTION_NAMES = {"policy.draft.save": "保存草稿", "policy.in_review": "提交审核", "policy.approved": "审核通过",
                "policy.draft": "退回修改", "policy.published": "发布", "policy.retired": "废止",
                "policy.parameter.set": "设置参数"}


def china_time(value: datetime | str | None) -> str:
    """A stored UTC time as staff read it: China time, to the minute."""
    if not value:
        return ""
    return to_minute(datetime.fromisoformat(value) if isinstance(value, str) else value)


_environment = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "svg"]),
                           trim_blocks=True, lstrip_blocks=True)
_environment.globals.update(ROLE_NAMES=ROLE_NAMES)
_environment.filters.update(
    urlquote=lambda value: quote(str(value), safe=":"),  # node ids are kind:name
    state_name=lambda state: STATE_NAMES.get(state, state),
    action_name=lambda action: ACTION_NAMES.get(action, action),
    china_time=china_time,
)


def template_filter(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a filter the areas' templates use (a date in China time, a state in Chinese…)."""
    def register(function: Callable[..., Any]) -> Callable[..., Any]:
        _environment.filters[name] = function
        return function
    return register


def render(request: Request, template: str, *, status: int = 200, **values: Any) -> HTTPResponse:
    """A page, with the layout's values: who is signed in, their navigation, the CSRF token for
    forms and the notice the last action left."""
    session = getattr(request.ctx, "staff_session", None)
    notice = unquote(request.cookies.get(NOTICE_COOKIE, ""))[:200]
    page = _environment.get_template(template).render(
        request=request, staff=session.staff if session else None,
        csrf_token=session.csrf_token if session else "", notice=notice,
        nav=[e for e in NAV if session and session.staff.can(e.permission)], path=request.path, **values)
    response = html(page, status=status)
    if notice:
        response.delete_cookie(NOTICE_COOKIE, path="/console")
    response.headers["Content-Security-Policy"] = ("default-src 'self'; img-src 'self' data:; style-src 'self'; "
                                                   "script-src 'self'; frame-ancestors 'none'; form-action 'self'")
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Cache-Control"] = "no-store"  # pages show applicants' data: not for shared caches
    return response


def done(to: str, notice: str) -> HTTPResponse:
    """After a form is saved: back to a page (POST-redirect-GET), with a notice it shows once."""
    response = redirect(to, status=303)
    # the notice ("草稿已保存") is no secret: it may travel over plain HTTP in development
    response.add_cookie(NOTICE_COOKIE, quote(notice), path="/console", httponly=True, samesite="Strict",
                        secure=False, max_age=60)
    return response


def form_value(request: Request, name: str, default: str = "", limit: int = 5000) -> str:
    return (request.form.get(name) or default).strip()[:limit] if request.form else default


def form_password(request: Request, name: str = "password") -> str:
    """A password exactly as typed: never stripped, so that it is the same password the API and the
    command line see (its length is checked by the password rule, not cut here)."""
    return (request.form.get(name) or "") if request.form else ""


def form_values(request: Request, name: str, limit: int = 500) -> list[str]:
    return [v.strip()[:limit] for v in (request.form.getlist(name) or [])] if request.form else []


def sync_search_soon(app: Sanic) -> None:
    """Let search (and through it the assistant) see a console change now, not at its next round."""
    async def sync() -> None:
        try:
            await app.ctx.search.sync()
        except Exception:  # the periodic sync retries; a failure here only delays the change
            log.exception("search sync after a console change failed")

    app.add_task(sync())


def error_page(request: Request, status: int, code: str, message: str, details: Any = None) -> HTTPResponse:
    """How a console page shows an error: not signed in → the sign-in page, afterwards back here."""
    if status == 401 and request.method in ("GET", "HEAD"):
        return redirect(f"/console/login?next={quote(request.path)}", status=303)
    if status == 401:
        return redirect("/console/login", status=303)
    return render(request, "error.html", status=status, code=code, message=message, details=details)


# --- signing in and out --------------------------------------------------------------------
def _safe_next(value: str) -> str:
    # only back into the console: never to another site (an open redirect)
    return value if value.startswith("/console/") and "//" not in value and "\\" not in value else "/console/"


@bp.get("/login")
async def login_page(request: Request) -> HTTPResponse:
    return _login_form(request, "", request.args.get("next", "/console/"))


def _login_form(request: Request, message: str, next_path: str, username: str = "", status: int = 200) -> HTTPResponse:
    token = secrets.token_urlsafe(24)
    response = render(request, "login.html", status=status, message=message, next=_safe_next(next_path),
                      username=username, login_csrf=token)
    response.add_cookie(LOGIN_CSRF_COOKIE, token, path="/console/login", httponly=True, samesite="Strict",
                        secure=request.scheme == "https", max_age=3600)
    return response


@bp.post("/login")
async def login(request: Request) -> HTTPResponse:
    username, next_path = form_value(request, "username", limit=32), form_value(request, "next", "/console/", 200)
    given, expected = form_value(request, "csrf_token", limit=100), request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not given or not expected or not secrets.compare_digest(given, expected):
        return _login_form(request, "页面已过期，请重新登录", next_path, username, status=403)
    try:
        session = await request.app.ctx.staff_accounts.sign_in(username, form_password(request),
                                                               client_address(request))
    except AccountError as exc:
        return _login_form(request, str(exc), next_path, username, status=status_of(exc.code))
    response = redirect(_safe_next(next_path), status=303)
    set_session_cookie(request, response, session)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/console/login")
    return response


@bp.post("/logout")
async def logout(request: Request) -> HTTPResponse:
    session = await staff_session(request)  # checks the form's CSRF token: no signing people out from elsewhere
    await request.app.ctx.staff_accounts.sign_out(session)
    response = redirect("/console/login", status=303)
    clear_session_cookie(response)
    return response


# --- home and staff accounts -------------------------------------------------------------------
@bp.get("/")
async def home(request: Request) -> HTTPResponse:
    await staff_member(request, "console.view")
    ctx = request.app.ctx
    _, waiting_review = await ctx.policy_curation.nodes(states=("in_review", "approved"), limit=5)
    counts = await ctx.outbox.counts()
    return render(request, "home.html", waiting_review=waiting_review, dead_letters=counts.get("dead", 0),
                  followups=len(await ctx.evaluations.open_followups()),
                  applications=len(await ctx.workbench.waiting()) if ctx.workbench else None)


@bp.get("/staff")
async def staff_page(request: Request) -> HTTPResponse:
    await staff_member(request, "staff.manage")
    return render(request, "staff.html", accounts=await request.app.ctx.staff_accounts.all(), roles=ROLES)


@bp.post("/staff")
async def staff_create(request: Request) -> HTTPResponse:
    session = await staff_member(request, "staff.manage")
    accounts = request.app.ctx.staff_accounts
    try:
        created = await accounts.create(session.staff.username, form_value(request, "username", limit=32),
                                        form_value(request, "display_name", limit=50), form_value(request, "role"),
                                        form_password(request))
    except AccountError as exc:
        return render(request, "staff.html", status=status_of(exc.code), accounts=await accounts.all(), roles=ROLES,
                      error=str(exc), entered={k: form_value(request, k) for k in ("username", "display_name", "role")})
    return done("/console/staff", f"已创建账号 {created.username}")


@bp.post("/staff/<username:[a-z0-9_.\\-]{3,32}>")
async def staff_update(request: Request, username: str) -> HTTPResponse:
    session = await staff_member(request, "staff.manage")
    if username == session.staff.username and form_value(request, "active") == "false":
        raise ApiError(422, "cannot_disable_self", "不能停用自己的账号")
    await request.app.ctx.staff_accounts.update(
        session.staff.username, username, role=form_value(request, "role") or None,
        active={"true": True, "false": False}.get(form_value(request, "active")),
        password=form_password(request) or None)
    return done("/console/staff", f"已更新账号 {username}")


def install(app: Sanic, areas: list[Blueprint]) -> None:
    """The console's blueprints (each area's pages), its static files, and its errors as pages."""
    for blueprint in (bp, *areas):
        app.blueprint(blueprint)
        openapi.exclude(bp=blueprint)  # pages, not API operations: kept out of the API document
    app.static("/console/static", STATIC, name="console_static")
    app.ctx.html_errors = {"/console": error_page}
