"""``rongyiban bench-matching``: how fast the engine matches synthetic enterprises with synthetic
items (realistic missing-value rates, see ``synthetic.py``). Figures are medians of repeated runs;
the per-pair evaluator, measured in the same run, is the baseline the batch speed-up is quoted
against."""

from __future__ import annotations

import random
import resource
import statistics
import time
from datetime import date
from typing import Any

from policy_graph import synthetic
from policy_graph.conditions import Parameters, atoms_of, parse
from policy_graph.engine import BatchEvaluator, evaluate, explain
from policy_graph.facts import FactCatalogue

AS_OF = date(2026, 12, 1)


def _timed(run: Any) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def run(enterprises: int, policies: int, repeats: int = 3, seed: int = 7) -> dict[str, Any]:
    catalogue, parameters = FactCatalogue.load(), Parameters()
    started = time.perf_counter()
    table = synthetic.enterprises(catalogue, enterprises, seed=seed)
    generated = time.perf_counter() - started
    items = {k: parse(v, catalogue) for k, v in synthetic.policy_items(policies, seed=seed).items()}

    def full_run() -> None:
        for _ in BatchEvaluator(table, parameters, AS_OF).evaluate(items):
            pass

    full = statistics.median(_timed(full_run) for _ in range(repeats))
    newcomers = {k: parse(v, catalogue) for k, v in synthetic.policy_items(10, seed=seed + 1).items()}
    new_policy = statistics.median(
        _timed(lambda tree=tree: next(BatchEvaluator(table, parameters, AS_OF).evaluate({"new": tree})))
        for tree in newcomers.values())

    rng = random.Random(seed)
    rows = [rng.randrange(table.size) for _ in range(20)]
    records = [table.record(row) for row in rows]

    def one_enterprise(record: dict[str, Any]) -> None:  # one row: the per-pair evaluator beats columns
        for tree in items.values():
            evaluate(tree, record, catalogue, parameters, AS_OF)

    changed = statistics.median(_timed(lambda r=r: one_enterprise(r)) for r in records)
    trees = list(items.values())
    pairs = [(records[n % len(records)], trees[rng.randrange(len(trees))]) for n in range(1000)]
    explanations = sorted(_timed(lambda r=r, t=t: explain(t, r, catalogue, parameters, AS_OF)) for r, t in pairs)
    per_pair = sum(_timed(lambda r=r, t=t: evaluate(t, r, catalogue, parameters, AS_OF)) for r, t in pairs)
    batch_rate = enterprises * policies / full
    return {
        "enterprises": enterprises, "policies": policies, "distinct_atoms": len({a.key for t in trees for a in atoms_of(t)}),
        "generate_seconds": round(generated, 3), "full_run_seconds": round(full, 3),
        "pairs_per_second": round(batch_rate), "per_pair_baseline_pairs_per_second": round(len(pairs) / per_pair),
        "batch_speedup": round(batch_rate / (len(pairs) / per_pair), 1),
        "new_policy_seconds": round(new_policy, 4), "changed_enterprise_seconds": round(changed, 4),
        "explanation_p50_ms": round(explanations[len(explanations) // 2] * 1000, 3),
        "explanation_p95_ms": round(explanations[int(len(explanations) * 0.95)] * 1000, 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def format_report(report: dict[str, Any]) -> str:
    return "\n".join([
        f"enterprises × items            {report['enterprises']:,} × {report['policies']} "
        f"({report['distinct_atoms']} distinct atoms)",
        f"full run (median)              {report['full_run_seconds']} s",
        f"pairs per second               {report['pairs_per_second']:,}",
        f"  per-pair evaluator, baseline {report['per_pair_baseline_pairs_per_second']:,} "
        f"(batch is {report['batch_speedup']}× faster)",
        f"one new item × all enterprises {report['new_policy_seconds']} s",
        f"one changed enterprise × items {report['changed_enterprise_seconds']} s",
        f"explanation p50 / p95          {report['explanation_p50_ms']} / {report['explanation_p95_ms']} ms",
        f"peak resident memory           {report['peak_rss_mb']} MB",
    ])
