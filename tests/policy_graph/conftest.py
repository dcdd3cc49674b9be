"""Fixtures of the policy-graph tests: a seeded graph with matching over three enterprises (the
fixture hands out the curation, which the tests publish through; matching reads through the reader)."""

from __future__ import annotations

import pytest

from policy_graph.curation import PolicyCuration
from policy_graph.enterprise_facts import EnterpriseFacts
from policy_graph.graph import PolicyGraph
from policy_graph.matching import MatchService
from tests.helpers import CATALOGUE, FIRM_A, FIRM_B, FIRM_C, put, seed


@pytest.fixture
async def service(db, audit):  # type: ignore[no-untyped-def]
    graph = PolicyGraph(db, CATALOGUE)
    curation = PolicyCuration(db, audit, CATALOGUE, graph)
    await seed(curation)
    facts = EnterpriseFacts(db, CATALOGUE)
    await put(db, facts, FIRM_A, registered_district="510107", independent_legal_person=True, revenue_last_year=900.0,
              qualifications=frozenset({"首次认定高新技术企业"}))
    await put(db, facts, FIRM_B, registered_district="510108", independent_legal_person=True,
              qualifications=frozenset({"首次认定高新技术企业"}))  # revenue unknown
    await put(db, facts, FIRM_C, registered_district="440115", independent_legal_person=True, revenue_last_year=900.0)
    return MatchService(db, graph, facts, CATALOGUE), curation, facts
