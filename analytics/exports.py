"""Exports: tables to XLSX bytes (more formats join this module later).

Every text cell passes through neutralize, so a name like `=HYPERLINK(...)` or `+86…` stays text
in Excel and in any CSV someone saves from the workbook later.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import re
import unicodedata

import pandas as pd
import xlsxwriter

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
SHEET_NAME_MAX = 31
SHEET_NAME_BAD = re.compile(r"[\[\]:*?/\\]")
MIN_WIDTH, MAX_WIDTH = 6, 60
DATE_FORMAT, DATETIME_FORMAT = "yyyy-mm-dd", "yyyy-mm-dd hh:mm:ss"


def neutralize(text: str) -> str:
    """Text that no spreadsheet reads as a formula: a leading ' is prepended when it starts with = + - @ (or tab, CR).

    The apostrophe is kept as a visible character of the text (the OWASP CSV-injection advice), so
    the cell shows '=1+1 and a CSV saved from the workbook cannot turn it back into a formula.
    """
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def display_width(text: str) -> int:
    """Columns a text needs in a monospace view: wide (CJK, full-width) characters count 2."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def sheet_names(names: list[str]) -> list[str]:
    """Valid, unique (case-insensitively) Excel sheet names of at most 31 characters, in order."""
    out: list[str] = []
    taken: set[str] = set()
    for raw in names:
        base = SHEET_NAME_BAD.sub("_", str(raw)).strip("'").strip() or "Sheet"
        name, n = base[:SHEET_NAME_MAX], 1
        while name.lower() in taken or name.lower() == "history":
            n += 1
            suffix = f"({n})"
            name = base[: SHEET_NAME_MAX - len(suffix)] + suffix
        taken.add(name.lower())
        out.append(name)
    return out


def _cell(value: object) -> object:
    """A value xlsxwriter writes as the right type: None for missing, 是/否 for yes/no, neutralized text."""
    if value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, bool):
        return "是" if value else "否"  # the template's yes/no, as offices write it
    if isinstance(value, int | float | dt.date | dt.time):
        return value
    if value is pd.NA:
        return None
    return neutralize(value if isinstance(value, str) else str(value))


def _column_format(series: pd.Series) -> str | None:
    """Number format of a column: dates, date-times, whole numbers or up to two decimals."""
    if pd.api.types.is_datetime64_any_dtype(series):
        times = series.dropna()
        return DATETIME_FORMAT if (times != times.dt.normalize()).any() else DATE_FORMAT
    if pd.api.types.is_float_dtype(series):
        values = series.dropna()
        return "0" if (values == values.round()).all() else "0.0#"
    return None


def _width(header: str, values: list[object], number_format: str | None) -> int:
    """Column width fitted to the header and the widest shown value."""
    if number_format in (DATE_FORMAT, DATETIME_FORMAT):
        widest = len(number_format)
    else:
        shown = (f"{v:.2f}" if isinstance(v, float) else str(v) for v in values if v is not None)
        widest = max((display_width(s) for s in shown), default=0)
    return min(max(display_width(header), widest, MIN_WIDTH) + 2, MAX_WIDTH)


def _write_sheet(book: xlsxwriter.Workbook, name: str, frame: pd.DataFrame, header_format) -> None:
    sheet = book.add_worksheet(name)
    headers = [neutralize(str(c)) for c in frame.columns]
    sheet.write_row(0, 0, headers, header_format)
    for col, (header, column) in enumerate(zip(headers, frame.columns, strict=True)):
        series = frame[column]
        values = [_cell(v) for v in series.astype(object).tolist()]
        number_format = _column_format(series)
        cell_format = book.add_format({"num_format": number_format}) if number_format else None
        sheet.write_column(1, col, values, cell_format)
        sheet.set_column(col, col, _width(header, values, number_format))
    sheet.freeze_panes(1, 0)
    if len(frame.columns):
        sheet.autofilter(0, 0, max(len(frame), 1), len(frame.columns) - 1)


def xlsx_bytes(sheets: dict[str, pd.DataFrame]) -> bytes:
    """An XLSX workbook with one sheet per table: bold frozen header, fitted widths, text never a formula."""
    buffer = io.BytesIO()
    options = {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False, "remove_timezone": True}
    with xlsxwriter.Workbook(buffer, options) as book:
        header_format = book.add_format({"bold": True, "bg_color": "#F2DCDB", "border": 1})
        for name, frame in zip(sheet_names(list(sheets)), sheets.values(), strict=True):
            _write_sheet(book, name, frame, header_format)
        if not sheets:
            book.add_worksheet("Sheet1")
    return buffer.getvalue()
