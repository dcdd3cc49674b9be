"""Smart forms over HTTP: ``/api/v1/forms/…``, ``/api/v1/drafts/…``, ``/api/v1/applications/{no}``
and the approval back end's signed status callback ``/api/v1/approval/callback``."""

from __future__ import annotations

import json as jsonlib
import logging
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json
from sanic_ext import openapi

from china_time import CHINA
from miniapp_api.auth import current_user
from miniapp_api.responses.forms import (
    ApplicationAnswer,
    ConsentGranted,
    Draft,
    DraftWithAttachments,
    FormAnswer,
    PrefilledDraft,
    ReviewAnswer,
    Revoked,
    SavedDraft,
    StatusRecorded,
    Uploaded,
)
from smartform.applications import STATUSES
from smartform.approval import BadTimestamp, check_timestamp, verify_signature
from smartform.consent import consent_request
from smartform.schemas import FormSchema
from smartform.status_flow import InvalidTransition
from web.addresses import client_address
from web.answers import answer
from web.bodies import parse_body, read_body
from web.docs import UPLOAD, documented
from web.errors import ApiError

log = logging.getLogger(__name__)
bp = Blueprint("forms", url_prefix="/api/v1")


class ConsentBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    fields: list[str] = Field(max_length=50)


class DraftBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    data: dict[str, Any]
    revision: int = Field(ge=1)


class StatusReport(BaseModel):
    model_config = ConfigDict(extra="forbid")
    event_id: str = Field(min_length=1, max_length=64)
    application_no: str = Field(pattern=r"^SQ\d{14}$")
    status: str
    note: str | None = Field(default=None, max_length=500)
    at: datetime | None = None


def _form(request: Request, item_code: str) -> FormSchema:
    form = request.app.ctx.forms.get(item_code)
    if form is None:
        raise ApiError(404, "form_not_found", "该事项暂不支持在线填表", details={"item_code": item_code})
    return form


async def _owned_draft(request: Request, draft_id: str):  # type: ignore[no-untyped-def]
    user = await current_user(request)
    draft = await request.app.ctx.drafts.get(user, draft_id)
    return user, draft, _form(request, draft.item_code)


@bp.get("/forms/<item_code:str>")
@openapi.summary("A service item's form: fields, attachments, rules, and what prefill would read")
@documented(response=FormAnswer, errors=(404,))
async def get_form(request: Request, item_code: str) -> HTTPResponse:
    form = _form(request, item_code)
    return json({"form": form.model_dump(mode="json", by_alias=True), "consent": consent_request(form)})


@bp.post("/forms/<item_code:str>/consent")
@openapi.summary("Consent to read these base-library fields for this form")
@documented(ConsentBody, response=ConsentGranted, ok=201, errors=(400, 404, 422), secured=True, example={"fields": ["population.name", "population.id_number"]})
async def grant_consent(request: Request, item_code: str) -> HTTPResponse:
    user, form = await current_user(request), _form(request, item_code)
    body: ConsentBody = parse_body(ConsentBody, request)
    consent = await request.app.ctx.consents.grant(user, form, body.fields)
    return json({"consent": consent.to_json()}, status=201)


@bp.delete("/forms/<item_code:str>/consent/<consent_id:str>")
@openapi.summary("Revoke a consent; it takes effect at once")
@documented(response=Revoked, errors=(404,), secured=True)
async def revoke_consent(request: Request, item_code: str, consent_id: str) -> HTTPResponse:
    user = await current_user(request)
    if not await request.app.ctx.consents.revoke(user, consent_id[:64]):
        raise ApiError(404, "consent_not_found", "没有找到这项授权")
    return json({"revoked": True})


@bp.post("/forms/<item_code:str>/prefill")
@openapi.summary("Open (or resume) the user's draft of this form, prefilled where they consented")
@documented(response=PrefilledDraft, errors=(404,), secured=True)
async def prefill(request: Request, item_code: str) -> HTTPResponse:
    user, form = await current_user(request), _form(request, item_code)
    subject = await request.app.ctx.identities.subject(user)
    draft, report = await request.app.ctx.drafts.open(user, form, subject)
    return json({"draft": answer(Draft, draft), "prefill": report})


@bp.get("/drafts/<draft_id:str>")
@openapi.summary("A draft, to resume it (on any device)")
@documented(response=DraftWithAttachments, errors=(404,), secured=True)
async def get_draft(request: Request, draft_id: str) -> HTTPResponse:
    _, draft, _ = await _owned_draft(request, draft_id)
    return json({"draft": answer(Draft, draft), "attachments": await request.app.ctx.drafts.attachments_of(draft.id)})


@bp.put("/drafts/<draft_id:str>")
@openapi.summary("Save a draft's values (autosave); send the revision you started from")
@documented(DraftBody, response=SavedDraft, errors=(400, 404, 409, 413, 422), secured=True, example={"data": {"operator_phone": "13800001234"}, "revision": 1})
async def save_draft(request: Request, draft_id: str) -> HTTPResponse:
    user, draft, form = await _owned_draft(request, draft_id)
    body: DraftBody = parse_body(DraftBody, request)
    if len(jsonlib.dumps(body.data, ensure_ascii=False)) > 200_000:
        raise ApiError(413, "draft_too_large", "草稿内容过大")
    saved = await request.app.ctx.drafts.save(user, form, draft.id, body.data, body.revision)
    return json({"draft": answer(Draft, saved)})


# multipart's own bytes around the file (boundaries, part headers, the key field)
MULTIPART_ROOM = 65_536


# a streaming route: the one body allowed past the JSON limit (RYB_MAX_BODY_BYTES, the server's
# REQUEST_MAX_SIZE), read only once the draft is known to be the user's, and only up to the largest
# attachment the server takes
@bp.post("/drafts/<draft_id:str>/attachments", stream=True)
@openapi.summary("Upload an attachment (multipart: key, file)")
@documented(UPLOAD, response=Uploaded, ok=201, errors=(400, 404, 409, 413, 415, 422), secured=True)
async def upload(request: Request, draft_id: str) -> HTTPResponse:
    user, draft, form = await _owned_draft(request, draft_id)
    await read_body(request, request.app.ctx.settings.max_attachment_bytes + MULTIPART_ROOM)
    upload = request.files.get("file") if request.files else None
    key = (request.form.get("key") if request.form else None) or ""
    if upload is None or not key:
        raise ApiError(400, "invalid_request", "请用 multipart/form-data 上传：key 和 file")
    record = await request.app.ctx.drafts.attach(user, form, draft.id, key[:48], upload.name or "", upload.body)
    return json({"attachment": record}, status=201)


@bp.post("/drafts/<draft_id:str>/review")
@openapi.summary("Pre-review (智能受理): every problem at once, with its field")
@documented(response=ReviewAnswer, errors=(404,), secured=True)
async def review(request: Request, draft_id: str) -> HTTPResponse:
    user, draft, form = await _owned_draft(request, draft_id)
    problems = await request.app.ctx.applications.pre_review(user, form, draft.id)
    return json({"ok": not problems, "problems": [p.to_json() for p in problems]})


@bp.post("/drafts/<draft_id:str>/submit")
@openapi.summary("Submit: the application and its handoff to the approval back end, once")
@documented(response=ApplicationAnswer, ok=201, errors=(403, 404, 409, 422), secured=True,
            other={200: ("submitted before: the same application", ApplicationAnswer)})
async def submit(request: Request, draft_id: str) -> HTTPResponse:
    user, draft, form = await _owned_draft(request, draft_id)
    # an application is filed in a person's name: only the verified person may file it
    await request.app.ctx.identities.require_high(user, "提交申请")
    application, created = await request.app.ctx.applications.submit(user, form, draft.id)
    return json({"application": application.to_json()}, status=201 if created else 200)


@bp.get("/applications/<number:str>")
@openapi.summary("An application's status and timeline (its owner only)")
@documented(response=ApplicationAnswer, errors=(404,), secured=True)
async def get_application(request: Request, number: str) -> HTTPResponse:
    user = await current_user(request)
    application = await request.app.ctx.applications.get(number[:20], owner=user)
    if application is None:  # someone else's is "not found" too: numbers are not to be probed
        raise ApiError(404, "application_not_found", "没有找到这个申请", details={"number": number[:20]})
    return json({"application": application.to_json()})


def _reported_at(at: datetime | None) -> datetime | None:
    """The report's time in UTC (a time without a zone is China time). A date at the very edge of
    the calendar overflows when moved to UTC: that is bad input, not a server error."""
    if at is None:
        return None
    try:
        return at.astimezone(UTC) if at.tzinfo else at.replace(tzinfo=CHINA).astimezone(UTC)
    except OverflowError:
        raise ApiError(400, "invalid_request", "at 不是有效的时间", details={"at": str(at)}) from None


@bp.post("/approval/callback")
@openapi.summary("Status reports from the approval back end (HMAC-signed); only the changes the status flow allows")
@documented(StatusReport, response=StatusRecorded, errors=(400, 401, 404, 409), limited=False, example={"event_id": "evt-1", "application_no": "SQ20261122000001", "status": "accepted", "note": "材料齐全"})
async def approval_callback(request: Request) -> HTTPResponse:
    secret = request.app.ctx.settings.approval_secret
    if not secret:
        log.warning("approval callback refused: no RYB_APPROVAL_SECRET set", extra={"client": client_address(request)})
        raise ApiError(401, "bad_signature", "签名校验失败")
    try:  # before the signature, and before any arithmetic on it: the header is the sender's text
        check_timestamp(request.headers.get("X-Timestamp", ""))
    except BadTimestamp as bad:
        log.warning("approval callback refused: bad timestamp (%s)", bad.details["problem"],
                    extra={"client": client_address(request)})
        raise ApiError(401, bad.code, str(bad), details=bad.details) from None
    if not verify_signature(secret, request.headers.get("X-Timestamp", ""), request.headers.get("X-Signature", ""),
                            request.body):
        log.warning("approval callback refused: bad signature", extra={"client": client_address(request)})
        raise ApiError(401, "bad_signature", "签名校验失败")
    report: StatusReport = parse_body(StatusReport, request)
    if report.status not in STATUSES:
        raise ApiError(400, "invalid_request", "未知的办件状态", details={"status": report.status, "allowed": list(STATUSES)})
    try:
        recorded = await request.app.ctx.applications.record_status(
            report.application_no, report.status, event_id=report.event_id, note=report.note, source="approval",
            at=_reported_at(report.at))
    except InvalidTransition as refused:
        log.warning("approval callback refused: %s %s → %s not allowed (event %s)", report.application_no,
                    refused.current, refused.requested, report.event_id, extra={"client": client_address(request)})
        raise
    if recorded is None:
        log.warning("approval callback for an unknown application %s", report.application_no)
        raise ApiError(404, "application_not_found", "没有这个申请", details={"number": report.application_no})
    return json({"recorded": recorded, "duplicate": not recorded})
