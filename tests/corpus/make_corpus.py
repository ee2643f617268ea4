"""Hostile upload files, written byte for byte the same on every run.

    python tests/corpus/make_corpus.py DIR      # writes every file into DIR

Nothing here is committed as a binary: the zip bomb alone is 10 MB and inflates to 3.6 GB. Each builder returns
the bytes of one file; CASES maps the file name to its builder. What each file must do is in tests/test_corpus.py.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
import struct
import sys
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import xlsxwriter

TITLE = "2024年第一季度区直机关基层党组织建设情况统计表"
HEADER = ["所属系统", "单位名称", "党组织名称", "组织类型", "党员总数", "正式党员数", "预备党员数", "本届选举日期"]


def valid_rows(n: int = 3) -> list[list]:
    """n organizations that pass every rule."""
    return [["教育系统", "区教育局", f"第{i}党支部", "党支部", 10, 8, 2, "2023-03-15"] for i in range(1, n + 1)]


def xlsx(rows: list[list], formulas: dict | None = None, dates: dict | None = None) -> bytes:
    """A plain workbook: rows from A1 (None = empty); formulas (r, c) -> (formula, cached value); date cells."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_numbers": False})
    sheet = book.add_worksheet("季度报表")
    date_format = book.add_format({"num_format": "yyyy-mm-dd"})
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if value is not None:
                sheet.write(r, c, value)
    for (r, c), (formula, cached) in (formulas or {}).items():
        sheet.write_formula(r, c, formula, None, cached)
    for (r, c), day in (dates or {}).items():
        sheet.write_datetime(r, c, day, date_format)
    book.close()
    return buffer.getvalue()


def report_book(extra_rows: list[list] | None = None, **kwargs) -> bytes:
    """A title, the header and three valid organizations, then extra_rows."""
    return xlsx([[TITLE], HEADER, *valid_rows(), *(extra_rows or [])], **kwargs)


# --- zip packages built part by part ------------------------------------------------------------------------


def _deflated(data: bytes) -> bytes:
    packer = zlib.compressobj(6, zlib.DEFLATED, -15)
    return packer.compress(data) + packer.flush()


def raw_zip(parts: list[tuple[str, bytes, int, int]]) -> bytes:
    """A zip of (name, deflated bytes, crc32, inflated size) parts, written as they are."""
    out, directory = io.BytesIO(), io.BytesIO()
    for name, packed, crc, size in parts:
        offset, encoded = out.tell(), name.encode()
        fields = (20, 0, 8, 0, 0x21, crc, len(packed), size, len(encoded), 0)
        out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, *fields) + encoded + packed)
        directory.write(
            struct.pack("<IH", 0x02014B50, 20) + struct.pack("<HHHHHIIIHHHHHII", *fields, 0, 0, 0, 0, offset)
        )
        directory.write(encoded)
    start, listing = out.tell(), directory.getvalue()
    out.write(listing + struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(parts), len(parts), len(listing), start, 0))
    return out.getvalue()


def repacked(book: bytes, changes: dict[str, Callable[[bytes], bytes]]) -> bytes:
    """The workbook with some parts rewritten: changes maps a part name to a function of its bytes."""
    with zipfile.ZipFile(io.BytesIO(book)) as package:
        parts = [(name, changes.get(name, lambda b: b)(package.read(name))) for name in package.namelist()]
    return raw_zip([(name, _deflated(data), zlib.crc32(data), len(data)) for name, data in parts])


def _before_sheet_end(extra: bytes) -> Callable[[bytes], bytes]:
    return lambda xml: xml.replace(b"</sheetData>", extra + b"</sheetData>")


def zip_bomb(declared: int | None = None) -> bytes:
    """The sheet part declares and inflates to 3.6 GB of rows from 10 MB: the same deflate block 3,720 times.
    declared: the size written in the zip's headers instead (a bomb that lies about its size)."""
    chunk = b"<row><c><v>1</v></c></row>" * 40330  # 1 MiB
    head = b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
    tail = b"</sheetData></worksheet>"
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    # After a full flush the compressor starts afresh, so compressing the same chunk again gives the same bytes
    first = packer.compress(head) + packer.flush(zlib.Z_FULL_FLUSH)
    block = packer.compress(chunk) + packer.flush(zlib.Z_FULL_FLUSH)
    last = packer.compress(tail) + packer.flush()
    copies = 3720
    size = len(head) + copies * len(chunk) + len(tail)
    with zipfile.ZipFile(io.BytesIO(report_book())) as package:
        parts = [
            (n, _deflated(package.read(n)), zlib.crc32(package.read(n)), package.getinfo(n).file_size)
            for n in package.namelist()
        ]
    # The CRC is not computed (3.6 GB of work): the file must be refused before anything reads that far
    sheet = ("xl/worksheets/sheet1.xml", first + block * copies + last, 0, size if declared is None else declared)
    return raw_zip([p if p[0] != sheet[0] else sheet for p in parts])


LAUGHS = (
    b"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<!DOCTYPE sst [<!ENTITY a "&#x515A;&#x5458;&#x515A;&#x5458;&#x515A;&#x5458;&#x515A;&#x5458;&#x515A;&#x5458;">"""
    + b"".join(b'<!ENTITY %c "%s">' % (ord("a") + i + 1, b"&%c;" % (ord("a") + i) * 10) for i in range(9))
    + b"""]>
<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1"><si><t>&j;</t></si></sst>"""
)


def billion_laughs() -> bytes:
    """sharedStrings.xml whose one string is ten levels of entities, 10^10 times 党员 if expanded."""
    return repacked(report_book(), {"xl/sharedStrings.xml": lambda _: LAUGHS})


def million_empty_rows() -> bytes:
    """Three organizations, then 1,000,000 formatted empty rows: 40 MB of XML in 1.5 MB, nothing to read."""
    rows = b"".join(b'<row r="%d" spans="1:8" ht="15" customHeight="1"/>' % r for r in range(6, 1_000_006))
    return repacked(report_book(), {"xl/worksheets/sheet1.xml": _before_sheet_end(rows)})


def stray_space_far_down() -> bytes:
    """Three organizations and a single space typed in A1000005: the sheet really is a million rows high."""
    cell = b'<row r="1000005"><c r="A1000005" t="inlineStr"><is><t xml:space="preserve"> </t></is></c></row>'
    return repacked(report_book(), {"xl/worksheets/sheet1.xml": _before_sheet_end(cell)})


def far_corner_cell() -> bytes:
    """One value in XFD1048576, the last cell of a sheet: read densely that is 17 billion cells."""
    cell = b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'
    return repacked(report_book(), {"xl/worksheets/sheet1.xml": _before_sheet_end(cell)})


def shared_strings_count() -> bytes:
    """sharedStrings.xml claims four billion strings; a reader that reserves room for them asks for 96 GB."""
    return repacked(
        report_book(),
        {"xl/sharedStrings.xml": lambda xml: xml.replace(b'uniqueCount="', b'uniqueCount="4000000000" x="')},
    )


def wide_sheet() -> bytes:
    """10,000 columns: the template's eight and 9,992 more, every cell filled, in five rows."""
    extra = [f"附加列{j}" for j in range(1, 9993)]
    rows = [[TITLE], HEADER + extra] + [row + [f"值{j}" for j in range(9992)] for row in valid_rows(5)]
    return xlsx(rows)


def formula_errors() -> bytes:
    """Formulas with cached values: a sum (kept), and #DIV/0!, #VALUE!, #N/A, #REF! in number columns."""
    rows = [[TITLE], HEADER, *valid_rows(5)]
    formulas = {
        (2, 4): ("=5+5", 10),
        (3, 4): ("=1/0", "#DIV/0!"),
        (4, 5): ('="a"+1', "#VALUE!"),
        (5, 6): ("=NA()", "#N/A"),
        (6, 4): ("=#REF!+1", "#REF!"),
    }
    return xlsx(rows, formulas=formulas)


def control_characters() -> bytes:
    """Names holding NUL, an ANSI escape, a right-to-left override, and a 500-character name."""
    rows = valid_rows(5)
    rows[0][2] = "第一\x00党支部"
    rows[1][2] = "\x1b[31m第二党支部\x1b[0m"
    rows[2][2] = "第三党支部\u202e部支党"
    rows[3][2] = "党" * 500
    return xlsx([[TITLE], HEADER, *rows])


def control_characters_csv() -> bytes:
    """The same names in a UTF-8 CSV: a NUL in a cell is a bad cell, not a binary file."""
    rows = valid_rows(5)
    rows[0][2] = "第一\x00党支部"
    rows[1][2] = "\x1b[31m第二党支部\x1b[0m"
    rows[2][2] = "第三党支部\u202e部支党"
    rows[3][2] = "党" * 500
    return _csv([[TITLE], HEADER, *rows]).encode("utf-8")


def far_dates() -> bytes:
    """Election dates in 1900 and 9999, as date cells, as text and as a serial number."""
    rows = valid_rows(6)
    rows[2][7], rows[3][7], rows[4][7] = "1900/1/1", "9999-12-31", 2958465
    dates = {(2, 7): dt.datetime(1900, 1, 1), (3, 7): dt.datetime(9999, 12, 31)}
    return xlsx([[TITLE], HEADER, *rows], dates=dates)


def truncated() -> bytes:
    """A good workbook cut in half, as an interrupted download leaves it."""
    book = report_book()
    return book[: len(book) // 2]


def png_named_xlsx() -> bytes:
    """A PNG image renamed to .xlsx."""
    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    chunk = struct.pack(">I", len(ihdr)) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return b"\x89PNG\r\n\x1a\n" + chunk + bytes(64)


def html_as_xls() -> bytes:
    """A web system's "Excel export": a GBK HTML table with a spanned title and units merged down."""
    cells = "".join(f"<th>{h}</th>" for h in HEADER)
    body = "".join(
        "<tr>"
        + ('<td rowspan="2">教育系统</td><td rowspan="2">区教育局</td>' if i % 2 else "")
        + f"<td>第{i}党支部</td><td>党支部</td><td>10</td><td>8</td><td>2</td><td>2023-03-15</td></tr>"
        for i in range(1, 5)
    )
    page = (
        '<html xmlns:x="urn:schemas-microsoft-com:office:excel"><head><meta http-equiv="Content-Type"'
        ' content="text/html; charset=gb2312"></head><body><table border="1">'
        f'<tr><td colspan="8">{TITLE}</td></tr><tr>{cells}</tr>{body}</table></body></html>'
    )
    return page.encode("gbk")


def spreadsheet_2003_xml() -> bytes:
    """An "XML 电子表格 2003" saved as .xls."""
    return (
        '<?xml version="1.0"?>\n<?mso-application progid="Excel.Sheet"?>\n'
        '<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet"><Worksheet ss:Name="S"><Table>'
        '<Row><Cell><Data ss:Type="String">所属系统</Data></Cell></Row></Table></Worksheet></Workbook>'
    ).encode()


def mixed_encoding_csv() -> bytes:
    """A UTF-8 CSV with two GBK lines pasted in from another office's file."""
    lines = _csv([[TITLE], HEADER, *valid_rows(4)]).splitlines(keepends=True)
    return b"".join(line.encode("gbk" if i in (4, 5) else "utf-8") for i, line in enumerate(lines))


def partial_header_csv() -> bytes:
    """A header that names system, unit and organization but not the organization type."""
    header = ["序号", "所属系统", "单位名称", "党组织", "性质", "人数", "联系人"]
    rows = [[i, "教育系统", "区教育局", f"第{i}党支部", "党支部", 10, "张三"] for i in range(1, 4)]
    return _csv([[TITLE], header, *rows]).encode("utf-8")


def unclosed_quote_csv() -> bytes:
    """An opening quote never closed: everything after it would be one 200,000-character cell."""
    text = _csv([[TITLE], HEADER, *valid_rows(2)]) + '教育系统,区教育局,"第三党支部,党支部\n' + "1,2,3\n" * 40000
    return text.encode("utf-8")


def garbage_rows_csv() -> bytes:
    """200,000 organizations with five unreadable cells each: a million problems from 7 MB."""
    rows = [["教育系统", "区教育局", f"第{i}党支部", "x", "x", "x", "x", "x"] for i in range(200_000)]
    return _csv([[TITLE], HEADER, *rows]).encode("utf-8")


def million_commas_csv() -> bytes:
    """One line of a million commas: a million columns from 1 MB."""
    return ("," * 1_000_000 + "\n").encode()


def unicode_text() -> bytes:
    """Excel's "Unicode 文本(*.txt)": UTF-16 with a byte order mark, tab-separated."""
    rows = [[TITLE], HEADER, *valid_rows()]
    return "\r\n".join("\t".join(str(v) for v in row) for row in rows).encode("utf-16")


def encrypted_xlsx() -> bytes:
    """A password-protected workbook as Excel writes it: an OLE container with EncryptionInfo and EncryptedPackage."""
    info = b"\x04\x00\x04\x00\x40\x00\x00\x00" + (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n<encryption xmlns='
        b'"http://schemas.microsoft.com/office/2006/encryption"><keyData saltSize="16" blockSize="16" keyBits="256"'
        b' hashSize="64" cipherAlgorithm="AES" cipherChaining="ChainingModeCBC" hashAlgorithm="SHA512"/></encryption>'
    )
    noise = random.Random(8).randbytes(8184)
    return ole_file({"EncryptionInfo": info.ljust(4096, b"\x00"), "EncryptedPackage": struct.pack("<Q", 9000) + noise})


def ole_file(streams: dict[str, bytes]) -> bytes:
    """A minimal compound file (512-byte sectors) holding streams of at least 4,096 bytes each."""
    sectors, fat, directory = [], [0xFFFFFFFD, 0xFFFFFFFE], [_ole_entry("Root Entry", 5, 0xFFFFFFFE, 0, child=1)]
    for k, (name, data) in enumerate(streams.items(), start=1):
        start, count = 2 + len(sectors), -(-len(data) // 512)
        sectors += [data[i * 512 : (i + 1) * 512].ljust(512, b"\x00") for i in range(count)]
        fat += [*range(start + 1, start + count), 0xFFFFFFFE]
        right = k + 1 if k < len(streams) else 0xFFFFFFFF
        directory.append(_ole_entry(name, 2, start, len(data), right=right))
    directory += [_ole_entry("", 0, 0, 0)] * (-len(directory) % 4)
    difat = [0] + [0xFFFFFFFF] * 108
    header = struct.pack(
        "<8s16sHHHHH6sIIIIIIIII109I",
        bytes.fromhex("D0CF11E0A1B11AE1"), bytes(16), 0x3E, 3, 0xFFFE, 9, 6, bytes(6),
        0, 1, 1, 0, 4096, 0xFFFFFFFE, 0, 0xFFFFFFFE, 0, *difat,
    )  # fmt: skip
    fat_sector = struct.pack("<128I", *(fat + [0xFFFFFFFF] * (128 - len(fat))))
    return header + fat_sector + b"".join(directory) + b"".join(sectors)


def _ole_entry(name: str, kind: int, start: int, size: int, right: int = 0xFFFFFFFF, child: int = 0xFFFFFFFF) -> bytes:
    encoded = (name.encode("utf-16-le") + b"\x00\x00") if name else b""
    return struct.pack(
        "<64sHBBIII16sIQQIQ", encoded, len(encoded), kind, 1, 0xFFFFFFFF, right, child, bytes(16), 0, 0, 0, start, size
    )


def ods_repeat_bomb() -> bytes:
    """An .ods row repeated 20,000 times holding a cell repeated 2,000 times: 40 million cells from 1 KB."""
    content = (
        '<?xml version="1.0" encoding="UTF-8"?><office:document-content'
        ' xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"'
        ' xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"'
        ' xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
        '<office:body><office:spreadsheet><table:table table:name="季度报表">'
        '<table:table-row table:number-rows-repeated="20000"><table:table-cell table:number-columns-repeated="2000"'
        ' office:value-type="string"><text:p>党支部</text:p></table:table-cell></table:table-row>'
        "</table:table></office:spreadsheet></office:body></office:document-content>"
    ).encode()
    manifest = (
        b'<?xml version="1.0" encoding="UTF-8"?><manifest:manifest'
        b' xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
        b'<manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
        b"</manifest:manifest>"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as package:
        for name, data in [("mimetype", b"application/vnd.oasis.opendocument.spreadsheet"), ("content.xml", content)]:
            package.writestr(zipfile.ZipInfo(name, (2024, 1, 1, 0, 0, 0)), data)
        package.writestr(zipfile.ZipInfo("META-INF/manifest.xml", (2024, 1, 1, 0, 0, 0)), manifest)
    return buffer.getvalue()


def _csv(rows: list[list]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()


CASES: dict[str, Callable[[], bytes]] = {
    "zip_bomb.xlsx": zip_bomb,
    "billion_laughs.xlsx": billion_laughs,
    "million_empty_rows.xlsx": million_empty_rows,
    "stray_space_far_down.xlsx": stray_space_far_down,
    "far_corner_cell.xlsx": far_corner_cell,
    "shared_strings_count.xlsx": shared_strings_count,
    "ods_repeat_bomb.ods": ods_repeat_bomb,
    "wide_10000_columns.xlsx": wide_sheet,
    "formula_errors.xlsx": formula_errors,
    "encrypted.xlsx": encrypted_xlsx,
    "mixed_encoding.csv": mixed_encoding_csv,
    "control_characters.xlsx": control_characters,
    "control_characters.csv": control_characters_csv,
    "dates_1900_9999.xlsx": far_dates,
    "truncated.xlsx": truncated,
    "png_named.xlsx": png_named_xlsx,
    "empty.xlsx": bytes,
    "empty.csv": bytes,
    "html_saved_as.xls": html_as_xls,
    "spreadsheet_2003.xls": spreadsheet_2003_xml,
    "partial_header.csv": partial_header_csv,
    "unclosed_quote.csv": unclosed_quote_csv,
    "unicode_text.txt": unicode_text,
    "garbage_rows.csv": garbage_rows_csv,
    "million_commas.csv": million_commas_csv,
}


def write_corpus(directory: Path, names: list[str] | None = None) -> dict[str, Path]:
    """Write the named cases (all by default) into directory; returns name -> path."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name in names or list(CASES):
        paths[name] = directory / name
        paths[name].write_bytes(CASES[name]())
    return paths


if __name__ == "__main__":
    for name, path in write_corpus(Path(sys.argv[1] if len(sys.argv) > 1 else "corpus_out")).items():
        print(f"{path.stat().st_size:>12,}  {name}")
