"""Uploaded bytes -> raw sheets of text cells, whatever the format (SPEC §3.1 formats)."""

from __future__ import annotations

import csv
import io
import itertools
import re
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import fastexcel
import pyarrow as pa

MAX_BYTES = 100 * 1024 * 1024
ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
SPREADSHEET_SUFFIXES = (".xlsx", ".xlsm", ".xlsb", ".xls", ".ods", ".csv", ".txt")


class UnreadableFile(Exception):
    """The file cannot be read as a spreadsheet; the message says why, in Chinese."""


@dataclass
class RawSheet:
    """One sheet as text cells: column j of the table is Excel column first_col + j."""

    name: str
    table: pa.Table
    first_col: int = 0
    visible: bool = True
    # Merged ranges as 0-based absolute (first_row, first_col, last_row, last_col)
    merged: list[tuple[int, int, int, int]] = field(default_factory=list)

    @property
    def height(self) -> int:
        """Number of rows; row i (0-based) is Excel row i + 1."""
        return self.table.num_rows

    def head_rows(self, n: int) -> list[list[str | None]]:
        """The first n rows as Python lists, for header detection."""
        head = self.table.slice(0, n).to_pydict()
        return [list(row) for row in zip(*head.values(), strict=True)] if head else []


def read_sheets(data: bytes, file_name: str, max_rows: int) -> list[RawSheet]:
    """Every sheet of the file as text; raises UnreadableFile with a Chinese reason."""
    if not data:
        raise UnreadableFile("文件为空（0 字节），请重新导出后上传。")
    if len(data) > MAX_BYTES:
        size = len(data) / 1024 / 1024
        raise UnreadableFile(f"文件大小 {size:.0f} MB，超过上限 {MAX_BYTES // 1024 // 1024} MB，请拆分后上传。")
    if data.startswith(OLE_MAGIC) and _is_encrypted_ooxml(data):
        raise UnreadableFile("文件已加密（设置了打开密码），请取消密码后另存再上传。")
    if data.startswith((ZIP_MAGIC, OLE_MAGIC)):
        return _excel_sheets(data, max_rows)
    if file_name.lower().endswith((".xlsx", ".xlsm", ".xlsb", ".xls", ".ods")):
        raise UnreadableFile(
            "文件内容不是有效的 Excel/WPS 表格（可能已损坏或只是改了扩展名），请用 Excel 打开后另存为 .xlsx 再上传。"
        )
    return [_csv_sheet(data, file_name, max_rows)]


def _is_encrypted_ooxml(data: bytes) -> bool:
    # An encrypted .xlsx is an OLE container holding these streams instead of a zip.
    head = data[: 1 << 16]
    return "EncryptionInfo".encode("utf-16-le") in head or "EncryptedPackage".encode("utf-16-le") in head


def _excel_sheets(data: bytes, max_rows: int) -> list[RawSheet]:
    try:
        # calamine via fastexcel: text cells straight into Arrow, several times faster than openpyxl (bench/)
        reader = fastexcel.read_excel(data)
    except Exception as exc:
        raise UnreadableFile("无法打开该表格文件：文件已损坏、已加密或不是 Excel/WPS 格式。") from exc
    if not data.startswith(ZIP_MAGIC):
        return [_excel_sheet(reader, name, max_rows) for name in reader.sheet_names]
    # The merge scan inflates the sheet XML again; calamine releases the GIL, so both run at once (bench/)
    with ThreadPoolExecutor(max_workers=1) as pool:
        merges = pool.submit(xlsx_merged_ranges, data)
        sheets = [_excel_sheet(reader, name, max_rows) for name in reader.sheet_names]
        for sheet in sheets:
            sheet.merged = merges.result().get(sheet.name, [])
    return sheets


_SHEET_ENTRY = re.compile(r'<(?:\w+:)?sheet\b[^>]*?name="([^"]*)"[^>]*?r:id="([^"]*)"')
_REL_ENTRY = re.compile(
    r'<Relationship\b[^>]*?Id="([^"]*)"[^>]*?Target="([^"]*)"|<Relationship\b[^>]*?Target="([^"]*)"[^>]*?Id="([^"]*)"'
)
_MERGE_REF = re.compile(r'<(?:\w+:)?mergeCell\b[^>]*?ref="([A-Z]+)(\d+):([A-Z]+)(\d+)"')


def _col_index(letters: str) -> int:
    index = 0
    for ch in letters:
        index = index * 26 + ord(ch) - 64
    return index - 1


def xlsx_merged_ranges(data: bytes) -> dict[str, list[tuple[int, int, int, int]]]:
    """Merged cell ranges per sheet name of an xlsx; empty when the package is unusual."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            book = package.read("xl/workbook.xml").decode("utf-8", "replace")
            rels = package.read("xl/_rels/workbook.xml.rels").decode("utf-8", "replace")
            targets = {m[0] or m[3]: m[1] or m[2] for m in _REL_ENTRY.findall(rels)}
            result = {}
            for name, rid in _SHEET_ENTRY.findall(book):
                target = targets.get(rid, "").lstrip("/")
                path = target if target.startswith("xl/") else f"xl/{target}"
                xml = package.read(path)
                tail = xml[max(xml.rfind(b"</sheetData>"), 0) :].decode("utf-8", "replace")  # merges follow the data
                result[_unescape(name)] = [
                    (int(r1) - 1, _col_index(c1), int(r2) - 1, _col_index(c2))
                    for c1, r1, c2, r2 in _MERGE_REF.findall(tail)
                ]
            return result
    except (KeyError, zipfile.BadZipFile, ValueError):
        return {}


def _unescape(text: str) -> str:
    return (
        text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", '"')
        .replace("&apos;", "'")
        .replace("&amp;", "&")
    )


def _excel_sheet(reader: fastexcel.ExcelReader, name: str, max_rows: int) -> RawSheet:
    try:
        # skip_rows=0 keeps leading blank rows, so table row i is Excel row i + 1
        sheet = reader.load_sheet(name, header_row=None, dtypes="string", skip_rows=0)
    except Exception as exc:
        raise UnreadableFile(f"工作表「{name}」无法读取（文件可能已损坏）。") from exc
    if sheet.total_height > max_rows + 1000:
        raise UnreadableFile(f"工作表「{name}」有 {sheet.total_height} 行，超过上限 {max_rows} 行，请拆分后上传。")
    if sheet.width == 0 or sheet.total_height == 0:
        return RawSheet(name, pa.table({}), 0, sheet.visible == "visible")
    columns = sheet.available_columns()
    table = pa.Table.from_batches([sheet.to_arrow()])
    return RawSheet(name, table, columns[0].absolute_index, sheet.visible == "visible")


def decode_text(data: bytes) -> str:
    """CSV bytes as text: UTF-8 (with or without BOM), else GBK/GB18030."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="strict")
    for encoding in ("utf-8", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise UnreadableFile("无法识别 CSV 文件的编码，请另存为 UTF-8 或 GBK 编码的 CSV。")


def _csv_sheet(data: bytes, file_name: str, max_rows: int) -> RawSheet:
    if b"\x00" in data[:4096]:
        raise UnreadableFile("文件不是表格文件（含二进制内容），请上传 .xlsx、.xls、.ods 或 .csv。")
    text = decode_text(data)
    sample = text[:20000]
    try:
        delimiter = csv.Sniffer().sniff(sample, delimiters=",\t;").delimiter
    except csv.Error:
        delimiter = ","
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    if len(rows) > max_rows + 1000:
        raise UnreadableFile(f"文件有 {len(rows)} 行，超过上限 {max_rows} 行，请拆分后上传。")
    # zip_longest transposes in C and pads short rows (title lines have one cell)
    columns = list(itertools.zip_longest(*rows))
    table = pa.table({f"c{j}": pa.array(col, pa.string()) for j, col in enumerate(columns)})
    stem = file_name.rsplit("/", 1)[-1]
    return RawSheet(stem.rsplit(".", 1)[0] or stem, table, 0)
