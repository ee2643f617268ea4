"""Uploaded bytes -> raw sheets of text cells, whatever the format (SPEC §3.1 formats)."""

from __future__ import annotations

import csv
import io
import itertools
import logging
import os
import zipfile
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial

import fastexcel
import pyarrow as pa

from analytics.ingest.header import HEADER_SCAN_ROWS
from analytics.ingest.sheets import merges
from analytics.ingest.sheets.htmltable import MAX_COLUMNS, html_tables
from analytics.ingest.sheets.package import package_problem
from analytics.ingest.sheets.rawsheet import Loaded, RawSheet
from analytics.ingest.sheets.sandbox import READ_SECONDS, LimitExceeded, run_limited
from analytics.ingest.sheets.typedread import TYPED_MIN_BYTES, typed_table, with_error_values
from analytics.ingest.sheets.xlsxparts import PartScan, head_package, scan_parts

log = logging.getLogger(__name__)

MAX_BYTES = 100 * 1024 * 1024
MAX_CELLS = 25_000_000  # rows × columns of one sheet as read: 500,000 rows of 50 columns
ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
SPREADSHEET_SUFFIXES = (".xlsx", ".xlsm", ".xlsb", ".xls", ".ods", ".csv", ".txt")


class UnreadableFile(Exception):
    """The file cannot be read as a spreadsheet; the message says why, in Chinese."""


def read_sheets(data: bytes, file_name: str, max_rows: int) -> list[RawSheet]:
    """Every sheet of the file as text; raises UnreadableFile with a Chinese reason."""
    if not data:
        raise UnreadableFile("文件为空（0 字节），请重新导出后上传。")
    if len(data) > MAX_BYTES:
        size = len(data) / 1024 / 1024
        raise UnreadableFile(f"文件大小 {size:.0f} MB，超过上限 {MAX_BYTES // 1024 // 1024} MB，请拆分后上传。")
    if data.startswith(OLE_MAGIC) and _is_encrypted_ooxml(data):
        raise UnreadableFile(ENCRYPTED)
    if data.startswith(ZIP_MAGIC) and (problem := package_problem(data)):
        raise UnreadableFile(problem)
    if data.startswith((ZIP_MAGIC, OLE_MAGIC)):
        return _limited(_excel_sheets, data, max_rows)
    other = _other_format(data)
    if other == "html":
        return _limited(html_sheets, decode_text(data), file_name, max_rows)
    if other:
        raise UnreadableFile(other)
    if file_name.lower().endswith((".xlsx", ".xlsm", ".xlsb", ".xls", ".ods")):
        raise UnreadableFile(
            "文件内容不是有效的 Excel/WPS 表格（可能已损坏或只是改了扩展名），请用 Excel 打开后另存为 .xlsx 再上传。"
        )
    # CSV too in the limited child: a file of blank lines or of millions of tiny cells costs memory, not bytes
    return _limited(_csv_sheets, data, file_name, max_rows)


ENCRYPTED = "文件已加密（设置了打开密码），请取消密码后另存再上传。"
_MAGIC = {
    b"\x89PNG": "PNG 图片",
    b"\xff\xd8\xff": "JPEG 图片",
    b"GIF8": "GIF 图片",
    b"%PDF": "PDF 文件",
    b"Rar!": "RAR 压缩包",
    b"7z\xbc\xaf": "7z 压缩包",
    b"\x1f\x8b": "gzip 压缩包",
}


def _other_format(data: bytes) -> str | None:
    """Why the content is not a table, in Chinese; the word html for a web page saved as .xls; None for text."""
    kind = next((name for magic, name in _MAGIC.items() if data.startswith(magic)), None)
    if kind:
        return f"文件内容不是有效的表格，而是{kind}；请上传 .xlsx、.xls、.ods 或 .csv 文件。"
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith(b"mime-version"):
        return "文件是网页存档（.mht），不是表格；请用 Excel 打开后另存为 .xlsx 再上传。"
    if b"urn:schemas-microsoft-com:office:spreadsheet" in head and b"<html" not in head:
        return "文件是“XML 电子表格 2003”格式，请用 Excel 打开后另存为 .xlsx 再上传。"
    if head.startswith((b"<!doctype html", b"<html", b"<table")) or (head.startswith(b"<") and b"<table" in head):
        return "html"
    return None


def _is_encrypted_ooxml(data: bytes) -> bool:
    # An encrypted .xlsx is an OLE container holding these streams instead of a zip; the directory may sit anywhere
    return "EncryptedPackage".encode("utf-16-le") in data or "EncryptionInfo".encode("utf-16-le") in data


def _limited(reader: Callable[..., list[RawSheet]], *args) -> list[RawSheet]:
    """reader(*args) in a child process, so that no file can exhaust this one's memory or time."""
    try:
        return run_limited(reader, *args)
    except LimitExceeded as exc:
        raise UnreadableFile(LIMIT_MESSAGES[exc.kind]) from exc


_RESAVE = "请删除多余的行列，或用 Excel 打开后另存为新的 .xlsx 再上传。"
LIMIT_MESSAGES = {
    "time": f"读取该表格超出 {READ_SECONDS} 秒：表格的使用范围异常大（如在很远的行、列处有内容或格式）或文件结构异常。{_RESAVE}",
    "memory": f"读取该表格超出内存上限：表格的使用范围异常大（如在很远的行、列处有内容或格式）或文件结构异常。{_RESAVE}",
    "crash": "读取该表格时读取程序异常终止：可能超出内存上限（表格的使用范围异常大，如在很远的行、列处有内容或格式），"
    f"或文件结构异常。{_RESAVE}",
    "answer": "读取该表格后无法取回结果（程序内部错误），数据库未做更改。请联系管理员。",
}


def _excel_sheets(data: bytes, max_rows: int) -> list[RawSheet]:
    try:
        # calamine via fastexcel: text cells straight into Arrow, several times faster than openpyxl (bench/)
        reader = fastexcel.read_excel(data)
    except Exception as exc:
        if "password" in str(exc).lower() or "encrypt" in str(exc).lower():
            raise UnreadableFile(ENCRYPTED) from exc
        raise UnreadableFile("无法打开该表格文件：文件已损坏、已加密或不是 Excel/WPS 格式。") from exc
    # .xls: calamine gives its merged ranges; .ods: its content.xml; anything else in a zip is an xlsx
    merged = merges.xls_ranges(data) if not data.startswith(ZIP_MAGIC) else _ods_ranges(data)
    if merged is None:
        return _xlsx_sheets(data, reader, max_rows)
    sheets = [_excel_sheet(partial(_loaded, reader, name, max_rows), name) for name in reader.sheet_names]
    for sheet in sheets:
        sheet.merged = merged.get(sheet.name, [])
    return sheets


def _ods_ranges(data: bytes) -> dict[str, list[merges.Range]] | None:
    """Merged ranges per table of an .ods package; None when the package is not one."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            return merges.ods_ranges(package) if merges.is_ods(package) else None
    except zipfile.BadZipFile:
        return None


def _xlsx_sheets(data: bytes, reader: fastexcel.ExcelReader, max_rows: int) -> list[RawSheet]:
    # The part scan (merged ranges, odd cells) inflates the sheet XML again; calamine releases the GIL, so both run
    # at once (bench/)
    with ThreadPoolExecutor(max_workers=1) as pool:
        scans = pool.submit(scan_parts, data)
        heads = _heads(data, max_rows) if fast_read() else {}
        sheets = []
        for name in reader.sheet_names:
            scan = partial(_scan, scans, name)
            load = partial(_loaded, reader, name, max_rows)
            typed = _typed_sheet(load, name, heads[name], scan) if name in heads else None
            sheets.append(typed or _excel_sheet(load, name))
            sheets[-1].merged = scan().merged
    return sheets


def fast_read() -> bool:
    """Whether big xlsx sheets read their number columns as numbers (typedread.py); DANGJIAN_FAST_READ=0 turns it
    off, reading every cell as text (the plain path, identical in result and slower on big sheets)."""
    return os.environ.get("DANGJIAN_FAST_READ", "1") != "0"


def _scan(scans: Future, name: str) -> PartScan:
    """Merged ranges and odd columns of a sheet, from the scan of the parts."""
    return scans.result().get(name, PartScan())


def _heads(data: bytes, max_rows: int) -> dict[str, RawSheet]:
    """The first rows of every big sheet, as text, read from a copy of the package cut after them."""
    found = head_package(data, HEADER_SCAN_ROWS, TYPED_MIN_BYTES)
    if found is None:
        return {}
    package, names = found
    try:
        reader = fastexcel.read_excel(package)
        return {name: _excel_sheet(partial(_loaded, reader, name, max_rows), name) for name in names}
    except Exception as exc:  # the full read of the sheet says what is wrong with it
        log.warning("first rows of big sheets not read, reading them plainly: %s", exc)
        return {}


def _typed_sheet(load: Callable[..., Loaded], name: str, head: RawSheet, scan: Callable[[], PartScan]):
    """The sheet with its number columns read as numbers, or None when only a text read gives the same cells."""
    try:
        found = typed_table(load, head, lambda: scan().odd_columns)
    except UnreadableFile:
        return None  # the text read of the sheet says what is wrong with it
    except Exception as exc:
        log.warning("typed read of sheet %r failed, reading it as text: %s", name, exc)
        return None
    if found is None:
        return None
    table, data_start, rows = found
    return RawSheet(name, table, head.first_col, first_row=data_start, head=rows)


def _excel_sheet(load: Callable[..., Loaded], name: str) -> RawSheet:
    # skip_rows=0 keeps leading blank rows, so table row i is Excel row i + 1
    sheet = load(skip_rows=0, dtypes="string")
    if sheet.width == 0 or sheet.total_height == 0:
        return RawSheet(name, pa.table({}), 0, sheet.visible)
    return RawSheet(name, with_error_values(sheet.table, sheet.errors), sheet.first_col, sheet.visible)


def _loaded(reader: fastexcel.ExcelReader, name: str, max_rows: int, **options) -> Loaded:
    """The sheet as reader.load_sheet(name, header_row=None, **options) gives it; raises UnreadableFile when it
    cannot be read or is too big."""
    try:
        sheet = reader.load_sheet(name, header_row=None, **options)
    except Exception as exc:
        raise UnreadableFile(f"工作表「{name}」无法读取（文件可能已损坏）。") from exc
    _check_size(sheet, name, max_rows)
    if sheet.width == 0 or sheet.total_height == 0:
        return Loaded(pa.table({}), [], sheet.total_height, sheet.width, 0, sheet.visible == "visible")
    try:
        return Loaded.of(sheet)
    except Exception as exc:
        raise UnreadableFile(f"工作表「{name}」无法读取（文件可能已损坏）。") from exc


def _check_size(sheet: fastexcel.ExcelSheet | Loaded, name: str, max_rows: int) -> None:
    if sheet.total_height > max_rows + 1000:
        raise UnreadableFile(
            f"工作表「{name}」有 {sheet.total_height} 行，超过上限 {max_rows} 行。"
            "若其中多为空行或远处的零星内容，请删除多余的行后再上传；否则请拆分后上传。"
        )
    if sheet.total_height * sheet.width > MAX_CELLS:
        raise UnreadableFile(
            f"工作表「{name}」的使用范围为 {sheet.total_height} 行 × {sheet.width} 列，超过上限（{MAX_CELLS:,} 个单元格）。"
            "请删除远处多余的行列后再上传。"
        )


def html_sheets(text: str, file_name: str, max_rows: int) -> list[RawSheet]:
    """One sheet per table of a web page saved as .xls; row and column spans become merged ranges."""
    stem = file_name.rsplit("/", 1)[-1].rsplit(".", 1)[0] or "网页表格"
    tables = html_tables(text)
    if not tables:
        raise UnreadableFile("文件是网页（HTML）而不是表格，其中没有表格内容；请从系统中重新导出为 Excel 文件。")
    sheets = []
    for i, table in enumerate(tables, start=1):
        if table.cut or len(table.rows) > max_rows + 1000:
            raise UnreadableFile(f"网页中的表格超过上限（{max_rows} 行、{MAX_COLUMNS} 列），请拆分后上传。")
        arrow = _text_table(table.rows, "网页表格")
        name = stem if len(tables) == 1 else f"{stem}（表{i}）"
        sheets.append(RawSheet(name, arrow, 0, merged=table.merged, notes=[HTML_NOTE]))
    return sheets


HTML_NOTE = "文件是网页（HTML）格式的“假 xls”，已按网页中的表格读取；建议用 Excel 打开后另存为 .xlsx。"


def decode_text(data: bytes) -> str:
    """CSV bytes as text: UTF-8 (with or without BOM), UTF-16 with BOM, else GBK/GB18030."""
    return _decoded(data)[0]


def _decoded(data: bytes) -> tuple[str, list[int]]:
    """The text, and the line numbers read as GBK in a file that is otherwise UTF-8 (lines joined from two sources)."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # Excel's "Unicode 文本"
        return _strict(data, "utf-16"), []
    try:
        return data.decode("utf-8"), []
    except UnicodeDecodeError:
        pass
    lines = data.split(b"\n")
    utf8 = [_utf8_or_none(line) for line in lines]
    if not any(text is not None and not text.isascii() for text in utf8):
        return _strict(data, "gb18030"), []
    texts = [text if text is not None else _strict(line, "gb18030") for text, line in zip(utf8, lines, strict=True)]
    return "\n".join(texts), [i + 1 for i, text in enumerate(utf8) if text is None]


def _utf8_or_none(line: bytes) -> str | None:
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _strict(data: bytes, encoding: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise UnreadableFile("无法识别 CSV 文件的编码，请另存为 UTF-8 或 GBK 编码的 CSV。") from exc


def _csv_sheets(data: bytes, file_name: str, max_rows: int) -> list[RawSheet]:
    return [_csv_sheet(data, file_name, max_rows)]


def _csv_sheet(data: bytes, file_name: str, max_rows: int) -> RawSheet:
    head = data[:4096]
    # UTF-16 text is half NUL bytes; a stray NUL in a name is reported in its cell, not as a binary file
    if head.count(b"\x00") * 100 > len(head) and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise UnreadableFile("文件不是表格文件（含二进制内容），请上传 .xlsx、.xls、.ods 或 .csv。")
    text, gbk_lines = _decoded(data)
    rows = _csv_rows(text, max_rows + 1000)
    table = _text_table(rows, "文件")
    stem = file_name.rsplit("/", 1)[-1]
    notes = [_mixed_encoding_note(gbk_lines)] if gbk_lines else []
    return RawSheet(stem.rsplit(".", 1)[0] or stem, table, 0, notes=notes)


def _text_table(rows: list[list[str | None]], what: str) -> pa.Table:
    """Rows of text as an Arrow table, one column per position; short rows are padded."""
    width = max(map(len, rows), default=0)
    if width > MAX_COLUMNS or width * len(rows) > MAX_CELLS:
        raise UnreadableFile(
            f"{what}有 {len(rows)} 行 × {width} 列，超过上限（最多 {MAX_COLUMNS} 列、{MAX_CELLS:,} 个单元格）。"
        )
    # zip_longest transposes in C and pads short rows (title lines have one cell)
    columns = list(itertools.zip_longest(*rows))
    return pa.table({f"c{j}": pa.array(col, pa.string()) for j, col in enumerate(columns)})


def _csv_rows(text: str, limit: int) -> list[list[str]]:
    """The rows of the text; UnreadableFile as soon as there are more than limit (read as a stream, so a file of
    blank lines stops at the limit instead of filling memory with empty rows)."""
    sample = text[:20000]
    try:
        delimiter = csv.Sniffer().sniff(sample, delimiters=",\t;").delimiter
    except csv.Error:  # a title line above a tab-separated table defeats the sniffer
        delimiter = max(",\t;", key=sample.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        rows = list(itertools.islice(reader, limit + 1))
    except csv.Error as exc:
        raise UnreadableFile(
            f"CSV 文件第 {reader.line_num} 行附近格式有误：有超长的单元格或引号不配对（一个单元格不能超过"
            f" {csv.field_size_limit()} 个字符）。请用 Excel 打开检查后重新导出。"
        ) from exc
    if len(rows) > limit:
        lines = text.count("\n") + (not text.endswith("\n"))
        raise UnreadableFile(f"文件有 {lines} 行，超过上限 {limit - 1000} 行，请拆分后上传。")
    return rows


def _mixed_encoding_note(lines: list[int]) -> str:
    shown = "、".join(map(str, lines[:10])) + (f" 等 {len(lines)} 行" if len(lines) > 10 else " 行")
    return f"文件编码不一致：第 {shown}是 GBK 编码，其余为 UTF-8，已分别按各自的编码读取，请核对这些行的文字。"
