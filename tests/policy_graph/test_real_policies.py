"""The real Nansha policies, structured by us (fixtures/nansha_policies.yaml), matched against the
1,000 real enterprises, and compared with the peer platform's own recommendations."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from policy_graph.curation import PolicyCuration
from policy_graph.engine import TRUE, UNKNOWN, BatchEvaluator, FactColumns, explain
from policy_graph.enterprise_facts import EnterpriseFacts, load_nansha_sample, load_peer_recommendations
from policy_graph.facts import FactCatalogue
from policy_graph.graph import PolicyGraph
from policy_graph.importer import import_policies, read
from policy_graph.matching import MatchService

CATALOGUE = FactCatalogue.load()
FIXTURES = Path(__file__).parent / "fixtures" / "nansha_policies.yaml"
WINDOW = date(2018, 7, 1)  # the 2018 application round for the 2017 measures
TECHREFORM, HIGHTECH_STATS = "item:nansha-2017-techreform-post-award", "item:nansha-2017-hightech-stats-award"


async def test_the_real_enterprises_are_matched_and_nobody_is_true_on_registration_data_alone(sqlite_db, shared_data):
    from store.audit import AuditLog

    graph = PolicyGraph(sqlite_db, CATALOGUE)
    await import_policies(graph, PolicyCuration(sqlite_db, AuditLog(sqlite_db), CATALOGUE, graph), read(FIXTURES))
    records, _ = load_nansha_sample(shared_data / "nansha_policies" / "enterprises", CATALOGUE)
    facts = EnterpriseFacts(sqlite_db, CATALOGUE)
    await facts.store_records(records)
    matches = MatchService(sqlite_db, graph, facts, CATALOGUE)
    refresh = await matches.refresh(WINDOW)
    assert refresh.items == 14 and refresh.enterprises == 1000
    counts = await matches.counts()
    assert all(sum(c.values()) == 1000 for c in counts.values())
    # registration data says where and what an enterprise is, not its tax or statistics district,
    # its books or its qualifications: no item is certainly true on it, except the patent grant
    # subsidy for the few in the patent sample; and nothing is false merely for being unknown
    assert {item for item, c in counts.items() if c[TRUE]} == {"item:nansha-2017-patent-grant-subsidy"}
    for uscc in [u for (item, u) in refresh.became_true]:
        patents = await facts.latest(uscc)
        assert any(k in patents for k in ("invention_patents", "utility_patents", "design_patents"))
    by_key = {r.key: r for r in records}
    for answer in await matches.for_enterprise(next(iter(by_key)), WINDOW):
        assert answer["verdict"] in (TRUE, UNKNOWN)
    manufacturing = {k for k, r in by_key.items() if "industry" in r.facts and r.facts["industry"].value.startswith("C")}
    assert 0 < counts[TECHREFORM][UNKNOWN] <= len(manufacturing)  # others are not manufacturers: false

def test_the_peers_recommendations_are_unknown_to_us_and_we_say_what_is_missing(shared_data):
    parameters_graph = read(FIXTURES)
    from policy_graph.conditions import parse
    from policy_graph.importer import nodes_in_order, parameters_of

    parameters = parameters_of(parameters_graph)
    nodes = nodes_in_order(parameters_graph)
    shared = {n["id"]: n["condition"] for n in nodes if n["kind"] == "condition"}
    trees = {n["id"]: parse(n["condition"], CATALOGUE, parameters, shared) for n in nodes if n["kind"] == "item"}
    folder = shared_data / "nansha_policies" / "peer_recommendations"
    for file, item in (("record_13.csv", TECHREFORM), ("record_40.csv", HIGHTECH_STATS)):
        peer = load_peer_recommendations(folder / file)
        assert len(peer) == 20  # the peer recommended all twenty
        table = FactColumns.from_records(CATALOGUE, [r.values() for r in peer])
        [(_, truth, falsity)] = list(BatchEvaluator(table, parameters, WINDOW).evaluate({item: trees[item]}))
        assert not truth.any() and not falsity.any()  # on the peer's own evidence: unknown, every one
        asked = explain(trees[item], peer[0].values(), CATALOGUE, parameters, WINDOW).to_supply
        assert {"sound_financial_system", "independent_accounting", "above_scale"} <= {a["fact"] for a in asked}
