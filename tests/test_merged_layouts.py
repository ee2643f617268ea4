"""One table with 所属系统 and 单位名称 merged down over each unit's branches loads to exactly the records of its plain
twin from every format: .xlsx, .xls, .ods, an .xlsx whose XML attributes come in another legal order, and each of
those files re-saved by LibreOffice Calc (SPEC §3.1.1)."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pandas as pd
import pytest
import xlsxwriter
import xlwt
from odf.opendocument import OpenDocumentSpreadsheet
from odf.table import CoveredTableCell, Table, TableCell, TableRow
from odf.text import P

from analytics.ingest.records import ingest_bytes
from analytics.ingest.sheets import merges

TITLE = "2024年第一季度区直机关基层党组织建设情况统计表"
HEADER = ["所属系统", "单位名称", "党组织名称", "组织类型", "党员总数", "正式党员数", "支委会次数", "党课次数"]
ROWS = [
    ["经济系统", "区财政局", "机关第一党支部", "党支部", 12, 10, 3, 1],
    ["经济系统", "区财政局", "机关第二党支部", "党支部", 9, 9, 2, 1],
    ["经济系统", "区财政局", "离退休党支部", "党支部", 15, 15, 1, 0],
    ["经济系统", "区发改委", "机关党支部", "党支部", 15, 14, 3, 2],
    ["政法系统", "区司法局", "机关党总支", "党总支", 40, 37, 1, 1],
    ["政法系统", "区司法局", "第一党支部", "党支部", 20, 19, 3, 1],
    ["政法系统", "区司法局", "第二党支部", "党支部", 11, 10, 3, 1],
]
FIRST_DATA_ROW = 2  # 0-based: title, header, then the data


def spans(column: int) -> list[tuple[int, int]]:
    """(first, last) data positions of each run of equal values in a column: the cells an office merges."""
    runs, start = [], 0
    for i in range(1, len(ROWS) + 1):
        if i == len(ROWS) or ROWS[i][column] != ROWS[start][column]:
            runs.append((start, i - 1))
            start = i
    return runs


def merged_cells() -> dict[tuple[int, int], int]:
    """(data row, column) of each merge's top cell -> how many rows it spans (系统 and 单位 columns)."""
    return {(first, col): last - first + 1 for col in (0, 1) for first, last in spans(col) if last > first}


def covered(i: int, j: int) -> bool:
    """True for a cell under the top of a merge: an office's file has nothing there."""
    return any(top[1] == j and top[0] < i < top[0] + height for top, height in merged_cells().items())


def plain_xlsx() -> bytes:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet("统计表")
    for r, row in enumerate([[TITLE], HEADER, *ROWS]):
        for c, value in enumerate(row):
            sheet.write(r, c, value)
    book.close()
    return buffer.getvalue()


def place_merged(write, merge) -> None:
    """Lay the table out as an office does: write(r, c, value) for plain cells, merge(r1, r2, c, value) for the top
    cell of each merged run of 系统 / 单位; the cells under it stay empty."""
    write(0, 0, TITLE)
    for c, value in enumerate(HEADER):
        write(1, c, value)
    for i, row in enumerate(ROWS):
        r = FIRST_DATA_ROW + i
        for j, value in enumerate(row):
            if (i, j) in merged_cells():
                merge(r, r + merged_cells()[(i, j)] - 1, j, value)
            elif not covered(i, j):
                write(r, j, value)


def merged_xlsx() -> bytes:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet("统计表")
    place_merged(sheet.write, lambda r1, r2, c, value: sheet.merge_range(r1, c, r2, c, value))
    book.close()
    return buffer.getvalue()


def merged_xls() -> bytes:
    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("统计表")
    place_merged(sheet.write, lambda r1, r2, c, value: sheet.write_merge(r1, r2, c, c, value))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _ods_cell(value, **attributes) -> TableCell:
    kind = {"valuetype": "float", "value": value} if isinstance(value, int) else {"valuetype": "string"}
    cell = TableCell(**kind, **attributes)
    cell.addElement(P(text=str(value)))
    return cell


def merged_ods() -> bytes:
    doc = OpenDocumentSpreadsheet()
    table = Table(name="统计表")
    for row in ([TITLE], HEADER):
        line = TableRow()
        for value in row:
            line.addElement(_ods_cell(value))
        table.addElement(line)
    for i, row in enumerate(ROWS):
        line = TableRow()
        for j, value in enumerate(row):
            if covered(i, j):
                line.addElement(CoveredTableCell())
            elif (i, j) in merged_cells():
                line.addElement(_ods_cell(value, numberrowsspanned=merged_cells()[(i, j)]))
            else:
                line.addElement(_ods_cell(value))
        table.addElement(line)
    doc.spreadsheet.addElement(table)
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()


def reordered_xlsx() -> bytes:
    """merged_xlsx with the attributes of <sheet>, <Relationship>, <mergeCell> and <c> written in reverse order."""

    def reverse_attributes(xml: str, tag: str) -> str:
        def turn(m: re.Match) -> str:
            attributes = re.findall(r'[\w:]+="[^"]*"', m.group(2))
            return f"<{m.group(1)} {' '.join(reversed(attributes))}{m.group(3)}>"

        return re.sub(rf"<({tag})\s+([^>]*?)(\s*/?)>", turn, xml)

    tags = {
        "xl/workbook.xml": "sheet",
        "xl/_rels/workbook.xml.rels": "Relationship",
        "xl/worksheets/sheet1.xml": "mergeCell|c",
    }
    source, out = zipfile.ZipFile(io.BytesIO(merged_xlsx())), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename in tags:
                data = reverse_attributes(data.decode(), tags[info.filename]).encode()
            target.writestr(info, data)
    return out.getvalue()


def records(data: bytes, name: str) -> pd.DataFrame:
    report = ingest_bytes(data, name, "2024Q1")
    assert report.errors == [], (name, report.errors)
    return report.records.reset_index(drop=True)


@pytest.fixture(scope="module")
def twin() -> pd.DataFrame:
    return records(plain_xlsx(), "plain.xlsx")


WRITERS = {
    "merged.xlsx": merged_xlsx,
    "merged.xls": merged_xls,
    "merged.ods": merged_ods,
    "reordered.xlsx": reordered_xlsx,
}


def test_the_reordered_file_really_has_its_attributes_in_another_order():
    with zipfile.ZipFile(io.BytesIO(reordered_xlsx())) as package:
        book = package.read("xl/workbook.xml").decode()
        rels = package.read("xl/_rels/workbook.xml.rels").decode()
        sheet = package.read("xl/worksheets/sheet1.xml").decode()
    assert '<sheet r:id="rId1" sheetId="1" name="统计表"/>' in book
    assert re.search(r'<Relationship Target="worksheets/sheet1.xml" [^>]*Id="rId1"/>', rels)
    assert '<c t="s" r="A1">' in sheet and '<mergeCell ref="A3:A6"/>' in sheet


@pytest.mark.parametrize("name", list(WRITERS))
def test_a_merged_table_loads_like_its_plain_twin(name: str, twin: pd.DataFrame):
    data = WRITERS[name]()
    pd.testing.assert_frame_equal(records(data, name), twin.assign(source_sheet="统计表"))


SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")


@pytest.fixture(scope="module")
def resaved(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """Every merged file re-saved by LibreOffice Calc as xlsx, xls and ods (one soffice run per target format)."""
    if SOFFICE is None:
        pytest.fail("LibreOffice Calc (soffice) is installed by .ci/run")
    source, out = tmp_path_factory.mktemp("source"), tmp_path_factory.mktemp("resaved")
    profile = tmp_path_factory.mktemp("profile")
    for name, writer in WRITERS.items():
        (source / name.replace(".", "_", 1)).with_suffix(Path(name).suffix).write_bytes(writer())
    files = sorted(str(p) for p in source.iterdir())
    found = {}
    for target in ("xlsx", "xls", "ods"):
        folder = out / target
        command = [SOFFICE, f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", target]
        done = subprocess.run([*command, "--outdir", str(folder), *files], capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        found |= {f"{p.stem}.{target}": p.read_bytes() for p in folder.iterdir()}
    return found


@pytest.mark.slow
def test_every_format_is_re_saved_by_libreoffice(resaved: dict[str, bytes]):
    assert len(resaved) == len(WRITERS) * 3


@pytest.mark.slow
def test_files_re_saved_by_libreoffice_load_like_the_plain_twin(resaved: dict[str, bytes], twin: pd.DataFrame):
    for name, data in sorted(resaved.items()):
        got = records(data, name)
        pd.testing.assert_frame_equal(got.drop(columns="source_sheet"), twin.drop(columns="source_sheet"), obj=name)


def test_ranges_come_from_each_format_s_own_structure():
    for name in ("merged.xlsx", "merged.xls", "merged.ods", "reordered.xlsx"):
        report = ingest_bytes(WRITERS[name](), name, "2024Q1")
        assert report.records["unit"].tolist() == [row[1] for row in ROWS], name
    assert merges.cell_range("A3:A5") == (2, 0, 4, 0)
    assert merges.cell_range("$B$2:$C$9") == (1, 1, 8, 2)
    assert merges.cell_range("nonsense") is None
