"""Batch hit testing of the search (``rongyiban eval-search`` and the console's 批量命中测试):
Recall@1/3/5/10 and MRR of the fused search and, in the same run, of each method alone as
baselines, plus the misses and, for queries that expect nothing, how often the search said it had
no good match.

A query file is JSON lines of ``{"query": "...", "expected": ["item code, name or alias", ...]}``.
A result is a hit when an expected string equals its code, or equals or is contained in its name
or one of its aliases. Staff use the same thing to test the knowledge base.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.search import METHODS, IndexedItem, SearchService


@dataclass(frozen=True)
class EvalQuery:
    query: str
    expected: tuple[str, ...]


def load_queries(path: Path) -> list[EvalQuery]:
    queries, problems = parse_queries(path.read_text(encoding="utf-8").splitlines())
    if problems:
        number, message = problems[0]
        raise ValueError(f"{path.name}:{number}: {message}")
    return queries


def parse_queries(lines: list[str]) -> tuple[list[EvalQuery], list[tuple[int, str]]]:
    """The queries of a file's lines, and each bad line as (line number, what is wrong with it)."""
    queries, problems = [], []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            if not isinstance(record["expected"], list):
                raise TypeError("expected must be a list")
            if not str(record["query"]).strip():
                raise TypeError("query is empty")
            queries.append(EvalQuery(str(record["query"]), tuple(str(e) for e in record["expected"])))
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            problems.append((number, f"expected {{\"query\", \"expected\": [...]}} ({exc})"))
    return queries, problems


def is_hit(expected: tuple[str, ...], item: IndexedItem) -> bool:
    names = (item.name, *item.aliases)
    return any(e == item.code or any(e == n or e in n for n in names) for e in expected)


async def evaluate(service: SearchService, queries: list[EvalQuery], top_k: int = 10) -> dict[str, Any]:
    runs: dict[str, list[str] | None] = {"fused": None, **{m: [m] for m in METHODS}}
    report: dict[str, Any] = {"queries": len(queries)}
    misses = []
    # a query expecting nothing (out of scope) is right when the search says it has no good match
    abstained = 0
    for name, methods in runs.items():
        first_hits: list[int | None] = []
        for query in queries:
            result = await service.search(query.query, top_k=top_k, methods=methods, channel=None)
            rank = next((i for i, hit in enumerate(result.results, start=1)
                         if is_hit(query.expected, service.items[hit.code])), None)
            first_hits.append(rank)
            if name == "fused" and not query.expected and result.no_good_match:
                abstained += 1
            if name == "fused" and rank != 1:
                misses.append({"query": query.query, "expected": list(query.expected),
                               "got": [hit.name for hit in result.results[:3]], "rank": rank})
        n = max(len(queries), 1)
        report[name] = {
            "recall@1": sum(r == 1 for r in first_hits) / n,
            "recall@3": sum(r is not None and r <= 3 for r in first_hits) / n,
            "recall@5": sum(r is not None and r <= 5 for r in first_hits) / n,
            "recall@10": sum(r is not None and r <= 10 for r in first_hits) / n,
            "mrr": sum(1 / r for r in first_hits if r) / n,
        }
    report["misses"] = misses
    report["out_of_scope"] = {"queries": sum(not q.expected for q in queries), "no_good_match": abstained}
    return report


def format_report(report: dict[str, Any]) -> str:
    lines = [f"{report['queries']} queries", f"{'method':<8} {'R@1':>6} {'R@5':>6} {'R@10':>6} {'MRR':>6}"]
    for name in ("fused", *METHODS):
        m = report[name]
        lines.append(f"{name:<8} {m['recall@1']:>6.3f} {m['recall@5']:>6.3f} {m['recall@10']:>6.3f} {m['mrr']:>6.3f}")
    lines.append(f"misses (first result not expected): {len(report['misses'])}")
    for miss in report["misses"]:
        lines.append(f"  {miss['query']!r} expected {miss['expected'][:3]} got {miss['got']} (rank {miss['rank']})")
    return "\n".join(lines)
