"""The guide catalog's records: service items (事项) with their guides (办事指南), FAQ entries
and synonyms. Plain pydantic models; storage is in ``assistant.catalog``."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Audience = Literal["个人", "法人"]

# caps that keep a single record sane; importers truncate to these and report it
MAX_NAME = 200
MAX_SHORT = 500
MAX_TEXT = 5000
MAX_LIST = 100


class Material(BaseModel):
    """One application material (申请材料)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=MAX_SHORT)
    form: str | None = None  # 原件 / 复印件 / 原件和复印件 / 电子证照 / 原件或电子证照
    count: int | None = Field(default=None, ge=0, le=100)
    required: bool = True
    notes: str = Field(default="", max_length=MAX_SHORT)


class Place(BaseModel):
    """Where the item is handled (办理地点)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(max_length=MAX_SHORT)
    address: str = Field(default="", max_length=MAX_SHORT)
    hours: str = Field(default="", max_length=MAX_SHORT)


class Phones(BaseModel):
    model_config = ConfigDict(extra="forbid")

    consult: str = Field(default="", max_length=MAX_SHORT)  # 咨询电话
    complaint: str = Field(default="", max_length=MAX_SHORT)  # 投诉电话


class OnlineService(BaseModel):
    """Whether and where the item can be handled online (网上办理)."""

    model_config = ConfigDict(extra="forbid")

    available: bool = False
    channel: str = Field(default="", max_length=MAX_SHORT)
    url: str = Field(default="", max_length=MAX_SHORT)
    note: str = Field(default="", max_length=MAX_SHORT)


class Situation(BaseModel):
    """One case of an item (办理情形 / 业务办理项) whose rows differ from the item's: 身份证补领
    because it was lost or because it is damaged, 公积金提取 for rent or for retirement.

    A field left empty means "as the item says"; a field given replaces the item's field for this
    situation (materials replace the whole list, so a situation lists all it needs)."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z_\-.]+$")
    name: str = Field(min_length=1, max_length=MAX_NAME)  # 遗失补领
    # words a person uses for this case (丢了, 被偷了); they pick the situation out of a question
    aliases: list[str] = Field(default_factory=list, max_length=MAX_LIST)
    # the case nearly everyone asking is in (结婚登记: 内地居民): answered, and named in the answer,
    # when the person names no situation, instead of asking them which one they are in
    usual: bool = False
    conditions: str = Field(default="", max_length=MAX_TEXT)
    materials: list[Material] = Field(default_factory=list, max_length=MAX_LIST)
    legal_time_limit: str = Field(default="", max_length=MAX_SHORT)
    promised_time_limit: str = Field(default="", max_length=MAX_SHORT)
    fees: str = Field(default="", max_length=MAX_TEXT)
    process: list[str] = Field(default_factory=list, max_length=MAX_LIST)
    notes: str = Field(default="", max_length=MAX_TEXT)

    @property
    def all_names(self) -> list[str]:
        return [self.name, *self.aliases]


class ServiceItem(BaseModel):
    """A service item (事项) and its guide (办事指南)."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z_\-.]+$")
    name: str = Field(min_length=1, max_length=MAX_NAME)
    aliases: list[str] = Field(default_factory=list, max_length=MAX_LIST)
    department: str = Field(default="", max_length=MAX_NAME)
    item_type: str = Field(default="", max_length=32)  # 行政许可 / 公共服务 / …
    audience: list[Audience] = Field(default_factory=list)
    level: str = Field(default="", max_length=32)  # 省级 / 市级 / 区县级
    district: str = Field(default="", max_length=64)
    themes: list[str] = Field(default_factory=list, max_length=MAX_LIST)
    conditions: str = Field(default="", max_length=MAX_TEXT)  # 受理条件
    materials: list[Material] = Field(default_factory=list, max_length=MAX_LIST)
    legal_time_limit: str = Field(default="", max_length=MAX_SHORT)  # 法定时限
    promised_time_limit: str = Field(default="", max_length=MAX_SHORT)  # 承诺时限
    fees: str = Field(default="", max_length=MAX_TEXT)  # 收费
    places: list[Place] = Field(default_factory=list, max_length=MAX_LIST)
    phones: Phones = Field(default_factory=Phones)
    online: OnlineService = Field(default_factory=OnlineService)
    courier: bool | None = None  # 支持快递送达
    visits: int | None = Field(default=None, ge=0, le=10)  # 最多跑几次
    process: list[str] = Field(default_factory=list, max_length=MAX_LIST)  # 办理流程
    legal_basis: list[str] = Field(default_factory=list, max_length=MAX_LIST)  # 设定依据
    notes: str = Field(default="", max_length=MAX_TEXT)  # 温馨提示
    source_url: str = Field(default="", max_length=MAX_SHORT)
    status: Literal["active", "retired"] = "active"
    valid_from: date | None = None
    valid_to: date | None = None
    situations: list[Situation] = Field(default_factory=list, max_length=MAX_LIST)

    def content_hash(self) -> str:
        document = self.model_dump(mode="json")
        if not document["situations"]:
            del document["situations"]  # an item without situations keeps the hash it had before they existed
        return content_hash(document)

    def situation(self, situation_id: str) -> Situation | None:
        return next((s for s in self.situations if s.id == situation_id), None)

    @property
    def all_names(self) -> list[str]:
        return [self.name, *self.aliases]


class FaqEntry(BaseModel):
    """A curated question and answer (常见问题), linked to the items it is about."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z_\-.]+$")
    question: str = Field(min_length=1, max_length=MAX_SHORT)
    answer: str = Field(min_length=1, max_length=MAX_TEXT)
    items: list[str] = Field(default_factory=list, max_length=MAX_LIST)
    status: Literal["active", "retired"] = "active"

    def content_hash(self) -> str:
        return content_hash(self.model_dump(mode="json"))


class Synonym(BaseModel):
    """A colloquial term and the official term it stands for (上户口 → 户口登记)."""

    model_config = ConfigDict(extra="forbid")

    colloquial: str = Field(min_length=1, max_length=100)
    official: str = Field(min_length=1, max_length=100)


def content_hash(document: object) -> str:
    canonical = json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
