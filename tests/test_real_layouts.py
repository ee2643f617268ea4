"""Layouts unit offices send (SPEC §3.1.1): each messy file loads to exactly the records of its clean twin, and a
column that resembles a template column is never dropped unasked, in any format."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pandas as pd
import pytest
import xlsxwriter
import xlwt

from analytics.cli import main as cli_main
from analytics.ingest.records import ingest_bytes

TODAY = dt.date(2025, 1, 15)
HEADER = ["所属系统", "单位名称", "党组织名称", "组织类型", "党员总数", "正式党员数", "支委会次数"]
ROWS = [
    ["经济系统", "区财政局", "机关第一党支部", "党支部", 12, 10, 3],
    ["经济系统", "区财政局", "机关第二党支部", "党支部", 9, 9, 2],
    ["经济系统", "区发改委", "机关党支部", "党支部", 15, 14, 3],
    ["政法系统", "区司法局", "机关党总支", "党总支", 40, 37, 1],
    ["政法系统", "区司法局", "第一党支部", "党支部", 20, 19, 3],
]
TITLE = ["2024年第一季度区直机关基层党组织建设情况统计表"]
SIGN_OFF = [
    "填表人：张三",
    None,
    "审核人：李四",
    None,
    "联系电话：0571-12345678",
    "单位负责人：王五",
    "填报日期：2024年4月8日",
]


def xlsx(sheets: dict[str, list[list]]) -> bytes:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    for name, rows in sheets.items():
        sheet = book.add_worksheet(name)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if value is not None:
                    sheet.write(r, c, value)
    book.close()
    return buffer.getvalue()


def records(data: bytes, name: str = "t.xlsx", **kwargs) -> pd.DataFrame:
    report = ingest_bytes(data, name, "2024Q1", today=TODAY, **kwargs)
    assert report.errors == [], report.errors
    return report.records.drop(columns=["source_sheet", "source_row"]).sort_values("org_name").reset_index(drop=True)


@pytest.fixture(scope="module")
def twin() -> pd.DataFrame:
    """The clean file: title, header, one row per organization."""
    return records(xlsx({"Sheet1": [TITLE, HEADER, *ROWS]}))


def test_total_row_with_its_marker_in_the_system_column_and_sign_off_lines_are_not_records(twin):
    rows = [TITLE, ["序号", *HEADER]]
    rows += [[i + 1, *row] for i, row in enumerate(ROWS)]
    rows += [[None, "合计", None, None, None, 96, 89, 12], [None] * 8, SIGN_OFF, ["注：党员总数含预备党员"]]
    pd.testing.assert_frame_equal(records(xlsx({"Sheet1": rows})), twin)


@pytest.mark.parametrize("marker", ["经济系统小计", "全区合计", "总计：", "合 计"])
def test_subtotal_rows_named_after_their_system_are_not_records(twin, marker):
    rows = [TITLE, HEADER, *ROWS[:3], [marker, None, None, None, 36, 33, 8], *ROWS[3:]]
    pd.testing.assert_frame_equal(records(xlsx({"Sheet1": rows})), twin)


def test_one_sheet_per_system_without_a_system_column_takes_the_sheet_name(twin):
    header = HEADER[1:]
    sheets = {
        system: [TITLE, header, *[row[1:] for row in ROWS if row[0] == system]] for system in ("经济系统", "政法系统")
    }
    report = ingest_bytes(xlsx(sheets), "全区.xlsx", "2024Q1", today=TODAY)
    assert report.errors == []
    got = report.records.drop(columns=["source_sheet", "source_row"]).sort_values("org_name").reset_index(drop=True)
    pd.testing.assert_frame_equal(got, twin)
    notes = [p for p in report.warnings if "工作表名称" in p.message]
    assert sorted(p.sheet for p in notes) == ["政法系统", "经济系统"]


@pytest.mark.parametrize("name", ["Sheet1", "工作表2", "区财政局"])
def test_a_sheet_name_that_names_no_system_is_never_taken_as_one(name):
    data = xlsx({name: [TITLE, HEADER[1:], *[row[1:] for row in ROWS[:2]]]})
    report = ingest_bytes(data, "t.xlsx", "2024Q1", today=TODAY)
    assert report.records is None
    assert any("所属系统" in p.message for p in report.errors)


def test_a_sheet_named_after_a_stored_system_is_taken_as_it():
    data = xlsx({"党群口": [TITLE, HEADER[1:], *[row[1:] for row in ROWS[:2]]]})
    report = ingest_bytes(data, "t.xlsx", "2024Q1", today=TODAY, known_systems=frozenset({"党群口"}))
    assert report.errors == [] and set(report.records["system"]) == {"党群口"}


def test_a_csv_file_name_is_never_taken_as_a_system():
    buffer = io.StringIO()
    csv.writer(buffer).writerows([TITLE, HEADER[1:], *[row[1:] for row in ROWS[:2]]])
    report = ingest_bytes(buffer.getvalue().encode(), "经济系统.csv", "2024Q1", today=TODAY)
    assert report.records is None and any("所属系统" in p.message for p in report.errors)


# A column that resembles a template column, planted in every supported format
PLANTED = "三会一课网上录入比例"


def planted_rows() -> list[list]:
    return [TITLE, [*HEADER, PLANTED], *[[*row, 80] for row in ROWS]]


def as_xls(rows: list[list]) -> bytes:
    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("Sheet1")
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if value is not None:
                sheet.write(r, c, value)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def as_ods(rows: list[list]) -> bytes:
    buffer = io.BytesIO()
    width = max(map(len, rows))
    padded = [row + [None] * (width - len(row)) for row in rows]
    pd.DataFrame(padded).to_excel(buffer, engine="odf", index=False, header=False, sheet_name="Sheet1")
    return buffer.getvalue()


def as_csv(rows: list[list]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode("gbk")


WRITERS = {
    "xlsx": lambda rows: xlsx({"Sheet1": rows}),
    "xls": as_xls,
    "ods": as_ods,
    "csv": as_csv,
}


@pytest.mark.parametrize("suffix", list(WRITERS))
def test_a_planted_resembling_column_blocks_the_cli_in_every_format(tmp_path, db_path, capsys, suffix):
    path = tmp_path / f"报表.{suffix}"
    path.write_bytes(WRITERS[suffix](planted_rows()))
    args = ["ingest", str(path), "--db", str(db_path), "--quarter", "2024Q1", "--json", "--no-refresh"]
    code = cli_main([*args, "--allow-missing-columns", "--valid-rows-only"])
    out = json.loads(capsys.readouterr().out)
    assert code == 1 and out["loaded"] == []
    assert [(u["header"], u["suggestions"][0]) for u in out["unmapped_columns"]] == [(PLANTED, "online_record_rate")]
    code = cli_main([*args, "--allow-missing-columns", "--map", f"{PLANTED}=online_record_rate"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["loaded"][0]["rows"] == len(ROWS)


@pytest.mark.parametrize("cell", ["2021年6月", "2021.6", "2021-06", "2021/06", "2021年06月"])
def test_a_month_only_election_date_is_the_first_of_the_month_with_a_note_naming_the_cell(cell):
    rows = [TITLE, [*HEADER, "本届选举日期"], [*ROWS[0], cell], [*ROWS[1], "2022-03-15"]]
    report = ingest_bytes(xlsx({"Sheet1": rows}), "t.xlsx", "2024Q1", today=TODAY)
    assert report.errors == []
    assert report.records["last_election_date"].tolist() == [pd.Timestamp("2021-06-01"), pd.Timestamp("2022-03-15")]
    notes = [p for p in report.warnings if p.field == "last_election_date"]
    assert [(p.cell, p.value) for p in notes] == [("H3", cell)] and "当月1日" in notes[0].message
