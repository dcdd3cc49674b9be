"""Pre-review (智能受理): everything wrong with a draft, at once, each problem with the field (or
attachment) it concerns — required fields, each value's validity, repeatable groups, required
attachments (the guide's materials), and the form's cross-field rules."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import china_time
from codes import check_credit_code
from smartform.base_library import BaseLibrary, LibraryUnavailable
from smartform.schemas import Condition, FormField, FormSchema
from smartform.validators import (
    RegionCodes,
    check_amount,
    check_bank_card,
    check_date,
    check_id_number,
    check_phone,
)

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[A-Za-z]{2,}$")


@dataclass(frozen=True)
class Problem:
    field: str  # a field key, "group[2].member" or an attachment key
    code: str
    message: str

    def to_json(self) -> dict[str, str]:
        return {"field": self.field, "code": self.code, "message": self.message}


def visible(condition: Condition | None, data: dict[str, Any]) -> bool:
    if condition is None:
        return True
    value = data.get(condition.field)
    if condition.in_ is not None:
        return value in condition.in_
    return value == condition.equals


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == []


def check_value(f: FormField, value: Any, today: date, regions: RegionCodes | None = None) -> Problem | None:
    """One filled-in value against its field's type and limits."""
    def problem(code: str, message: str) -> Problem:
        return Problem(f.key, code, f"{f.label}：{message}")

    if f.type in ("text", "textarea"):
        if not isinstance(value, str):
            return problem("type", "应为文字")
        if f.max_length and len(value) > f.max_length:
            return problem("too_long", f"最多{f.max_length}个字")
        return None
    if f.type == "boolean":
        return None if isinstance(value, bool) else problem("type", "请选择是或否")
    if f.type == "select":
        return None if value in f.options else problem("option", "请从选项中选择")
    if f.type == "multiselect":
        if not isinstance(value, list) or not value or any(v not in f.options for v in value):
            return problem("option", "请从选项中选择")
        return None
    if f.type == "integer":
        if not isinstance(value, int) or isinstance(value, bool):
            return problem("type", "应为整数")
        if (f.min is not None and value < f.min) or (f.max is not None and value > f.max):
            return problem("range", f"应在{f.min:g}到{f.max:g}之间" if f.min is not None and f.max is not None else "超出范围")
        return None
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        return problem("type", "格式不正确")
    text = str(value)
    if f.type == "id_number":
        check = check_id_number(text, regions=regions, today=today)
    elif f.type == "credit_code":
        check = check_credit_code(text)
    elif f.type == "phone":
        check = check_phone(text)
    elif f.type == "bank_card":
        check = check_bank_card(text)
    elif f.type == "date":
        check = check_date(text, earliest=today + timedelta(days=f.min) if f.min is not None else None,
                           latest=today + timedelta(days=f.max) if f.max is not None else None)
    elif f.type == "amount":
        check = check_amount(text, minimum=f.min, maximum=f.max)
    elif f.type == "email":
        return None if _EMAIL.match(text) else problem("email", "邮箱格式不正确")
    elif f.type == "region":
        return None if text.strip() else problem("required", "请选择")
    else:
        return problem("type", "不支持的字段类型")
    return None if check.ok else problem(check.code, check.reason)


class PreReview:
    def __init__(self, library: BaseLibrary | None = None, regions: RegionCodes | None = None, *,
                 clock: china_time.Clock = china_time.utc_now) -> None:
        self.library = library
        self.regions = regions
        self.clock = clock

    async def review(self, form: FormSchema, data: dict[str, Any], uploaded: set[str],
                     today: date | None = None) -> list[Problem]:
        today = today or china_time.today(self.clock)  # the day in China, not the server's
        problems: list[Problem] = []
        for f in form.fields:
            if not visible(f.visible_if, data):
                continue
            value = data.get(f.key)
            if f.type == "group":
                problems.extend(self._group(f, value, today))
            elif _empty(value):
                if f.required:
                    problems.append(Problem(f.key, "required", f"请填写{f.label}"))
            elif (found := check_value(f, value, today, self.regions)) is not None:
                problems.append(found)
        for a in form.attachments:
            if a.required and visible(a.visible_if, data) and a.key not in uploaded:
                problems.append(Problem(a.key, "attachment_missing", f"请上传{a.label}（办事指南要求的材料：{a.material}）"))
        problems.extend(await self._rules(form, data, today, {p.field for p in problems}))
        return problems

    def _group(self, f: FormField, value: Any, today: date) -> list[Problem]:
        if not _empty(value) and not isinstance(value, list):
            return [Problem(f.key, "type", f"{f.label}：格式不正确")]
        items = value or []
        minimum = max(f.min_items, 1 if f.required else 0)
        if len(items) < minimum:
            return [Problem(f.key, "too_few", f"{f.label}：至少填写{minimum}项")]
        if len(items) > f.max_items:
            return [Problem(f.key, "too_many", f"{f.label}：最多{f.max_items}项")]
        problems = []
        for n, item in enumerate(items):
            if not isinstance(item, dict):
                problems.append(Problem(f"{f.key}[{n}]", "type", f"{f.label}第{n + 1}项格式不正确"))
                continue
            for member in f.fields:
                where = f"{f.key}[{n}].{member.key}"
                value = item.get(member.key)
                if _empty(value):
                    if member.required:
                        problems.append(Problem(where, "required", f"请填写{f.label}第{n + 1}项的{member.label}"))
                elif (found := check_value(member, value, today, self.regions)) is not None:
                    problems.append(Problem(where, found.code, f"{f.label}第{n + 1}项 {found.message}"))
        return problems

    async def _rules(self, form: FormSchema, data: dict[str, Any], today: date, bad: set[str]) -> list[Problem]:
        fields = {f.key: f for f in form.all_fields()}
        problems = []
        for rule in form.rules:
            names = [n for n in (rule.id_field, rule.name_field, rule.start, rule.end, rule.field) if n]
            if any(n in bad or _empty(data.get(n)) or not visible(fields[n].visible_if, data) for n in names):
                continue  # a missing or already-wrong value has its own problem
            # a rule checks only when it names its fields (a schema that leaves one out gets no check)
            if rule.rule == "age_between" and rule.id_field:
                age = check_id_number(str(data[rule.id_field]), regions=self.regions, today=today).parts.get("age")
                if age is not None and not ((rule.min or 0) <= age <= (rule.max or 200)):
                    problems.append(Problem(rule.id_field, "age", rule.message))
            elif rule.rule == "date_order" and rule.start and rule.end:
                if str(data[rule.start]) > str(data[rule.end]):
                    problems.append(Problem(rule.end, "date_order", rule.message))
            elif rule.rule == "not_in_future" and rule.field:
                if str(data[rule.field]) > today.isoformat():
                    problems.append(Problem(rule.field, "in_future", rule.message))
            elif rule.rule == "name_matches_id" and self.library is not None and rule.id_field and rule.name_field:
                id_number = check_id_number(str(data[rule.id_field]), regions=self.regions, today=today).parts["normalized"]
                try:
                    match = await self.library.verify_person(str(data[rule.name_field]).strip(), id_number)
                except LibraryUnavailable:
                    continue  # the approval back end checks identity again; do not block on our side
                if match is False:
                    problems.append(Problem(rule.name_field, "name_mismatch", rule.message))
        return problems
