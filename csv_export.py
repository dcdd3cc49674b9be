"""The one CSV writer for every export staff open in Excel (the analytics tables, the 免申即享 list).

- UTF-8 with a byte-order mark: Excel reads the file as UTF-8 (and so the Chinese correctly) only
  when it starts with one.
- CSV injection (OWASP): a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
  return — also after leading whitespace, which Excel skips — would be run by Excel as a formula
  (``=HYPERLINK(…)`` a citizen typed as a search, ``@SUM(…)`` in a clause). Such a cell is written
  with a leading apostrophe, which Excel shows as text. Numbers are written as they are: ``-3`` is
  a number, not a formula, and stays one.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """``value`` as it may go into a cell: None as empty, a text that Excel would take for a
    formula behind an apostrophe, anything else unchanged."""
    if value is None:
        return ""
    if isinstance(value, str) and (value.startswith(FORMULA_START) or value.lstrip().startswith(FORMULA_START)):
        return "'" + value
    return value


def to_csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """The header and rows as an Excel-ready CSV file (UTF-8 with BOM, every cell made safe)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([safe_cell(v) for v in header])
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")
