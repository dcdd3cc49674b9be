"""Enterprise facts: the real Nansha sample loaded with its bad rows reported, the generic CSV
refused row by row, dated facts stored and read back, and the snapshot hash."""

from __future__ import annotations

from datetime import date

from policy_graph.enterprise_facts import EnterpriseFacts, load_nansha_sample, parse_fact_rows, snapshot_hash
from policy_graph.facts import FactCatalogue

CATALOGUE = FactCatalogue.load()


def test_the_real_sample_loads_with_its_two_bad_credit_codes_reported(shared_data):
    records, problems = load_nansha_sample(shared_data / "nansha_policies" / "enterprises", CATALOGUE)
    assert len(records) == 1000
    bad = [p for p in problems if p.column == "统一社会信用代码"]
    assert sorted(p.message.split(":")[0] for p in bad) == ["91330100MA07TUQK2F", "913301093218888480"]
    assert all(p.row >= 1 for p in bad)
    first = records[0]
    assert first.facts["industry"].value == "C18" and first.facts["registered_district"].value == "440115"
    assert first.facts["established_on"].value == date(2017, 6, 6)
    assert first.facts["registered_capital"].value == 200.0 and first.facts["independent_legal_person"].value is True
    group = next(r for r in records if r.name == "广州乐舞教育集团")
    assert group.facts["independent_legal_person"].value is False and "registered_capital" not in group.facts
    with_patents = [r for r in records if "utility_patents" in r.facts or "invention_patents" in r.facts]
    assert with_patents and all(not r.facts[k].authoritative for r in with_patents for k in r.facts if k.endswith("patents"))
    unknown_patents = sum(1 for r in records if "invention_patents" not in r.facts)
    assert unknown_patents > 950  # absent from a sample is unknown, not zero


def test_generic_rows_of_the_wrong_type_or_unit_are_refused_with_their_row(tmp_path):
    path = tmp_path / "facts.csv"
    path.write_text("uscc,key,value,unit,as_of,source\n"
                    "91440115708216261R,revenue_last_year,3.5,亿元,2025-12-31,税务\n"
                    "91440115708216261R,revenue_last_year,很多,,2025-12-31,税务\n"
                    "91440115708216261R,employees,30,万元,2025-12-31,社保\n"
                    "91440115708216261X,employees,30,,2025-12-31,社保\n"
                    "91440115708216261R,turnover,30,,2025-12-31,税务\n"
                    "91440115708216261R,established_on,2010-02-30,,2025-12-31,法人库\n"
                    "91440115708216261R,above_scale,是,,2025-12,统计\n"
                    "91440115708216261R,qualifications,高新技术企业;瞪羚企业,,2025-12-31,科技局\n", encoding="utf-8")
    good, problems = parse_fact_rows(CATALOGUE, path)
    assert [(g["key"], g["value"]) for g in good] == [
        ("revenue_last_year", 35000.0), ("qualifications", frozenset({"高新技术企业", "瞪羚企业"}))]
    assert [(p.row, p.column) for p in problems] == [(2, "value"), (3, "value"), (4, "uscc"), (5, "key"),
                                                     (6, "value"), (7, "as_of")]


async def test_dated_facts_are_stored_once_and_the_newest_is_read(db):
    facts = EnterpriseFacts(db, CATALOGUE)
    async with db.transaction() as conn:
        assert await facts.store(conn, "91440115708216261R", "employees", 30.0, date(2024, 12, 31), "社保", True)
        assert not await facts.store(conn, "91440115708216261R", "employees", 30.0, date(2024, 12, 31), "社保", True)
        assert await facts.store(conn, "91440115708216261R", "employees", 42.0, date(2025, 12, 31), "社保", True)
        assert await facts.store(conn, "91440115708216261R", "qualifications", frozenset({"瞪羚企业"}),
                                 date(2025, 12, 31), "科技局", True)
    latest = await facts.latest("91440115708216261R")
    assert latest["employees"].value == 42.0 and latest["qualifications"].value == frozenset({"瞪羚企业"})
    values = {k: v.value for k, v in latest.items()}
    assert snapshot_hash(values) == snapshot_hash(dict(reversed(list(values.items()))))
    assert snapshot_hash(values) != snapshot_hash({**values, "employees": 43.0})
