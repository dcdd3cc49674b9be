"""Catalog importers: the gdzwfw JSON-lines format (Guangdong's government-service network)
and our own demo YAML.

Both read the whole source first, report every bad line with its number and reason, skip
it, and then write everything that is valid in one transaction: an import is never
half-written, and re-running it reports 0 changes.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from assistant.catalog import CatalogService, UpsertCounts
from assistant.models import MAX_NAME, MAX_SHORT, MAX_TEXT, FaqEntry, ServiceItem, Synonym
from store.database import Database
from yaml_files import read_yaml

ABSENT = {"", "无", "暂无", "null", "none", "/", "-", "—"}
LEGAL_PERSON_KINDS = {"企业法人", "事业法人", "社会组织法人", "非法人企业", "其他组织", "行政机关", "法人"}
_TIME_LIMIT = re.compile(r"^\s*(\d+)\s*[（(]\s*(工作日|自然日|天|个工作日|个自然日)\s*[)）]\s*$")
_ALIAS_SPLIT = re.compile(r"[，,、;；/|]+")


@dataclass
class ImportProblem:
    where: str  # "items.jsonl:12" or "items_01.yaml: CD-0003"
    message: str
    skipped: bool = True

    def __str__(self) -> str:
        return f"{self.where}: {self.message}{'' if self.skipped else ' (kept)'}"


@dataclass
class ImportReport:
    read: int = 0
    items: UpsertCounts = field(default_factory=UpsertCounts)
    faq: UpsertCounts = field(default_factory=UpsertCounts)
    synonyms: UpsertCounts = field(default_factory=UpsertCounts)
    problems: list[ImportProblem] = field(default_factory=list)

    @property
    def skipped(self) -> int:
        return sum(1 for p in self.problems if p.skipped)

    @property
    def changes(self) -> int:
        return self.items.changed + self.faq.changed + self.synonyms.changed

    def summary(self) -> str:
        parts = [
            f"read {self.read} records",
            f"items: {self.items.created} created, {self.items.updated} updated, {self.items.unchanged} unchanged",
        ]
        if self.faq.changed or self.faq.unchanged:
            parts.append(f"faq: {self.faq.created} created, {self.faq.updated} updated, {self.faq.unchanged} unchanged")
        if self.synonyms.changed or self.synonyms.unchanged:
            parts.append(f"synonyms: {self.synonyms.created} created, {self.synonyms.updated} updated, "
                         f"{self.synonyms.unchanged} unchanged")
        parts.append(f"{self.skipped} skipped, {self.changes} changes")
        return "; ".join(parts)


# --- gdzwfw ---------------------------------------------------------------------------
def _present(value: Any) -> bool:
    return value is not None and not (isinstance(value, str) and value.strip().lower() in ABSENT)


class _LineMapper:
    """Maps one gdzwfw record to a ServiceItem, capping over-long fields and noting it."""

    def __init__(self, where: str, problems: list[ImportProblem]) -> None:
        self.where = where
        self.problems = problems

    def text(self, record: dict[str, Any], key: str, cap: int = MAX_TEXT) -> str:
        value = record.get(key)
        if not _present(value):
            return ""
        text = str(value).strip()
        if len(text) > cap:
            self.problems.append(ImportProblem(
                self.where, f"field {key} truncated from {len(text)} to {cap} characters", skipped=False))
            text = text[:cap]
        return text

    def item(self, record: dict[str, Any]) -> ServiceItem:
        name = self.text(record, "TASK_NAME", MAX_NAME) or self.text(record, "matter_name", MAX_NAME)
        aliases: list[str] = []
        for key in ("matter_short", "matter_daily"):
            for alias in _ALIAS_SPLIT.split(self.text(record, key)):
                alias = alias.strip()[:MAX_NAME]
                if alias and alias != name and alias not in aliases:
                    aliases.append(alias)
        kinds = record.get("service_object_name") or []
        kinds = kinds if isinstance(kinds, list) else [kinds]
        audience = []
        if "自然人" in kinds:
            audience.append("个人")
        if LEGAL_PERSON_KINDS.intersection(kinds):
            audience.append("法人")
        materials = record.get("material_intro")
        materials = materials if isinstance(materials, list) else [materials]
        location = self.text(record, "handle_location", MAX_SHORT)
        location = re.sub(r"^办理地点[：:]\s*", "", location)
        themes = record.get("theme_category") or []
        online_url = self.text(record, "online_book_addr", MAX_SHORT)
        visits = record.get("visit_number")
        return ServiceItem(
            code=str(record["TASK_CODE"]).strip(),
            name=name,
            aliases=aliases[:50],
            department=self.text(record, "DEPT_NAME", MAX_NAME),
            item_type=self.text(record, "TASK_TYPE_TEXT", 32) or self.text(record, "matter_type", 32),
            audience=audience,
            level=self.text(record, "matter_level", 32),
            district=self.text(record, "AREA_CODE_TEXT", 64),
            themes=[t for t in themes if _present(t) and t != "其他"][:20] if isinstance(themes, list) else [],
            conditions=self.text(record, "accept_standard"),
            materials=[{"name": str(m).strip()[:MAX_SHORT]} for m in materials if _present(m)][:100],
            legal_time_limit=_time_limit(self.text(record, "handle_time", MAX_SHORT)),
            promised_time_limit=_time_limit(self.text(record, "handle_time_limit", MAX_SHORT)),
            fees=self.text(record, "charge"),
            places=[{"name": location, "address": location}] if location else [],
            phones={"consult": self.text(record, "consult_phone", MAX_SHORT),
                    "complaint": self.text(record, "complain_phone", MAX_SHORT)},
            online={"available": record.get("online_book") == "是" or record.get("ONLINECHECK") == "1",
                    "channel": self.text(record, "bear_paltform", MAX_SHORT),
                    "url": online_url or self.text(record, "URL", MAX_SHORT)},
            courier={"是": True, "否": False, "不支持": False}.get(str(record.get("courier_service"))),
            visits=int(str(visits)) if str(visits).isdigit() and int(str(visits)) <= 10 else None,
            source_url=self.text(record, "URL", MAX_SHORT),
        )


def _time_limit(text: str) -> str:
    match = _TIME_LIMIT.match(text)
    if not match:
        return text
    days, unit = match.groups()
    unit = unit.removeprefix("个").replace("天", "自然日")
    return f"{days}个{unit}"


def parse_gdzwfw(path: Path) -> tuple[list[ServiceItem], list[ImportProblem], int]:
    """Parse a gdzwfw JSON-lines file: (valid items, problems, records read)."""
    items: list[ServiceItem] = []
    problems: list[ImportProblem] = []
    first_line: dict[str, int] = {}
    read = 0
    with open(path, "rb") as fh:
        for number, raw in enumerate(fh, start=1):
            where = f"{path.name}:{number}"
            if not raw.strip():
                continue
            read += 1
            try:
                record = json.loads(raw.decode("utf-8"))
            except UnicodeDecodeError:
                problems.append(ImportProblem(where, "not UTF-8 text"))
                continue
            except json.JSONDecodeError as exc:
                problems.append(ImportProblem(where, f"not valid JSON ({exc.msg} at column {exc.colno})"))
                continue
            if not isinstance(record, dict):
                problems.append(ImportProblem(where, "expected a JSON object"))
                continue
            code = str(record.get("TASK_CODE") or "").strip()
            if not code:
                problems.append(ImportProblem(where, "missing TASK_CODE"))
                continue
            if code in first_line:
                problems.append(ImportProblem(where, f"duplicate TASK_CODE {code} (first on line {first_line[code]})"))
                continue
            if not (_present(record.get("TASK_NAME")) or _present(record.get("matter_name"))):
                problems.append(ImportProblem(where, f"item {code} has no name"))
                continue
            try:
                item = _LineMapper(where, problems).item(record)
            except ValidationError as exc:
                problems.append(ImportProblem(where, f"invalid item {code[:80]}: {_first_error(exc)}"))
                continue
            first_line[code] = number
            items.append(item)
    return items, problems, read


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    location = ".".join(str(part) for part in error["loc"])
    return f"{location}: {error['msg']}" if location else error["msg"]


# --- our demo YAML ----------------------------------------------------------------------
def parse_demo(directory: Path) -> tuple[list[ServiceItem], list[FaqEntry], list[Synonym], list[ImportProblem], int]:
    """Parse ``items_*.yaml``, ``faq_*.yaml`` and ``synonyms_*.yaml`` in a demo catalog folder."""
    problems: list[ImportProblem] = []
    items: dict[str, ServiceItem] = {}
    faq: dict[str, FaqEntry] = {}
    pairs: dict[str, Synonym] = {}
    read = 0

    def records(pattern: str):  # type: ignore[no-untyped-def]
        for path in sorted(directory.glob(pattern)):
            try:
                data = read_yaml(path) or []
            except (yaml.YAMLError, UnicodeDecodeError) as exc:
                problems.append(ImportProblem(path.name, f"not valid YAML: {' '.join(str(exc).split())[:200]}"))
                continue
            if not isinstance(data, list):
                problems.append(ImportProblem(path.name, "expected a list of records"))
                continue
            for index, record in enumerate(data, start=1):
                yield f"{path.name}#{index}", record

    kinds: list[tuple[str, str, Any, dict[str, Any], str]] = [  # each kind's model, store and key
        ("item", "items_*.yaml", ServiceItem, items, "code"),
        ("faq", "faq_*.yaml", FaqEntry, faq, "id"),
        ("synonym", "synonyms_*.yaml", Synonym, pairs, "colloquial"),
    ]
    for kind, pattern, model, store, key in kinds:
        for where, record in records(pattern):
            read += 1
            try:
                parsed = model.model_validate(record)
            except ValidationError as exc:
                problems.append(ImportProblem(where, f"invalid {kind}: {_first_error(exc)}"))
                continue
            identity = getattr(parsed, key)
            if identity in store:
                problems.append(ImportProblem(where, f"duplicate {kind} {identity}"))
                continue
            store[identity] = parsed

    for entry in list(faq.values()):
        unknown = [code for code in entry.items if code not in items]
        if unknown:
            problems.append(ImportProblem(f"faq {entry.id}", f"links unknown items {unknown}"))
            del faq[entry.id]
    return list(items.values()), list(faq.values()), list(pairs.values()), problems, read


# --- running an import ------------------------------------------------------------------
async def import_catalog(
    db: Database, catalog: CatalogService, fmt: str, path: Path, *, actor: str = "cli"
) -> ImportReport:
    report = ImportReport()
    faq: list[FaqEntry] = []
    pairs: list[Synonym] = []
    if fmt == "gdzwfw":
        items, report.problems, report.read = parse_gdzwfw(path)
    elif fmt == "demo":
        items, faq, pairs, report.problems, report.read = parse_demo(path)
    else:
        raise ValueError(f"unknown catalog format {fmt!r} (expected gdzwfw or demo)")
    if report.read == 0:
        report.problems.append(ImportProblem(str(path), "no records found (the source is empty)"))
        return report

    async with db.transaction() as conn:
        report.items = await catalog.upsert_items(conn, items, source=fmt, actor=actor)
        report.faq = await catalog.upsert_faq(conn, faq)
        report.synonyms = await catalog.upsert_synonyms(conn, pairs)
        if report.changes:
            await catalog.audit.record(
                conn, actor=actor, action="catalog.import", target_type="catalog", target_id=fmt,
                details={"path": str(path), "summary": report.summary(),
                         "changed_items": report.items.changed_codes[:200]})
    return report
