"""Synthetic enterprises and policy items for scale tests and benchmarks (never real records).

Enterprises come straight out as columns (a million rows in about a second), with the missing
rates we see in practice: registration facts are almost always known, tax and social-insurance
figures for most, self-declared ones (财务制度, 独立核算) rarely. Items are condition trees built
from the same pieces real support policies use, with thresholds drawn from a few round values,
so that many items share atoms as real ones do.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np

from policy_graph.engine import EPOCH, NO_DATE, Column, FactColumns
from policy_graph.facts import FactCatalogue

DISTRICTS = ["510104", "510105", "510106", "510107", "510108", "510112", "510113", "510114", "510115",
             "510116", "510117", "510118", "510121", "510129", "510131", "510181", "510182", "510183",
             "510184", "510185"]
INDUSTRIES = ["A01", "C13", "C26", "C27", "C34", "C35", "C38", "C39", "C40", "E47", "F51", "F52", "G54",
              "H62", "I63", "I64", "I65", "J66", "L72", "M73", "M75", "N77", "P83", "Q84", "R86"]
MISSING = {  # share of enterprises for which the fact is unknown
    "registered_district": 0.0, "tax_district": 0.15, "stats_district": 0.3, "independent_legal_person": 0.02,
    "legal_form": 0.01, "industry": 0.02, "established_on": 0.0, "business_status": 0.0,
    "registered_capital": 0.05, "revenue_last_year": 0.35, "tax_paid_last_year": 0.4, "employees": 0.25,
    "new_hires_graduates": 0.6, "rd_expense": 0.7, "rd_expense_ratio": 0.85, "sound_financial_system": 0.9,
    "independent_accounting": 0.9, "above_scale": 0.3, "sme": 0.4, "qualifications": 0.3,
    "invention_patents": 0.5, "software_copyrights": 0.5, "trademarks": 0.5, "bad_credit_record": 0.2,
    "dishonest_entity": 0.05, "talent_founded": 0.95,
}


def enterprises(catalogue: FactCatalogue, size: int, seed: int = 7) -> FactColumns:
    rng = np.random.default_rng(seed)
    table = FactColumns(catalogue, size)

    def missing(key: str) -> np.ndarray:
        return rng.random(size) < MISSING[key]

    def boolean(key: str, p_true: float) -> None:
        values = (rng.random(size) < p_true).astype(np.int8)
        values[missing(key)] = -1
        table.columns[key] = Column(values)

    def number(key: str, values: np.ndarray) -> None:
        values = values.astype(np.float64)
        values[missing(key)] = np.nan
        table.columns[key] = Column(values)

    def code(key: str, dictionary: list[str]) -> None:
        values = rng.choice(len(dictionary), size).astype(np.int32)
        values[missing(key)] = -1
        table.columns[key] = Column(values, dictionary)

    def enum(key: str, weights: list[float]) -> None:
        values = rng.choice(len(weights), size, p=np.array(weights) / sum(weights)).astype(np.int16)
        values[missing(key)] = -1
        table.columns[key] = Column(values)

    home = rng.random(size) < 0.9  # most enterprises are registered, taxed and counted in one district
    code("registered_district", DISTRICTS)
    for key in ("tax_district", "stats_district"):
        values = table.columns["registered_district"].values.copy()
        moved = ~home
        values[moved] = rng.choice(len(DISTRICTS), int(moved.sum()))
        values[missing(key)] = -1
        table.columns[key] = Column(values, DISTRICTS)
    code("industry", INDUSTRIES)
    boolean("independent_legal_person", 0.93)
    enum("legal_form", [70, 8, 3, 4, 10, 1, 3, 0.5, 0.3, 0.1, 0.1])
    enum("business_status", [92, 2, 5, 1])
    days = (date(2026, 6, 30) - EPOCH).days - rng.gamma(2.0, 1400, size).astype(np.int32)
    days[missing("established_on")] = NO_DATE
    table.columns["established_on"] = Column(days.astype(np.int32))
    revenue = rng.lognormal(6.0, 2.0, size)  # 万元: a median of about 400万
    number("registered_capital", rng.lognormal(5.0, 1.5, size))
    number("revenue_last_year", revenue)
    number("tax_paid_last_year", revenue * rng.uniform(0.01, 0.08, size))
    number("employees", np.maximum(1, revenue / rng.uniform(20, 200, size)).round())
    number("new_hires_graduates", rng.poisson(1.5, size))
    number("rd_expense", revenue * rng.uniform(0, 0.08, size))
    number("rd_expense_ratio", rng.uniform(0, 12, size))
    boolean("sound_financial_system", 0.8)
    boolean("independent_accounting", 0.85)
    boolean("above_scale", 0.08)
    boolean("sme", 0.9)
    number("invention_patents", rng.poisson(0.6, size))
    number("software_copyrights", rng.poisson(1.2, size))
    number("trademarks", rng.poisson(1.0, size))
    boolean("bad_credit_record", 0.02)
    boolean("dishonest_entity", 0.01)
    boolean("talent_founded", 0.05)
    spec = catalogue["qualifications"]
    bits = np.zeros(size, np.uint64)
    for n, share in enumerate([0.06, 0.12, 0.04, 0.005, 0.03, 0.01, 0.05, 0.01, 0.005, 0.01, 0.002, 0.01]):
        if n < len(spec.values):
            bits |= np.where(rng.random(size) < share, np.uint64(1 << n), np.uint64(0))
    table.columns["qualifications"] = Column(bits, known=~missing("qualifications"))
    return table


def policy_items(count: int, seed: int = 11) -> dict[str, dict[str, Any]]:
    """``count`` condition trees (JSON, as staff would write them) over the synthetic facts."""
    rng = np.random.default_rng(seed)
    qualifications = ["高新技术企业", "科技型中小企业", "专精特新中小企业", "专精特新“小巨人”企业", "瞪羚企业"]
    items: dict[str, dict[str, Any]] = {}
    for n in range(count):
        district = str(rng.choice(DISTRICTS[:8]))
        base = [{"fact": "registered_district", "op": "under", "value": [district]},
                {"fact": "business_status", "op": "in", "value": ["存续"]},
                {"fact": "independent_legal_person", "op": "is", "value": True}]
        if rng.random() < 0.5:
            base.append({"fact": "tax_district", "op": "under", "value": [district]})
        size = {"any": [
            {"all": [{"fact": "industry", "op": "under", "value": ["B", "C", "D"]},
                     {"fact": "revenue_last_year", "op": "<=", "value": float(rng.choice([20000, 40000]))}]},
            {"all": [{"not": {"fact": "industry", "op": "under", "value": ["B", "C", "D"]}},
                     {"fact": "revenue_last_year", "op": "<=", "value": float(rng.choice([5000, 10000]))}]}]}
        pick = rng.random(6)
        specific: list[dict[str, Any]] = []
        if pick[0] < 0.5:
            specific.append({"fact": "qualifications", "op": "has_any",
                             "value": sorted({str(q) for q in rng.choice(qualifications, 2)})})
        if pick[1] < 0.4:
            specific.append({"fact": "employees", "op": ">=", "value": float(rng.choice([10, 20, 50, 100]))})
        if pick[2] < 0.3:
            specific.append({"fact": "established_on", "op": "within_years", "value": float(rng.choice([3, 5]))})
        if pick[3] < 0.3:
            specific.append({"fact": "industry", "op": "under", "value": [str(i) for i in rng.choice(INDUSTRIES, 3)]})
        if pick[4] < 0.3:
            specific.append({"any": [{"fact": "invention_patents", "op": ">=", "value": 1.0},
                                     {"fact": "software_copyrights", "op": ">=", "value": float(rng.choice([1, 3]))}]})
        if pick[5] < 0.5:
            specific.append({"not": {"fact": "dishonest_entity", "op": "is", "value": True}})
        items[f"syn-{n:04d}"] = {"all": [*base, size, *specific]}
    return items
