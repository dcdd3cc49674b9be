"""Form schemas (表单): one YAML file per service item in ``demo/forms/``, validated here.

A form has fields (typed, with labels, help, options, limits, conditional visibility, repeatable
groups), attachments tied to the guide's materials, cross-field rules, and for some fields a
``source``: the base-library field that may prefill it, with the user's consent.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from yaml_files import read_yaml

FieldType = Literal["text", "textarea", "id_number", "credit_code", "phone", "bank_card", "email", "date",
                    "amount", "integer", "select", "multiselect", "boolean", "region", "group"]

# what the base libraries can provide (人口库, 法人库, 电子证照库)
SOURCES = frozenset({
    "population.name", "population.id_number", "population.gender", "population.birth_date",
    "population.ethnicity", "population.phone", "population.household_address",
    "population.residence_address", "population.marital_status",
    "legal_person.name", "legal_person.uscc", "legal_person.legal_representative",
    "legal_person.registered_address", "legal_person.established_date", "legal_person.registered_capital",
    "legal_person.enterprise_type", "legal_person.business_scope", "legal_person.insured_employees",
    "license.business_license.number", "license.marriage_certificate.number",
    "license.household_register.number", "license.residence_permit.number",
    "license.disability_certificate.number", "license.disability_certificate.level",
})


class Condition(BaseModel):
    """Show a field only when another field has one of these values."""

    model_config = ConfigDict(extra="forbid")
    field: str
    equals: Any = None
    in_: list[Any] | None = Field(default=None, alias="in")


class FormField(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str = Field(pattern=r"^[a-z][a-z0-9_]{0,47}$")
    label: str = Field(max_length=40)
    type: FieldType
    required: bool = False
    help: str = Field(default="", max_length=200)
    options: list[str] = Field(default_factory=list, max_length=50)
    max_length: int | None = Field(default=None, ge=1, le=5000)
    min: float | None = None  # amount, integer: the value; date: days from today (negative = past)
    max: float | None = None
    source: str | None = None
    locked: bool = False  # prefilled from an authoritative source: the user cannot change it
    visible_if: Condition | None = None
    fields: list[FormField] = Field(default_factory=list)  # a group's own fields
    repeatable: bool = False
    min_items: int = Field(default=0, ge=0)
    max_items: int = Field(default=20, ge=1, le=50)

    @model_validator(mode="after")
    def _consistent(self) -> FormField:
        if self.type in ("select", "multiselect") and not self.options:
            raise ValueError(f"{self.key}: a {self.type} needs options")
        if self.type == "group" and not self.fields:
            raise ValueError(f"{self.key}: a group needs fields")
        if self.type != "group" and (self.fields or self.repeatable):
            raise ValueError(f"{self.key}: only a group has fields or repeats")
        if self.source is not None and self.source not in SOURCES:
            raise ValueError(f"{self.key}: unknown source {self.source!r}")
        if self.locked and self.source is None:
            raise ValueError(f"{self.key}: only a field with a source can be locked")
        return self


FileType = Literal["jpg", "jpeg", "png", "pdf"]
_COMMON_FILE_TYPES: tuple[FileType, ...] = ("jpg", "png", "pdf")


class Attachment(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str = Field(pattern=r"^[a-z][a-z0-9_]{0,47}$")
    label: str = Field(max_length=60)
    material: str = Field(max_length=100)  # the guide's material this attachment provides
    required: bool = True
    types: list[FileType] = Field(default_factory=lambda: list(_COMMON_FILE_TYPES))
    max_mb: float = Field(default=5, gt=0, le=20)
    visible_if: Condition | None = None


class Rule(BaseModel):
    """A cross-field rule, checked at pre-review."""

    model_config = ConfigDict(extra="forbid")

    rule: Literal["age_between", "date_order", "name_matches_id", "not_in_future"]
    message: str = Field(max_length=120)
    id_field: str | None = None  # age_between, name_matches_id
    name_field: str | None = None  # name_matches_id
    min: int | None = None  # age_between (years)
    max: int | None = None
    start: str | None = None  # date_order: start ≤ end
    end: str | None = None
    field: str | None = None  # not_in_future


class FormSchema(BaseModel):
    model_config = ConfigDict(extra="forbid")

    item_code: str
    title: str = Field(max_length=60)
    version: int = Field(ge=1)
    audience: Literal["person", "legal_person"]
    purpose: str = Field(max_length=120)  # told to the user when asking consent to prefill
    fields: list[FormField] = Field(min_length=1, max_length=80)
    attachments: list[Attachment] = Field(default_factory=list, max_length=20)
    rules: list[Rule] = Field(default_factory=list)

    @model_validator(mode="after")
    def _references(self) -> FormSchema:
        keys = self.field_keys()
        duplicates = {k for k in keys if keys.count(k) > 1}
        if duplicates:
            raise ValueError(f"duplicate field keys: {sorted(duplicates)}")
        known = set(keys)
        for f in self.all_fields():
            if f.visible_if and f.visible_if.field not in known:
                raise ValueError(f"{f.key}: visible_if names unknown field {f.visible_if.field!r}")
        for rule in self.rules:
            for name in (rule.id_field, rule.name_field, rule.start, rule.end, rule.field):
                if name is not None and name not in known:
                    raise ValueError(f"rule {rule.rule}: unknown field {name!r}")
        return self

    def all_fields(self) -> list[FormField]:
        """Every field, group members included."""
        found: list[FormField] = []
        for f in self.fields:
            found.append(f)
            found.extend(f.fields)
        return found

    def field_keys(self) -> list[str]:
        return [f.key for f in self.all_fields()]

    def sourced_fields(self) -> list[FormField]:
        return [f for f in self.all_fields() if f.source]


def load_forms(folder: Path) -> dict[str, FormSchema]:
    """Every ``*.yaml`` form in ``folder``, by item code; a bad file raises with its name."""
    forms: dict[str, FormSchema] = {}
    for path in sorted(folder.glob("*.yaml")):
        try:
            form = FormSchema.model_validate(read_yaml(path))
        except Exception as exc:
            raise ValueError(f"{path.name}: {exc}") from exc
        if form.item_code in forms:
            raise ValueError(f"{path.name}: a second form for {form.item_code}")
        forms[form.item_code] = form
    return forms
