"""Fit the search confidence (``retrieval.fusion.DEFAULT_CALIBRATION``) on our own development queries.

For every query it records the signals of the fused top result and whether that result is right
(queries in ``*_out_of_scope.jsonl`` have no right answer), fits a logistic regression, and prints
the coefficients to paste into ``retrieval/fusion.py``, a reliability table, and what the
``no_good_match`` threshold does on these queries.

    .venv/bin/python benchmarks/calibrate_search.py [--with-gd]

``--with-gd`` adds the real-catalog queries (``benchmarks/queries/gd_queries.jsonl``). The
labelled TipDM messages are never used here: they are for evaluation only.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import fields
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assistant.catalog import CatalogService  # noqa: E402
from assistant.importers import import_catalog  # noqa: E402
from assistant.search_eval import is_hit, load_queries  # noqa: E402
from retrieval.fusion import Calibration, MatchSignals  # noqa: E402
from server import build_search, prepare_database  # noqa: E402
from settings import load_settings  # noqa: E402
from store.audit import AuditLog  # noqa: E402

QUERIES = ROOT / "benchmarks" / "queries"
SHARED = ROOT.parent / "shared" / "data"


async def collect(fmt: str, catalog_path: Path, query_files: list[Path]) -> tuple[list, list, list]:
    settings = load_settings()
    with tempfile.TemporaryDirectory() as scratch:
        settings = settings.with_overrides(database_url=f"sqlite+aiosqlite:///{scratch}/c.db", load_demo=False,
                                           log_level="WARNING")
        db = await prepare_database(settings)
        catalog = CatalogService(db, AuditLog(db))
        await import_catalog(db, catalog, fmt, catalog_path)
        executor = ThreadPoolExecutor(max_workers=2)
        search = build_search(settings, catalog, executor)
        await search.start()
        await search.wait_for_vectors()
        features, labels, unanswerable = [], [], []
        for path in query_files:
            for query in load_queries(path):
                result = await search.search(query.query, channel=None)
                if result.signals is None:
                    continue
                features.append(result.signals.as_list())
                labels.append(int(bool(query.expected) and is_hit(query.expected, search.items[result.results[0].code])))
                unanswerable.append(not query.expected)
        await search.stop()
        executor.shutdown()
        await db.dispose()
    return features, labels, unanswerable


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 0.1, steps: int = 50) -> np.ndarray:
    """Newton's method for L2-regularised logistic regression; returns [intercept, weights...]."""
    design = np.hstack([np.ones((len(x), 1)), x])
    beta = np.zeros(design.shape[1])
    penalty = np.eye(design.shape[1]) * l2
    penalty[0, 0] = 0.0
    for _ in range(steps):
        p = 1 / (1 + np.exp(-design @ beta))
        gradient = design.T @ (p - y) + penalty @ beta
        hessian = design.T @ (design * (p * (1 - p))[:, None]) + penalty
        beta -= np.linalg.solve(hessian, gradient)
    return beta


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--with-gd", action="store_true")
    parser.add_argument("--threshold", type=float, default=0.5)
    args = parser.parse_args()

    x, y, out = asyncio.run(collect("demo", ROOT / "demo" / "catalog",
                                    [QUERIES / "demo_queries.jsonl", QUERIES / "demo_out_of_scope.jsonl"]))
    if args.with_gd:
        gx, gy, gout = asyncio.run(
            collect("gdzwfw", SHARED / "gd_catalog" / "items.jsonl", [QUERIES / "gd_queries.jsonl"]))
        x, y, out = x + gx, y + gy, out + gout
    features, labels = np.array(x), np.array(y, dtype=float)
    beta = fit_logistic(features, labels)
    calibration = Calibration(intercept=float(beta[0]), weights=tuple(float(b) for b in beta[1:]))
    names = [f.name for f in fields(MatchSignals)]
    print(f"{len(labels)} queries, {int(labels.sum())} with a right top result")
    print("Calibration(intercept={:.3f}, weights=({}))".format(
        calibration.intercept, ", ".join(f"{w:.3f}" for w in calibration.weights)))
    print("  # " + ", ".join(names))

    predicted = np.array([calibration.confidence(MatchSignals(*row)) for row in features])
    print("\nreliability: predicted confidence bin → share right")
    for low in np.arange(0, 1, 0.2):
        mask = (predicted >= low) & (predicted < low + 0.2 + (1e-9 if low >= 0.8 else 0))
        if mask.any():
            print(f"  {low:.1f}–{low + 0.2:.1f}: {labels[mask].mean():.2f} right of {int(mask.sum())}")
    flagged = predicted < args.threshold
    unanswerable = np.array(out)
    print(f"\nat threshold {args.threshold}: answered {int((~flagged).sum())}, "
          f"right among answered {labels[~flagged].mean():.3f}, "
          f"flagged {int(flagged.sum())} (of which right top result: {int(labels[flagged].sum())}); "
          f"out-of-scope queries flagged: {int(flagged[unanswerable].sum())} of {int(unanswerable.sum())}")


if __name__ == "__main__":
    main()
