"""Policy files (YAML: nodes, documents with clauses, dated parameters, items) checked and
imported into the graph through the same curation path staff use: draft, review, publish.

``python -m policy_graph.importer --check FILE`` prints every problem with its path, or ``ok``.

An import is done by two actors, ``import:author`` and ``import:reviewer``, so the rule that
nobody approves their own change holds for imports too, and the audit log says where the content
came from. Re-importing an unchanged file changes nothing.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path
from typing import Any

from policy_graph.conditions import InvalidCondition, Parameters, atoms_of, parse
from policy_graph.curation import PolicyCuration
from policy_graph.facts import FactCatalogue
from policy_graph.graph import DELIVERIES, EDGE_KINDS, ITEM_CATEGORIES, NODE_KINDS, PolicyGraph
from yaml_files import read_yaml

AUTHOR, REVIEWER = "import:author", "import:reviewer"
DEMO_CATALOG = Path(__file__).resolve().parents[1] / "demo" / "catalog"


def demo_item_codes(folder: Path = DEMO_CATALOG) -> set[str]:
    """The service-item codes of our demo catalog, which items may link to (handled_via)."""
    return {item["code"] for path in sorted(folder.glob("items_*.yaml"))
            for item in read_yaml(path) or []}


def read(path: Path) -> dict[str, Any]:
    document = read_yaml(path) or {}
    if not isinstance(document, dict):
        raise ValueError(f"{path}: a mapping of nodes, documents, parameters, items")
    return document


def _json_dates(value: Any) -> Any:
    """YAML reads 2025-03-01 as a date; stored content (data, conditions) is JSON, with ISO dates."""
    if isinstance(value, dict):
        return {k: _json_dates(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_dates(v) for v in value]
    return value.isoformat() if isinstance(value, date) else value


def _date(value: Any) -> date | None:
    return value if isinstance(value, date) or value is None else date.fromisoformat(str(value))


def _required_date(value: Any) -> date:
    """A date the file must give (``check`` has refused a file without it)."""
    found = _date(value)
    if found is None:
        raise ValueError("a date is required")
    return found


def nodes_in_order(document: dict[str, Any]) -> list[dict[str, Any]]:
    """Every node the file defines, each as ``{id, kind, name, data, edges, condition, valid_from,
    valid_to}``, in an order where an edge's target always comes first."""
    ordered: list[dict[str, Any]] = []
    plain = [n for n in document.get("nodes", []) if n.get("kind") != "condition"]
    shared = [n for n in document.get("nodes", []) if n.get("kind") == "condition"]
    for node in plain + shared:
        ordered.append({**node, "edges": node.get("edges", [])})
    for doc in document.get("documents", []):
        for clause in doc.get("clauses", []):
            ordered.append({**clause, "kind": "clause", "edges": []})
        edges = list(doc.get("edges", [])) + [{"kind": "has_clause", "dst": c["id"]} for c in doc.get("clauses", [])]
        ordered.append({**{k: v for k, v in doc.items() if k != "clauses"}, "kind": "document", "edges": edges})
    for item in document.get("items", []):
        ordered.append({**item, "kind": "item", "edges": item.get("edges", [])})
    for node in ordered:
        for key in ("data", "condition"):
            if node.get(key) is not None:
                node[key] = _json_dates(node[key])
    return ordered


def parameters_of(document: dict[str, Any]) -> Parameters:
    parameters = Parameters()
    for p in document.get("parameters", []):
        value = _date(p["value"]) if p["fact_type"] == "date" else p["value"]
        parameters.add(p["key"], p["fact_type"], _required_date(p["valid_from"]), value, p["legal_basis"], _date(p.get("valid_to")))
    return parameters


def check(document: dict[str, Any], catalogue: FactCatalogue, known_service_items: set[str] | None = None) -> list[str]:
    """Every problem in a policy file, each with its path; empty when it would import cleanly."""
    problems: list[str] = []
    try:
        nodes = nodes_in_order(document)
        parameters = parameters_of(document)
    except (KeyError, TypeError, ValueError) as exc:
        return [f"$: malformed file ({exc!r})"]
    for n, p in enumerate(document.get("parameters", [])):
        if not str(p.get("legal_basis", "")).strip():
            problems.append(f"parameters[{n}].legal_basis: every parameter needs its legal basis")
    defined: dict[str, str] = {}
    shared = {n["id"]: n["condition"] for n in nodes if n.get("kind") == "condition" and n.get("condition")}
    for node in nodes:
        where = node.get("id", "?")
        kind = node.get("kind")
        if kind not in NODE_KINDS:
            problems.append(f"{where}: unknown kind {kind!r}")
            continue
        if not str(where).startswith(f"{kind}:") or not str(node.get("name", "")).strip():
            problems.append(f"{where}: an id like {kind}:… and a name")
        if where in defined:
            problems.append(f"{where}: defined twice")
        for e, edge in enumerate(node["edges"]):
            expected = EDGE_KINDS.get(edge.get("kind", ""))
            target = edge.get("dst", "")
            if expected is None or expected[0] != kind:
                problems.append(f"{where}.edges[{e}].kind: a {kind} has no {edge.get('kind')!r} edge")
            elif defined.get(target) != expected[1] and not (
                    expected[1] == "service_item" and known_service_items is not None
                    and target.removeprefix("service_item:") in known_service_items):
                problems.append(f"{where}.edges[{e}].dst: no {expected[1]} {target!r} defined before this node")
        if kind == "item":
            data = node.get("data") or {}
            if data.get("category") not in ITEM_CATEGORIES:
                problems.append(f"{where}.data.category: one of {', '.join(ITEM_CATEGORIES)}")
            if data.get("delivery") not in DELIVERIES:
                problems.append(f"{where}.data.delivery: one of {', '.join(DELIVERIES)}")
            if not str(data.get("benefit", "")).strip():
                problems.append(f"{where}.data.benefit: the benefit in words")
            if not node.get("condition"):
                problems.append(f"{where}.condition: a policy item needs its conditions")
        if node.get("condition") is not None:
            try:
                tree = parse(node["condition"], catalogue, parameters, shared)
            except InvalidCondition as exc:
                problems += [f"{where}.condition.{p.path}: {p.message}" for p in exc.problems]
            else:
                if kind == "item" and (node.get("data") or {}).get("delivery") == "免申即享":
                    problems += [f"{where}.condition: 免申即享 uses {a.fact}, which is not from an authoritative source"
                                 for a in atoms_of(tree) if not catalogue[a.fact].authoritative]
            clauses = {c for c in defined if c.startswith("clause:")}
            for atom_clause in _clauses(node["condition"]):
                if atom_clause not in clauses:
                    problems.append(f"{where}.condition: clause {atom_clause!r} is not defined")
        defined[where] = kind
    return problems


def _clauses(tree: Any) -> list[str]:
    if isinstance(tree, dict):
        found = [tree["clause"]] if isinstance(tree.get("clause"), str) else []
        return found + [c for v in tree.values() for c in _clauses(v)]
    if isinstance(tree, list):
        return [c for v in tree for c in _clauses(v)]
    return []


async def import_policies(graph: PolicyGraph, curation: PolicyCuration, document: dict[str, Any]) -> dict[str, int]:
    """Draft, review and publish every node whose content differs from its published version: the
    reader says what is published (and the draft's revision), the curation takes every step."""
    counts = {"published": 0, "unchanged": 0, "parameters": 0}
    for p in document.get("parameters", []):
        value = _date(p["value"]) if p["fact_type"] == "date" else p["value"]
        await curation.set_parameter(AUTHOR, p["key"], p["fact_type"], _required_date(p["valid_from"]), value,
                                     p["legal_basis"], _date(p.get("valid_to")))
        counts["parameters"] += 1
    for node in nodes_in_order(document):
        content = {"name": node["name"], "data": node.get("data") or {}, "edges": node["edges"],
                   "condition": node.get("condition"), "valid_from": _date(node.get("valid_from")),
                   "valid_to": _date(node.get("valid_to"))}
        current = await graph.get(node["id"], published=True)
        if current is not None and {"name": current.name, "data": current.data, "edges": current.edges,
                                    "condition": current.condition, "valid_from": current.valid_from,
                                    "valid_to": current.valid_to} == content:
            counts["unchanged"] += 1
            continue
        latest = await graph.get(node["id"])
        revision = latest.revision if latest is not None and latest.state == "draft" else None
        await curation.save_draft(AUTHOR, node["id"], node["kind"], revision=revision, **content)
        await curation.submit(AUTHOR, node["id"])
        await curation.review(REVIEWER, node["id"], approve=True)
        await curation.publish(REVIEWER, node["id"])
        counts["published"] += 1
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m policy_graph.importer")
    parser.add_argument("--check", type=Path, required=True, help="a policy YAML file")
    args = parser.parse_args(argv)
    problems = check(read(args.check), FactCatalogue.load(), demo_item_codes())
    print("\n".join(problems) if problems else "ok")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
