"""The typed fact catalogue (事实目录): every enterprise fact a condition may test, with its type,
unit, source and whether that source is authoritative. It drives validation of condition trees
and of loaded facts, and the console's condition editor.

Types: ``bool``, ``number`` (with a unit), ``date``, ``enum`` (one of a fixed list), ``code``
(a code in a tree, e.g. GB/T 4754 industry codes, where ``C`` contains ``C34`` contains
``C3411``), ``set`` (several of a fixed list, e.g. qualifications held). A fact that is absent
is unknown: never zero, never false.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal

from yaml_files import read_yaml

FactType = Literal["bool", "number", "date", "enum", "code", "set"]
FACT_TYPES: tuple[str, ...] = ("bool", "number", "date", "enum", "code", "set")
CATALOGUE_FILE = Path(__file__).with_name("fact_catalogue.yaml")
UNITS = {"元": ("money", 1.0), "万元": ("money", 1e4), "亿元": ("money", 1e8)}  # convertible units
CODE_PATTERNS = {"industry": r"[A-T](\d{2}(\d{1,2})?)?", "division": r"\d{6}"}
CODE_NAMES = {"industry": "GB/T 4754 industry code (C, C34, C341 or C3411)", "division": "six-digit division code"}
_TRUE, _FALSE = {"true", "1", "是", "yes", "y"}, {"false", "0", "否", "no", "n"}


class FactError(ValueError):
    """A value that does not fit its fact (wrong type, unit, or not one of the allowed values)."""


@dataclass(frozen=True)
class FactSpec:
    key: str
    label: str  # Chinese label shown to staff and in explanations
    type: FactType
    unit: str = ""  # numbers: the unit values are stored in (元, 人, …)
    values: tuple[str, ...] = ()  # enum and set: the allowed values
    source: str = ""  # where it comes from (登记信息, 税务, 企业自报, …)
    authoritative: bool = False  # from an authoritative government source, not self-declared
    ask: str = ""  # how the mini-program asks the enterprise for it when unknown
    tree: Literal["", "industry", "division"] = ""  # code facts: which code tree

    def coerce(self, raw: Any, unit: str | None = None) -> Any:
        """A loaded value in this fact's type and unit; ``FactError`` saying why not."""
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            raise FactError(f"{self.key}: empty value (leave the fact out: it is unknown)")
        if self.type == "bool":
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text in _TRUE or text in _FALSE:
                return text in _TRUE
            raise FactError(f"{self.key}: {raw!r} is not true/false")
        if self.type == "number":
            if isinstance(raw, bool):
                raise FactError(f"{self.key}: {raw!r} is not a number")
            try:
                number = float(str(raw).replace(",", "")) if not isinstance(raw, int | float) else float(raw)
            except ValueError:
                raise FactError(f"{self.key}: {raw!r} is not a number") from None
            if not math.isfinite(number):
                raise FactError(f"{self.key}: {raw!r} is not a finite number")
            given = unit or self.unit
            if given != self.unit:
                source, target = UNITS.get(given), UNITS.get(self.unit)
                if source is None or target is None or source[0] != target[0]:
                    raise FactError(f"{self.key}: unit {given!r} cannot be converted to {self.unit!r}")
                number = number * source[1] / target[1]
            return number
        if self.type == "date":
            if isinstance(raw, date):
                return raw
            try:
                return date.fromisoformat(str(raw).strip()[:10])
            except ValueError:
                raise FactError(f"{self.key}: {raw!r} is not a date (YYYY-MM-DD)") from None
        if self.type == "enum":
            text = str(raw).strip()
            if text not in self.values:
                raise FactError(f"{self.key}: {text!r} is not one of {', '.join(self.values)}")
            return text
        if self.type == "code":
            text = str(raw).strip().upper()
            if not re.fullmatch(CODE_PATTERNS[self.tree], text):
                raise FactError(f"{self.key}: {raw!r} is not a {CODE_NAMES[self.tree]}")
            return text
        items = raw if isinstance(raw, list | tuple | set | frozenset) else re.split(r"[;；,，、]", str(raw))
        chosen = frozenset(str(v).strip() for v in items if str(v).strip())
        unknown = sorted(chosen - set(self.values))
        if unknown:
            raise FactError(f"{self.key}: {', '.join(unknown)} not among {', '.join(self.values)}")
        return chosen


def code_prefix(tree: str, code: str) -> str:
    """What every code under ``code`` starts with: an industry code itself; a division code
    without its trailing zero pairs (510100, Chengdu, → 5101)."""
    if tree == "division":
        while code.endswith("00") and len(code) > 2:
            code = code[:-2]
    return code


@dataclass
class FactCatalogue:
    facts: dict[str, FactSpec] = field(default_factory=dict)

    def __getitem__(self, key: str) -> FactSpec:
        return self.facts[key]

    def __contains__(self, key: object) -> bool:
        return key in self.facts

    def to_json(self) -> list[dict[str, Any]]:
        return [{"key": f.key, "label": f.label, "type": f.type, "unit": f.unit, "values": list(f.values),
                 "source": f.source, "authoritative": f.authoritative, "ask": f.ask, "tree": f.tree}
                for f in self.facts.values()]

    @classmethod
    def load(cls, path: Path = CATALOGUE_FILE) -> FactCatalogue:
        entries = read_yaml(path)
        facts: dict[str, FactSpec] = {}
        for n, entry in enumerate(entries, 1):
            spec = FactSpec(key=entry["key"], label=entry["label"], type=entry["type"], unit=entry.get("unit", ""),
                            values=tuple(entry.get("values", ())), source=entry.get("source", ""),
                            authoritative=bool(entry.get("authoritative", False)), ask=entry.get("ask", ""),
                            tree=entry.get("tree", ""))
            if spec.type not in FACT_TYPES:
                raise ValueError(f"{path} entry {n}: unknown type {spec.type!r}")
            if (spec.type == "code") != bool(spec.tree) or spec.tree not in ("", *CODE_PATTERNS):
                raise ValueError(f"{path} entry {n}: code facts, and only they, name a tree (industry or division)")
            if spec.type in ("enum", "set") and not spec.values:
                raise ValueError(f"{path} entry {n}: {spec.type} fact {spec.key} lists no values")
            if spec.key in facts:
                raise ValueError(f"{path} entry {n}: duplicate fact {spec.key}")
            facts[spec.key] = spec
        return cls(facts)
