"""A big xlsx sheet read as two parts at once and joined into the table a read of the whole sheet gives.

The parts are two packages from xlsxsplit, read by fastexcel in two threads (calamine releases the GIL). The join
must give exactly what one read of the whole sheet gives, which fastexcel decides per column from every cell of it:
a column typed differently in the two parts is brought to the type of the whole read only where that is certain
(see _aligned), and anything else in doubt (rows out of order, a part that fails) ends in None: read it whole.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import fastexcel
import pyarrow as pa
import pyarrow.compute as pc

from analytics.values import cell_text
from analytics.xlsxparts import PartScan, scan_parts
from analytics.xlsxsplit import SheetCut

log = logging.getLogger(__name__)
# Cells fastexcel counts as empty when it guesses a column's type (its NULL_STRING_VALUES)
_NULL_TEXT = frozenset(
    ["", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN", "<NA>", "N/A", "NA",
     "NULL", "NaN", "None", "n/a", "nan", "null"]
)  # fmt: skip
Fits = Callable[[int, int], bool]  # (total height, width) -> within the read limits


@dataclass(frozen=True)
class CellError:
    """A cell fastexcel could not give in its column's type: (row, column) in the table, and why."""

    offset_position: tuple[int, int]
    detail: str


@dataclass
class Loaded:
    """A sheet as fastexcel loads it: the table, its cell errors, and the used range it came from."""

    table: pa.Table
    errors: list[CellError]
    total_height: int  # rows from sheet row 1 to the last used one, skipped rows included
    width: int
    first_col: int  # sheet column (A = 0) of the table's first column
    visible: bool

    @classmethod
    def of(cls, sheet: fastexcel.ExcelSheet) -> Loaded:
        """The table and errors of a loaded sheet (converted to Arrow here)."""
        columns = sheet.available_columns()
        batch, errors = sheet.to_arrow_with_errors()
        found = [CellError(e.offset_position, e.detail) for e in (errors.errors if errors else [])]
        first = columns[0].absolute_index if columns else 0
        return cls(
            pa.Table.from_batches([batch]), found, sheet.total_height, sheet.width, first, sheet.visible == "visible"
        )


class SplitSheet:
    """One big sheet read from the two packages of a SheetCut, both at once; load() gives None when only a read of
    the whole sheet is sure to give the same table."""

    def __init__(self, data: bytes, name: str, path: str):
        self._data, self._name, self._path = data, name, path
        self._readers: tuple[fastexcel.ExcelReader, fastexcel.ExcelReader] | None = None
        self._last_row = 0  # the last sheet row (1-based) the first package may hold
        self._scan: PartScan | None = None
        self._failed = False

    def load(self, fits: Fits, *, skip_rows: int, **options) -> Loaded | None:
        """The sheet as reader.load_sheet(name, header_row=None, skip_rows=skip_rows, **options) and to_arrow give
        it; None when a part fails, exceeds `fits` or the join is in doubt."""
        if self._failed:
            return None
        try:
            first, second = self._parts(fits, skip_rows, options)
            joined = None
            if first is not None and second is not None:
                joined = joined_parts(first, second, self._last_row, skip_rows, self.scan.odd_columns)
        except Exception as exc:  # the read of the whole sheet says what is wrong with it
            log.debug("split read of %s failed: %r", self._name, exc)
            joined = None
        if joined is None:
            log.debug("split read of %s: read whole", self._name)
            self._failed = True
            self.close()
        else:
            log.debug("split read of %s at row %d", self._name, self._last_row)
        return joined

    @property
    def scan(self) -> PartScan:
        """Merged ranges and odd columns of the sheet: from the XML inflated for the cut when it got that far."""
        if self._scan is None:
            self._scan = scan_parts(self._data).get(self._name, PartScan())
        return self._scan

    def close(self) -> None:
        """Let go of the packages (their memory files close with their readers)."""
        self._readers = None

    def _parts(self, fits: Fits, skip_rows: int, options: dict) -> tuple[Loaded | None, Loaded | None]:
        """Both parts loaded in two threads: the first from `skip_rows`, the second from row 1, to show that it holds
        nothing above the cut."""

        def load(reader: fastexcel.ExcelReader, skip: int) -> Loaded | None:
            sheet = reader.load_sheet(self._name, header_row=None, skip_rows=skip, **options)
            if sheet.width == 0 or not fits(sheet.total_height, sheet.width):
                return None
            return Loaded.of(sheet)

        if self._readers is None:
            cut = SheetCut(self._data, self._path)
            try:
                first, self._last_row = cut.first()
                self._readers = (_reader(first), _reader(cut.second()))
                self._scan = cut.scan()
            finally:
                cut.close()
        # Both reads start together: building the second package while the first is read gains nothing (bench/)
        with ThreadPoolExecutor(max_workers=1) as pool:
            first = pool.submit(load, self._readers[0], skip_rows)
            second = load(self._readers[1], 0)
            return first.result(), second


def _reader(fd: int) -> fastexcel.ExcelReader:
    """A reader of the package in memory file fd, which is closed here: the reader has opened it itself."""
    try:
        return fastexcel.read_excel(f"/proc/self/fd/{fd}")
    finally:
        os.close(fd)


def joined_parts(
    first: Loaded, second: Loaded, last_row: int, skip_rows: int, odd: frozenset[int] | None
) -> Loaded | None:
    """The sheet as one read gives it, from its rows up to last_row read from skip_rows on and the rest read from
    row 1 on; None when the parts overlap or a column cannot be brought to the type one read gives it."""
    if first.total_height > last_row or second.total_height <= last_row:
        return None  # rows out of order, or nothing after the cut
    if first.table.num_rows != first.total_height - skip_rows:
        return None
    if any(e.offset_position[0] < last_row for e in second.errors) or any(
        c.null_count != last_row for c in second.table.slice(0, last_row).columns
    ):
        return None  # the second package holds a row numbered before the cut
    start = min(first.first_col, second.first_col)
    stop = max(first.first_col + first.width, second.first_col + second.width)
    gap = last_row - first.total_height  # empty rows between the last row of the first part and the cut
    first_errors = {e.offset_position[1] for e in first.errors}
    second_errors = {e.offset_position[1] for e in second.errors}  # all below the cut, as checked above
    columns = []
    for col in range(start, stop):
        a, b = _column(first, col, first_errors), _column(second, col, second_errors, last_row)
        pair = _aligned(a, b, odd is not None and col not in odd)
        if pair is None:
            return None
        x, y = pair
        chunks = [*x.chunks, *([pa.nulls(gap, x.type)] if gap else []), *y.chunks]
        columns.append(pa.chunked_array(chunks, x.type))
    errors = [_moved(e, 0, first.first_col - start) for e in first.errors]
    errors += [_moved(e, skip_rows, second.first_col - start) for e in second.errors]
    # fastexcel declares a column without empty cells not null
    fields = [pa.field(f"__UNNAMED__{j}", c.type, nullable=c.null_count > 0) for j, c in enumerate(columns)]
    table = pa.Table.from_arrays(columns, schema=pa.schema(fields))
    return Loaded(table, errors, second.total_height, stop - start, start, first.visible)


@dataclass
class _Part:
    """One part's cells of one column, and whether fastexcel reported cell errors in them."""

    cells: pa.ChunkedArray
    errors: bool


def _column(part: Loaded, col: int, errors: set[int], from_row: int = 0) -> _Part:
    """The part's cells of sheet column col from table row from_row on; nulls where the part has no such column."""
    j = col - part.first_col
    if not 0 <= j < part.width:
        return _Part(pa.chunked_array([pa.nulls(part.table.num_rows - from_row, pa.string())]), False)
    return _Part(part.table.column(j).slice(from_row), j in errors)


def _moved(error: CellError, rows_up: int, cols_right: int) -> CellError:
    row, col = error.offset_position
    return CellError((row - rows_up, col + cols_right), error.detail)


def _aligned(a: _Part, b: _Part, plain: bool) -> tuple[pa.ChunkedArray, pa.ChunkedArray] | None:
    """Both parts of a column in the type fastexcel gives the whole column, where that is certain; None otherwise.

    fastexcel types a column by the kinds of all its cells: one kind gives its type, numbers and booleans give
    float64, numbers with text or dates give text; empty cells and text such as NA count for nothing."""
    x, y = a.cells, b.cells
    if x.type == y.type:
        return x, y
    if _empty(a):
        return pa.chunked_array([pa.nulls(len(x), y.type)]), y
    if _empty(b):
        return x, pa.chunked_array([pa.nulls(len(y), x.type)])
    for p, q, swap in ((a, b, False), (b, a, True)):
        got = _to_type_of(p, q, plain)
        if got is not None:
            return (q.cells, got) if swap else (got, q.cells)
    return None


def _to_type_of(p: _Part, q: _Part, plain: bool) -> pa.ChunkedArray | None:
    """p's cells in q's type when the whole column is of q's type and p's cells convert exactly; else None."""
    if p.errors:
        return None  # its error cells would be reported differently in the other type
    if not (pa.types.is_string(q.cells.type) and plain and _has_text(q.cells)):
        return None
    if pa.types.is_float64(p.cells.type):
        return _texts(p.cells)
    if pa.types.is_timestamp(p.cells.type) and _whole_seconds(p.cells):
        return _texts(p.cells)
    return None


def _empty(part: _Part) -> bool:
    return part.cells.null_count == len(part.cells) and not part.errors


def _has_text(cells: pa.ChunkedArray) -> bool:
    """True when a cell holds text fastexcel does not count as empty: the whole column is then read as text."""
    present = pc.drop_null(cells)
    return bool(len(present)) and not pc.all(pc.is_in(present, pa.array(sorted(_NULL_TEXT)))).as_py()


_YEARS_MS = (-30_610_224_000_000, 253_402_300_800_000)  # 1000-01-01 and 10000-01-01: four-digit years


def _whole_seconds(cells: pa.ChunkedArray) -> bool:
    """True for date cells of whole seconds in years 1000-9999, whose text cell_text gives as fastexcel does."""
    ms = pc.drop_null(pc.cast(pc.cast(cells, pa.timestamp("ms")), pa.int64())).to_numpy()
    return bool(((ms % 1000 == 0) & (ms >= _YEARS_MS[0]) & (ms < _YEARS_MS[1])).all())


def _texts(cells: pa.ChunkedArray) -> pa.ChunkedArray:
    """Number or date cells as the text a text read of them gives."""
    values = cells.to_pylist()
    return pa.chunked_array([pa.array([None if v is None else cell_text(v) for v in values], pa.string())])
