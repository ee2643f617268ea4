"""A sheet as read from an uploaded file: the cells as an Arrow table, where they sit, and what else was seen."""

from __future__ import annotations

from dataclasses import dataclass, field

import fastexcel
import pyarrow as pa


@dataclass
class RawSheet:
    """One sheet as read: column j of the table is Excel column first_col + j, row i is Excel row first_row + i + 1.

    Cells are text, except template number columns of a big xlsx sheet, which may be read as numbers (typedread.py);
    such a table starts at the first data row and `head` holds the rows above and around the header as text.
    """

    name: str
    table: pa.Table
    first_col: int = 0
    visible: bool = True
    # Merged ranges as 0-based absolute (first_row, first_col, last_row, last_col)
    merged: list[tuple[int, int, int, int]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # warnings about how the sheet was read
    first_row: int = 0
    head: list[list[str | None]] | None = None

    @property
    def height(self) -> int:
        """Number of rows; row i (0-based) is Excel row i + 1."""
        return self.first_row + self.table.num_rows

    def head_rows(self, n: int) -> list[list[str | None]]:
        """The first n rows as Python lists of text, for header detection."""
        if self.head is not None:
            return self.head[:n]
        head = self.table.slice(0, n).to_pydict()
        return [list(row) for row in zip(*head.values(), strict=True)] if head else []

    def rows_from(self, row: int) -> pa.Table:
        """The table from 0-based sheet row `row` on (never before first_row)."""
        return self.table.slice(row - self.first_row)


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
