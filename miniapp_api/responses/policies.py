"""Policies: lists, details, enterprise matches and the push setting."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from miniapp_api.responses.common import Paged, strict


class PolicySummary(BaseModel):
    model_config = strict()
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
    model_config = strict({"items": [POLICY_EXAMPLE], "page": 1, "page_size": 20, "total": 1})
    items: list[PolicySummary]


class Clause(BaseModel):
    model_config = strict()
    id: str
    name: str
    summary: str


class PolicyDetail(PolicySummary):
    model_config = strict({**POLICY_EXAMPLE, "data": {"category": "奖补"}, "valid_from": "2025-03-01",
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
    model_config = strict()
    fact: str
    label: str
    text: str
    status: Literal["true", "false", "unknown"]
    actual: Any
    clause: str | None
    legal_basis: str | None
    authoritative: bool


class ToSupply(BaseModel):
    model_config = strict()
    fact: str
    label: str
    ask: str


class Match(BaseModel):
    model_config = strict()
    item: MatchedItem
    verdict: Literal["true", "unknown"]
    atoms: list[AtomResult]
    to_supply: list[ToSupply]


class PushSettingAnswer(BaseModel):
    model_config = strict({"enabled": False})
    enabled: bool


class EnterpriseMatches(BaseModel):
    model_config = strict({"qualified": [], "to_confirm": [{
        "item": {k: POLICY_EXAMPLE[k] for k in ("id", "name", "version", "category", "delivery", "benefit", "window")},
        "verdict": "unknown", "atoms": [{"fact": "revenue_last_year", "label": "上年度营业收入", "text": "上年度营业收入 ≥ 500万元",
                                         "status": "unknown", "actual": None, "clause": "clause:cd-2025-kjcx-2",
                                         "legal_basis": "成科发〔2025〕2号 第二条（示范）", "authoritative": True}],
        "to_supply": [{"fact": "revenue_last_year", "label": "上年度营业收入", "ask": "贵单位上年度营业收入是多少万元？"}]}]})
    qualified: list[Match]
    to_confirm: list[Match]
