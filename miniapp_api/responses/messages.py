"""Messages, subscriptions and evaluations."""

from __future__ import annotations

from pydantic import BaseModel

from miniapp_api.responses.common import Paged, strict


class Subscription(BaseModel):
    model_config = strict()
    id: int
    template_id: str
    scene: str
    long_term: bool
    remaining: int
    created_at: str


class SubscriptionAdded(BaseModel):
    model_config = strict({"subscription": {"id": 1, "template_id": "TPL_STATUS", "scene": "application_status",
                                             "long_term": False, "remaining": 1, "created_at": "2026-11-22T06:00:00+00:00"}})
    subscription: Subscription


class SubscriptionList(BaseModel):
    model_config = strict({"items": []})
    items: list[Subscription]


class Message(BaseModel):
    model_config = strict()
    id: int
    kind: str
    title: str
    body: str
    ref: str | None
    created_at: str
    read: bool


class MessagePage(Paged):
    model_config = strict({"items": [{"id": 7, "kind": "application", "title": "申请已受理", "body": "…",
                                       "ref": "SQ20261122000001", "created_at": "2026-11-22T06:00:00+00:00", "read": False}],
                            "page": 1, "page_size": 20, "total": 1, "unread": 1})
    items: list[Message]
    unread: int


class MarkedRead(BaseModel):
    model_config = strict({"read": 1})
    read: int


class Evaluation(BaseModel):
    model_config = strict()
    id: int
    followup_due_at: str | None


class EvaluationAdded(BaseModel):
    model_config = strict({"evaluation": {"id": 3, "followup_due_at": None}})
    evaluation: Evaluation


class EvaluationStats(BaseModel):
    model_config = strict({"count": 12, "average_stars": 4.25, "by_stars": {"1": 1, "2": 0, "3": 1, "4": 4, "5": 6},
                            "bad_share": 0.0833, "tags": {"办事便捷": 9}, "tags_allowed": ["办事便捷", "材料繁琐"],
                            "as_of": "2026-11-22T06:00:00+00:00"})
    count: int
    average_stars: float | None
    by_stars: dict[str, int]
    bad_share: float | None
    tags: dict[str, int]
    tags_allowed: list[str]
    as_of: str
