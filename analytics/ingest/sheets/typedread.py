"""Big xlsx sheets read with a type per column: template number columns as numbers, everything else as text.

Turning two million number cells into text costs 0.4 s per 100,000 rows, and parsing that text back costs more
(bench/). The number columns of a big sheet are therefore read as numbers, but only where that gives exactly the
records and problems a text read gives: a column that holds any text cell is read as text by fastexcel itself,
and a sheet with anything a number read would change (TRUE/FALSE cells, error cells, NaN) is read as text again.
The header must be known before the read, so it is found in a copy of the package cut after the first rows
(xlsxparts.head_package); the rows of that copy that the full read also holds are compared cell by cell.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

import pyarrow as pa
import pyarrow.compute as pc

from analytics.ingest.header import HEADER_SCAN_ROWS, find_header
from analytics.ingest.sheets.rawsheet import CellError, Loaded, RawSheet
from analytics.ingest.values import cell_text
from analytics.template import load_template

TYPED_MIN_BYTES = 1 << 20  # sheet XML from which the typed read pays off: about 800 rows of 33 columns
NUMBER_TYPES = ("int", "number", "rate")
XLSX_COLUMNS = 16384
# fastexcel reports cells it could not type only as text (CellError.detail); the two patterns below match the
# pinned version's wording (constraints.txt). Changed wording stays safe (no match: the sheet is read as text, and an
# error cell shows as #错误值) and fails tests/test_ingest_speed_paths.py ("empty text cells", "error cells in a
# text column").
# An empty text cell reads as null either way: empty and "" are both missing, and a missing number is never listed
_EMPTY_TEXT = re.compile(r"^Expected (?:float|int|datetime) but got 'String\(\"\"\)'$")
_ERROR_TEXT = {
    "Div0": "#DIV/0!",
    "NA": "#N/A",
    "Name": "#NAME?",
    "Null": "#NULL!",
    "Num": "#NUM!",
    "Ref": "#REF!",
    "Value": "#VALUE!",
    "GettingData": "#GETTING_DATA",
}


def typed_table(
    load: Callable[..., Loaded], head: RawSheet, odd_columns: Callable[[], frozenset[int] | None]
) -> tuple[pa.Table, int, list[list]] | None:
    """(table from the first data row, that row, the head rows as a text read gives them), or None when only a text
    read gives the same cells. load(skip_rows=, dtypes=, schema_sample_rows=) loads the sheet."""
    rows = head.head_rows(HEADER_SCAN_ROWS)
    header = find_header(rows)
    template = load_template()
    fields = [(template.column(field).type, j) for field, (j, _) in (header.columns.items() if header else ())]
    numbers = {j for kind, j in fields if kind in NUMBER_TYPES}
    dates = {j for kind, j in fields if kind == "date"}
    if not numbers:
        return None
    # An all-empty number column is guessed as text, which is right; fastexcel would log a warning for each
    logging.getLogger("fastexcel.types.dtype").setLevel(logging.ERROR)
    # fastexcel keys dtypes by sheet column (A = 0); header columns count from the first used one
    dtypes = {c: "string" for c in range(XLSX_COLUMNS) if c - head.first_col not in numbers | dates}
    sheet = load(skip_rows=header.data_start, dtypes=dtypes, schema_sample_rows=None)
    if not sheet.visible or sheet.first_col != head.first_col:
        return None  # a cell left of the head, further down: its columns are numbered differently
    table, errors = sheet.table, sheet.errors
    typed = [j for j, f in enumerate(table.schema) if not pa.types.is_string(f.type)]
    if not typed or not _plain_cells(table, typed, numbers, dates, errors):
        return None
    odd = odd_columns()  # the part scan, done meanwhile in another thread
    if odd is None or odd & {head.first_col + j for j in typed}:
        return None
    table = with_error_values(table, errors)
    full_head = _padded(rows, table.num_columns, min(HEADER_SCAN_ROWS, sheet.total_height))
    if full_head is None or not _same_rows(full_head, table, header.data_start, typed):
        return None
    return table, header.data_start, full_head


def _plain_cells(
    table: pa.Table, typed: list[int], numbers: set[int], dates: set[int], errors: list[CellError]
) -> bool:
    """True when every column not read as text is a template number column of finite numbers or a template date
    column of whole days, with no cell that the typed read turned into null (an error cell, text such as NA)."""
    for j in typed:
        column = table.column(j)
        if j in numbers and (pa.types.is_float64(column.type) or pa.types.is_int64(column.type)):
            if pa.types.is_float64(column.type) and pc.all(pc.is_finite(column)).as_py() not in (True, None):
                return False
        elif not (j in dates and pa.types.is_timestamp(column.type) and _whole_days(column)):
            return False
    typed_set = set(typed)
    return not any(e.offset_position[1] in typed_set and not _EMPTY_TEXT.match(e.detail) for e in errors)


_DAY_MS = 86_400_000
_YEARS_MS = (-30_610_224_000_000, 253_402_300_800_000)  # 1000-01-01 and 10000-01-01: four-digit years


def _whole_days(column: pa.ChunkedArray) -> bool:
    """True for dates at midnight of years 1000-9999, whose text a date read can give back exactly."""
    ms = pc.cast(pc.cast(column, pa.timestamp("ms")), pa.int64()).to_numpy(zero_copy_only=False)
    ms = ms[~pc.is_null(column).to_numpy(zero_copy_only=False)]
    return bool(((ms % _DAY_MS == 0) & (ms >= _YEARS_MS[0]) & (ms < _YEARS_MS[1])).all())


def _padded(rows: list[list], width: int, height: int) -> list[list] | None:
    """The head rows as a text read of the whole sheet would give them: `height` rows of `width` cells."""
    if len(rows) > height or any(len(row) > width for row in rows):
        return None  # the cut copy holds cells the whole sheet does not: rows out of order
    return [[*row, *[None] * (width - len(row))] for row in rows] + [[None] * width] * (height - len(rows))


def _same_rows(head: list[list], table: pa.Table, data_start: int, typed: list[int]) -> bool:
    """True when the head rows from data_start on equal the first rows of the full read, cell for cell as text."""
    overlap = table.slice(0, max(len(head) - data_start, 0)).to_pylist()
    names = table.column_names
    typed_names = {names[j] for j in typed}
    for offset, row in enumerate(overlap):
        cells = [cell_text(row[n]) if n in typed_names and row[n] is not None else row[n] for n in names]
        text = [
            None if cell == "" and n in typed_names else cell
            for n, cell in zip(names, head[data_start + offset], strict=True)
        ]
        if cells != text:
            return False
    return len(overlap) == len(head) - data_start


def with_error_values(table: pa.Table, errors: list[CellError]) -> pa.Table:
    """Excel error cells (#DIV/0!, #VALUE! …) of text columns as the text Excel shows; fastexcel leaves them empty."""
    by_column: dict[int, dict[int, str]] = {}
    for error in errors:
        row, col = error.offset_position  # rows of the table, which may start below row 1
        if not pa.types.is_string(table.column(col).type) or _EMPTY_TEXT.match(error.detail):
            continue  # a typed column's empty text cell: missing either way
        kind = re.search(r"Error\((\w+)\)", error.detail)
        # Wording this version does not know still shows as an error value, never as a silently missing cell
        by_column.setdefault(col, {})[row] = _ERROR_TEXT.get(kind[1], f"#{kind[1].upper()}") if kind else "#错误值"
    for col, cells in by_column.items():
        values = table.column(col).to_pylist()
        for row, text in cells.items():
            values[row] = text
        table = table.set_column(col, table.column_names[col], pa.array(values, pa.string()))
    return table
