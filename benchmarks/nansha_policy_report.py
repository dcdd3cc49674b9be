"""The real Nansha policies (our structuring, tests/policy_graph/fixtures/nansha_policies.yaml)
matched against the 1,000 real enterprises, and the peer platform's recommendations seen through
our engine: ``python benchmarks/nansha_policy_report.py [--json]``."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from collections import Counter
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from policy_graph.conditions import parse  # noqa: E402
from policy_graph.curation import PolicyCuration  # noqa: E402
from policy_graph.engine import BatchEvaluator, FactColumns, explain, verdicts  # noqa: E402
from policy_graph.enterprise_facts import EnterpriseFacts, load_nansha_sample, load_peer_recommendations  # noqa: E402
from policy_graph.facts import FactCatalogue  # noqa: E402
from policy_graph.graph import PolicyGraph  # noqa: E402
from policy_graph.importer import import_policies, nodes_in_order, parameters_of, read  # noqa: E402
from policy_graph.matching import MatchService  # noqa: E402
from store import migrate  # noqa: E402
from store.audit import AuditLog  # noqa: E402
from store.database import Database  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "nansha_policies"
FIXTURES = ROOT / "tests" / "policy_graph" / "fixtures" / "nansha_policies.yaml"
WINDOW = date(2018, 7, 1)
PEERS = {"record_13.csv": "item:nansha-2017-techreform-post-award", "record_40.csv": "item:nansha-2017-hightech-stats-award"}


async def report() -> dict:
    catalogue = FactCatalogue.load()
    db = Database(f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/report.db")
    await migrate.upgrade(db)
    graph = PolicyGraph(db, catalogue)
    document = read(FIXTURES)
    await import_policies(graph, PolicyCuration(db, AuditLog(db), catalogue, graph), document)
    records, problems = load_nansha_sample(DATA / "enterprises", catalogue)
    facts = EnterpriseFacts(db, catalogue)
    await facts.store_records(records)
    matches = MatchService(db, graph, facts, catalogue)
    started = time.perf_counter()
    await matches.refresh(WINDOW)
    took = time.perf_counter() - started
    again = await matches.refresh(WINDOW)
    counts = await matches.counts()
    missing: dict[str, Counter] = {}
    items = await graph.published_items(WINDOW)
    parameters = await graph.parameters()
    for item_id, (_, tree) in items.items():
        asked: Counter = Counter()
        for record in records:
            for fact in explain(tree, record.values(), catalogue, parameters, WINDOW).to_supply:
                asked[fact["label"]] += 1
        missing[item_id] = asked

    nodes = nodes_in_order(document)
    shared = {n["id"]: n["condition"] for n in nodes if n["kind"] == "condition"}
    trees = {n["id"]: parse(n["condition"], catalogue, parameters_of(document), shared) for n in nodes if n["kind"] == "item"}
    peers = {}
    for file, item in PEERS.items():
        peer = load_peer_recommendations(DATA / "peer_recommendations" / file)
        table = FactColumns.from_records(catalogue, [r.values() for r in peer])
        [(_, truth, falsity)] = list(BatchEvaluator(table, parameters_of(document), WINDOW).evaluate({item: trees[item]}))
        asked = Counter(a["label"] for r in peer for a in explain(trees[item], r.values(), catalogue,
                                                                  parameters_of(document), WINDOW).to_supply)
        peers[file] = {"item": item, "peer_recommended": len(peer),
                       "ours": dict(Counter(verdicts(truth, falsity).tolist())), "we_ask_for": dict(asked.most_common())}
    return {"enterprises": len(records), "load_problems": [p.to_json() for p in problems], "items": {
        item: {**counts[item], "most_asked": dict(missing[item].most_common(3))} for item in sorted(counts)},
        "refresh_seconds": round(took, 3), "second_refresh_computed_pairs": again.computed_pairs, "peers": peers}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--json", action="store_true")
    result = asyncio.run(report())
    if parser.parse_args().json:
        print(json.dumps(result, ensure_ascii=False, indent=1))
        return 0
    print(f"{result['enterprises']} enterprises, {len(result['load_problems'])} load problems; "
          f"first refresh {result['refresh_seconds']} s, second refresh computed "
          f"{result['second_refresh_computed_pairs']} pairs")
    print(f"{'item':52} {'true':>5} {'false':>6} {'unknown':>8}  most asked")
    for item, row in result["items"].items():
        asked = "、".join(f"{k} {v}" for k, v in row["most_asked"].items())
        print(f"{item:52} {row['true']:>5} {row['false']:>6} {row['unknown']:>8}  {asked}")
    for file, row in result["peers"].items():
        print(f"{file}: peer recommended {row['peer_recommended']} for {row['item']}; ours: {row['ours']}; "
              f"we ask for: {row['we_ask_for']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
