"""What the sheet XML of an xlsx package says besides its cells: merged ranges, boolean cells, and its first rows.

calamine (via fastexcel) reads the cells; these scans read the raw parts for what it does not hand over, and build
a small copy of the package holding only the first rows of each big sheet, so that the header can be found before
the whole sheet is read with a type per column (workbook.py).
"""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
import zipfile
import zlib
from dataclasses import dataclass, field

from analytics.ingest.sheets.merges import column_index, xlsx_ranges

SHEET_DATA = re.compile(rb"<((?:\w+:)?)sheetData\b[^>]*?(/?)>")
ROW_TAG = re.compile(rb"<(?:\w+:)?row\b([^>]*)>")
ROW_NUMBER = re.compile(rb'\sr\s*=\s*["\'](\d+)["\']')
PACKAGE_ERRORS = (KeyError, zipfile.BadZipFile, ValueError, zlib.error, EOFError, OSError, NotImplementedError)
HEAD_LIMIT = 8 << 20  # bytes of sheet XML read for the first rows; more means an unusual sheet, read in full instead


@dataclass
class PartScan:
    """What one sheet part holds besides cell values."""

    merged: list[tuple[int, int, int, int]] = field(default_factory=list)  # 0-based (row1, col1, row2, col2)
    # Columns holding TRUE/FALSE cells (t="b"), which a number read turns into 1 and 0, or ISO date text (t="d"),
    # which a date read would not give back as written; None: they may be in any column
    odd_columns: frozenset[int] | None = None


def sheet_paths(package: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name (as calamine reports it) -> path of its part in the package, from the workbook and its
    relationships parsed as XML (attributes may come in any order)."""
    targets = {}
    for element in ET.fromstring(package.read("xl/_rels/workbook.xml.rels")).iter():
        if _local(element.tag) == "Relationship":
            targets[element.get("Id", "")] = element.get("Target", "")
    paths = {}
    for element in ET.fromstring(package.read("xl/workbook.xml")).iter():
        if _local(element.tag) == "sheet":
            rid = next((v for k, v in element.attrib.items() if k.startswith("{") and _local(k) == "id"), "")
            target = targets.get(rid, "").lstrip("/")
            paths[element.get("name", "")] = target if target.startswith("xl/") else f"xl/{target}"
    return paths


def _local(name: str) -> str:
    """An XML name without its {namespace}."""
    return name.rpartition("}")[2]


def scan_parts(data: bytes) -> dict[str, PartScan]:
    """Merged ranges and boolean/date cell columns per sheet name of an xlsx; empty when the package is unusual."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            return {name: _scan_part(package, path) for name, path in sheet_paths(package).items()}
    except (*PACKAGE_ERRORS, RuntimeError, ET.ParseError):
        return {}  # calamine judges the package; these scans are only a help


def _scan_part(package: zipfile.ZipFile, path: str) -> PartScan:
    scanner, head = PartScanner(), b""
    with package.open(path) as part:
        while chunk := part.read(1 << 20):  # a 100 MB part held whole costs as much again in new memory
            head = head or chunk
            scanner.feed(chunk)
    tail = scanner.tail()
    if tail is None:  # no </sheetData>: merges may be anywhere in this unusual part
        with package.open(path) as part:
            return PartScan(xlsx_ranges(head, None, part), scanner.odd_columns())
    return PartScan(xlsx_ranges(head, tail), scanner.odd_columns())


class PartScanner:
    """Columns of t="b" and t="d" cells and the XML from the last </sheetData> on, of sheet XML fed in blocks."""

    def __init__(self) -> None:
        self._booleans: set[int] | None = set()
        self._hits = [0]
        self._rest = b""
        self._tail: list[bytes] | None = None

    def feed(self, chunk: bytes) -> None:
        """Scan the next block of the part; b"" marks its end."""
        if not chunk:
            rest, self._rest = self._rest, b""
            self._scan(rest, 0, len(rest))
            return
        # Each tag is scanned whole: the one cut at the last block's end is completed up to this block's first ">".
        # The block itself is scanned in place, not copied (100 MB of sheet XML pass through here).
        first, end = chunk.find(b">") + 1, chunk.rfind(b">") + 1
        if not first:
            self._rest += chunk
            return
        joint, self._rest = self._rest + chunk[:first], chunk[end:]
        self._scan(joint, 0, len(joint))
        self._scan(chunk, first, end)

    def _scan(self, xml: bytes, start: int, end: int) -> None:
        """Scan xml[start:end], which holds whole tags only."""
        for kind in (b"b", b"d"):
            if self._booleans is not None:
                self._booleans = _typed_cells(xml, start, end, kind, self._booleans, self._hits)
        if (at := xml.rfind(b"</sheetData>", start, end)) >= 0:
            self._tail = [xml[at:end]]  # merges follow the data
        elif self._tail is not None and end > start:
            self._tail.append(xml[start:end])

    def odd_columns(self) -> frozenset[int] | None:
        """Columns of t="b" and t="d" cells; None when they may be in any column."""
        self.feed(b"")
        return None if self._booleans is None else frozenset(self._booleans)

    def tail(self) -> bytes | None:
        """The XML from the last </sheetData> on; None when there is none."""
        self.feed(b"")
        return None if self._tail is None else b"".join(self._tail)


def _typed_cells(xml: bytes, start: int, end: int, kind: bytes, columns: set[int], hits: list[int]) -> set[int] | None:
    """columns plus those of cells of type t="<kind>" in xml[start:end]; None when they cannot all be placed."""
    # memchr-fast finds of one byte: a substring or regex search over 100 MB of XML costs a tenth of a second each
    at = xml.find(kind, start, end)
    while at >= 0:
        hits[0] += 1
        if hits[0] > _MAX_HITS:
            return None
        if xml[at - 1 : at] in _QUOTES and xml[at + 1 : at + 2] in _QUOTES:
            tag = xml[xml.rfind(b"<", start, at) : xml.find(b">", at, end) + 1]
            if _CELL_TAG.match(tag) and re.search(rb"\st\s*=\s*[\"']" + kind + rb"[\"']", tag):
                where = _CELL_REF.search(tag)
                if where is None:
                    return None  # a cell placed by counting: only the full read knows its column
                columns.add(column_index(where.group(1).decode()))
        at = xml.find(kind, at + 1, end)
    return columns


_MAX_HITS = 200_000
_QUOTES = (b'"', b"'")
_CELL_TAG = re.compile(rb"<(?:\w+:)?c[\s>/]")
_CELL_REF = re.compile(rb"\sr\s*=\s*[\"']([A-Z]+)\d+[\"']")


def head_package(data: bytes, rows: int, min_bytes: int) -> tuple[bytes, set[str]] | None:
    """The package with every sheet part of at least min_bytes cut after its first `rows` rows, and the names of
    those sheets; None when no sheet is that big or a part is unusual (then sheets are read in full)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            infos = package.infolist()
            paths = sheet_paths(package)
            sizes = {info.filename: info.file_size for info in infos}
            big = {name for name, path in paths.items() if sizes.get(path, 0) >= min_bytes}
            if not big or len(sizes) != len(infos):  # a name twice: which one a reader takes is its own choice
                return None
            cut = {paths[name] for name in big}
            out = io.BytesIO()
            with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as head:
                for info in infos:
                    part = _first_rows(package, info, rows) if info.filename in cut else package.read(info)
                    if part is None:
                        return None
                    head.writestr(info.filename, part)
            return out.getvalue(), big
    except (*PACKAGE_ERRORS, RuntimeError):
        return None


def _first_rows(package: zipfile.ZipFile, info: zipfile.ZipInfo, rows: int) -> bytes:
    """The sheet XML up to its first row numbered above `rows`, closed again (the whole part if it has no such row)."""
    with package.open(info) as part:
        xml, size = b"", 1 << 16
        while len(xml) < HEAD_LIMIT:
            chunk = part.read(size)
            xml += chunk
            size *= 2  # each pass scans from the start: doubling keeps the total linear
            cut = _cut(xml, rows)
            if cut is not None:
                return cut
            if not chunk:
                return xml
    raise ValueError("no row above the head within HEAD_LIMIT bytes")


def _cut(xml: bytes, rows: int) -> bytes | None:
    """The XML before the first row numbered above `rows`, with sheetData closed; None when no such row is seen yet.

    Raises ValueError for rows without numbers or out of order: only a full read places those right."""
    start = SHEET_DATA.search(xml)
    if start is None or start.group(2):  # not there yet, or an empty sheet
        return None
    last = 0
    for tag in ROW_TAG.finditer(xml, start.end()):
        number = ROW_NUMBER.search(tag.group(1))
        if number is None or int(number.group(1)) <= last:
            raise ValueError("rows without numbers or out of order")
        last = int(number.group(1))
        if last > rows:
            prefix = start.group(1)
            return xml[: tag.start()] + b"</" + prefix + b"sheetData></" + prefix + b"worksheet>"
    return None
