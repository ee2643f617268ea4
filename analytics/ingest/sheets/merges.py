"""Merged cell ranges of a workbook, read with real parsers in every format (SPEC §3.1.1): python-calamine for .xls,
the OpenDocument XML for .ods, and for .xlsx the part of the sheet XML after its cells, parsed as XML.

A range is 0-based and absolute: (first_row, first_col, last_row, last_col). ingest.py copies the top cell of a
vertical merge of the 系统 / 单位 columns down into the rows it covers.
"""

from __future__ import annotations

import io
import logging
import re
import xml.etree.ElementTree as ET
import xml.parsers.expat
import zipfile
from collections.abc import Iterator
from typing import IO

import python_calamine

log = logging.getLogger(__name__)
Range = tuple[int, int, int, int]
ODS_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"
_TABLE = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
_CELL_REF = re.compile(r"^\$?([A-Z]{1,3})\$?(\d{1,7})$")
MAX_RANGES = 100_000  # a sheet with more merged ranges than this is not a quarterly table; the rest are ignored


def xls_ranges(data: bytes) -> dict[str, list[Range]]:
    """Merged ranges per sheet of a legacy .xls (calamine reads them with the workbook)."""
    try:
        book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
        found = {}
        for name in book.sheet_names:
            ranges = book.get_sheet_by_name(name).merged_cell_ranges or []
            found[name] = [(r1, c1, r2, c2) for (r1, c1), (r2, c2) in ranges[:MAX_RANGES]]
        return found
    except Exception as exc:  # the cell read (fastexcel) reports what is wrong with the file
        log.warning("merged ranges of an .xls not read: %s", exc)
        return {}


def is_ods(package: zipfile.ZipFile) -> bool:
    """True for an OpenDocument spreadsheet package."""
    try:
        return package.read("mimetype").strip() == ODS_MIMETYPE
    except KeyError:
        return "content.xml" in package.namelist() and "xl/workbook.xml" not in package.namelist()


def ods_ranges(package: zipfile.ZipFile) -> dict[str, list[Range]]:
    """Merged ranges per table of an .ods: cells with table:number-rows-spanned / -columns-spanned, placed by
    counting rows and cells with their repeat counts."""
    found: dict[str, list[Range]] = {}
    try:
        with package.open("content.xml") as content:
            for name, merged in _ods_tables(content):
                found[name] = merged
    except (KeyError, ET.ParseError, zipfile.BadZipFile, OSError, ValueError) as exc:
        log.warning("merged ranges of an .ods not read: %s", exc)
    return found


def _ods_tables(content: IO[bytes]) -> Iterator[tuple[str, list[Range]]]:
    name, merged, row, col = "", [], 0, 0
    for event, element in ET.iterparse(content, events=("start", "end")):
        tag = element.tag
        if tag == f"{_TABLE}table":
            if event == "start":
                name, merged, row = element.get(f"{_TABLE}name", ""), [], 0
            else:
                yield name, merged
                element.clear()
        elif tag == f"{_TABLE}table-row":
            if event == "start":
                col = 0
            else:
                row += _count(element, "number-rows-repeated")
                element.clear()  # a row's cells are placed: keep no tree of a big sheet
        elif tag in (f"{_TABLE}table-cell", f"{_TABLE}covered-table-cell") and event == "start":
            rows, cols = _count(element, "number-rows-spanned"), _count(element, "number-columns-spanned")
            if (rows > 1 or cols > 1) and len(merged) < MAX_RANGES:
                merged.append((row, col, row + rows - 1, col + cols - 1))
            col += _count(element, "number-columns-repeated")


def _count(element: ET.Element, attribute: str) -> int:
    """A table: count attribute (repeat or span), 1 when absent or unreadable."""
    try:
        return max(int(element.get(f"{_TABLE}{attribute}", "1")), 1)
    except ValueError:
        return 1


def xlsx_ranges(head: bytes, tail: bytes | None, part: IO[bytes] | None = None) -> list[Range]:
    """Merged ranges of an xlsx sheet part: its mergeCells follow the cells, so the root element's start tag (in
    head) and the XML from the end of sheetData on (tail) make a small document; without them the whole part is
    parsed (an unusual part)."""
    opening = _root_opening(head)
    if tail is not None and opening is not None:
        try:
            rest = tail[tail.index(b">") + 1 :]  # after the </sheetData> end tag, whatever its prefix
            return _ref_ranges(ET.fromstring(opening + rest).iter())
        except (ValueError, ET.ParseError) as exc:
            log.warning("merged ranges from the end of a sheet not read, parsing the whole part: %s", exc)
    if part is None:
        return []
    try:
        return _ref_ranges(element for _, element in ET.iterparse(part, events=("end",)))
    except ET.ParseError as exc:
        log.warning("merged ranges of a sheet not read: %s", exc)
        return []


def _root_opening(head: bytes) -> bytes | None:
    """The XML from the document's start to the end of the root element's start tag (before its first child)."""
    parser = xml.parsers.expat.ParserCreate()
    starts: list[int] = []

    def start(_name: str, _attributes: dict) -> None:
        starts.append(parser.CurrentByteIndex)
        if len(starts) == 2:
            raise StopIteration  # the first child: the root's start tag is complete

    parser.StartElementHandler = start
    try:
        parser.Parse(head, False)
    except StopIteration:
        return head[: starts[1]]
    except xml.parsers.expat.ExpatError:
        return None
    return None


def _ref_ranges(elements) -> list[Range]:
    """(r1, c1, r2, c2) of every mergeCell element's ref="A3:A7"."""
    found = []
    for element in elements:
        if element.tag.rpartition("}")[2] == "mergeCell" and len(found) < MAX_RANGES:
            ranges = cell_range(element.get("ref", ""))
            if ranges is not None:
                found.append(ranges)
        if element.tag.rpartition("}")[2] == "row":
            element.clear()
    return found


def cell_range(ref: str) -> Range | None:
    """ "A3:B7" (or one cell, "C4") as a 0-based range; None when it is not a reference."""
    first, _, last = ref.partition(":")
    corners = [_CELL_REF.match(part) for part in (first, last or first)]
    if not all(corners):
        return None
    (c1, r1), (c2, r2) = ((column_index(m.group(1)), int(m.group(2)) - 1) for m in corners)
    return (min(r1, r2), min(c1, c2), max(r1, r2), max(c1, c2))


def column_index(letters: str) -> int:
    """0-based index of Excel column letters (A -> 0, AA -> 26)."""
    index = 0
    for ch in letters:
        index = index * 26 + ord(ch) - 64
    return index - 1
