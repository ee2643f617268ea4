"""The fast paths of ingest give what the plain paths give: number cells read as numbers (ingest/sheets/typedread.py) yield the
same records and problems as the same cells read as text, and number -> text matches fastexcel's own text read."""

from __future__ import annotations

import datetime as dt
import io
import math
import re
import unicodedata
import zipfile

import fastexcel
import numpy as np
import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest
import xlsxwriter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics.ingest import values
from analytics.ingest.records import ingest_bytes
from analytics.ingest.sheets import merges, workbook, xlsxparts
from analytics.template import load_template

# Slow: big sheets read both ways. `make test` runs them, `make test-fast` does not
pytestmark = pytest.mark.slow

TODAY = dt.date(2025, 1, 15)
TEMPLATE = load_template()
HEADERS = [c.header for c in TEMPLATE.columns]
TITLE = "2024年第一季度区直机关基层党组织建设情况统计表"


def _both_reads(numbers: list[float]) -> tuple[list[float], list[str]]:
    """The number cells of a real xlsx read by fastexcel as numbers and as text."""
    book = openpyxl.Workbook()
    for i, x in enumerate(numbers, start=1):
        book.active.cell(i, 1).value = x
    buffer = io.BytesIO()
    book.save(buffer)
    # openpyxl writes 16 significant digits; the shortest text that reads back as the same double may need 17
    shortest = iter(repr(float(x)).encode() for x in numbers)
    data = _with_sheet_xml(
        buffer.getvalue(), lambda xml: re.sub(rb"<v>[^<]*</v>", lambda m: b"<v>%s</v>" % next(shortest), xml)
    )
    reader = fastexcel.read_excel(data)
    read = [
        reader.load_sheet(0, header_row=None, skip_rows=0, dtypes=t).to_arrow().column(0) for t in ("float", "string")
    ]
    return read[0].to_pylist(), read[1].to_pylist()


# Ties at the tenth decimal (odd multiples of 2**-10), nines that round up, the largest and smallest magnitudes
AWKWARD = [0, -0.0, 3, 2.5, 0.1 + 0.2, 1 / 3, 2**-10, 3 * 2**-10, 5 * 2**-10, 1000 + 7 * 2**-10, 1e20, 2**53 + 2,
           123456789.1, 1e-10, 4.9e-10, 5e-10, 5.1e-10, 999999.9999999999, 1048576.000000001, 1e308, -1e-300, 85.3]  # fmt: skip


def test_number_text_matches_fastexcels_text_read_for_awkward_numbers():
    numbers, texts = _both_reads(AWKWARD)
    assert numbers == AWKWARD
    # Ties at the tenth decimal go to the even digit; nine decimals at most, trailing zeros cut
    assert texts[:9] == ["0", "-0", "3", "2.5", "0.3", "0.333333333", "0.000976562", "0.002929688", "0.004882812"]
    assert [values.cell_text(x) for x in numbers] == texts


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=1, max_size=40))
def test_number_text_matches_fastexcels_text_read(numbers: list[float]):
    read, texts = _both_reads(numbers)
    assert [values.cell_text(x) for x in read] == texts


@settings(max_examples=300, deadline=None)
@given(st.lists(st.floats(allow_nan=False, allow_infinity=False) | st.integers(-(2**60), 2**60), max_size=30))
def test_read_back_is_the_number_its_text_parses_to(numbers: list[float]):
    expected = [float(values.cell_text(float(x))) for x in numbers]
    assert values.read_back(np.array(numbers, dtype=np.float64)).tolist() == expected


def test_integers_print_all_their_digits():
    assert values.cell_text(np.int64(-42)) == "-42"
    assert values.cell_text(float(2**60)) == str(2**60)
    assert values.cell_text(1e20) == "100000000000000000000"


# --- a workbook read both ways -------------------------------------------------------------------------------


def _row(i: int) -> list:
    """A valid row: the four required columns, plain numbers, yes/no, a date cell."""
    row = []
    for col in TEMPLATE.columns:
        if col.name == "org_name":
            row.append(f"第{i}党支部")
        elif col.required:
            row.append({"system": "教育系统", "unit": "区教育局", "org_type": "党支部"}[col.name])
        elif col.type == "yesno":
            row.append("是")
        elif col.type == "date":
            row.append(dt.datetime(2022, 3, 1))
        elif col.choices:
            row.append(col.choices[0])
        elif col.type == "rate":
            row.append(round(40 + (i % 600) / 10, 1))
        elif col.name == "members_total":
            row.append(10 + i % 5)
        elif col.name in ("members_full", "members_probationary", "issues_found", "issues_fixed"):
            row.append({"members_full": 8 + i % 5, "members_probationary": 2}.get(col.name, 1))
        else:
            row.append(i % 4 if col.type == "int" else round(i * 1.25, 2))
    return row


def _book(rows: int, plant: dict, *, first_col: int = 0, blank_rows: int = 0, extra: dict | None = None) -> bytes:
    """A quarterly xlsx of `rows` rows; plant maps (row, header) -> a cell value or ("bool"/"error"/"text", v)."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_numbers": False, "strings_to_formulas": False})
    sheet = book.add_worksheet("季度报表")
    date = book.add_format({"num_format": "yyyy-mm-dd"})
    top = blank_rows
    sheet.write_string(top, first_col, TITLE)
    for j, header in enumerate(HEADERS):
        sheet.write_string(top + 1, first_col + j, header)
    for i in range(rows):
        r = top + 2 + i
        for j, value in enumerate(_row(i + 1)):
            value = plant.get((i, HEADERS[j]), value)
            _write(sheet, r, first_col + j, value, date)
    for (r, c), value in (extra or {}).items():
        _write(sheet, r, c, value, date)
    book.close()
    return buffer.getvalue()


def _write(sheet, r: int, c: int, value, date) -> None:
    kind, value = value if isinstance(value, tuple) else (None, value)
    if value is None and kind is None:
        return
    if kind == "bool":
        sheet.write_boolean(r, c, value)
    elif kind == "error":
        sheet.write_formula(r, c, "=1/0", None, value)
    elif kind == "text" or isinstance(value, str):
        sheet.write_string(r, c, value)
    elif isinstance(value, dt.datetime):
        sheet.write_datetime(r, c, value, date)
    else:
        sheet.write_number(r, c, value)


def _both_ways(data: bytes, monkeypatch: pytest.MonkeyPatch) -> tuple:
    """(report read with number columns as numbers, report read as text, whether the first was read typed)."""
    monkeypatch.setattr(workbook, "TYPED_MIN_BYTES", 0)
    typed = ingest_bytes(data, "q.xlsx", today=TODAY)
    took_typed = any(s.head is not None for s in workbook.read_sheets(data, "q.xlsx", 10**6))
    monkeypatch.setattr(workbook, "TYPED_MIN_BYTES", 1 << 60)
    assert all(s.head is None for s in workbook.read_sheets(data, "q.xlsx", 10**6))
    return typed, ingest_bytes(data, "q.xlsx", today=TODAY), took_typed


def _assert_same(a, b) -> None:
    assert a.problems == b.problems
    assert (a.quarter, a.sheets_read, a.rejected_rows, a.all_rows) == (
        b.quarter,
        b.sheets_read,
        b.rejected_rows,
        b.all_rows,
    )
    assert list(a.records.dtypes) == list(b.records.dtypes)
    pd.testing.assert_frame_equal(a.records, b.records, check_exact=True)


BAD_NUMBERS = {(3, "党员总数"): -3, (4, "支委会次数"): 2.5, (5, "三会一课线上录入率(%)"): 120.5, (6, "党员总数"): 2.0**53 + 2,
               (7, "正式党员数"): 99, (8, "党费应缴(元)"): -0.0, (9, "党费实缴(元)"): 1 + 3 * 2**-10}  # fmt: skip
CASES = {
    "plain": ({}, True),
    "bad numbers listed with their text": (BAD_NUMBERS, True),
    "empty text cells are missing": ({(3, "党课次数"): ("text", ""), (4, "党课次数"): None}, True),
    "a text cell makes its column text": ({(5, "党小组会次数"): "3次", (6, "党小组会次数"): "-3.0"}, True),
    "a rate column of fractions": ({(i, "学习强国参学率(%)"): 0.5 + i / 1000 for i in range(40)}, True),
    "TRUE in a text column": ({(3, "书记是否配备"): ("bool", True)}, True),
    "TRUE in a number column": ({(3, "党员大会次数"): ("bool", True)}, False),
    "an error cell in a number column": ({(4, "正式党员数"): ("error", "#DIV/0!")}, False),
    "error cells in a text column": (
        {(4, "书记是否配备"): ("error", "#N/A"), (5, "组织类型"): ("error", "#DIV/0!")},
        True,
    ),
    "NA in a number column": ({(4, "党课次数"): ("text", "NA")}, False),
    "nan in a number column": ({(4, "党课次数"): ("text", "nan")}, False),
    "a date cell in a number column": ({(4, "支委会次数"): dt.datetime(2023, 1, 1)}, True),
    "a date before 1921 listed as its text": ({(3, "本届选举日期"): dt.datetime(1900, 3, 1)}, True),
    "a date with a time of day": ({(3, "本届选举日期"): dt.datetime(2023, 3, 1, 10, 30)}, False),
    "text in the date column": ({(3, "本届选举日期"): "2023年3月"}, True),
    "total and note rows": ({(59, "所属系统"): "合计", (59, "单位名称"): None, (58, "所属系统"): "注：单位为人"}, True),
}


@pytest.mark.parametrize("case", list(CASES))
def test_number_columns_read_as_numbers_give_the_report_of_a_text_read(case: str, monkeypatch: pytest.MonkeyPatch):
    plant, typed_expected = CASES[case]
    typed, text, took_typed = _both_ways(_book(60, plant), monkeypatch)
    _assert_same(typed, text)
    assert took_typed == typed_expected


def test_a_table_with_blank_rows_above_and_an_offset_is_read_typed(monkeypatch: pytest.MonkeyPatch):
    typed, text, took_typed = _both_ways(_book(40, {(3, "党员总数"): -1}, first_col=2, blank_rows=3), monkeypatch)
    _assert_same(typed, text)
    assert took_typed and any(p.row == 9 and p.value == "-1" for p in typed.errors)


def test_a_cell_left_of_the_table_far_below_makes_it_a_text_read(monkeypatch: pytest.MonkeyPatch):
    data = _book(40, {}, first_col=1, extra={(80, 0): "注：说明"})
    typed, text, took_typed = _both_ways(data, monkeypatch)
    _assert_same(typed, text)
    assert not took_typed


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    plant=st.dictionaries(
        st.tuples(st.integers(0, 34), st.sampled_from(HEADERS[4:])),
        st.one_of(
            st.floats(allow_nan=False, allow_infinity=False),
            st.integers(-(10**6), 10**17),
            st.sampled_from(["", "-", "无", "3次", "1,200", "85%", " 7", "合计", "注：", "１２"]),
        ),
        max_size=12,
    )
)
def test_any_number_cells_give_the_report_of_a_text_read(plant: dict, monkeypatch: pytest.MonkeyPatch):
    plant = {k: ("text", v) if isinstance(v, str) else v for k, v in plant.items()}
    typed, text, _ = _both_ways(_book(35, plant), monkeypatch)
    _assert_same(typed, text)


# --- the parts of the package ----------------------------------------------------------------------------------


def _sheet_xml(package: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(package)) as z:
        return z.read("xl/worksheets/sheet1.xml")


def test_the_head_package_holds_the_first_rows_and_reads_the_same_cells():
    data = _book(200, {})
    package, names = xlsxparts.head_package(data, 30, 0)
    assert names == {"季度报表"}
    head = fastexcel.read_excel(package).load_sheet(0, header_row=None, skip_rows=0, dtypes="string").to_arrow()
    full = fastexcel.read_excel(data).load_sheet(0, header_row=None, skip_rows=0, dtypes="string").to_arrow()
    assert head.num_rows == 30 and head.to_pylist() == full.slice(0, 30).to_pylist()
    assert b'<row r="31"' not in _sheet_xml(package) and b'<row r="31"' in _sheet_xml(data)


def _with_sheet_xml(data: bytes, change) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            part = source.read(info)
            target.writestr(info.filename, change(part) if info.filename == "xl/worksheets/sheet1.xml" else part)
    return out.getvalue()


def test_rows_out_of_order_or_without_numbers_give_no_head_package():
    data = _book(50, {})
    repeated = _with_sheet_xml(data, lambda xml: xml.replace(b'<row r="5"', b'<row r="3"', 1))
    unnumbered = _with_sheet_xml(data, lambda xml: xml.replace(b'<row r="5"', b"<row", 1))
    assert xlsxparts.head_package(repeated, 30, 0) is None
    assert xlsxparts.head_package(unnumbered, 30, 0) is None
    assert xlsxparts.head_package(data, 30, 1 << 40) is None  # no sheet is big enough to be worth it


def test_a_row_moved_below_the_cut_is_caught_by_comparing_the_rows_both_reads_hold(monkeypatch: pytest.MonkeyPatch):
    # Row 5 renumbered 45: the cut copy ends before it, and rows 6-30 come after it, out of order
    data = _with_sheet_xml(_book(50, {}), lambda xml: xml.replace(b'<row r="5"', b'<row r="45"', 1))
    typed, text, took_typed = _both_ways(data, monkeypatch)
    _assert_same(typed, text)
    assert not took_typed


def test_boolean_cells_are_found_by_column():
    data = _book(20, {(3, "党员大会次数"): ("bool", True), (4, "书记是否配备"): ("bool", False)})
    scans = xlsxparts.scan_parts(data)
    columns = {HEADERS.index("党员大会次数"), HEADERS.index("书记是否配备")}
    assert scans["季度报表"].odd_columns == columns
    assert xlsxparts.scan_parts(_book(20, {}))["季度报表"].odd_columns == frozenset()


def _scanned(xml: bytes) -> tuple:
    scanner = xlsxparts.PartScanner()
    for at in range(0, len(xml), 1 << 20):
        scanner.feed(xml[at : at + (1 << 20)])
    return scanner.odd_columns(), scanner.tail()


def test_a_boolean_cell_without_a_reference_may_be_anywhere():
    assert _scanned(b'<row r="3"><c t="b"><v>1</v></c></row>')[0] is None
    assert _scanned(b'<t>say "b"</t><c r="B3" t="s"/>')[0] == frozenset()


def test_an_iso_date_cell_keeps_its_column_from_a_date_read(monkeypatch: pytest.MonkeyPatch):
    # t="d" holds the date as ISO text, which a text read shows as written and a date read would not
    date_col = merges.column_index("I")
    assert HEADERS[date_col] == "本届选举日期"
    iso = b'<c r="I5" t="d"><v>1900-03-01T00:00:00</v></c>'
    data = _with_sheet_xml(_book(40, {}), lambda xml: re.sub(rb'<c r="I5"[^>]*>.*?</c>', iso, xml, count=1))
    assert xlsxparts.scan_parts(data)["季度报表"].odd_columns == {date_col}
    typed, text, took_typed = _both_ways(data, monkeypatch)
    _assert_same(typed, text)
    assert not took_typed and any(p.value == "1900-03-01T00:00:00" for p in text.errors)


def test_the_part_is_scanned_in_blocks_with_no_tag_cut_in_two():
    filler = b'<row r="2"><c r="A2" s="1"><v>3</v></c></row>' * 60_000  # about 2.6 MB: three blocks
    xml = b"<sheetData>" + filler + b'<row r="9"><c r="AB9" t="b"><v>1</v></c></row></sheetData>'
    xml += b'<mergeCells count="1"><mergeCell ref="A3:A7"/></mergeCells>'
    booleans, tail = _scanned(xml)
    assert booleans == frozenset({27}) and tail.startswith(b"</sheetData>") and b'ref="A3:A7"' in tail
    assert _scanned(b'<sheetData><row r="1"/>')[1] is None  # no end of the data: merges are looked for everywhere


def test_merged_ranges_are_still_found():
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet("表")
    sheet.merge_range(2, 0, 5, 0, "教育系统")
    book.close()
    assert xlsxparts.scan_parts(buffer.getvalue())["表"].merged == [(2, 0, 5, 0)]


def test_read_back_leaves_plain_values_alone():
    numbers = np.array([0.0, 3.0, 85.3, 2452.42, -1.5, 1e15, math.nan])
    assert np.array_equal(values.read_back(numbers), numbers, equal_nan=True)


# --- column work done once per distinct value, and in Arrow ----------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(st.none(), st.sampled_from(["教育 系统", "ＡＢＣ", " x\u3000y ", "合计：", ""]), st.text()),
        max_size=60,
    )
)
def test_work_per_distinct_value_equals_work_per_cell(cells: list[str | None]):
    arrow = pa.chunked_array(
        [pa.array(cells[: len(cells) // 2], pa.string()), pa.array(cells[len(cells) // 2 :], pa.string())]
    )
    for fn in (values._display_text, lambda a: pc.match_substring_regex(a, "^合计")):
        kind = pa.bool_() if fn is not values._display_text else pa.string()
        assert (
            values.per_distinct(arrow, fn, kind).to_pylist()
            == pa.chunked_array([fn(c) for c in arrow.chunks], kind).to_pylist()
        )


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=8))
def test_invisible_characters_are_found_alike_by_python_and_arrow(text: str):
    found = pc.match_substring_regex(pa.array([text]), values.INVISIBLE_RE2)[0].as_py()
    assert found == bool(re.search(values.INVISIBLE, text))


def test_a_loaded_batch_keeps_the_file_order_and_every_value(tmp_path):
    from analytics.store import batches
    from analytics.store import database as store

    data = _book(30, {})
    report = ingest_bytes(data, "q.xlsx", today=TODAY)
    with store.connect(tmp_path / "t.duckdb") as con:
        batches.load_batch(con, report, data, "测试")
        stored = con.execute("SELECT * EXCLUDE (quarter, org_id, term_years, unit_name) FROM current_records").df()
        rows = con.execute("SELECT source_row FROM records ORDER BY rowid").fetchall()
    assert [r[0] for r in rows] == report.records["source_row"].tolist()  # inserted in file order
    expected = report.records.drop(columns=["source_sheet", "source_row", "system_key", "unit_key", "name_key"])
    stored = stored.set_index("org_name").loc[expected["org_name"]].reset_index()[list(expected.columns)]
    assert stored["members_total"].tolist() == expected["members_total"].tolist()
    assert stored["study_rate"].tolist() == expected["study_rate"].tolist()
    assert stored["system"].tolist() == expected["system"].tolist()


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        # Characters Python's Unicode tables (14.0 in 3.11) do not know yet are left out: Arrow's newer tables
        # normalize some of them (U+1E030 → а), Python leaves them as they are; no office types them
        st.one_of(
            st.none(),
            st.sampled_from(["", " ", "教育 系统", "Ａ\u3000Ｂ", " x\ty "]),
            st.text(st.characters(exclude_categories=("Cn", "Cs"))),
        ),
        max_size=40,
    )
)
def test_display_and_normalized_text_from_one_pass_equal_each_made_alone(cells: list[str | None]):
    arrow = pa.array(cells, pa.string())
    display, norm = values.text_forms(arrow)
    assert display.to_pylist() == values._display_text(arrow).to_pylist()
    assert norm.to_pylist() == values.normalized_arrow(arrow).to_pylist()
    assert norm.to_pylist() == [
        None
        if c is None or not "".join(unicodedata.normalize("NFKC", c).split())
        else "".join(unicodedata.normalize("NFKC", c).split())
        for c in cells
    ]


def test_the_fast_read_switch_reads_a_big_sheet_plainly_with_the_same_result(monkeypatch: pytest.MonkeyPatch):
    data = _book(3000, BAD_NUMBERS)  # above TYPED_MIN_BYTES of sheet XML: the typed read applies by default
    assert any(s.head is not None for s in workbook.read_sheets(data, "q.xlsx", 10**6))
    typed = ingest_bytes(data, "q.xlsx", today=TODAY)
    monkeypatch.setenv("DANGJIAN_FAST_READ", "0")
    assert all(s.head is None for s in workbook.read_sheets(data, "q.xlsx", 10**6))
    _assert_same(typed, ingest_bytes(data, "q.xlsx", today=TODAY))


def test_an_error_cell_in_wording_fastexcel_did_not_use_before_shows_as_an_error_value():
    from types import SimpleNamespace

    from analytics.ingest.sheets.typedread import with_error_values

    table = pa.table({"a": pa.array(["甲", None, None]), "b": pa.array([1.0, None, 3.0])})
    errors = [
        SimpleNamespace(offset_position=(1, 0), detail="Error(Div0)"),  # the pinned wording
        SimpleNamespace(offset_position=(2, 0), detail="a wording of some later version"),
        SimpleNamespace(offset_position=(1, 1), detail="Expected float but got 'String(\"\")'"),  # empty text: missing
    ]
    shown = with_error_values(table, errors)
    assert shown.column("a").to_pylist() == ["甲", "#DIV/0!", "#错误值"]
    assert shown.column("b").to_pylist() == [1.0, None, 3.0]
