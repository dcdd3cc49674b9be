"""The fact catalogue's types and units, and condition trees refused at save with the exact path
of every problem."""

from __future__ import annotations

from datetime import date

import pytest

from policy_graph.conditions import All, Any_, Atom, InvalidCondition, Not, Parameters, parse
from policy_graph.facts import FactCatalogue, FactError

CATALOGUE = FactCatalogue.load()


def test_facts_are_coerced_to_their_type_and_unit():
    assert CATALOGUE["revenue_last_year"].coerce("4", "亿元") == 40000.0  # stored in 万元
    assert CATALOGUE["revenue_last_year"].coerce("1,250.5") == 1250.5
    assert CATALOGUE["independent_legal_person"].coerce("是") is True
    assert CATALOGUE["established_on"].coerce("2017-06-06") == date(2017, 6, 6)
    assert CATALOGUE["industry"].coerce("c3411") == "C3411"
    assert CATALOGUE["qualifications"].coerce("高新技术企业；瞪羚企业") == frozenset({"高新技术企业", "瞪羚企业"})
    for key, raw, unit in (("revenue_last_year", "很多", None), ("revenue_last_year", "3", "人"),
                           ("employees", "3", "万元"), ("independent_legal_person", "maybe", None),
                           ("established_on", "2017/13/01", None), ("industry", "34", None),
                           ("registered_district", "5101", None), ("legal_form", "公司", None),
                           ("qualifications", "高新技术企业;神仙企业", None), ("employees", "", None),
                           ("revenue_last_year", "nan", None)):
        with pytest.raises(FactError):
            CATALOGUE[key].coerce(raw, unit)


def test_every_fact_has_a_label_and_sets_and_enums_list_their_values():
    assert len(CATALOGUE.facts) >= 30
    for spec in CATALOGUE.facts.values():
        assert spec.label and spec.source
        assert (spec.type in ("enum", "set")) == bool(spec.values)
        assert (spec.type == "code") == bool(spec.tree)


def test_a_valid_tree_parses_into_typed_nodes():
    parameters = Parameters()
    parameters.add("cap.industrial", "number", date(2017, 1, 1), 40000, "穗南开管办〔2017〕1号 第二十五条")
    tree = parse({"all": [
        {"fact": "registered_district", "op": "under", "value": ["440115"], "clause": "g10-2-1"},
        {"any": [{"all": [{"fact": "industry", "op": "under", "value": ["B", "C", "D"]},
                          {"fact": "revenue_last_year", "op": "<=", "param": "cap.industrial"}]},
                 {"not": {"fact": "qualifications", "op": "lacks", "value": "高新技术企业"}}]},
        {"fact": "established_on", "op": "between", "value": ["2017-01-01", "2017-12-31"]}]},
        CATALOGUE, parameters)
    assert isinstance(tree, All) and isinstance(tree.children[1], Any_) and isinstance(tree.children[1].children[1], Not)
    assert tree.children[0] == Atom("registered_district", "under", ("440115",), None, "g10-2-1")
    assert tree.children[2].value == (date(2017, 1, 1), date(2017, 12, 31))


@pytest.mark.parametrize("tree, path, words", [
    ({"all": [{"fact": "revenue", "op": "<=", "value": 1}]}, "all[0].fact", "unknown fact"),
    ({"all": [{"fact": "established_on", "op": "<=", "value": 5}]}, "all[0].op", "takes before"),
    ({"any": [{"fact": "employees", "op": ">=", "value": 1},
              {"fact": "established_on", "op": "after", "value": 20170101}]}, "any[1].value", "not a date"),
    ({"all": [{"fact": "employees", "op": ">=", "value": "2017-01-01"}]}, "all[0].value", "not a number"),
    ({"all": [{"fact": "employees", "op": ">=", "param": "nope"}]}, "all[0].param", "unknown parameter"),
    ({"all": [{"fact": "legal_form", "op": "in", "value": ["公司"]}]}, "all[0].value", "not one of"),
    ({"all": []}, "all", "non-empty"),
    ({"not": {"fact": "sme", "op": "is", "value": True, "colour": "red"}}, "not.colour", "unexpected"),
    ({"all": [{"fact": "sme", "op": "is"}]}, "all[0]", "value or a param"),
    ({"all": [{"ref": "a"}]}, "all[0]<a>.any[0]<b>.all[0].ref", "cycle: a → b → a"),
    ([1, 2], "$", "is an object"),
])
def test_bad_trees_are_refused_with_the_exact_path(tree, path, words):
    parameters = Parameters()
    parameters.add("cap.industrial", "number", date(2017, 1, 1), 40000, "…")
    shared = {"a": {"any": [{"ref": "b"}]}, "b": {"all": [{"ref": "a"}]}}
    with pytest.raises(InvalidCondition) as refused:
        parse(tree, CATALOGUE, parameters, shared)
    assert [p.path for p in refused.value.problems] == [path]
    assert words in refused.value.problems[0].message


def test_every_problem_is_listed_at_once_and_depth_is_bounded():
    with pytest.raises(InvalidCondition) as refused:
        parse({"all": [{"fact": "x", "op": "is", "value": True}, {"fact": "sme", "op": "<", "value": 1}]}, CATALOGUE)
    assert [p.path for p in refused.value.problems] == ["all[0].fact", "all[1].op"]
    deep: dict = {"fact": "sme", "op": "is", "value": True}
    for _ in range(20):
        deep = {"not": deep}
    with pytest.raises(InvalidCondition, match="deeper than"):
        parse(deep, CATALOGUE)


def test_a_parameter_is_read_for_the_day_and_carries_its_legal_basis():
    parameters = Parameters()
    parameters.add("cap", "number", date(2017, 1, 1), 40000, "2017 年办法", valid_to=date(2019, 12, 31))
    parameters.add("cap", "number", date(2020, 1, 1), 50000, "2020 年修订")
    assert parameters.on("cap", date(2018, 5, 1)).value == 40000
    assert parameters.on("cap", date(2021, 5, 1)).legal_basis == "2020 年修订"
    assert parameters.on("cap", date(2016, 5, 1)) is None
    with pytest.raises(InvalidCondition, match="holds number values"):
        parse({"fact": "established_on", "op": "after", "param": "cap"}, CATALOGUE, parameters)
