"""The three-valued engine: explanations that cite clauses, unknown never read as false, the batch
evaluator agreeing with the per-pair one, and filling in a fact never flipping a verdict."""

from __future__ import annotations

import random
from datetime import date

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from policy_graph import synthetic
from policy_graph.conditions import Parameters, atoms_of, parse
from policy_graph.engine import FALSE, TRUE, UNKNOWN, BatchEvaluator, FactColumns, evaluate, explain, verdicts
from policy_graph.facts import FactCatalogue

CATALOGUE = FactCatalogue.load()
AS_OF = date(2026, 12, 1)
PARAMETERS = Parameters()
PARAMETERS.add("cap.industrial", "number", date(2017, 1, 1), 40000, "扶持办法第二十五条")
PARAMETERS.add("cap.other", "number", date(2017, 1, 1), 10000, "扶持办法第二十五条")
# the shape of a patent-pledge interest subsidy: registered here, small enough, and one of four
PLEDGE = parse({"all": [
    {"fact": "registered_district", "op": "under", "value": ["440115"], "clause": "二-1"},
    {"fact": "independent_legal_person", "op": "is", "value": True, "clause": "二-1"},
    {"any": [{"all": [{"fact": "industry", "op": "under", "value": ["B", "C", "D"]},
                      {"fact": "revenue_last_year", "op": "<=", "param": "cap.industrial", "clause": "二-2"}]},
             {"all": [{"not": {"fact": "industry", "op": "under", "value": ["B", "C", "D"]}},
                      {"fact": "revenue_last_year", "op": "<=", "param": "cap.other", "clause": "二-2"}]}]},
    {"not": {"fact": "bad_credit_record", "op": "is", "value": True, "clause": "二-3"}},
    {"any": [{"fact": "qualifications", "op": "has_any", "value": ["高新技术企业", "高新技术企业培育库"], "clause": "二-3-(1)"},
             {"fact": "talent_founded", "op": "is", "value": True, "clause": "二-3-(4)"}]}]}, CATALOGUE, PARAMETERS)
QUALIFIED = {"registered_district": "440115", "independent_legal_person": True, "industry": "C34",
             "revenue_last_year": 30000.0, "bad_credit_record": False, "qualifications": frozenset({"高新技术企业"})}


def test_a_qualifying_enterprise_is_true_with_every_clause_cited():
    explanation = explain(PLEDGE, QUALIFIED, CATALOGUE, PARAMETERS, AS_OF)
    assert explanation.verdict == TRUE and explanation.to_supply == []
    cap = next(a for a in explanation.atoms if a.text == "上年度营业收入 ≤ 40000万元")
    assert cap.status == TRUE and cap.clause == "二-2" and cap.legal_basis == "扶持办法第二十五条"


def test_one_failed_clause_makes_it_false_and_says_which():
    facts = {**QUALIFIED, "industry": "I65"}  # not industrial: the 1亿 cap applies
    explanation = explain(PLEDGE, facts, CATALOGUE, PARAMETERS, AS_OF)
    assert explanation.verdict == FALSE
    assert [a.text for a in explanation.failed] == ["所属行业 属于 B、C、D", "上年度营业收入 ≤ 10000万元"]


def test_a_missing_fact_is_unknown_never_false_and_is_asked_for():
    facts = {k: v for k, v in QUALIFIED.items() if k not in ("revenue_last_year", "bad_credit_record")}
    explanation = explain(PLEDGE, facts, CATALOGUE, PARAMETERS, AS_OF)
    assert explanation.verdict == UNKNOWN
    assert [s["fact"] for s in explanation.to_supply] == ["revenue_last_year", "bad_credit_record"]
    assert explanation.to_supply[0]["ask"] == "贵单位上年度营业收入是多少万元？"
    # NOT of an unknown stays unknown; a definite failure elsewhere still decides
    assert evaluate(PLEDGE, {**facts, "registered_district": "510104"}, CATALOGUE, PARAMETERS, AS_OF) == FALSE


def test_a_parameter_with_no_value_in_force_is_unknown():
    assert evaluate(PLEDGE, QUALIFIED, CATALOGUE, PARAMETERS, date(2016, 6, 1)) == UNKNOWN


def test_dates_and_codes():
    young = parse({"fact": "established_on", "op": "within_years", "value": 3}, CATALOGUE)
    assert evaluate(young, {"established_on": date(2024, 1, 1)}, CATALOGUE, PARAMETERS, AS_OF) == TRUE
    assert evaluate(young, {"established_on": date(2023, 11, 30)}, CATALOGUE, PARAMETERS, AS_OF) == FALSE
    chengdu = parse({"fact": "registered_district", "op": "under", "value": ["510100"]}, CATALOGUE)
    assert evaluate(chengdu, {"registered_district": "510104"}, CATALOGUE, PARAMETERS, AS_OF) == TRUE
    assert evaluate(chengdu, {"registered_district": "511002"}, CATALOGUE, PARAMETERS, AS_OF) == FALSE


ITEMS = {k: parse(v, CATALOGUE) for k, v in synthetic.policy_items(60, seed=3).items()}
ITEMS["pledge"] = PLEDGE


def test_the_batch_evaluator_agrees_with_the_per_pair_one():
    table = synthetic.enterprises(CATALOGUE, 3000, seed=5)
    records = [table.record(row) for row in range(table.size)]
    evaluator = BatchEvaluator(table, PARAMETERS, AS_OF)
    seen = set()
    for item_id, truth, falsity in evaluator.evaluate(ITEMS):
        assert not (truth & falsity).any()
        batch = verdicts(truth, falsity)
        for row in random.Random(item_id).sample(range(table.size), 400):
            assert batch[row] == evaluate(ITEMS[item_id], records[row], CATALOGUE, PARAMETERS, AS_OF), (item_id, row)
            if row % 20 == 0:  # the explanation's own verdict, from its walk with negations pushed down
                assert explain(ITEMS[item_id], records[row], CATALOGUE, PARAMETERS, AS_OF).verdict == batch[row]
        seen.update(batch)
    assert seen == {TRUE, FALSE, UNKNOWN}
    distinct = {a.key for tree in ITEMS.values() for a in atoms_of(tree)}
    assert evaluator.atoms_computed == len(distinct)  # each distinct atom once across all items


def test_columns_round_trip_records():
    records = [QUALIFIED, {"revenue_last_year": 5.0}, {}]
    table = FactColumns.from_records(CATALOGUE, records)
    assert [table.record(n) for n in range(3)] == records
    counts = BatchEvaluator(table, PARAMETERS, AS_OF).counts({"pledge": PLEDGE})
    assert counts == {"pledge": {TRUE: 1, FALSE: 0, UNKNOWN: 2}}


POOL = synthetic.enterprises(CATALOGUE, 500, seed=9)


@settings(max_examples=300, deadline=None)
@given(row=st.integers(0, POOL.size - 1), item=st.sampled_from(sorted(ITEMS)), hide=st.sets(st.sampled_from(
    sorted(synthetic.MISSING) + ["talent_founded"])))
def test_filling_in_an_unknown_fact_never_flips_a_verdict(row, item, hide):
    full = POOL.record(row)
    partial = {k: v for k, v in full.items() if k not in hide}
    before = evaluate(ITEMS[item], partial, CATALOGUE, PARAMETERS, AS_OF)
    after = evaluate(ITEMS[item], full, CATALOGUE, PARAMETERS, AS_OF)
    assert before == UNKNOWN or after == before


def test_no_enterprise_is_true_and_false_at_once_at_scale():
    table = synthetic.enterprises(CATALOGUE, 20_000)
    for _, truth, falsity in BatchEvaluator(table, PARAMETERS, AS_OF).evaluate(ITEMS):
        assert not np.any(truth & falsity)
