"""SPEC §3.1 tolerances and §3.2 rejections, one real file per case (xlsx, xls, ods, csv)."""

from __future__ import annotations

import datetime as dt
import io
import re
import unicodedata

import pandas as pd
import pyarrow as pa
import pytest
import xlsxwriter
import xlwt
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.ingest import values
from analytics.ingest.records import ingest_bytes
from analytics.ingest.sheets import workbook
from tests.records import csv_bytes, org

TODAY = dt.date(2025, 1, 15)
BASE = ["所属系统", "单位名称", "党组织名称", "组织类型"]


def xlsx(
    rows: list[list], sheet: str = "Sheet1", extra_sheets: dict | None = None, formats: dict | None = None
) -> bytes:
    """An xlsx whose cells are exactly rows (None = empty); formats maps (r, c) -> num_format."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_numbers": False})
    for name, content in {sheet: rows, **(extra_sheets or {})}.items():
        ws = book.add_worksheet(name)
        for r, row in enumerate(content):
            for c, value in enumerate(row):
                fmt = book.add_format({"num_format": formats[(r, c)]}) if formats and (r, c) in formats else None
                if isinstance(value, dt.datetime):
                    ws.write_datetime(r, c, value, fmt or book.add_format({"num_format": "yyyy-mm-dd"}))
                elif value is not None:
                    ws.write(r, c, value, fmt)
    book.close()
    return buffer.getvalue()


def one_column(header: str, *values) -> bytes:
    """A workbook with a title, the four required columns and one more column holding values."""
    rows = [["2024年第一季度统计表"], [*BASE, header]]
    rows += [["教育系统", "区教育局", f"第{i}支部", "党支部", v] for i, v in enumerate(values)]
    return xlsx(rows)


def parsed(data: bytes, name: str = "t.xlsx", quarter: str | None = None):
    report = ingest_bytes(data, name, quarter, today=TODAY)
    return report


@pytest.mark.parametrize(
    ("header", "name"),
    [
        ("支委会次数", "committee_meetings"),
        (" 支委会 次数 ", "committee_meetings"),
        ("支委会\n次数", "committee_meetings"),
        ("支委会次数(次)", "committee_meetings"),
        ("支委会次数（次）", "committee_meetings"),
        ("支部委员会会议", "committee_meetings"),
        ("三会一课线上录入率（%）", "online_record_rate"),
        ("党费应缴（元）", "dues_due"),
        ("党建＋项目数", "pb_plus_projects"),
    ],
)
def test_header_variants_name_the_same_column(header: str, name: str):
    report = parsed(one_column(header, 2))
    assert report.errors == []
    assert report.records[name].tolist() == [2 if name != "online_record_rate" else 2.0]


@pytest.mark.parametrize("synonym", ["单位", "所在单位"])
def test_unit_synonyms(synonym: str):
    data = xlsx(
        [["2024Q1"], ["所属系统", synonym, "支部名称", "组织类型"], ["政法系统", "区法院", "机关支部", "党支部"]]
    )
    assert parsed(data).records["unit"].tolist() == ["区法院"]


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("12", 12),
        ("１２", 12),
        ("1,200", 1200),
        (12.0, 12),
        ("无", 0),
        ("3次", 3),
        ("", None),
        ("-", None),
        ("—", None),
        ("/", None),
        ("**", None),
        ("未填", None),
    ],
)
def test_count_values_as_offices_type_them(cell, expected):
    report = parsed(one_column("党员总数", cell))
    assert report.errors == []
    value = report.records["members_total"].iloc[0]
    assert pd.isna(value) if expected is None else value == expected


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        (["85%", "90%"], [85, 90]),
        (["85", "90"], [85, 90]),
        ([0.85, 0.9], [85, 90]),
        (["85%", 0.9], [85, 90]),
        ([1, 0.5], [100, 50]),
        ([85, 100], [85, 100]),
    ],
)
def test_rates_are_percent_and_a_column_of_fractions_is_scaled(cells, expected):
    report = parsed(one_column("学习强国参学率(%)", *cells))
    assert report.errors == []
    assert report.records["study_rate"].tolist() == expected


def test_percent_formatted_excel_cells_are_fractions():
    rows = [
        ["2024年第一季度"],
        [*BASE, "业务目标完成率(%)"],
        ["a", "b", "c", "党支部", 0.714],
        ["a", "b", "d", "党支部", 1],
    ]
    report = parsed(xlsx(rows, formats={(2, 4): "0%", (3, 4): "0%"}))
    assert report.records["business_completion"].tolist() == [71.4, 100.0]


@pytest.mark.parametrize("yes", ["是", "√", "Y", "有", "已"])
@pytest.mark.parametrize("no", ["否", "×", "N", "无", "未"])
def test_yes_no_variants(yes: str, no: str):
    report = parsed(one_column("书记是否配备", yes, no))
    assert report.records["has_secretary"].tolist() == [True, False]


@pytest.mark.parametrize(
    "cell",
    [
        "2023-03-15",
        "2023/3/15",
        "2023.3.15",
        "2023年3月15日",
        dt.datetime(2023, 3, 15),
        45000,
        "45000",
    ],  # serial 45000 = 2023-03-15 (1899-12-30 epoch),
)
def test_date_variants(cell):
    report = parsed(one_column("本届选举日期", cell))
    assert report.errors == []
    assert report.records["last_election_date"].iloc[0] == pd.Timestamp("2023-03-15")


@pytest.mark.parametrize(
    ("title", "file_name", "expected"),
    [
        ("2024年第一季度统计表", "a.xlsx", "2024Q1"),
        ("2024年1季度统计表", "a.xlsx", "2024Q1"),
        ("2024Q3 统计", "a.xlsx", "2024Q3"),
        ("统计表", "2023年第四季度.xlsx", "2023Q4"),
        ("统计表", "报表2024q2.xlsx", "2024Q2"),
    ],
)
def test_quarter_is_detected_from_the_title_or_file_name(title, file_name, expected):
    data = xlsx([[title], BASE, ["a", "b", "c", "党支部"]])
    assert parsed(data, file_name).quarter == expected


def test_given_quarter_wins_over_the_title_with_a_warning():
    report = parsed(xlsx([["2024年第一季度"], BASE, ["a", "b", "c", "党支部"]]), quarter="2024Q2")
    assert report.quarter == "2024Q2"
    assert any("2024Q1" in p.message for p in report.warnings)


def test_no_quarter_anywhere_is_an_error_asking_for_it():
    report = parsed(xlsx([["统计表"], BASE, ["a", "b", "c", "党支部"]]), "data.xlsx")
    assert report.quarter is None and any("季度" in p.message for p in report.errors)


def test_title_lines_index_column_blank_rows_total_rows_and_notes_are_not_records():
    rows = [
        ["2024年第一季度区直机关基层党组织建设情况统计表"],
        ["填报单位：区直机关工委  填报日期：2024年4月10日"],
        ["序号", *BASE, "党员总数"],
        [1, "教育系统", "区教育局", "机关支部", "党支部", 10],
        [None] * 6,
        [2, "教育系统", "区教育局", "二支部", "党支部", 8],
        ["合计", None, None, None, None, 18],
        ["填表说明：1. 本表按季度填报"],
        [None, "2. 党员总数含预备党员"],
    ]
    report = parsed(xlsx(rows))
    assert report.errors == []
    assert report.records["org_name"].tolist() == ["机关支部", "二支部"]
    assert report.records["source_row"].tolist() == [4, 6]  # Excel row numbers


def test_two_row_header_with_merged_group_cells_uses_the_leaf_names():
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    ws = book.add_worksheet("汇总")
    ws.write(0, 0, "2024年第二季度统计表")
    for j, h in enumerate(BASE):
        ws.merge_range(1, j, 2, j, h)
    ws.merge_range(1, 4, 1, 6, "三会一课")
    for j, h in enumerate(["支委会", "党员大会", "党课"], start=4):
        ws.write(2, j, h)
    for j, v in enumerate(["教育系统", "区教育局", "机关支部", "党支部", 3, 1, 2]):
        ws.write(3, j, v)
    book.close()
    report = parsed(buffer.getvalue())
    assert report.errors == [] and report.quarter == "2024Q2"
    rec = report.records.iloc[0]
    assert (rec["committee_meetings"], rec["general_meetings"], rec["party_lectures"]) == (3, 1, 2)
    assert rec["source_row"] == 4


def test_all_matching_sheets_are_read_and_others_named():
    sheet = lambda system: [["2024年第一季度"], BASE, [system, "单位", "支部", "党支部"]]  # noqa: E731
    data = xlsx(sheet("教育系统"), "教育系统", extra_sheets={"政法系统": sheet("政法系统"), "填表说明": [["说明文字"]]})
    report = parsed(data)
    assert sorted(report.records["system"]) == ["政法系统", "教育系统"]
    assert report.sheets_read == ["教育系统", "政法系统"]
    assert any(p.sheet == "填表说明" for p in report.warnings)


def test_legacy_xls_with_one_sheet_per_system():
    book = xlwt.Workbook(encoding="utf-8")
    for system in ("教育系统", "卫健系统"):
        ws = book.add_sheet(system)
        ws.write(0, 0, "2024年第一季度统计表")
        for j, h in enumerate([*BASE, "本届选举日期"]):
            ws.write(1, j, h)
        for j, v in enumerate([system, "单位", "支部", "党支部"]):
            ws.write(2, j, v)
        ws.write(2, 4, dt.datetime(2022, 5, 6), xlwt.easyxf(num_format_str="YYYY-MM-DD"))
    buffer = io.BytesIO()
    book.save(buffer)
    report = parsed(buffer.getvalue(), "old.xls")
    assert report.errors == [] and len(report.records) == 2
    assert set(report.records["last_election_date"]) == {pd.Timestamp("2022-05-06")}


def test_ods_files_are_read():
    frame = pd.DataFrame([["教育系统", "单位", "支部", "党支部", 7]], columns=[*BASE, "党员总数"])
    buffer = io.BytesIO()
    frame.to_excel(buffer, engine="odf", index=False)
    report = parsed(buffer.getvalue(), "2024年第一季度.ods")
    assert report.records["members_total"].tolist() == [7]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_csv_encodings(encoding: str):
    report = parsed(csv_bytes([org(1, org_name="区教育局第一党支部")], encoding=encoding), "a.csv")
    assert report.errors == []
    assert report.records["org_name"].tolist() == ["区教育局第一党支部"]


# --- §3.2 rejections ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "name", "fragment"),
    [
        (b"", "a.xlsx", "为空"),
        (b"PK\x03\x04 truncated zip", "a.xlsx", "无法打开"),
        (b"\x89PNG\r\n\x1a\n" + bytes(200), "a.xlsx", "不是有效的"),
        (workbook.OLE_MAGIC + "EncryptionInfo".encode("utf-16-le") + bytes(600), "a.xlsx", "加密"),
        (b"\x00\x01\x02binary" * 10, "a.csv", "不是表格文件"),
        (b"just,some,text\n1,2,3\n", "a.csv", "没有可识别"),
    ],
)
def test_unreadable_files_are_rejected_in_chinese(data: bytes, name: str, fragment: str):
    report = parsed(data, name)
    assert report.records is None
    assert any(fragment in p.message for p in report.errors), [p.message for p in report.errors]


def test_missing_required_column_names_it():
    report = parsed(
        xlsx([["2024年第一季度"], ["所属系统", "党组织名称", "组织类型", "党员总数"], ["a", "c", "党支部", 3]])
    )
    assert [p.column for p in report.errors] == ["单位名称"]


def test_every_cell_error_is_reported_at_once_with_row_column_and_value():
    rows = [
        ["2024年第一季度"],
        [
            *BASE,
            "党员总数",
            "正式党员数",
            "检视问题数",
            "已整改问题数",
            "学习强国参学率(%)",
            "书记述职评议等次",
            "创建等级",
        ],
        ["a", "b", "c1", "党支部", "十", 3, 1, 1, 50, "好", "无"],
        ["a", "b", "c2", "党小组", -1, 3, 1, 1, 50, "好", "无"],
        ["a", "b", "c3", "党支部", 5, 6, 1, 2, 101, "优", "省级"],
    ]
    report = parsed(xlsx(rows))
    found = {(p.row, p.column, p.value) for p in report.errors}
    assert found == {
        (3, "党员总数", "十"),
        (4, "组织类型", "党小组"),
        (4, "党员总数", "-1"),
        (5, "正式党员数", "6"),
        (5, "已整改问题数", "2"),
        (5, "学习强国参学率(%)", "101"),
        (5, "书记述职评议等次", "优"),
        (5, "创建等级", "省级"),
    }
    assert all(p.sheet == "Sheet1" for p in report.errors)
    assert report.records.empty


def test_duplicate_organizations_are_errors_naming_both_rows():
    rows = [
        ["2024年第一季度"],
        BASE,
        ["a", "b", "机关支部", "党支部"],
        ["a", "b", "机关 支部", "党支部"],
        ["a", "b2", "机关支部", "党支部"],
    ]
    report = parsed(xlsx(rows))
    assert sorted(p.row for p in report.errors) == [3, 4]
    assert any("第3行" in p.message for p in report.errors)


def test_duplicates_across_sheets_are_errors():
    sheet = [["2024年第一季度"], BASE, ["a", "b", "机关支部", "党支部"]]
    report = parsed(xlsx(sheet, "一", extra_sheets={"二": sheet}))
    assert {(p.sheet, p.row) for p in report.errors} == {("一", 3), ("二", 3)}


def test_row_and_size_limits(monkeypatch):
    rows = [["2024年第一季度"], BASE] + [["a", "b", f"c{i}", "党支部"] for i in range(30)]
    report = ingest_bytes(xlsx(rows), "a.xlsx", max_rows=10)
    assert any("超过上限" in p.message for p in report.errors)
    monkeypatch.setattr(workbook, "MAX_BYTES", 100)
    report = ingest_bytes(xlsx(rows), "a.xlsx")
    assert any("超过上限" in p.message and "MB" in p.message for p in report.errors)


def test_warnings_do_not_block_loading():
    rows = [
        ["2024年第一季度"],
        [*BASE, "党员总数", "正式党员数", "预备党员数", "主题党日次数", "备用列"],
        ["a", "b", "c", "党支部", 10, 7, 2, 40, "x"],
    ]
    report = parsed(xlsx(rows))
    assert report.errors == [] and len(report.records) == 1
    messages = {(p.column, p.message.split("，")[0]) for p in report.warnings}
    assert ("备用列", "未识别的列") in messages
    assert any(c == "预备党员数" for c, _ in messages)
    assert any(c == "主题党日次数" and "偏大" in m for c, m in messages)


def test_valid_rows_only_keeps_the_good_rows_and_counts_the_rest():
    rows = [
        ["2024年第一季度"],
        [*BASE, "党员总数"],
        ["a", "b", "c1", "党支部", 5],
        ["a", "b", "c2", "党支部", -5],
        ["a", "b", "c3", "党支部", 7],
    ]
    report = parsed(xlsx(rows))
    assert report.records["org_name"].tolist() == ["c1", "c3"]
    assert report.rejected_rows == 1 and len(report.errors) == 1


def test_vertically_merged_system_and_unit_cells_fill_the_rows_they_cover():
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    ws = book.add_worksheet("汇总")
    ws.write(0, 0, "2024年第一季度统计表")
    for j, h in enumerate([*BASE, "党员总数"]):
        ws.write(1, j, h)
    ws.merge_range(2, 0, 5, 0, "教育系统")
    ws.merge_range(2, 1, 3, 1, "区教育局")
    ws.merge_range(4, 1, 5, 1, "区一中")
    for r, name in enumerate(["机关支部", "二支部", "一中支部", "一中二支部"], start=2):
        ws.write(r, 2, name)
        ws.write(r, 3, "党支部")
        ws.write(r, 4, 10 + r)
    ws.write(6, 2, "缺单位支部")  # not merged: a blank unit stays an error, never filled blindly
    ws.write(6, 3, "党支部")
    book.close()
    report = parsed(buffer.getvalue())
    good = report.records
    assert good["unit"].tolist() == ["区教育局", "区教育局", "区一中", "区一中"]
    assert set(good["system"]) == {"教育系统"}
    assert good["members_total"].tolist() == [12, 13, 14, 15]  # numbers are never filled
    assert {(p.row, p.column) for p in report.errors} == {(7, "所属系统"), (7, "单位名称")}


# --- fast paths agree with the plain rules ------------------------------------------------------

_CELL_TEXT = st.text(
    alphabet=st.sampled_from(list("12,. 元次无-/\t\n\x0b\x1c\x85\xa0\u3000\u2003１２ＡＢ合计注：是")), max_size=8
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.none(), _CELL_TEXT), max_size=12))
def test_column_normalization_equals_nfkc_without_any_whitespace(cells):
    # Second method: Python's own NFKC and \s, one cell at a time (ASCII columns skip both Arrow passes)
    expected = [None if c is None else re.sub(r"\s+", "", unicodedata.normalize("NFKC", c)) or None for c in cells]
    assert values.normalized_arrow(pa.array(cells, pa.string())).to_pylist() == expected


@pytest.mark.parametrize(
    ("label", "is_total"),
    [("合计", True), ("小计：", True), ("总计(元)", True), ("汇总3", True), ("合计人数", False), ("累计完成率", False)],
)
def test_total_rows_are_recognized_by_their_label(label: str, is_total: bool):
    rows = [["2024年第一季度"], BASE, ["a", "b", "c", "党支部"], [label, "b", "d", "党支部"]]
    assert len(parsed(xlsx(rows)).records) == (1 if is_total else 2)
