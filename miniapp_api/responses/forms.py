"""Forms, consents, drafts, attachments and applications."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel

from miniapp_api.responses.common import Paged, strict
from smartform.schemas import FormSchema
from web.answers import IsoDatetime


class ConsentField(BaseModel):
    model_config = strict()
    source: str
    label: str
    field: str
    library: str


class ConsentRequest(BaseModel):
    model_config = strict()
    item_code: str
    form_title: str
    purpose: str
    fields: list[ConsentField]


class FormAnswer(BaseModel):
    model_config = strict({"form": {"item_code": "CD-0053", "title": "…"}, "consent": {
        "item_code": "CD-0053", "form_title": "…", "purpose": "…", "fields": [
            {"source": "population.name", "label": "姓名", "field": "applicant_name", "library": "人口库"}]}})
    form: FormSchema
    consent: ConsentRequest


class Consent(BaseModel):
    model_config = strict()
    id: str
    item_code: str
    form_version: int
    fields: list[str]
    purpose: str
    granted_at: str
    expires_at: str
    revoked_at: str | None


class ConsentGranted(BaseModel):
    model_config = strict({"consent": {"id": "c_1", "item_code": "CD-0053", "form_version": 1,
                                        "fields": ["population.name"], "purpose": "…", "granted_at": "2026-11-22T06:00:00+00:00",
                                        "expires_at": "2026-12-22T06:00:00+00:00", "revoked_at": None}})
    consent: Consent


class Revoked(BaseModel):
    model_config = strict({"revoked": True})
    revoked: Literal[True]


class Draft(BaseModel):
    model_config = strict()
    id: str
    item_code: str
    form_version: int
    data: dict[str, Any]
    provenance: dict[str, Any]
    status: str
    revision: int
    updated_at: IsoDatetime
    expires_at: IsoDatetime


class PrefillReport(BaseModel):
    model_config = strict()
    values: dict[str, Any]
    library_unavailable: bool
    message: str | None
    not_consented: list[str]
    identity_verification_required: bool


DRAFT_EXAMPLE = {"id": "9f1c0d2e", "item_code": "CD-0053", "form_version": 1, "data": {"applicant_name": "王示例明"},
                 "provenance": {"applicant_name": {"from": "population", "locked": True, "value": "王示例明"}},
                 "status": "open", "revision": 1, "updated_at": "2026-11-22T06:00:00+00:00",
                 "expires_at": "2026-12-22T06:00:00+00:00"}
ATTACHMENT_EXAMPLE = {"id": "a1", "key": "id_card", "filename": "身份证.jpg", "file_type": "jpg", "size": 20480,
                      "sha256": "9f86d081884c7d65…"}


class PrefilledDraft(BaseModel):
    model_config = strict({"draft": DRAFT_EXAMPLE, "prefill": {
        "values": {"applicant_name": {"value": "王示例明", "provenance": "population", "source": "population.name",
                                      "locked": True}}, "library_unavailable": False, "message": None,
        "not_consented": [], "identity_verification_required": False}})
    draft: Draft
    prefill: PrefillReport


class Attachment(BaseModel):
    model_config = strict()
    id: str
    key: str
    filename: str
    file_type: str
    size: int
    sha256: str


class DraftWithAttachments(BaseModel):
    model_config = strict({"draft": DRAFT_EXAMPLE, "attachments": [ATTACHMENT_EXAMPLE]})
    draft: Draft
    attachments: list[Attachment]


class SavedDraft(BaseModel):
    model_config = strict({"draft": {**DRAFT_EXAMPLE, "revision": 2}})
    draft: Draft


class Uploaded(BaseModel):
    model_config = strict({"attachment": ATTACHMENT_EXAMPLE})
    attachment: Attachment


class Problem(BaseModel):
    model_config = strict()
    field: str
    code: str
    message: str


class ReviewAnswer(BaseModel):
    model_config = strict({"ok": False, "problems": [{"field": "family_members[0].member_id_number", "code": "check_digit",
                                                       "message": "身份证号：校验码不正确"}]})
    ok: bool
    problems: list[Problem]


class TimelineEvent(BaseModel):
    model_config = strict()
    status: str
    status_text: str
    note: str | None
    at: str


class Application(BaseModel):
    model_config = strict()
    number: str
    item_code: str
    item_name: str
    item_version: int
    status: str
    status_text: str
    submitted_at: str
    timeline: list[TimelineEvent]


class ApplicationAnswer(BaseModel):
    model_config = strict({"application": {"number": "SQ20261122000001", "item_code": "CD-0053", "item_name": "…",
                                            "item_version": 1, "status": "accepted", "status_text": "已受理",
                                            "submitted_at": "2026-11-22T06:00:00+00:00", "timeline": [
                                                {"status": "submitted", "status_text": "已提交", "note": None,
                                                 "at": "2026-11-22T06:00:00+00:00"}]}})
    application: Application


class ApplicationSummary(BaseModel):
    model_config = strict()
    number: str
    item_code: str
    item_name: str
    status: str
    status_text: str
    submitted_at: str
    updated_at: str


class ApplicationPage(Paged):
    model_config = strict({"items": [{"number": "SQ20261122000001", "item_code": "CD-0053", "item_name": "…",
                                       "status": "submitted", "status_text": "已提交",
                                       "submitted_at": "2026-11-22T06:00:00+00:00",
                                       "updated_at": "2026-11-22T06:00:00+00:00"}], "page": 1, "page_size": 20, "total": 1})
    items: list[ApplicationSummary]


class StatusRecorded(BaseModel):
    model_config = strict({"recorded": True, "duplicate": False})
    recorded: bool
    duplicate: bool
