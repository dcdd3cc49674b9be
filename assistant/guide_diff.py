"""Differences between two versions of a guide (办事指南), field by field, as staff read them.

Every field is turned into the lines a person reads (a material is one line: name｜form｜count｜
required｜notes; a long text is its own lines) and the lines are compared with ``difflib``;
changed lines are compared again character by character, so that one changed word in a long
受理条件 shows as that word. The result is plain data — text and whether it changed — for a
template to render with escaping; nothing here produces HTML.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any, Literal

# the guide's fields in the order of a guide, with their names in the console
FIELD_LABELS: dict[str, str] = {
    "code": "事项编码", "name": "事项名称", "aliases": "别名", "department": "实施部门", "item_type": "事项类型",
    "audience": "服务对象", "level": "层级", "district": "行政区域", "themes": "主题", "conditions": "受理条件",
    "materials": "申请材料", "legal_time_limit": "法定时限", "promised_time_limit": "承诺时限", "fees": "收费标准",
    "places": "办理地点", "phones": "咨询与投诉电话", "online": "网上办理", "courier": "快递送达",
    "visits": "最多跑几次", "process": "办理流程", "legal_basis": "设定依据", "notes": "温馨提示",
    "source_url": "来源网址", "status": "状态", "valid_from": "生效日期", "valid_to": "失效日期",
}
CONTEXT_LINES = 2  # unchanged lines shown around a change; longer unchanged runs are folded
INLINE_LIMIT = 1000  # longer line pairs are shown as replaced whole: a character diff costs n²


@dataclass(frozen=True)
class Segment:
    text: str
    changed: bool


@dataclass(frozen=True)
class DiffLine:
    """``equal``, ``delete``, ``insert`` or ``replace`` (with the changed characters marked on
    both sides); ``skip`` stands for ``skipped`` unchanged lines that are not shown."""

    op: Literal["equal", "delete", "insert", "replace", "skip"]
    before: tuple[Segment, ...] = ()
    after: tuple[Segment, ...] = ()
    skipped: int = 0


@dataclass(frozen=True)
class FieldDiff:
    field: str
    label: str
    lines: tuple[DiffLine, ...]


def field_lines(field: str, value: Any) -> list[str]:
    """A field's value as the lines staff read (an empty value has no lines)."""
    if value is None or value == "" or value == []:
        return []
    if field == "materials":
        return [" ｜ ".join([m.get("name", ""), m.get("form") or "—",
                             f"{m['count']} 份" if m.get("count") is not None else "份数未定",
                             "必需" if m.get("required", True) else "非必需", m.get("notes") or "—"]) for m in value]
    if field == "places":
        return [" ｜ ".join([p.get("name", ""), p.get("address") or "—", p.get("hours") or "—"]) for p in value]
    if field == "phones":
        return [f"{label}：{value[key]}" for key, label in (("consult", "咨询电话"), ("complaint", "投诉电话"))
                if value.get(key)]
    if field == "online":
        lines = ["可网上办理" if value.get("available") else "不可网上办理"]
        return lines + [f"{label}：{value[key]}" for key, label in (("channel", "渠道"), ("url", "网址"),
                                                                   ("note", "说明")) if value.get(key)]
    if field == "audience":
        return ["、".join(value)]
    if field == "courier":
        return ["支持快递送达" if value else "不支持快递送达"]
    if field == "visits":
        return [f"最多跑 {value} 次"]
    if field == "status":
        return [{"active": "有效", "retired": "已废止"}.get(value, str(value))]
    if isinstance(value, list):
        return [str(entry) for entry in value]
    return str(value).splitlines() or [str(value)]


def _inline(before: str, after: str) -> tuple[tuple[Segment, ...], tuple[Segment, ...]]:
    if len(before) + len(after) > INLINE_LIMIT:
        return (Segment(before, True),), (Segment(after, True),)
    old: list[Segment] = []
    new: list[Segment] = []
    matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if i2 > i1:
            old.append(Segment(before[i1:i2], op != "equal"))
        if j2 > j1:
            new.append(Segment(after[j1:j2], op != "equal"))
    return tuple(old), tuple(new)


def diff_lines(before: list[str], after: list[str], context: int = CONTEXT_LINES) -> list[DiffLine]:
    """The lines of ``after`` against ``before``; unchanged runs longer than the context are folded."""
    matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
    lines: list[DiffLine] = []
    shown_to = 0  # lines of ``before`` accounted for so far
    for group in matcher.get_grouped_opcodes(context):
        if group[0][1] > shown_to:
            lines.append(DiffLine("skip", skipped=group[0][1] - shown_to))
        for op, i1, i2, j1, j2 in group:
            if op == "equal":
                lines += [DiffLine("equal", (Segment(line, False),), (Segment(line, False),)) for line in before[i1:i2]]
            elif op == "delete":
                lines += [DiffLine("delete", before=(Segment(line, True),)) for line in before[i1:i2]]
            elif op == "insert":
                lines += [DiffLine("insert", after=(Segment(line, True),)) for line in after[j1:j2]]
            else:
                pairs = min(i2 - i1, j2 - j1)
                lines += [DiffLine("replace", *_inline(before[i1 + k], after[j1 + k])) for k in range(pairs)]
                lines += [DiffLine("delete", before=(Segment(line, True),)) for line in before[i1 + pairs:i2]]
                lines += [DiffLine("insert", after=(Segment(line, True),)) for line in after[j1 + pairs:j2]]
        shown_to = group[-1][2]
    if lines and shown_to < len(before):
        lines.append(DiffLine("skip", skipped=len(before) - shown_to))
    return lines


def diff_items(before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[FieldDiff]:
    """The fields that differ between two guide documents (``ServiceItem`` as JSON), in guide order;
    ``before`` None: a new item, every filled field is an addition."""
    before, after = before or {}, after or {}
    changes = []
    for field in [*FIELD_LABELS, *sorted((set(before) | set(after)) - set(FIELD_LABELS))]:
        old, new = field_lines(field, before.get(field)), field_lines(field, after.get(field))
        if old != new:
            changes.append(FieldDiff(field, FIELD_LABELS.get(field, field), tuple(diff_lines(old, new))))
    return changes
