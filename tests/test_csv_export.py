"""The one CSV writer: Excel-ready (UTF-8 with BOM) and safe from CSV injection."""

from __future__ import annotations

import csv
import io

import pytest

from csv_export import to_csv


def read_back(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")  # Excel reads UTF-8 only after a BOM
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


@pytest.mark.parametrize("cell, written", [
    ('=HYPERLINK("http://x","点我")', '\'=HYPERLINK("http://x","点我")'),
    ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"),
    ("-2+3", "'-2+3"),
    ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
    ("\t=1+1", "'\t=1+1"),
    ("\r=1+1", "'\r=1+1"),
    ("   =1+1", "'   =1+1"),  # Excel skips the leading spaces
    ("\u3000@SUM(1)", "'\u3000@SUM(1)"),
    ("社保卡补办", "社保卡补办"),
    ("a=b", "a=b"),
    ("SQ20261122000001", "SQ20261122000001"),
    ("", ""),
])
def test_cells_excel_would_run_as_formulas_are_written_as_text(cell, written):
    rows = read_back(to_csv(["值"], [[cell]]))
    assert rows == [["值"], [written]]


def test_numbers_and_empty_cells():
    rows = read_back(to_csv(["日期", "次数", "比例", "备注"], [["2026-12-04", 3, -0.5, None]]))
    assert rows == [["日期", "次数", "比例", "备注"], ["2026-12-04", "3", "-0.5", ""]]


def test_the_header_is_made_safe_too_and_quotes_survive():
    rows = read_back(to_csv(["=A1", "名称"], [["含,逗号", '含"引号']]))
    assert rows == [["'=A1", "名称"], ["含,逗号", '含"引号']]
