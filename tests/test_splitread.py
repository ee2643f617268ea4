"""A big sheet read in two parts at once (xlsxsplit.py, splitread.py) gives exactly what one read of it gives.

Each case writes a real workbook, reads it with the split threshold lowered to 0 (so small sheets are split) and
again with splitting off, and compares the sheets as read and the ingest reports. Cases where the join would be in
doubt must fall back to reading the sheet whole, and still give the same."""

from __future__ import annotations

import datetime as dt
import io
import logging
import os
import re
import zipfile

import pytest
import xlsxwriter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics import workbook, xlsxsplit
from analytics.ingest import ingest_bytes
from tests.test_ingest_speed_paths import HEADERS, TITLE, TODAY, _assert_same, _row, _with_sheet_xml, _write

ROWS = 120  # data rows; the cut at half the XML falls near data row 60


def _sheet_rows(rows: int, plant: dict, blank: range) -> dict:
    """(row, col) -> value of a quarterly sheet: title, header, `rows` rows; plant maps (row, header) -> a value."""
    cells = {(0, 0): TITLE} | {(1, j): header for j, header in enumerate(HEADERS)}
    for i in range(rows):
        if i not in blank:
            cells |= {(2 + i, j): plant.get((i, HEADERS[j]), v) for j, v in enumerate(_row(i + 1))}
    return cells


def _book(plant: dict | None = None, *, blank: range = range(0), first_col: int = 0, extra: dict | None = None,
          merges: tuple = (), sheets: tuple = ("季度报表",), headers: list | None = None) -> bytes:  # fmt: skip
    """An xlsx of quarterly sheets of ROWS rows each; extra maps (row, col) -> a value, merges are ranges."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_numbers": False, "strings_to_formulas": False})
    date = book.add_format({"num_format": "yyyy-mm-dd"})
    for name in sheets:
        sheet = book.add_worksheet(name)
        cells = _sheet_rows(ROWS, plant or {}, blank)
        if headers:
            cells |= {(1, j): header for j, header in enumerate(headers)}
        for (r, c), value in cells.items():
            _write(sheet, r, first_col + c, value, date)
        for (r, c), value in (extra or {}).items():
            _write(sheet, r, c, value, date)
        for r1, c1, r2, c2 in merges:
            sheet.merge_range(r1, c1, r2, c2, cells.get((r1, c1), ""))
    book.close()
    return buffer.getvalue()


def _split_and_whole(data: bytes, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, share=0.5):
    """(the sheets read with every sheet split, the sheets read whole, what the split reads logged)."""
    monkeypatch.setattr(workbook, "_cores", lambda: 2)
    monkeypatch.setattr(workbook, "TYPED_MIN_BYTES", 0)  # number columns read as numbers, as in big sheets
    monkeypatch.setattr(xlsxsplit, "FIRST_SHARE", share)
    monkeypatch.setattr(xlsxsplit, "SPLIT_MIN_BYTES", 0)
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="analytics.splitread"):
        split = workbook._excel_sheets(data, 10**6)
    messages = list(caplog.messages)
    assert all(s.head is None or s.first_row > 0 for s in split)
    monkeypatch.setattr(xlsxsplit, "SPLIT_MIN_BYTES", 1 << 60)
    return split, workbook._excel_sheets(data, 10**6), messages


def _assert_same_sheets(split: list, whole: list) -> None:
    assert [s.name for s in split] == [s.name for s in whole]
    for a, b in zip(split, whole, strict=True):
        for attr in ("first_col", "visible", "merged", "notes", "first_row", "head"):
            assert getattr(a, attr) == getattr(b, attr), attr
        assert a.table.schema == b.table.schema
        assert a.table.equals(b.table)


def _check(data: bytes, monkeypatch, caplog, share=0.5) -> str:
    """Assert the split read gives the sheets and report of the whole read; returns "split" or "whole"."""
    split, whole, messages = _split_and_whole(data, monkeypatch, caplog, share)
    _assert_same_sheets(split, whole)
    monkeypatch.setattr(xlsxsplit, "SPLIT_MIN_BYTES", 0)
    report = ingest_bytes(data, "q.xlsx", today=TODAY)
    monkeypatch.setattr(xlsxsplit, "SPLIT_MIN_BYTES", 1 << 60)
    whole_report = ingest_bytes(data, "q.xlsx", today=TODAY)
    if report.records is None or whole_report.records is None:  # no quarterly table found
        assert report == whole_report
    else:
        _assert_same(report, whole_report)
    assert messages
    return "whole" if any("read whole" in m for m in messages) else "split"


def _move_row(number: int, after: int):
    """A change of the sheet XML: row `number` moved (numbers unchanged) to just after row `after`."""

    def change(xml: bytes) -> bytes:
        found = re.search(rb'<row r="%d"[^>]*>.*?</row>' % number, xml)
        xml = xml[: found.start()] + xml[found.end() :]
        place = re.search(rb'<row r="%d"[^>]*>.*?</row>' % after, xml).end()
        return xml[:place] + found.group(0) + xml[place:]

    return change


def _unnumbered(from_row: int):
    """A change of the sheet XML: rows from `from_row` on lose their numbers (cells keep theirs)."""
    return lambda xml: re.sub(rb'<row r="(\d+)"', lambda m: m[0] if int(m[1]) < from_row else b"<row", xml)


def _prefixed(xml: bytes) -> bytes:
    """The sheet XML with its elements in the x: namespace prefix, as some exporters write it."""
    names = rb"worksheet|sheetData|row|c|v|is|t|f|dimension|sheetViews|sheetView|sheetFormatPr|pageMargins|cols|col"
    xml = re.sub(rb"<(/?)(" + names + rb")(?=[\s>/])", rb"<\1x:\2", xml)
    return xml.replace(b'<x:worksheet xmlns="', b'<x:worksheet xmlns:x="', 1)


SECOND_PART = range(80, ROWS)
CASES = {
    "plain": (_book(), "split"),
    "text in a number column of the second part": (_book({(90, "党员总数"): "3次"}), "split"),
    "text in a number column of the first part": (_book({(10, "正式党员数"): "约5人"}), "split"),
    "text in the date column of the second part": (_book({(90, "本届选举日期"): "2023年3月"}), "split"),
    "a date cell in a number column of the second part": (_book({(90, "支委会次数"): dt.datetime(2023, 1, 1)}), "split"),
    "a number column empty in the second part": (_book({(i, "党小组会次数"): None for i in range(50, ROWS)}), "split"),
    "a number column empty in the first part": (_book({(i, "入党积极分子数"): None for i in range(70)}), "split"),
    "error cells in the second part": (_book({(90, "党课次数"): ("error", "#DIV/0!"), (95, "单位名称"): ("error", "#N/A")}), "split"),
    "TRUE in a number column of the second part": (_book({(90, "党员大会次数"): ("bool", True)}), "split"),
    "empty text cells in a number column of the second part": (_book({(90 + k, "党课次数"): ("text", "") for k in range(5)}), "split"),
    "only NA text in a number column of the second part": (
        _book({(i, "组织生活会次数"): None for i in range(50, ROWS)} | {(90, "组织生活会次数"): ("text", "NA")}), "whole"),
    "a cell left of the table far below": (_book(first_col=1, extra={(200, 0): "注：说明"}), "split"),
    "an extra column in the second part only": (_book(extra={(100, 40): "备注"}), "split"),
    "blank rows at the cut": (_book(blank=range(40, 75)), "split"),
    "merged cells across the cut": (_book(merges=((50, 0, 70, 0), (0, 0, 0, 32)), extra={}), "split"),
    "a row of the first part moved into the second": (_with_sheet_xml(_book(), _move_row(12, 100)), "whole"),
    "a row of the second part moved into the first": (_with_sheet_xml(_book(), _move_row(100, 12)), "whole"),
    "rows without numbers from the first part on": (_with_sheet_xml(_book(), _unnumbered(30)), "whole"),
    "rows without numbers after the cut": (_with_sheet_xml(_book(), _unnumbered(100)), "split"),
    "elements with a namespace prefix": (_with_sheet_xml(_book(), _prefixed), "split"),
    "two big sheets": (_book(sheets=("一", "二")), "split"),
    "a sheet without template headers": (_book(headers=[f"列{j}" for j in range(33)]), "split"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(CASES))
def test_a_sheet_read_in_two_parts_gives_what_one_read_gives(case: str, monkeypatch, caplog):
    data, expected = CASES[case]
    assert _check(data, monkeypatch, caplog) == expected


# At 99 % of the XML no row tag follows: the sheet is read whole
@pytest.mark.parametrize(("share", "expected"), [(0.01, "split"), (0.2, "split"), (0.6, "split"), (0.99, "whole")])
def test_any_cut_position_gives_what_one_read_gives(share: float, expected: str, monkeypatch, caplog):
    data = _book({(90, "党员总数"): "3次", (5, "本届选举日期"): "2023年3月"}, blank=range(40, 50))
    assert _check(data, monkeypatch, caplog, share) == expected


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    plant=st.dictionaries(
        st.tuples(st.integers(0, ROWS - 1), st.sampled_from(HEADERS[4:])),
        st.one_of(
            st.none(),
            st.floats(allow_nan=False, allow_infinity=False),
            st.sampled_from(["", "-", "NA", "3次", "合计", ("bool", True), ("error", "#N/A"), dt.datetime(2023, 1, 1)]),
        ),
        max_size=10,
    ),
    share=st.floats(0.01, 0.99),
)
def test_any_cells_read_in_two_parts_give_what_one_read_gives(plant: dict, share: float, monkeypatch, caplog):
    plant = {k: ("text", v) if isinstance(v, str) else v for k, v in plant.items()}
    _check(_book(plant), monkeypatch, caplog, share)


def test_one_core_reads_whole(monkeypatch, caplog):
    monkeypatch.setattr(xlsxsplit, "SPLIT_MIN_BYTES", 0)
    monkeypatch.setattr(workbook, "_cores", lambda: 1)
    with caplog.at_level(logging.DEBUG, logger="analytics.splitread"):
        workbook._excel_sheets(_book(), 10**6)
    assert not caplog.messages


def _package(fd: int) -> bytes:
    try:
        return os.pread(fd, 1 << 30, 0)
    finally:
        os.close(fd)


def test_the_two_packages_are_sound_and_their_rows_make_up_the_sheet(monkeypatch):
    monkeypatch.setattr(xlsxsplit, "FIRST_SHARE", 0.5)
    data = _book()
    path = xlsxsplit.big_sheets(data, 0)["季度报表"]
    cut = xlsxsplit.SheetCut(data, path)
    first, last_row = cut.first()
    packages = [_package(first), _package(cut.second())]
    parts = []
    for package in packages:
        with zipfile.ZipFile(io.BytesIO(package)) as z:
            assert z.testzip() is None  # every CRC matches
            parts.append(z.read(path))
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        xml = z.read(path)
    prefix = xml[: xml.index(b"<sheetData>") + len(b"<sheetData>")]
    closing = b"</sheetData></worksheet>"
    assert parts[0].endswith(closing) and parts[1].startswith(prefix)
    assert parts[0][: -len(closing)] + parts[1][len(prefix) :] == xml
    assert parts[1][len(prefix) :].startswith(b'<row r="%d"' % (last_row + 1))
    assert cut.scan().merged == [] and cut.scan().odd_columns == frozenset()


def test_an_entry_not_of_its_stated_size_is_not_cut():
    body = io.BytesIO()
    with zipfile.ZipFile(body, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("x", b"<row/>" * 10_000)
    with zipfile.ZipFile(body) as z:
        info = z.getinfo("x")
    raw = xlsxsplit._body(memoryview(body.getvalue()), info)
    assert len(b"".join(xlsxsplit._inflated(raw, zipfile.ZIP_DEFLATED, 60_000))) == 60_000
    for size in (59_999, 60_001):
        with pytest.raises(ValueError):
            b"".join(xlsxsplit._inflated(raw, zipfile.ZIP_DEFLATED, size))
