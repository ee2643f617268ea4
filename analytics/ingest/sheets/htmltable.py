"""The tables of an HTML page saved as .xls (a "假 xls", as many web systems export), as rows of text cells."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

_MAX_SPAN = 1000  # a colspan/rowspan beyond this is a broken or hostile page, not a report
MAX_COLUMNS = 16_384  # Excel's own limit; a row of a million cells is not a report
_MAX_ROWS = 1_000_000  # rows kept per table; more only mark the table as cut


@dataclass
class HtmlTable:
    """Rows of cells (None where a span covers the cell) and the spans as merged ranges (0-based, inclusive)."""

    rows: list[list[str | None]] = field(default_factory=list)
    merged: list[tuple[int, int, int, int]] = field(default_factory=list)
    covered_to: dict[int, int] = field(default_factory=dict)  # column -> last row a span above covers
    cut: bool = False  # more rows or columns than are kept


class _Tables(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[HtmlTable] = []
        self._cell: list[str] | None = None
        self._depth = 0  # nested tables are read as text of their cell

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._depth += 1
            if self._depth == 1:
                self.tables.append(HtmlTable())
        elif self._depth != 1 or not self.tables:
            return
        elif tag == "tr":
            table = self.tables[-1]
            table.cut |= len(table.rows) >= _MAX_ROWS
            if not table.cut:
                table.rows.append([])
        elif tag in ("td", "th"):
            self._start_cell(dict(attrs))
        elif tag == "br" and self._cell is not None:
            self._cell.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._depth = max(self._depth - 1, 0)
        elif tag in ("td", "th") and self._depth == 1 and self._cell is not None:
            table = self.tables[-1]
            row = table.rows[-1]
            row[self._col] = "".join(self._cell).strip() or None
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)

    def _start_cell(self, attrs: dict[str, str | None]) -> None:
        table = self.tables[-1]
        if not table.rows:
            table.rows.append([])
        r, row = len(table.rows) - 1, table.rows[-1]
        col = len(row)
        while table.covered_to.get(col, -1) >= r:
            col += 1
        width, height = _span(attrs.get("colspan")), _span(attrs.get("rowspan"))
        if table.cut or col + width > MAX_COLUMNS:
            table.cut = True
            return
        row.extend([None] * (col + width - len(row)))
        for j in range(col, col + width):
            table.covered_to[j] = r + height - 1
        if width > 1 or height > 1:
            table.merged.append((r, col, r + height - 1, col + width - 1))
        self._cell, self._col = [], col


def _span(value: str | None) -> int:
    try:
        return min(max(int(value or 1), 1), _MAX_SPAN)
    except ValueError:
        return 1


def html_tables(text: str) -> list[HtmlTable]:
    """Every top-level <table> of the page, in order."""
    parser = _Tables()
    parser.feed(text)
    parser.close()
    return [t for t in parser.tables if t.rows]
