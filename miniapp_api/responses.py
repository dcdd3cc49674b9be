"""The documented shapes of the API's successful answers (for ``/docs`` and the conformance tests).

Handlers build their JSON from the services; these models only describe it. The fuzz and journey
tests check every real answer against them, so a field added to a service without being added here
fails a test instead of silently drifting from the documentation. Objects we own forbid extra
fields; free-form values (form data, facets) stay open."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from assistant.models import ServiceItem
from assistant.reply import Reply
from smartform.schemas import FormSchema


def _strict(example: dict[str, Any] | None = None) -> ConfigDict:
    return ConfigDict(extra="forbid", json_schema_extra={"example": example} if example else None)


class Paged(BaseModel):
    page: int
    page_size: int
    total: int


# --- health ------------------------------------------------------------------------------------
class Health(BaseModel):
    model_config = _strict({"status": "ok"})
    status: Literal["ok"]


class Readiness(BaseModel):
    model_config = _strict({"status": "ready", "database": {"ready": True}, "building": [], "kb_version": 12,
                            "components": {"search": {"ready": True, "items": 80}}})
    status: Literal["ready", "not_ready"]
    database: dict[str, Any]
    components: dict[str, dict[str, Any]]
    building: list[str]
    kb_version: int | None


# --- the catalog and search --------------------------------------------------------------------
class ItemSummary(BaseModel):
    model_config = _strict()
    code: str
    name: str
    department: str
    item_type: str
    audience: list[str]
    level: str
    district: str
    version: int


class ItemPage(Paged):
    model_config = _strict({"items": [{"code": "CD-0021", "name": "住房公积金提取", "department": "成都住房公积金管理中心",
                                       "item_type": "公共服务", "audience": ["个人"], "level": "市级", "district": "",
                                       "version": 1}], "total": 1, "page": 1, "page_size": 20})
    items: list[ItemSummary]


class ItemDetail(ServiceItem):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"example": {
        "code": "CD-0021", "name": "住房公积金提取", "department": "成都住房公积金管理中心", "version": 3,
        "source": "demo", "updated_at": "2026-11-20T08:00:00+00:00"}})
    version: int
    source: str
    updated_at: str


class SearchHit(BaseModel):
    model_config = _strict()
    id: str
    code: str
    name: str
    department: str
    score: float
    matched_by: list[str]
    snippet: str
    scores: dict[str, float]


class SearchAnswer(BaseModel):
    model_config = _strict({"query": "公积金怎么取", "results": [{
        "id": "CD-0021", "code": "CD-0021", "name": "住房公积金提取", "department": "成都住房公积金管理中心",
        "score": 0.97, "matched_by": ["lexical", "vector"], "snippet": "<em>公积金</em>提取…",
        "scores": {"lexical": 11.2, "vector": 0.88}}], "facets": {"department": {"成都住房公积金管理中心": 3}},
        "no_good_match": False, "confidence": 0.93, "took_ms": 21.4, "methods": ["lexical", "vector", "fuzzy"],
        "expansions": ["提取"], "truncated": False})
    query: str
    results: list[SearchHit]
    facets: dict[str, dict[str, int]]
    no_good_match: bool
    confidence: float
    took_ms: float
    methods: list[str]
    expansions: list[str]
    truncated: bool


class Suggestion(BaseModel):
    model_config = _strict()
    text: str
    kind: Literal["hot", "item"]
    code: str | None = None


class Suggestions(BaseModel):
    model_config = _strict({"query": "gjj", "suggestions": [{"text": "住房公积金提取", "kind": "item", "code": "CD-0021"}]})
    query: str
    suggestions: list[Suggestion]


class HotEntry(BaseModel):
    model_config = _strict()
    query: str
    count: int


class HotQueries(BaseModel):
    model_config = _strict({"hot": [{"query": "公积金提取", "count": 42}]})
    hot: list[HotEntry]


# --- the assistant -----------------------------------------------------------------------------
class ChatAnswer(BaseModel):
    model_config = _strict({"session_id": "Vx1s2k3j4h5g6f7d", "turn_id": 1, "reply": {
        "text": "补办居民身份证……", "intent": "ask_guide", "confidence": 0.91, "aspect": None, "cards": [],
        "quick_replies": ["需要什么材料"], "sources": [{"type": "service_item", "id": "CD-0001", "name": "居民身份证补领",
                                                       "version": 1}], "needs_clarification": False, "no_answer": False}})
    session_id: str
    turn_id: int
    reply: Reply


class Ok(BaseModel):
    model_config = _strict({"ok": True})
    ok: Literal[True]


# --- signing in and the user's profile ---------------------------------------------------------
class LoginAnswer(BaseModel):
    model_config = _strict({"token": "k3Jd…", "expires_in": 259200})
    token: str
    expires_in: int


class EnterpriseBinding(BaseModel):
    model_config = _strict()
    uscc: str
    role: Literal["法定代表人", "经办人"] | None


class Profile(BaseModel):
    model_config = _strict({"user_id": "u_3f2a…", "identity_bound": True, "name": "王*明", "id_number": "5101**********1234",
                            "bound_at": "2026-11-22T06:54:25+00:00", "identity_level": "high", "enterprise": None})
    user_id: str
    identity_bound: bool
    name: str | None
    id_number: str | None
    bound_at: str | None
    # high: the identity platform with face verification; basic: the platform without it;
    # knowledge: name and ID number only (cannot read base libraries, apply or act for an enterprise)
    identity_level: Literal["high", "basic", "knowledge"] | None
    enterprise: EnterpriseBinding | None


class PlatformSignIn(BaseModel):
    model_config = _strict({"authorize_url": "https://tyrz.example.gov.cn/authorize?response_type=code&…",
                            "expires_in": 600})
    authorize_url: str
    expires_in: int


class EnterpriseGrant(BaseModel):
    model_config = _strict({"id": "9c1e…", "agent_name": "李*", "agent_id_number": "5101**********5678",
                            "scopes": ["apply", "policy"], "granted_at": "2026-12-04T08:00:00+00:00",
                            "expires_at": "2027-12-04T08:00:00+00:00", "status": "live", "revoked_at": None,
                            "uses": [{"at": "2026-12-05T02:00:00+00:00", "use": "prefill"}]})
    id: str
    agent_name: str
    agent_id_number: str
    scopes: list[Literal["policy", "apply"]]
    granted_at: str
    expires_at: str
    status: Literal["live", "expired", "revoked"]
    revoked_at: str | None
    uses: list[dict[str, str | None]] = []


class EnterpriseGrantList(BaseModel):
    model_config = _strict({"items": []})
    items: list[EnterpriseGrant]


class GrantAdded(BaseModel):
    model_config = _strict({"grant": {"id": "9c1e…", "agent_name": "李*", "agent_id_number": "5101**********5678",
                                      "scopes": ["policy"], "granted_at": "2026-12-04T08:00:00+00:00",
                                      "expires_at": "2027-12-04T08:00:00+00:00", "status": "live",
                                      "revoked_at": None, "uses": []}})
    grant: EnterpriseGrant


class GrantRevoked(BaseModel):
    model_config = _strict({"revoked": True})
    revoked: Literal[True]


class Unbound(BaseModel):
    model_config = _strict({"bound": False})
    bound: Literal[False]


# --- forms, drafts, applications ---------------------------------------------------------------
class ConsentField(BaseModel):
    model_config = _strict()
    source: str
    label: str
    field: str
    library: str


class ConsentRequest(BaseModel):
    model_config = _strict()
    item_code: str
    form_title: str
    purpose: str
    fields: list[ConsentField]


class FormAnswer(BaseModel):
    model_config = _strict({"form": {"item_code": "CD-0053", "title": "…"}, "consent": {
        "item_code": "CD-0053", "form_title": "…", "purpose": "…", "fields": [
            {"source": "population.name", "label": "姓名", "field": "applicant_name", "library": "人口库"}]}})
    form: FormSchema
    consent: ConsentRequest


class Consent(BaseModel):
    model_config = _strict()
    id: str
    item_code: str
    form_version: int
    fields: list[str]
    purpose: str
    granted_at: str
    expires_at: str
    revoked_at: str | None


class ConsentGranted(BaseModel):
    model_config = _strict({"consent": {"id": "c_1", "item_code": "CD-0053", "form_version": 1,
                                        "fields": ["population.name"], "purpose": "…", "granted_at": "2026-11-22T06:00:00+00:00",
                                        "expires_at": "2026-12-22T06:00:00+00:00", "revoked_at": None}})
    consent: Consent


class Revoked(BaseModel):
    model_config = _strict({"revoked": True})
    revoked: Literal[True]


class Draft(BaseModel):
    model_config = _strict()
    id: str
    item_code: str
    form_version: int
    data: dict[str, Any]
    provenance: dict[str, Any]
    status: str
    revision: int
    updated_at: str
    expires_at: str


class PrefillReport(BaseModel):
    model_config = _strict()
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
    model_config = _strict({"draft": DRAFT_EXAMPLE, "prefill": {
        "values": {"applicant_name": {"value": "王示例明", "provenance": "population", "source": "population.name",
                                      "locked": True}}, "library_unavailable": False, "message": None,
        "not_consented": [], "identity_verification_required": False}})
    draft: Draft
    prefill: PrefillReport


class Attachment(BaseModel):
    model_config = _strict()
    id: str
    key: str
    filename: str
    file_type: str
    size: int
    sha256: str


class DraftWithAttachments(BaseModel):
    model_config = _strict({"draft": DRAFT_EXAMPLE, "attachments": [ATTACHMENT_EXAMPLE]})
    draft: Draft
    attachments: list[Attachment]


class SavedDraft(BaseModel):
    model_config = _strict({"draft": {**DRAFT_EXAMPLE, "revision": 2}})
    draft: Draft


class Uploaded(BaseModel):
    model_config = _strict({"attachment": ATTACHMENT_EXAMPLE})
    attachment: Attachment


class Problem(BaseModel):
    model_config = _strict()
    field: str
    code: str
    message: str


class ReviewAnswer(BaseModel):
    model_config = _strict({"ok": False, "problems": [{"field": "family_members[0].member_id_number", "code": "check_digit",
                                                       "message": "身份证号：校验码不正确"}]})
    ok: bool
    problems: list[Problem]


class TimelineEvent(BaseModel):
    model_config = _strict()
    status: str
    status_text: str
    note: str | None
    at: str


class Application(BaseModel):
    model_config = _strict()
    number: str
    item_code: str
    item_name: str
    item_version: int
    status: str
    status_text: str
    submitted_at: str
    timeline: list[TimelineEvent]


class ApplicationAnswer(BaseModel):
    model_config = _strict({"application": {"number": "SQ20261122000001", "item_code": "CD-0053", "item_name": "…",
                                            "item_version": 1, "status": "accepted", "status_text": "已受理",
                                            "submitted_at": "2026-11-22T06:00:00+00:00", "timeline": [
                                                {"status": "submitted", "status_text": "已提交", "note": None,
                                                 "at": "2026-11-22T06:00:00+00:00"}]}})
    application: Application


class ApplicationSummary(BaseModel):
    model_config = _strict()
    number: str
    item_code: str
    item_name: str
    status: str
    status_text: str
    submitted_at: str
    updated_at: str


class ApplicationPage(Paged):
    model_config = _strict({"items": [{"number": "SQ20261122000001", "item_code": "CD-0053", "item_name": "…",
                                       "status": "submitted", "status_text": "已提交",
                                       "submitted_at": "2026-11-22T06:00:00+00:00",
                                       "updated_at": "2026-11-22T06:00:00+00:00"}], "page": 1, "page_size": 20, "total": 1})
    items: list[ApplicationSummary]


class StatusRecorded(BaseModel):
    model_config = _strict({"recorded": True, "duplicate": False})
    recorded: bool
    duplicate: bool


# --- messages, subscriptions, evaluations ------------------------------------------------------
class Subscription(BaseModel):
    model_config = _strict()
    id: int
    template_id: str
    scene: str
    long_term: bool
    remaining: int
    created_at: str


class SubscriptionAdded(BaseModel):
    model_config = _strict({"subscription": {"id": 1, "template_id": "TPL_STATUS", "scene": "application_status",
                                             "long_term": False, "remaining": 1, "created_at": "2026-11-22T06:00:00+00:00"}})
    subscription: Subscription


class SubscriptionList(BaseModel):
    model_config = _strict({"items": []})
    items: list[Subscription]


class Message(BaseModel):
    model_config = _strict()
    id: int
    kind: str
    title: str
    body: str
    ref: str | None
    created_at: str
    read: bool


class MessagePage(Paged):
    model_config = _strict({"items": [{"id": 7, "kind": "application", "title": "申请已受理", "body": "…",
                                       "ref": "SQ20261122000001", "created_at": "2026-11-22T06:00:00+00:00", "read": False}],
                            "page": 1, "page_size": 20, "total": 1, "unread": 1})
    items: list[Message]
    unread: int


class MarkedRead(BaseModel):
    model_config = _strict({"read": 1})
    read: int


class Evaluation(BaseModel):
    model_config = _strict()
    id: int
    followup_due_at: str | None


class EvaluationAdded(BaseModel):
    model_config = _strict({"evaluation": {"id": 3, "followup_due_at": None}})
    evaluation: Evaluation


class EvaluationStats(BaseModel):
    model_config = _strict({"count": 12, "average_stars": 4.25, "by_stars": {"1": 1, "2": 0, "3": 1, "4": 4, "5": 6},
                            "bad_share": 0.0833, "tags": {"办事便捷": 9}, "tags_allowed": ["办事便捷", "材料繁琐"],
                            "as_of": "2026-11-22T06:00:00+00:00"})
    count: int
    average_stars: float | None
    by_stars: dict[str, int]
    bad_share: float | None
    tags: dict[str, int]
    tags_allowed: list[str]
    as_of: str


# --- policies ----------------------------------------------------------------------------------
class PolicySummary(BaseModel):
    model_config = _strict()
    id: str
    name: str
    category: str | None
    delivery: str | None
    benefit: str
    window: dict[str, Any] | None
    valid_to: str | None
    version: int


POLICY_EXAMPLE = {"id": "cd-hightech-first-award", "name": "首次认定高新技术企业奖励", "category": "奖补",
                  "delivery": "免申即享", "benefit": "一次性奖励 30 万元", "window": None, "valid_to": "2027-12-31",
                  "version": 1}


class PolicyPage(Paged):
    model_config = _strict({"items": [POLICY_EXAMPLE], "page": 1, "page_size": 20, "total": 1})
    items: list[PolicySummary]


class Clause(BaseModel):
    model_config = _strict()
    id: str
    name: str
    summary: str


class PolicyDetail(PolicySummary):
    model_config = _strict({**POLICY_EXAMPLE, "data": {"category": "奖补"}, "valid_from": "2025-03-01",
                            "conditions": {"text": "同时满足以下条件", "all": True, "parts": [
                                {"text": "资质与认定 具有首次认定高新技术企业", "fact": "qualifications",
                                 "clause": "clause:cd-2025-kjcx-2", "legal_basis": None}]},
                            "clauses": [{"id": "clause:cd-2025-kjcx-2", "name": "第二条", "summary": "…"}],
                            "departments": ["成都市科学技术局"], "service_items": ["CD-0068"]})
    data: dict[str, Any]
    valid_from: str | None
    conditions: dict[str, Any]  # {text, all, parts: [...]} or an atom {text, fact, clause, legal_basis}
    clauses: list[Clause]
    departments: list[str]
    service_items: list[str]


class MatchedItem(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    name: str
    version: int
    category: str | None
    delivery: str | None
    benefit: str | None
    window: dict[str, Any] | None


class AtomResult(BaseModel):
    model_config = _strict()
    fact: str
    label: str
    text: str
    status: Literal["true", "false", "unknown"]
    actual: Any
    clause: str | None
    legal_basis: str | None
    authoritative: bool


class ToSupply(BaseModel):
    model_config = _strict()
    fact: str
    label: str
    ask: str


class Match(BaseModel):
    model_config = _strict()
    item: MatchedItem
    verdict: Literal["true", "unknown"]
    atoms: list[AtomResult]
    to_supply: list[ToSupply]


class PushSettingAnswer(BaseModel):
    model_config = _strict({"enabled": False})
    enabled: bool


class EnterpriseMatches(BaseModel):
    model_config = _strict({"qualified": [], "to_confirm": [{
        "item": {k: POLICY_EXAMPLE[k] for k in ("id", "name", "version", "category", "delivery", "benefit", "window")},
        "verdict": "unknown", "atoms": [{"fact": "revenue_last_year", "label": "上年度营业收入", "text": "上年度营业收入 ≥ 500万元",
                                         "status": "unknown", "actual": None, "clause": "clause:cd-2025-kjcx-2",
                                         "legal_basis": "成科发〔2025〕2号 第二条（示范）", "authoritative": True}],
        "to_supply": [{"fact": "revenue_last_year", "label": "上年度营业收入", "ask": "贵单位上年度营业收入是多少万元？"}]}]})
    qualified: list[Match]
    to_confirm: list[Match]
