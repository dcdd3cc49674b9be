"""Enterprise facts (企业画像): ``enterprise_fact(uscc, key, value, as_of, source)``, loaded from
files and read back as the latest value of each fact. A fact that is absent is unknown.

Two loaders:

- ``parse_fact_rows``: the generic CSV (``uscc,key,value,unit,as_of,source``) a data-sharing
  platform export would give; every value is coerced to its fact's type and unit, and every row
  that does not fit is reported with its row number, never loaded half-right;
- ``load_nansha_sample``: the real Nansha sample in ``../shared/data/nansha_policies/enterprises``
  (registration rows, plus counts derived from the patent, trademark, software-copyright and
  work files joined by enterprise name).

What the Nansha loader decides, and why:
- enterprise type codes (市场主体类型代码) are mapped only where the code is unambiguous:
  11xx 有限责任公司, 12xx 股份有限公司, 3xxx 非公司企业法人, 5xxx/6xxx 外商投资企业 (港澳台 included);
  other codes leave the legal form unknown;
- independent legal person: false for branches (codes 2xxx, 58xx, 68xx, names with 分公司/分店/办事处/
  营业部) and for groups (8000, 企业集团); true for the company and enterprise-legal-person codes above;
  unknown otherwise;
- a registered capital of 0 is "not recorded" and left unknown;
- the IP files are samples, not the registers: a count is known (and marked not authoritative)
  only for enterprises that appear in them; for the others it stays unknown, not 0.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from codes import check_credit_code
from policy_graph.facts import FactCatalogue, FactError
from store.database import Database
from store.tables.base import utcnow
from store.tables.policy_graph import enterprise_facts

BRANCH_WORDS = ("分公司", "分店", "分厂", "办事处", "营业部", "分部")


@dataclass(frozen=True)
class FactLoadProblem:
    file: str
    row: int  # 1-based data row (the header is row 0)
    column: str
    message: str

    def to_json(self) -> dict[str, Any]:
        return {"file": self.file, "row": self.row, "column": self.column, "message": self.message}


@dataclass
class FactValue:
    value: Any
    source: str
    authoritative: bool
    as_of: date


@dataclass
class EnterpriseRecord:
    key: str  # the USCC, or the 15-digit registration number when there is no valid USCC
    name: str
    facts: dict[str, FactValue] = field(default_factory=dict)

    def values(self) -> dict[str, Any]:
        return {k: f.value for k, f in self.facts.items()}


def snapshot_hash(facts: dict[str, Any]) -> str:
    """A fingerprint of one enterprise's facts: match results are recomputed only when it changes."""
    def plain(value: Any) -> Any:
        if isinstance(value, frozenset | set):
            return sorted(value)
        return value.isoformat() if isinstance(value, date) else value

    text = json.dumps({k: plain(v) for k, v in sorted(facts.items())}, ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _encode(value: Any) -> Any:
    if isinstance(value, frozenset):
        return sorted(value)
    return value.isoformat() if isinstance(value, date) else value


def _decode(catalogue: FactCatalogue, key: str, value: Any) -> Any:
    kind = catalogue[key].type
    if kind == "date":
        return date.fromisoformat(value)
    if kind == "set":
        return frozenset(value)
    return value


def parse_fact_rows(catalogue: FactCatalogue, path: Path) -> tuple[list[dict[str, Any]], list[FactLoadProblem]]:
    """Rows of ``uscc,key,value,unit,as_of,source`` coerced to their facts; the bad ones reported."""
    good, problems = [], []
    with path.open(encoding="utf-8-sig", newline="") as fh:
        for n, row in enumerate(csv.DictReader(fh), 1):
            def problem(column: str, message: str, n: int = n) -> None:
                problems.append(FactLoadProblem(path.name, n, column, message))

            uscc, key = (row.get("uscc") or "").strip(), (row.get("key") or "").strip()
            if not check_credit_code(uscc).ok:
                problem("uscc", check_credit_code(uscc).reason)
                continue
            if key not in catalogue:
                problem("key", f"unknown fact {key!r}")
                continue
            try:
                value = catalogue[key].coerce(row.get("value"), (row.get("unit") or "").strip() or None)
                as_of = date.fromisoformat((row.get("as_of") or "").strip())
            except FactError as exc:
                problem("value", str(exc))
                continue
            except ValueError:
                problem("as_of", "not a date (YYYY-MM-DD)")
                continue
            good.append({"uscc": uscc, "key": key, "value": value, "as_of": as_of,
                         "source": (row.get("source") or catalogue[key].source)[:64],
                         "authoritative": catalogue[key].authoritative})
    return good, problems


def records_from_rows(rows: list[dict[str, Any]]) -> list[EnterpriseRecord]:
    """Parsed rows grouped by enterprise, ready for ``EnterpriseFacts.store_records``."""
    by_uscc: dict[str, EnterpriseRecord] = {}
    for row in rows:
        by_uscc.setdefault(row["uscc"], EnterpriseRecord(row["uscc"], "")).facts[row["key"]] = FactValue(
            row["value"], row["source"], row["authoritative"], row["as_of"])
    return list(by_uscc.values())


def _legal_form(code: str) -> str | None:
    if code[:2] == "11":
        return "有限责任公司"
    if code[:2] == "12":
        return "股份有限公司"
    if code[:1] == "3":
        return "非公司企业法人"
    if code[:1] in ("5", "6") and code[1:2] != "8":
        return "外商投资企业"
    return None


def _independent(code: str, name: str) -> bool | None:
    if any(word in name for word in BRANCH_WORDS) or code[:1] == "2" or code[:2] in ("58", "68"):
        return False
    if code == "8000" or name.endswith("集团"):
        return False
    return True if _legal_form(code) else None


def _industry(section: str, code: str) -> str | None:
    if not section:
        return None
    digits = code.strip()
    while len(digits) > 2 and digits.endswith("0"):
        digits = digits[:-1]  # 1800 is division 18, 7090 group 709
    return section + (digits if len(digits) >= 2 else "")


def load_nansha_sample(folder: Path, catalogue: FactCatalogue, as_of: date = date(2019, 1, 1),
                       ) -> tuple[list[EnterpriseRecord], list[FactLoadProblem]]:
    records: dict[str, EnterpriseRecord] = {}
    by_name: dict[str, EnterpriseRecord] = {}
    problems: list[FactLoadProblem] = []
    path = folder / "enterprises.csv"
    with path.open(encoding="utf-8-sig", newline="") as fh:
        for n, row in enumerate(csv.DictReader(fh), 1):
            def put(key: str, raw: Any, source: str, authoritative: bool = True, unit: str | None = None,
                    column: str = "", n: int = n, record: EnterpriseRecord | None = None) -> None:
                if raw is None or raw == "":
                    return
                try:
                    value = catalogue[key].coerce(raw, unit)
                except FactError as exc:
                    problems.append(FactLoadProblem(path.name, n, column or key, str(exc)))
                    return
                assert record is not None
                record.facts[key] = FactValue(value, source, authoritative, as_of)

            name, uscc = row["企业名称"].strip(), row["统一社会信用代码"].strip()
            if uscc and not check_credit_code(uscc).ok:
                problems.append(FactLoadProblem(path.name, n, "统一社会信用代码",
                                                f"{uscc}: {check_credit_code(uscc).reason}（按注册号登记）"))
                uscc = ""
            record = EnterpriseRecord(uscc or row["注册号"].strip(), name)
            if record.key in records:
                problems.append(FactLoadProblem(path.name, n, "统一社会信用代码", f"{record.key} 重复"))
                continue
            code = row["企业（机构）类型"].strip()
            put("registered_district", row["地区"].strip(), "法人库", column="地区", record=record)
            put("industry", _industry(row["行业门类"].strip(), row["行业代码"]), "法人库", column="行业代码", record=record)
            put("established_on", row["成立日期"].strip(), "法人库", column="成立日期", record=record)
            put("business_status", {"1": "存续"}.get(row["企业状态"].strip()), "法人库", column="企业状态", record=record)
            capital = row["注册资金（万元）"].strip()
            put("registered_capital", capital if capital not in ("", "0") else None, "法人库", unit="万元",
                column="注册资金（万元）", record=record)
            put("legal_form", _legal_form(code), "法人库", column="企业（机构）类型", record=record)
            independent = _independent(code, name)
            put("independent_legal_person", independent, "法人库", column="企业（机构）类型", record=record)
            records[record.key] = by_name[name] = record

    def count(file: str, name_column: str, fact_key: str, keep: Any = None) -> None:
        counts: Counter[str] = Counter()
        with (folder / file).open(encoding="utf-8-sig", newline="") as fh:
            for row in csv.DictReader(fh):
                if keep is None or keep(row):
                    counts[row[name_column].strip()] += 1
        for name, number in counts.items():
            if name in by_name:
                by_name[name].facts[fact_key] = FactValue(float(number), f"{file}（样本）", False, as_of)

    count("patents.csv", "企业名称", "invention_patents", lambda r: r["专利类型备注"] == "12")
    count("patents.csv", "企业名称", "utility_patents", lambda r: r["专利类型备注"] == "20")
    count("patents.csv", "企业名称", "design_patents", lambda r: r["专利类型备注"] == "30")
    count("trademarks.csv", "企业关联列字段", "trademarks", lambda r: r["是否有效"] == "1")
    count("software_copyrights.csv", "企业关联列", "software_copyrights")
    count("works.csv", "企业名称关联列字段(清洗)", "works_registered")
    return list(records.values()), problems


class EnterpriseFacts:
    def __init__(self, db: Database, catalogue: FactCatalogue) -> None:
        self.db = db
        self.catalogue = catalogue

    async def store(self, conn: AsyncConnection, uscc: str, key: str, value: Any, as_of: date, source: str,
                    authoritative: bool) -> bool:
        """Write one dated fact on the caller's transaction; False when it was already there."""
        exists = (await conn.execute(sa.select(enterprise_facts.c.value).where(
            enterprise_facts.c.uscc == uscc, enterprise_facts.c.key == key, enterprise_facts.c.as_of == as_of))).first()
        if exists is not None and exists.value == _encode(value):
            return False
        if exists is not None:
            await conn.execute(enterprise_facts.delete().where(
                enterprise_facts.c.uscc == uscc, enterprise_facts.c.key == key, enterprise_facts.c.as_of == as_of))
        await conn.execute(enterprise_facts.insert().values(
            uscc=uscc, key=key, value=_encode(value), as_of=as_of, source=source, authoritative=authoritative,
            loaded_at=utcnow()))
        return True

    async def store_records(self, records: list[EnterpriseRecord]) -> int:
        """Every fact of every record, in one transaction and a few statements (a load is
        thousands of facts); how many were new or changed."""
        now = utcnow()
        wanted = {(r.key, k, f.as_of): (f, _encode(f.value)) for r in records for k, f in r.facts.items()}
        async with self.db.transaction() as conn:
            existing = {(row.uscc, row.key, row.as_of): row.value for row in await conn.execute(
                sa.select(enterprise_facts.c.uscc, enterprise_facts.c.key, enterprise_facts.c.as_of,
                          enterprise_facts.c.value).where(enterprise_facts.c.uscc.in_({r.key for r in records})))}
            changed = [(key, fact, value) for key, (fact, value) in wanted.items() if existing.get(key, ...) != value]
            for (uscc, key, as_of), _, _ in changed:
                if (uscc, key, as_of) in existing:
                    await conn.execute(enterprise_facts.delete().where(
                        enterprise_facts.c.uscc == uscc, enterprise_facts.c.key == key, enterprise_facts.c.as_of == as_of))
            if changed:
                await conn.execute(enterprise_facts.insert(), [
                    {"uscc": uscc, "key": key, "as_of": as_of, "value": value, "source": fact.source,
                     "authoritative": fact.authoritative, "loaded_at": now}
                    for (uscc, key, as_of), fact, value in changed])
        return len(changed)

    async def latest(self, uscc: str) -> dict[str, FactValue]:
        """Each fact's newest value (by ``as_of``)."""
        async with self.db.read() as conn:
            rows = await conn.execute(sa.select(enterprise_facts).where(enterprise_facts.c.uscc == uscc)
                                      .order_by(enterprise_facts.c.key, enterprise_facts.c.as_of))
            return {r.key: FactValue(_decode(self.catalogue, r.key, r.value), r.source, r.authoritative, r.as_of)
                    for r in rows if r.key in self.catalogue}

    async def all_latest(self) -> dict[str, dict[str, FactValue]]:
        facts: dict[str, dict[str, FactValue]] = {}
        async with self.db.read() as conn:
            rows = await conn.execute(sa.select(enterprise_facts).order_by(
                enterprise_facts.c.uscc, enterprise_facts.c.key, enterprise_facts.c.as_of))
            for r in rows:
                if r.key in self.catalogue:
                    facts.setdefault(r.uscc, {})[r.key] = FactValue(
                        _decode(self.catalogue, r.key, r.value), r.source, r.authoritative, r.as_of)
        return facts


PEER_COLUMNS = {  # the peer platform's condition columns → our facts, read as that platform filled them
    "工商注册地在南沙区": "registered_district", "税务征管关系在南沙区": "tax_district", "统计关系在南沙区": "stats_district",
    "具有独立法人资格": "independent_legal_person", "属于制造业企业": "industry", "属于工业企业": "industry",
    "具有高新技术企业资质": "qualifications",
}


def load_peer_recommendations(path: Path) -> list[EnterpriseRecord]:
    """The enterprises a peer platform recommended for one policy, with the evidence it showed:
    its condition columns read as facts (an address or a district in 南沙 → 440115; a company
    form → an independent legal person; a manufacturing industry name → section C; 高新 → the
    qualification). A blank column is unknown, as it was to the peer."""
    records = []
    with path.open(encoding="utf-8-sig", newline="") as fh:
        for row in csv.DictReader(fh):
            uscc = (row.get("企业社会信用号") or row.get("社会信用号") or "").strip()
            record = EnterpriseRecord(uscc, row["企业名称"].strip())
            for column, key in PEER_COLUMNS.items():
                text = (row.get(column) or "").strip()
                if not text:
                    continue
                value: Any = None
                if key.endswith("district") and "南沙" in text:
                    value = "440115"
                elif key == "independent_legal_person" and ("公司" in text or "企业" in text) and "分" not in text:
                    value = True
                elif key == "industry" and (text.endswith("制造") or text == "是"):
                    value = "C"
                elif key == "qualifications" and "高新" in text:
                    value = frozenset({"高新技术企业"})
                if value is not None:
                    record.facts[key] = FactValue(value, f"同类平台（{path.name}）", False, date(2018, 6, 30))
            records.append(record)
    return records
