"""Arbitrary cell values through the real ingest path (xlsx, CSV, HTML "xls"): ingestion never raises, every
problem says where it is, and every record it accepts keeps the template's rules (SPEC §3.2)."""

from __future__ import annotations

import csv
import html
import io
import math
import os
import zipfile

import pandas as pd
import pytest
import xlsxwriter
import xlwt
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics.ingest.records import ingest_bytes
from analytics.template import load_template

pytestmark = pytest.mark.slow  # generated workbooks by the hundred: `make test` runs them, `make test-fast` does not

TEMPLATE = load_template()
TITLE = "2024年第一季度区直机关基层党组织建设情况统计表"
# What offices really type, next to arbitrary text and numbers
MESSY = ["", " ", "-", "—", "/", "**", "未填", "无", "#N/A", "#DIV/0!", "#VALUE!", "85%", "0.85", "1,200", "3次", "１２",
         "是", "否", "√", "×", "2023-03-15", "2023年3月15日", "45000", "9999-12-31", "合计", "注：", "1e308", "-0", "NaN"]  # fmt: skip

cell = st.one_of(
    st.none(),
    st.sampled_from(MESSY),
    st.text(max_size=12),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=True, allow_infinity=True),
)


def _key(choices: list[str]) -> st.SearchStrategy:
    """Mostly plausible values, so that some rows are accepted and their rules can be checked."""
    return st.one_of(st.sampled_from(choices), st.sampled_from(choices), cell)


def _column(name: str) -> st.SearchStrategy:
    col = TEMPLATE.column(name)
    if col.choices:
        return _key(list(col.choices))
    if col.name in ("system", "unit"):
        return _key(["教育系统", "政法系统"] if col.name == "system" else ["区教育局", "区法院"])
    if col.name == "org_name":
        return _key([f"第{i}党支部" for i in range(1, 6)])
    return st.one_of(cell, st.integers(0, 40))


@st.composite
def tables(draw) -> tuple[list[str], list[tuple]]:
    """Headers (the four required columns and any others, in any order) and 1–6 rows of cells."""
    optional = [c for c in TEMPLATE.columns if not c.required]
    chosen = draw(st.lists(st.sampled_from(optional), unique=True, max_size=len(optional)))
    columns = draw(st.permutations([c for c in TEMPLATE.columns if c.required] + chosen))
    data = draw(st.lists(st.tuples(*[_column(c.name) for c in columns]), min_size=1, max_size=6))
    return [c.header for c in columns], data


def _text(value) -> str:
    if value is None:
        return ""
    return repr(value) if isinstance(value, float) and not math.isfinite(value) else str(value)


def _lines(table: tuple[list[str], list[tuple]]) -> list[list]:
    headers, data = table
    return [[TITLE], headers, *data]


def xlsx(table: tuple[list[str], list[tuple]]) -> bytes:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_numbers": False, "strings_to_formulas": False})
    sheet = book.add_worksheet("季度报表")
    for r, line in enumerate(_lines(table)):
        for c, value in enumerate(line):
            if isinstance(value, int | float) and math.isfinite(value):
                sheet.write_number(r, c, value)
            elif value is not None:
                sheet.write_string(r, c, _text(value))
    book.close()
    return buffer.getvalue()


def xls(table: tuple[list[str], list[tuple]]) -> bytes:
    book = xlwt.Workbook()
    sheet = book.add_sheet("季度报表")
    for r, line in enumerate(_lines(table)):
        for c, value in enumerate(line):
            number = isinstance(value, int | float) and math.isfinite(value) and abs(value) < 1e300
            sheet.write(r, c, value if number else _text(value))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def csv_text(table: tuple[list[str], list[tuple]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows([[_text(v) for v in line] for line in _lines(table)])
    return buffer.getvalue()


def html_page(table: tuple[list[str], list[tuple]]) -> bytes:
    cells = [[_text(v) for v in line] for line in _lines(table)]
    body = "".join("<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in line) + "</tr>" for line in cells)
    return f"<html><body><table>{body}</table></body></html>".encode()


def check(report) -> None:
    """Problems locate themselves; accepted records keep every rule of the template."""
    for p in report.problems:
        assert p.message and p.severity in ("error", "warning")
        if p.row is not None:
            assert p.sheet and p.column, p
    records = report.records
    if records is None or records.empty:
        return
    for col in TEMPLATE.columns:
        values = records[col.name].dropna()
        if col.required:
            assert records[col.name].notna().all(), col.name
        if col.choices:
            assert values.isin(col.choices).all(), (col.name, values.tolist())
        if col.type in ("int", "number", "rate"):
            assert values.map(math.isfinite).all(), col.name
        if col.min is not None and col.type in ("int", "number", "rate"):
            assert (values >= col.min).all(), (col.name, values.tolist())
        if col.max is not None:
            assert (values <= col.max).all(), (col.name, values.tolist())
        if col.type == "rate":
            assert values.between(0, 100).all(), col.name
    _assert_not_above(records, "members_full", "members_total")
    _assert_not_above(records, "issues_fixed", "issues_found")


def _assert_not_above(records: pd.DataFrame, part: str, whole: str) -> None:
    both = records[[part, whole]].dropna()
    assert (both[part] <= both[whole]).all(), both


# FUZZ_EXAMPLES=2000 for a deeper run; the default keeps this file under a minute
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "40"))
FUZZ = settings(
    max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)


@FUZZ
@given(tables())
def test_any_cells_in_an_xlsx_are_reported_never_raised(table):
    check(ingest_bytes(xlsx(table), "fuzz.xlsx"))


@settings(FUZZ, max_examples=EXAMPLES // 2)
@given(tables())
def test_any_cells_in_an_xls_are_reported_never_raised(table):
    check(ingest_bytes(xls(table), "fuzz.xls"))


@FUZZ
@given(tables(), st.sampled_from(["utf-8", "utf-8-sig", "gb18030"]))
def test_any_cells_in_a_csv_are_reported_never_raised(table, encoding: str):
    check(ingest_bytes(csv_text(table).encode(encoding, errors="replace"), "fuzz.csv"))


@settings(FUZZ, max_examples=EXAMPLES // 2)
@given(tables())
def test_any_cells_in_an_html_xls_are_reported_never_raised(table):
    check(ingest_bytes(html_page(table), "fuzz.xls"))


@settings(FUZZ, max_examples=EXAMPLES * 3 // 2)
@given(st.binary(max_size=600), st.sampled_from(["f.xlsx", "f.xls", "f.csv", "f.ods"]))
def test_any_bytes_are_reported_never_raised(data: bytes, name: str):
    check(ingest_bytes(data, name))


def _stored(book: bytes) -> bytes:
    """The same package without compression, so that flipped bytes land in the XML rather than a CRC error."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(book)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as target:
        for name in source.namelist():
            target.writestr(name, source.read(name))
    return out.getvalue()


_VALID = (
    [c.header for c in TEMPLATE.columns[:8]],
    [("教育系统", "区教育局", "第1党支部", "党支部", 10, 8, 2, "是")],
)
DAMAGED_BASES = {".xlsx": _stored(xlsx(_VALID)), ".xls": xls(_VALID)}


@FUZZ
@given(
    st.sampled_from(sorted(DAMAGED_BASES)),
    st.lists(st.tuples(st.integers(0, 1 << 20), st.integers(0, 255)), min_size=1, max_size=8),
)
def test_a_damaged_workbook_is_reported_never_raised(suffix: str, flips: list[tuple[int, int]]):
    data = bytearray(DAMAGED_BASES[suffix])
    for position, byte in flips:
        data[position % len(data)] = byte
    check(ingest_bytes(bytes(data), f"damaged{suffix}"))
