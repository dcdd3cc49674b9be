"""Condition trees (申请条件) of policy items, and dated parameters (年度参数).

A tree, as stored and as staff edit it, is JSON:

- ``{"all": [...]}``, ``{"any": [...]}``, ``{"not": {...}}``;
- an atom ``{"fact": "revenue_last_year", "op": "<=", "value": 40000, "clause": "c-10-2-2"}`` or,
  for a threshold that changes by year, ``{"fact": …, "op": …, "param": "nansha.revenue_cap"}``;
- ``{"ref": "nansha.basic"}``: a named shared condition (e.g. 南沙注册、独立法人的基本条件).

``parse`` checks a tree against the fact catalogue and the parameters and returns typed nodes,
or raises ``InvalidCondition`` listing every problem with its exact path (``all[1].any[0].value``):
unknown facts, operators that do not fit the fact's type, values of the wrong type (a date
compared with a number), unknown parameters, and references that nest cyclically.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from policy_graph.facts import CODE_PATTERNS, FactCatalogue, FactError, FactSpec

OPERATORS: dict[str, tuple[str, ...]] = {
    "bool": ("is",),
    "number": ("==", "!=", "<", "<=", ">", ">=", "between"),
    "date": ("before", "on_or_before", "after", "on_or_after", "between", "within_years"),
    "enum": ("in", "not_in"),
    "code": ("under", "not_under"),
    "set": ("has", "lacks", "has_any", "has_all"),
}
LIST_OPERATORS = {"in", "not_in", "under", "not_under", "has_any", "has_all"}
MAX_DEPTH = 12
MAX_NODES = 200


@dataclass(frozen=True)
class Atom:
    """One test of one fact (原子条件), with the clause it comes from."""

    fact: str
    op: str
    value: Any = None  # already in the fact's type: float, date, str, tuple of str, bool, (lo, hi)
    param: str | None = None  # a dated parameter in place of ``value``
    clause: str | None = None

    @property
    def key(self) -> str:
        """The same test written anywhere has the same key: the batch engine computes it once."""
        return json.dumps([self.fact, self.op, _plain(self.value), self.param], ensure_ascii=False)


@dataclass(frozen=True)
class All:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Any_:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    child: Node


Node = Atom | All | Any_ | Not


def _plain(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple | list | frozenset):
        return [_plain(v) for v in (sorted(value) if isinstance(value, frozenset) else value)]
    return value


@dataclass(frozen=True)
class ConditionProblem:
    path: str
    message: str

    def to_json(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message}


class InvalidCondition(ValueError):
    def __init__(self, problems: list[ConditionProblem]) -> None:
        super().__init__("; ".join(f"{p.path}: {p.message}" for p in problems))
        self.problems = problems


@dataclass(frozen=True)
class DatedValue:
    valid_from: date
    valid_to: date | None
    value: Any
    legal_basis: str  # 法律依据: the document and article that set it


@dataclass
class Parameters:
    """Thresholds that change by year (年度参数), each value with its legal basis.
    ``types`` says which fact type a parameter's values have."""

    types: dict[str, str] = field(default_factory=dict)
    values: dict[str, list[DatedValue]] = field(default_factory=dict)

    def add(self, key: str, fact_type: str, valid_from: date, value: Any, legal_basis: str,
            valid_to: date | None = None) -> None:
        self.types[key] = fact_type
        self.values.setdefault(key, []).append(DatedValue(valid_from, valid_to, value, legal_basis))
        self.values[key].sort(key=lambda v: v.valid_from)

    def to_json(self) -> list[dict[str, Any]]:
        return [{"key": key, "type": self.types[key], "valid_from": v.valid_from.isoformat(),
                 "valid_to": v.valid_to.isoformat() if v.valid_to else None,
                 "value": v.value.isoformat() if isinstance(v.value, date) else v.value, "legal_basis": v.legal_basis}
                for key in sorted(self.values) for v in self.values[key]]

    def on(self, key: str, day: date) -> DatedValue | None:
        """The value in force on ``day``, or None when no value covers it."""
        for dated in reversed(self.values.get(key, [])):
            if dated.valid_from <= day and (dated.valid_to is None or day <= dated.valid_to):
                return dated
        return None


def parse(tree: Any, catalogue: FactCatalogue, parameters: Parameters | None = None,
          shared: Mapping[str, Any] | None = None) -> Node:
    """The typed tree, or ``InvalidCondition`` with every problem and its path. ``shared``: the
    named conditions a ``ref`` may use (their JSON trees)."""
    return _Parser(catalogue, parameters or Parameters(), shared or {}).parse(tree)


_ALLOWED_KEYS = {"all": {"all", "label"}, "any": {"any", "label"}, "not": {"not", "label"}, "ref": {"ref"},
                 "fact": {"fact", "op", "value", "param", "clause", "label"}}


class _Parser:
    """One parse: walks the JSON tree once, collecting every problem with its path rather than
    stopping at the first, so that the editor can mark them all."""

    def __init__(self, catalogue: FactCatalogue, parameters: Parameters, shared: Mapping[str, Any]) -> None:
        self.catalogue, self.parameters, self.shared = catalogue, parameters, shared
        self.problems: list[ConditionProblem] = []
        self.count = 0

    def parse(self, tree: Any) -> Node:
        parsed = self.walk(tree, "", 0, ())
        if self.problems or parsed is None:
            raise InvalidCondition(self.problems or [ConditionProblem("$", "invalid condition")])
        return parsed

    def fail(self, path: str, message: str) -> None:
        self.problems.append(ConditionProblem(path or "$", message))

    def walk(self, node: Any, path: str, depth: int, refs: tuple[str, ...]) -> Node | None:
        self.count += 1
        if self.count > MAX_NODES:
            if self.count == MAX_NODES + 1:
                self.fail(path, f"a condition may have at most {MAX_NODES} nodes")
            return None
        if depth > MAX_DEPTH:
            self.fail(path, f"nested deeper than {MAX_DEPTH} levels")
            return None
        if not isinstance(node, dict):
            self.fail(path, "a condition is an object: all, any, not, ref, or fact/op/value")
            return None
        kinds = [k for k in ("all", "any", "not", "ref", "fact") if k in node]
        if len(kinds) != 1:
            self.fail(path, "give exactly one of all, any, not, ref, fact")
            return None
        kind = kinds[0]
        for extra in sorted(set(node) - _ALLOWED_KEYS[kind]):
            self.fail(_join(path, extra), "unexpected key")
        if kind in ("all", "any"):
            return self.group(kind, node[kind], path, depth, refs)
        if kind == "not":
            child = self.walk(node["not"], _join(path, "not"), depth + 1, refs)
            return Not(child) if child is not None else None
        if kind == "ref":
            return self.ref(node["ref"], path, depth, refs)
        return self.atom(node, path)

    def group(self, kind: str, children: Any, path: str, depth: int, refs: tuple[str, ...]) -> Node | None:
        if not isinstance(children, list) or not children:
            self.fail(_join(path, kind), "a non-empty list of conditions")
            return None
        parsed = [self.walk(child, _join(path, f"{kind}[{n}]"), depth + 1, refs) for n, child in enumerate(children)]
        if any(p is None for p in parsed):
            return None
        return All(tuple(parsed)) if kind == "all" else Any_(tuple(parsed))  # type: ignore[arg-type]

    def ref(self, name: Any, path: str, depth: int, refs: tuple[str, ...]) -> Node | None:
        if not isinstance(name, str) or name not in self.shared:
            self.fail(_join(path, "ref"), f"no shared condition {name!r}")
            return None
        if name in refs:
            self.fail(_join(path, "ref"), f"cycle: {' → '.join((*refs, name))}")
            return None
        return self.walk(self.shared[name], f"{path}<{name}>", depth + 1, (*refs, name))

    def atom(self, node: dict[str, Any], path: str) -> Atom | None:
        key = node["fact"]
        if not isinstance(key, str) or key not in self.catalogue:
            self.fail(_join(path, "fact"), f"unknown fact {key!r}")
            return None
        spec = self.catalogue[key]
        op = node.get("op")
        if op not in OPERATORS[spec.type]:
            self.fail(_join(path, "op"), f"{spec.label}（{spec.type}）takes {', '.join(OPERATORS[spec.type])}, not {op!r}")
            return None
        clause = node.get("clause")
        if clause is not None and not (isinstance(clause, str) and 0 < len(clause) <= 64):
            self.fail(_join(path, "clause"), "a clause id (text, up to 64 characters)")
            return None
        if ("value" in node) == ("param" in node):
            self.fail(path or "$", "give a value or a param, not both")
            return None
        if "param" in node:
            return self.parameter_atom(key, spec, op, node["param"], clause, path)
        try:
            value = coerce_operand(spec, op, node["value"])
        except FactError as exc:
            self.fail(_join(path, "value"), str(exc).removeprefix(f"{key}: "))
            return None
        return Atom(key, op, value, None, clause)

    def parameter_atom(self, key: str, spec: FactSpec, op: str, param: Any, clause: str | None,
                       path: str) -> Atom | None:
        """An atom compared with a dated parameter (``param``), whose type must fit the operator."""
        wanted = "number" if op == "within_years" else spec.type
        if param not in self.parameters.types:
            self.fail(_join(path, "param"), f"unknown parameter {param!r}")
            return None
        if self.parameters.types[param] != wanted or op in LIST_OPERATORS or op == "between":
            self.fail(_join(path, "param"), f"parameter {param!r} holds {self.parameters.types[param]} values; "
                                            f"{spec.label} {op} needs one {wanted}")
            return None
        return Atom(key, op, None, param, clause)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def coerce_operand(spec: FactSpec, op: str, raw: Any) -> Any:
    """The right-hand side of ``fact op value`` in the fact's type."""
    if op == "within_years":
        if isinstance(raw, bool) or not isinstance(raw, int | float) or not 0 < raw <= 100:
            raise FactError("within_years takes a number of years (0–100)")
        return float(raw)
    if op == "between":
        if not isinstance(raw, list) or len(raw) != 2:
            raise FactError("between takes [low, high]")
        low, high = (coerce_operand(spec, "==" if spec.type == "number" else "before", v) for v in raw)
        if low > high:
            raise FactError("between: low is above high")
        return (low, high)
    if op in LIST_OPERATORS:
        if not isinstance(raw, list) or not raw or len(raw) > 100:
            raise FactError(f"{op} takes a list of 1–100 values")
        if spec.type == "code":
            return tuple(sorted({_code(spec, v) for v in raw}))
        allowed = set(spec.values)
        for value in raw:
            if value not in allowed:
                raise FactError(f"{value!r} is not one of {', '.join(spec.values)}")
        return tuple(sorted(set(raw)))
    if spec.type == "set":
        if raw not in spec.values:
            raise FactError(f"{raw!r} is not one of {', '.join(spec.values)}")
        return raw
    if spec.type == "bool" and not isinstance(raw, bool):
        raise FactError(f"{raw!r} is not true/false")
    if spec.type == "number" and (isinstance(raw, bool) or not isinstance(raw, int | float)):
        raise FactError(f"{raw!r} is not a number ({spec.label} is a number in {spec.unit or 'its unit'})")
    if spec.type == "date" and (not isinstance(raw, str) or len(raw) != 10):
        raise FactError(f"{raw!r} is not a date (YYYY-MM-DD)")
    return spec.coerce(raw)


def _code(spec: FactSpec, raw: Any) -> str:
    text = str(raw).strip().upper()
    if not re.fullmatch(CODE_PATTERNS[spec.tree], text):
        raise FactError(f"{raw!r} is not a {spec.tree} code")
    return text


def atoms_of(node: Node) -> list[Atom]:
    """Every atom of a tree, in reading order."""
    if isinstance(node, Atom):
        return [node]
    if isinstance(node, Not):
        return atoms_of(node.child)
    return [a for child in node.children for a in atoms_of(child)]


def facts_of(node: Node) -> set[str]:
    return {a.fact for a in atoms_of(node)}


def map_atoms(node: Node, visit: Callable[[Atom], Any], both: Callable[..., Any], either: Callable[..., Any],
              negate: Callable[[Any], Any]) -> Any:
    """Fold a tree: atoms through ``visit``, then ALL/ANY/NOT through the three combinators."""
    if isinstance(node, Atom):
        return visit(node)
    if isinstance(node, Not):
        return negate(map_atoms(node.child, visit, both, either, negate))
    results = [map_atoms(child, visit, both, either, negate) for child in node.children]
    return both(results) if isinstance(node, All) else either(results)
