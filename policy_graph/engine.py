"""The eligibility engine (资格判定): three-valued (true / false / unknown), so that a fact nobody
has told us is never read as 0 or false.

Two evaluators that must agree (a differential test holds them to it):

- ``explain``: one enterprise against one item, with every atom's outcome, its clause, the value
  it was tested on, and what the enterprise should supply when the verdict is unknown;
- ``BatchEvaluator``: many enterprises against many items, over columnar facts (numpy). Each
  distinct atom is computed once across all items (items share many: registration district,
  legal person, qualifications); a tree is then folded with Kleene's logic over two bit-columns,
  "certainly true" and "certainly false".

Kleene's logic is monotone: filling in an unknown fact can turn unknown into true or false, but
never true into false or false into true (a property test checks it).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np

from policy_graph.conditions import All, Atom, Node, Not, Parameters, atoms_of, map_atoms
from policy_graph.facts import FactCatalogue, FactSpec, code_prefix

TRUE, FALSE, UNKNOWN = "true", "false", "unknown"
EPOCH = date(1970, 1, 1)
NO_DATE = np.iinfo(np.int32).min
OP_TEXT = {"is": "为", "==": "=", "!=": "≠", "<": "<", "<=": "≤", ">": ">", ">=": "≥", "between": "介于",
           "before": "早于", "on_or_before": "不晚于", "after": "晚于", "on_or_after": "不早于",
           "within_years": "在近", "in": "属于", "not_in": "不属于", "under": "属于", "not_under": "不属于",
           "has": "具有", "lacks": "不具有", "has_any": "具有其一", "has_all": "全部具有"}


def years_before(day: date, years: float) -> date:
    """The same calendar day ``years`` years earlier (29 February → 28 February)."""
    whole, part = int(years), years - int(years)
    try:
        earlier = day.replace(year=day.year - whole)
    except ValueError:
        earlier = day.replace(year=day.year - whole, day=28)
    return earlier - timedelta(days=round(part * 365.25))


# --- one atom, one enterprise ------------------------------------------------------------------
def _holds(spec: FactSpec, op: str, actual: Any, operand: Any, as_of: date) -> bool:
    if op == "is":
        return bool(actual) == bool(operand)
    if op == "between":
        return operand[0] <= actual <= operand[1]
    if op == "within_years":
        return years_before(as_of, operand) <= actual <= as_of
    if op in ("==", "!=", "<", "<=", ">", ">=", "before", "on_or_before", "after", "on_or_after"):
        compare = {"==": actual == operand, "!=": actual != operand, "<": actual < operand, "<=": actual <= operand,
                   ">": actual > operand, ">=": actual >= operand, "before": actual < operand,
                   "on_or_before": actual <= operand, "after": actual > operand, "on_or_after": actual >= operand}
        return compare[op]
    if op in ("in", "not_in"):
        return (actual in operand) == (op == "in")
    if op in ("under", "not_under"):
        inside = any(actual.startswith(code_prefix(spec.tree, code)) for code in operand)
        return inside == (op == "under")
    if op == "has":
        return operand in actual
    if op == "lacks":
        return operand not in actual
    if op == "has_any":
        return bool(actual & set(operand))
    return set(operand) <= actual  # has_all


def operand_of(atom: Atom, parameters: Parameters, as_of: date) -> tuple[Any, str | None]:
    """The value an atom compares with on ``as_of``, and the legal basis when it is a parameter.
    (None, None) when no value of the parameter is in force that day."""
    if atom.param is None:
        return atom.value, None
    dated = parameters.on(atom.param, as_of)
    return (dated.value, dated.legal_basis) if dated else (None, None)


def test_atom(atom: Atom, spec: FactSpec, facts: Mapping[str, Any], parameters: Parameters, as_of: date) -> str:
    if atom.fact not in facts or facts[atom.fact] is None:
        return UNKNOWN
    operand, _ = operand_of(atom, parameters, as_of)
    if operand is None:
        return UNKNOWN
    return TRUE if _holds(spec, atom.op, facts[atom.fact], operand, as_of) else FALSE


def both(verdicts: list[str]) -> str:
    return FALSE if FALSE in verdicts else UNKNOWN if UNKNOWN in verdicts else TRUE


def either(verdicts: list[str]) -> str:
    return TRUE if TRUE in verdicts else UNKNOWN if UNKNOWN in verdicts else FALSE


def negate(verdict: str) -> str:
    return {TRUE: FALSE, FALSE: TRUE, UNKNOWN: UNKNOWN}[verdict]


def evaluate(tree: Node, facts: Mapping[str, Any], catalogue: FactCatalogue, parameters: Parameters,
             as_of: date) -> str:
    return map_atoms(tree, lambda a: test_atom(a, catalogue[a.fact], facts, parameters, as_of), both, either, negate)


# --- explanations --------------------------------------------------------------------------------
CODE_NODE_KINDS = {"division": "district", "industry": "industry"}  # a code tree → its graph nodes


def describe(atom: Atom, spec: FactSpec, operand: Any, names: Mapping[str, str] | None = None) -> str:
    """The atom in plain Chinese: 上年度营业收入 ≤ 40000 万元. ``names``: graph node names by id, so
    that codes read as places and industries (工商注册地 属于 武侯区)."""
    def show(value: Any) -> str:
        if isinstance(value, tuple | list | frozenset | set):
            return "、".join(show(v) for v in value)
        if spec.type == "code" and names:
            return names.get(f"{CODE_NODE_KINDS[spec.tree]}:{value}", str(value))
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, date):
            return value.isoformat()
        return str(value) + (spec.unit if spec.type == "number" and spec.unit else "")

    if operand is None:
        return f"{spec.label}（参数 {atom.param} 当日无有效值）"
    if atom.op == "is":
        if operand:
            return spec.label
        return ("没" if spec.label.startswith("有") else "未" if spec.label.startswith("列入") else "不") + spec.label
    if atom.op == "between":
        return f"{spec.label}介于 {show(operand[0])} 与 {show(operand[1])} 之间"
    if atom.op == "within_years":
        return f"{spec.label}在近 {show(operand)} 年内"
    if atom.op in ("has", "lacks"):
        return f"{OP_TEXT[atom.op]}{operand}"
    return f"{spec.label} {OP_TEXT[atom.op]} {show(operand)}"


NEGATED_OP = {"==": "!=", "!=": "==", "<": ">=", "<=": ">", ">": "<=", ">=": "<", "before": "on_or_after",
              "on_or_before": "after", "after": "on_or_before", "on_or_after": "before", "in": "not_in",
              "not_in": "in", "under": "not_under", "not_under": "under", "has": "lacks", "lacks": "has"}


def atom_in_words(atom: Atom, spec: FactSpec, operand: Any, negated: bool,
                  names: Mapping[str, str] | None = None) -> str:
    """The condition an atom really sets, in words: under a NOT, the opposite operator where there
    is one (不属于, 未列入), otherwise "不满足：…"."""
    if not negated:
        return describe(atom, spec, operand, names)
    if atom.op == "is":
        return describe(atom, spec, not operand, names)
    if atom.op in NEGATED_OP:
        return describe(Atom(atom.fact, NEGATED_OP[atom.op], atom.value, atom.param, atom.clause), spec, operand, names)
    return "不满足：" + describe(atom, spec, operand, names)


def conditions_in_words(tree: Node, catalogue: FactCatalogue, parameters: Parameters, as_of: date,
                        names: Mapping[str, str] | None = None) -> dict[str, Any]:
    """A condition tree for people: each group says whether all or one of its parts must hold,
    each atom reads as plain Chinese with its clause (negations pushed down, as in ``explain``)."""
    def words(node: Node, negated: bool) -> dict[str, Any]:
        if isinstance(node, Not):
            return words(node.child, not negated)
        if isinstance(node, Atom):
            operand, basis = operand_of(node, parameters, as_of)
            return {"text": atom_in_words(node, catalogue[node.fact], operand, negated, names), "fact": node.fact,
                    "clause": node.clause, "legal_basis": basis}
        every = isinstance(node, All) != negated
        return {"text": "同时满足以下条件" if every else "满足以下条件之一", "all": every,
                "parts": [words(child, negated) for child in node.children]}

    return words(tree, False)


@dataclass
class AtomOutcome:
    fact: str
    label: str
    text: str  # the condition in plain Chinese
    status: str  # true / false / unknown
    actual: Any  # the value tested, None when unknown
    clause: str | None
    legal_basis: str | None  # of a dated parameter
    authoritative: bool

    def to_json(self) -> dict[str, Any]:
        actual = sorted(self.actual) if isinstance(self.actual, frozenset) else self.actual
        return {"fact": self.fact, "label": self.label, "text": self.text, "status": self.status,
                "actual": actual.isoformat() if isinstance(actual, date) else actual, "clause": self.clause,
                "legal_basis": self.legal_basis, "authoritative": self.authoritative}


@dataclass
class Explanation:
    verdict: str
    atoms: list[AtomOutcome]
    to_supply: list[dict[str, str]] = field(default_factory=list)  # when unknown: what to ask for

    @property
    def failed(self) -> list[AtomOutcome]:
        return [a for a in self.atoms if a.status == FALSE]

    def to_json(self) -> dict[str, Any]:
        return {"verdict": self.verdict, "atoms": [a.to_json() for a in self.atoms], "to_supply": self.to_supply}



def explain(tree: Node, facts: Mapping[str, Any], catalogue: FactCatalogue, parameters: Parameters,
            as_of: date, names: Mapping[str, str] | None = None) -> Explanation:
    """The verdict and every atom as it counts: an atom under a NOT is shown as the condition it
    really sets (不属于…, 未列入…) with that condition's outcome, so "failed" means failed."""
    outcomes: list[AtomOutcome] = []
    relevant: list[str] = []  # unknown facts that could still change the verdict

    def walk(node: Node, negated: bool) -> str:
        if isinstance(node, Atom):
            spec = catalogue[node.fact]
            operand, basis = operand_of(node, parameters, as_of)
            status = test_atom(node, spec, facts, parameters, as_of)
            if negated:
                status = negate(status)
            text = atom_in_words(node, spec, operand, negated, names)
            outcomes.append(AtomOutcome(node.fact, spec.label, text, status, facts.get(node.fact), node.clause, basis,
                                        spec.authoritative))
            return status
        if isinstance(node, Not):
            return walk(node.child, not negated)
        results = [walk(child, negated) for child in node.children]
        # under an odd number of NOTs an ALL counts as an ANY and the other way round
        return (both if isinstance(node, All) != negated else either)(results)

    verdict = walk(tree, False)  # the same logic as evaluate(), seen from the citizen's side
    if verdict == UNKNOWN:
        relevant = _deciding_unknowns(tree, facts, catalogue, parameters, as_of)
    supply = [{"fact": key, "label": catalogue[key].label, "ask": catalogue[key].ask or f"请补充：{catalogue[key].label}"}
              for key in dict.fromkeys(relevant) if key not in facts]
    return Explanation(verdict, outcomes, supply)


def _deciding_unknowns(node: Node, facts: Mapping[str, Any], catalogue: FactCatalogue, parameters: Parameters,
                       as_of: date) -> list[str]:
    """The unknown facts inside unknown subtrees: supplying any of them may decide the verdict;
    an unknown beside a branch that already holds (or already fails an ALL) cannot."""
    if evaluate(node, facts, catalogue, parameters, as_of) != UNKNOWN:
        return []
    if isinstance(node, Atom):
        return [node.fact]
    children = [node.child] if isinstance(node, Not) else list(node.children)
    return [key for child in children for key in _deciding_unknowns(child, facts, catalogue, parameters, as_of)]


# --- many enterprises at once ------------------------------------------------------------------
@dataclass
class Column:
    """One fact over all enterprises. bool: int8 (-1 unknown); number: float64 (NaN unknown);
    date: int32 days since 1970 (``NO_DATE`` unknown); enum: int16 index into the fact's values
    (-1 unknown); code: int32 index into ``dictionary`` (-1 unknown); set: uint64 bits over the
    fact's values with ``known``."""

    values: np.ndarray
    dictionary: list[str] | None = None
    known: np.ndarray | None = None


class FactColumns:
    """Facts of ``size`` enterprises in columns; a fact without a column is unknown everywhere."""

    def __init__(self, catalogue: FactCatalogue, size: int) -> None:
        self.catalogue = catalogue
        self.size = size
        self.columns: dict[str, Column] = {}

    @classmethod
    def from_records(cls, catalogue: FactCatalogue, records: list[Mapping[str, Any]]) -> FactColumns:
        """Columns from per-enterprise fact dicts (values already in each fact's type)."""
        table = cls(catalogue, len(records))
        keys = {k for r in records for k in r if k in catalogue}
        for key in keys:
            spec = catalogue[key]
            raw = [r.get(key) for r in records]
            if spec.type == "bool":
                table.columns[key] = Column(np.array([-1 if v is None else int(v) for v in raw], np.int8))
            elif spec.type == "number":
                table.columns[key] = Column(np.array([np.nan if v is None else v for v in raw], np.float64))
            elif spec.type == "date":
                table.columns[key] = Column(np.array([NO_DATE if v is None else (v - EPOCH).days for v in raw], np.int32))
            elif spec.type == "enum":
                index = {v: n for n, v in enumerate(spec.values)}
                table.columns[key] = Column(np.array([-1 if v is None else index[v] for v in raw], np.int16))
            elif spec.type == "code":
                dictionary = sorted({v for v in raw if v is not None})
                index = {v: n for n, v in enumerate(dictionary)}
                table.columns[key] = Column(np.array([-1 if v is None else index[v] for v in raw], np.int32), dictionary)
            else:
                bits = {v: 1 << n for n, v in enumerate(spec.values)}
                table.columns[key] = Column(
                    np.array([sum(bits[x] for x in v) if v is not None else 0 for v in raw], np.uint64),
                    known=np.array([v is not None for v in raw]))
        return table

    def record(self, row: int) -> dict[str, Any]:
        """One enterprise's known facts, back in their types (for explanations and tests)."""
        facts: dict[str, Any] = {}
        for key, column in self.columns.items():
            spec, value = self.catalogue[key], column.values[row]
            if spec.type == "bool" and value >= 0:
                facts[key] = bool(value)
            elif spec.type == "number" and not np.isnan(value):
                facts[key] = float(value)
            elif spec.type == "date" and value != NO_DATE:
                facts[key] = EPOCH + timedelta(days=int(value))
            elif spec.type == "enum" and value >= 0:
                facts[key] = spec.values[value]
            elif spec.type == "code" and value >= 0:
                facts[key] = column.dictionary[value]  # type: ignore[index]
            elif spec.type == "set" and column.known[row]:  # type: ignore[index]
                facts[key] = frozenset(v for n, v in enumerate(spec.values) if int(value) >> n & 1)
        return facts


class BatchEvaluator:
    def __init__(self, table: FactColumns, parameters: Parameters, as_of: date) -> None:
        self.table = table
        self.parameters = parameters
        self.as_of = as_of
        self.atoms_computed = 0

    def atom(self, atom: Atom) -> tuple[np.ndarray, np.ndarray]:
        """(certainly true, certainly false) over all enterprises."""
        self.atoms_computed += 1
        size, spec = self.table.size, self.table.catalogue[atom.fact]
        column = self.table.columns.get(atom.fact)
        operand, _ = operand_of(atom, self.parameters, self.as_of)
        if column is None or operand is None:
            nothing = np.zeros(size, bool)
            return nothing, nothing
        v, op = column.values, atom.op
        if spec.type == "bool":
            return v == int(bool(operand)), v == int(not operand)
        if spec.type in ("number", "date"):
            known = ~np.isnan(v) if spec.type == "number" else v != NO_DATE
            if spec.type == "date" and op == "between":
                operand = (_days(operand[0]), _days(operand[1]))
            elif spec.type == "date" and op != "within_years":
                operand = _days(operand)
            if op == "within_years":
                holds = (v >= _days(years_before(self.as_of, operand))) & (v <= _days(self.as_of))
            elif op == "between":
                holds = (v >= operand[0]) & (v <= operand[1])
            else:
                holds = {"==": np.equal, "!=": np.not_equal, "<": np.less, "<=": np.less_equal, ">": np.greater,
                         ">=": np.greater_equal, "before": np.less, "on_or_before": np.less_equal,
                         "after": np.greater, "on_or_after": np.greater_equal}[op](v, operand)
            return holds & known, ~holds & known
        if spec.type == "enum":
            known = v >= 0
            holds = np.isin(v, [spec.values.index(x) for x in operand])
            holds = holds if op == "in" else ~holds
            return holds & known, ~holds & known
        if spec.type == "code":
            # decided once per distinct code, then looked up; index -1 (unknown) reads the sentinel
            per_code = [_holds(spec, op, code, operand, self.as_of) for code in column.dictionary or []]
            truth = np.array([*per_code, False])
            falsity = np.array([not t for t in per_code] + [False])
            return truth[v], falsity[v]
        bits = {x: np.uint64(1 << n) for n, x in enumerate(spec.values)}
        wanted = np.uint64(sum(int(bits[x]) for x in ([operand] if isinstance(operand, str) else operand)))
        hit = v & wanted
        holds = {"has": hit != 0, "has_any": hit != 0, "has_all": hit == wanted, "lacks": hit == 0}[op]
        return holds & column.known, ~holds & column.known

    def evaluate(self, items: Mapping[str, Node]) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
        """(item, certainly true, certainly false) for each item, each distinct atom computed once
        and dropped once the last item that uses it is done."""
        remaining = Counter(key for tree in items.values() for key in {a.key for a in atoms_of(tree)})
        cache: dict[str, tuple[np.ndarray, np.ndarray]] = {}

        def visit(atom: Atom) -> tuple[np.ndarray, np.ndarray]:
            if atom.key not in cache:
                cache[atom.key] = self.atom(atom)
            return cache[atom.key]

        for item_id, tree in items.items():
            truth, falsity = map_atoms(tree, visit, _all, _any, lambda tf: (tf[1], tf[0]))
            yield item_id, truth, falsity
            for key in {a.key for a in atoms_of(tree)}:
                remaining[key] -= 1
                if remaining[key] == 0:
                    cache.pop(key, None)

    def counts(self, items: Mapping[str, Node]) -> dict[str, dict[str, int]]:
        result = {}
        for item_id, truth, falsity in self.evaluate(items):
            t, f = int(np.count_nonzero(truth)), int(np.count_nonzero(falsity))
            result[item_id] = {TRUE: t, FALSE: f, UNKNOWN: self.table.size - t - f}
        return result


def _days(day: date) -> int:
    return (day - EPOCH).days


def _all(parts: Iterable[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    parts = list(parts)
    truth, falsity = parts[0][0].copy(), parts[0][1].copy()
    for t, f in parts[1:]:
        truth &= t
        falsity |= f
    return truth, falsity


def _any(parts: Iterable[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    parts = list(parts)
    truth, falsity = parts[0][0].copy(), parts[0][1].copy()
    for t, f in parts[1:]:
        truth |= t
        falsity &= f
    return truth, falsity


def verdicts(truth: np.ndarray, falsity: np.ndarray) -> np.ndarray:
    """Per enterprise: ``true`` / ``false`` / ``unknown`` as strings (for tests and small tables)."""
    return np.where(truth, TRUE, np.where(falsity, FALSE, UNKNOWN))

