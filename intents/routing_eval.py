"""``rongyiban eval-routing``: accuracy, macro-F1 and per-class precision/recall/F1 of the demand
router on a labelled message file (topic, detail, level1), with the zero-shot baseline (nearest
category name) measured in the same run. Macro-F1 averages over the classes present in the file."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path
from typing import Any

from intents.demand_router import DemandRouter, NearestCategoryName


def load_labelled_messages(path: Path) -> tuple[list[str], list[str]]:
    texts, labels = [], []
    with open(path, encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            texts.append(f"{row['topic']}。{row['detail']}")
            labels.append(row["level1"])
    return texts, labels


def scores(gold: list[str], predicted: list[str]) -> dict[str, Any]:
    per_class = {}
    for label in sorted(set(gold)):
        tp = sum(g == p == label for g, p in zip(gold, predicted, strict=True))
        predicted_n, gold_n = Counter(predicted)[label], Counter(gold)[label]
        precision = tp / predicted_n if predicted_n else 0.0
        recall = tp / gold_n if gold_n else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[label] = {"precision": precision, "recall": recall, "f1": f1, "support": gold_n}
    return {
        "accuracy": sum(g == p for g, p in zip(gold, predicted, strict=True)) / max(len(gold), 1),
        "macro_f1": sum(c["f1"] for c in per_class.values()) / max(len(per_class), 1),
        "per_class": per_class,
    }


def evaluate_routing(router: DemandRouter, baseline: NearestCategoryName, path: Path) -> dict[str, Any]:
    texts, gold = load_labelled_messages(path)
    predicted = [route.category for route in router.route_many(texts, persist=True)]
    result = scores(gold, predicted)
    base = scores(gold, baseline.route_many(texts))
    return {"messages": len(texts), **result,
            "baseline": {"accuracy": base["accuracy"], "macro_f1": base["macro_f1"]}}


def format_routing(report: dict[str, Any]) -> str:
    lines = [f"{report['messages']} messages",
             f"router:   accuracy {report['accuracy']:.3f}  macro-F1 {report['macro_f1']:.3f}",
             f"baseline: accuracy {report['baseline']['accuracy']:.3f}  macro-F1 {report['baseline']['macro_f1']:.3f}"
             "  (nearest category name)",
             f"{'class':<12} {'P':>6} {'R':>6} {'F1':>6} {'n':>5}"]
    for label, c in report["per_class"].items():
        lines.append(f"{label:<12} {c['precision']:>6.3f} {c['recall']:>6.3f} {c['f1']:>6.3f} {c['support']:>5}")
    return "\n".join(lines)
