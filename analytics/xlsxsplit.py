"""One big sheet of an xlsx written as two packages, each holding part of its rows, so calamine can read both at once.

calamine parses a sheet in one thread and releases the GIL; on two cores two packages that each hold part of the rows
are read in about the time of the larger part (bench/). The sheet XML is inflated once, here, and cut before a row
tag; a thread writes the packages as the XML inflates. Both packages store the sheet XML uncompressed, in anonymous
memory files that calamine reads by path: as bytes, each would be copied twice more, once by a join and once into
the reader (0.1 s per 60 MB)."""

from __future__ import annotations

import io
import os
import struct
import zipfile
import zlib
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait

from analytics.xlsxparts import (
    HEAD_LIMIT,
    PACKAGE_ERRORS,
    ROW_NUMBER,
    ROW_TAG,
    SHEET_DATA,
    PartScan,
    PartScanner,
    merged_ranges,
    sheet_paths,
)

SPLIT_MIN_BYTES = 4 << 20  # sheet XML from which a split read pays off: about 3,500 rows of 33 columns (bench/)
# The packages live in memory files, outside the reader's memory cap (sandbox.py): bigger sheets are read whole
SPLIT_MAX_BYTES = 512 << 20
# The second part is read from row 1, to show it holds nothing above the cut, which costs about a tenth more per row;
# of 0.5-0.75, 0.6 and 0.65 were fastest on the bench workbook
FIRST_SHARE = 0.6
_IN_BLOCK = 256 << 10  # compressed bytes inflated at a time
_OUT_BLOCK = 4 << 20  # inflated bytes at most per block: few live at a time, so their memory is reused
_LOOKAHEAD = 64 << 10  # XML past the cut position inflated before a row tag is looked for there
_LOCAL = struct.Struct("<IHHHHHIIIHH")
_CENTRAL = struct.Struct("<IHHHHHHIIIHHHHHII")
_END = struct.Struct("<IHHHHIIH")
_DOS_DATE = 0x21  # 1980-01-01


def big_sheets(data: bytes, min_bytes: int) -> dict[str, str]:
    """Sheet name -> part path of every sheet whose XML has at least min_bytes, in a package these copies can be made
    of; empty when the package is unusual or this system has no memory files."""
    if not hasattr(os, "memfd_create"):
        return {}
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            infos = {info.filename: info for info in package.infolist()}
            if len(infos) != len(package.infolist()) or not all(map(_copyable, infos.values())):
                return {}
            paths = sheet_paths(package)
    except (*PACKAGE_ERRORS, RuntimeError):
        return {}
    return {
        name: path
        for name, path in paths.items()
        if path in infos and min_bytes <= infos[path].file_size <= SPLIT_MAX_BYTES
    }


def _copyable(info: zipfile.ZipInfo) -> bool:
    """True for an entry stored or deflated, not encrypted, and small enough to need no zip64 fields."""
    small = max(info.file_size, info.compress_size, info.header_offset) < 0xFFFF0000
    return info.compress_type in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED) and not info.flag_bits & 1 and small


class SheetCut:
    """The XML of one sheet part, inflated once and written as two packages cut before a row tag.

    Raises ValueError when the part is not as expected; the sheet is then read whole."""

    def __init__(self, data: bytes, path: str):
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            self._infos = package.infolist()
        self._data, self._path = memoryview(data), path
        info = next(info for info in self._infos if info.filename == path)
        self._size = info.file_size
        self._blocks = _inflated(_body(self._data, info), info.compress_type, info.file_size)
        self._scanner = PartScanner()  # merges and boolean cells, from the XML inflated here
        # The packages are written (CRC, copy into the file) in their own thread, beside the inflating: both
        # release the GIL (bench/)
        self._writes = ThreadPoolExecutor(max_workers=1)
        self._packages: list[_PackageWriter] = []

    def first(self) -> tuple[int, int]:
        """(memory file holding the package of the rows before the cut, the number of the last row it may hold)."""
        head = self._head()
        start = SHEET_DATA.search(head)
        if start is None or start.group(2):
            raise ValueError("no sheet data")
        prefix, namespace = head[: start.end()], start.group(1)
        package = self._package()
        package.add(prefix)
        # Blocks that end before the cut position go straight into the package; the rest wait for the cut
        waiting, at = [memoryview(head)[start.end() :]], start.end()
        target = max(int(self._size * FIRST_SHARE), start.end())
        while True:
            while len(waiting) > 1 and at + len(waiting[0]) <= target:
                at += len(waiting[0])
                package.add(waiting.pop(0))
            if at + sum(map(len, waiting)) < target + _LOOKAHEAD and (block := self._next()):
                waiting.append(block)
                continue
            window = b"".join(waiting)  # a row tag may span two blocks
            if (found := _row_tag(window, target - at, namespace)) is not None:
                break
            if not (block := self._next()):
                raise ValueError("no row tag after the cut position")
            waiting.append(block)
        cut, row = found
        package.add(memoryview(window)[:cut])
        package.add(b"</" + namespace + b"sheetData></" + namespace + b"worksheet>")
        second = self._package()
        second.add(prefix)
        second.add(memoryview(window)[cut:])
        return package.finish(), row - 1

    def second(self) -> int:
        """The memory file holding the package of the rows from the cut on, and the rest of the part."""
        while block := self._next():
            self._packages[-1].add(block)
        return self._packages[-1].finish()

    def close(self) -> None:
        """Close the memory files not handed over (after a failure) and end the writing thread."""
        for package in self._packages:
            package.discard()
        self._writes.shutdown()

    def _package(self) -> _PackageWriter:
        self._packages.append(_PackageWriter(self._data, self._infos, self._path, self._writes))
        return self._packages[-1]

    def scan(self) -> PartScan | None:
        """Merged ranges and odd columns of the part, once second() has run; None when it has no </sheetData>."""
        tail = self._scanner.tail()
        return None if tail is None else PartScan(merged_ranges(tail), self._scanner.odd_columns())

    def _head(self) -> bytes:
        """The first blocks of the XML, joined, up to the end of the <sheetData> tag."""
        head = b""
        while len(head) < HEAD_LIMIT and (block := self._next()):
            head += block
            if SHEET_DATA.search(head):
                return head
        raise ValueError("no sheet data near the start")

    def _next(self) -> bytes:
        """The next block of inflated XML, scanned on the way; b"" at the end."""
        block = next(self._blocks, b"")
        self._scanner.feed(block)
        return block


class _PackageWriter:
    """A copy of the package written into a memory file, with the sheet part stored and added piece by piece; the
    other entries are copied as they are (compressed or not)."""

    def __init__(self, data: memoryview, infos: list[zipfile.ZipInfo], path: str, writes: ThreadPoolExecutor):
        self._data, self._infos, self._path, self._writes = data, infos, path, writes
        self._pending: list[Future] = []
        self._fd = os.memfd_create("dangjian-split")
        self._central: list[bytes] = []
        self._offset = self._crc = self._size = 0
        self._done = False
        try:
            self._sheet = next(i for i, info in enumerate(infos) if info.filename == path)
            for info in infos[: self._sheet]:
                self._copy(info)
            # The sheet's local header, written again with its size and CRC once they are known
            self._sheet_at = self._offset
            self._write(self._local(infos[self._sheet], 0, 0))
        except BaseException:
            os.close(self._fd)
            raise

    def discard(self) -> None:
        """Close the memory file unless finish() has handed it over."""
        if not self._done:
            self._done = True
            wait(self._pending)  # a write still queued must not go to whatever file gets this number next
            os.close(self._fd)

    def add(self, piece: bytes | memoryview) -> None:
        """Append a piece of the sheet part (written by the writing thread)."""
        self._size += len(piece)
        self._pending.append(self._writes.submit(self._append, piece))

    def _append(self, piece: bytes | memoryview) -> None:
        self._crc = zlib.crc32(piece, self._crc)
        self._write(piece)

    def finish(self) -> int:
        """The memory file holding the whole package, positioned at its start."""
        try:
            for written in self._pending:
                written.result()
            info = self._infos[self._sheet]
            header = self._local(info, self._crc, self._size)
            os.pwrite(self._fd, header, self._sheet_at)
            self._central.append(self._central_entry(header, self._sheet_at))
            for info in self._infos[self._sheet + 1 :]:
                self._copy(info)
            directory, count = b"".join(self._central), len(self._infos)
            if self._offset + len(directory) >= 0xFFFF0000:
                raise ValueError("package too big for a zip without zip64 fields")
            self._write(directory + _END.pack(0x06054B50, 0, 0, count, count, len(directory), self._offset, 0))
            os.lseek(self._fd, 0, os.SEEK_SET)
        except BaseException:
            self.discard()
            raise
        self._done = True
        return self._fd

    def _copy(self, info: zipfile.ZipInfo) -> None:
        header = self._local(info, info.CRC, info.file_size, info.compress_type, info.compress_size)
        self._central.append(self._central_entry(header, self._offset))
        self._write(header)
        self._write(_body(self._data, info))

    @staticmethod
    def _local(info: zipfile.ZipInfo, crc: int, size: int, method: int = zipfile.ZIP_STORED, stored: int = -1) -> bytes:
        """The local header of an entry; `stored` bytes of data follow it (`size` when stored)."""
        name = info.filename.encode()
        flags = 0 if name.isascii() else 0x800  # UTF-8 names
        stored = size if stored < 0 else stored
        return _LOCAL.pack(0x04034B50, 20, flags, method, 0, _DOS_DATE, crc, stored, size, len(name), 0) + name

    @staticmethod
    def _central_entry(local: bytes, offset: int) -> bytes:
        """The central directory entry of the entry whose local header is `local`, at `offset`."""
        fields = _LOCAL.unpack_from(local)
        return _CENTRAL.pack(0x02014B50, 20, *fields[1:10], 0, 0, 0, 0, 0, offset) + local[_LOCAL.size :]

    def _write(self, piece: bytes | memoryview) -> None:
        view = memoryview(piece)
        while view:
            view = view[os.write(self._fd, view) :]
        self._offset += len(piece)


def _body(data: memoryview, info: zipfile.ZipInfo) -> memoryview:
    """The entry's data as stored in the package (compressed or not), without its local header."""
    at = info.header_offset
    if data[at : at + 4] != b"PK\x03\x04":
        raise ValueError("no local header")
    name_length, extra_length = struct.unpack_from("<HH", data, at + 26)
    start = at + 30 + name_length + extra_length
    if start + info.compress_size > len(data):
        raise ValueError("entry beyond the end of the file")
    return data[start : start + info.compress_size]


def _inflated(body: memoryview, method: int, size: int) -> Iterator[bytes]:
    """The entry's data inflated, in blocks; raises ValueError when it is not `size` bytes as the package says."""
    if method == zipfile.ZIP_STORED:
        yield from (bytes(body[at : at + _OUT_BLOCK]) for at in range(0, len(body), _OUT_BLOCK))
        return
    inflater, total = zlib.decompressobj(-zlib.MAX_WBITS), 0
    for at in range(0, len(body), _IN_BLOCK):
        piece = body[at : at + _IN_BLOCK]
        while piece and not inflater.eof:
            block = inflater.decompress(piece, _OUT_BLOCK)
            piece = inflater.unconsumed_tail
            total += len(block)
            if total > size:
                raise ValueError("entry larger than its stated size")
            if block:
                yield block
    if not inflater.eof or total != size:
        raise ValueError("entry not of its stated size")


def _row_tag(xml: bytes, start: int, namespace: bytes) -> tuple[int, int] | None:
    """(offset, row number) of the first row tag at or after `start` in a stretch of sheet data; None when there is
    none. Raises ValueError when that row has no number or the sheet data ends first."""
    tag = b"<" + namespace + b"row"
    at = xml.find(tag, max(start, 0))
    while at >= 0 and xml[at + len(tag) : at + len(tag) + 1] not in (b" ", b"\t", b"\r", b"\n", b">", b"/"):
        at = xml.find(tag, at + 1)  # <rowBreaks> and the like
    if at < 0:
        return None
    if xml.find(b"</" + namespace + b"sheetData", max(start, 0), at) >= 0:
        raise ValueError("the sheet data ends before the cut")
    found = ROW_TAG.match(xml, at)
    number = ROW_NUMBER.search(found.group(1)) if found else None
    if number is None or int(number.group(1)) < 2:
        raise ValueError("a row without a number at the cut")
    return at, int(number.group(1))
