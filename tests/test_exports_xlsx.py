"""XLSX export: reopened with openpyxl, text stays text (never a formula), numbers stay numbers."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pandas as pd
import pytest

from analytics.meeting.exports import formula_like, sheet_names, xlsx_bytes


def reopen(sheets: dict[str, pd.DataFrame]) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(xlsx_bytes(sheets)))


@pytest.mark.parametrize(
    ("text", "risky"),
    [("=1+1", True), ("+8613800000000", True), ("-3 人", True), ("@x", True), ("\t=cmd", True),
     ("区财政局", False), ("a=b", False), ("", False), (None, False)],
)  # fmt: skip
def test_formula_like_names_the_starts_a_spreadsheet_reads_as_a_formula(text, risky):
    assert formula_like(text) == risky


def test_formula_like_text_is_stored_as_text_and_numbers_as_numbers():
    frame = pd.DataFrame(
        {
            "党组织名称": ["=1+1", "+8613800000000", "@x", "-3 人", "区委办公室综合党支部"],
            "党员总数": [12, 7, 0, 3, 25],
            "得分": [85.5, 60.0, 72.25, 0.0, 100.0],
            "编号": ["007", "1", "2", "3", "4"],
        }
    )
    sheet = reopen({"名单": frame})["名单"]
    assert [c.value for c in sheet[1]] == ["党组织名称", "党员总数", "得分", "编号"]
    names = [row[0] for row in sheet.iter_rows(min_row=2)]
    assert all(c.data_type == "s" for c in names)
    # exactly as typed, no visible apostrophe; Excel's quote prefix keeps a formula start text when edited
    assert [c.value for c in names] == ["=1+1", "+8613800000000", "@x", "-3 人", "区委办公室综合党支部"]
    assert [c.quotePrefix for c in names] == [True, True, True, True, False]
    assert [c.value for c in sheet["B"][1:]] == [12, 7, 0, 3, 25]
    assert all(c.data_type == "n" for c in sheet["B"][1:] + sheet["C"][1:])
    assert sheet["C2"].value == 85.5 and sheet["C4"].value == 72.25
    assert sheet["D2"].value == "007" and sheet["D2"].data_type == "s"  # text that looks numeric stays text


def test_header_row_is_frozen_and_widths_fit_chinese_text():
    frame = pd.DataFrame({"党组织名称": ["区住房和城乡建设局质量安全监督站党支部"], "n": [1], "code": ["abcdefghij"]})
    sheet = reopen({"表": frame})["表"]
    assert sheet.freeze_panes == "A2"
    wide, narrow, ascii_ = (sheet.column_dimensions[c].width for c in "ABC")
    assert wide >= 2 * len("区住房和城乡建设局质量安全监督站党支部")  # CJK characters are two columns wide
    assert narrow < ascii_ < wide


def test_missing_values_are_blank_dates_are_dates_and_yes_no_reads_in_chinese():
    frame = pd.DataFrame(
        {
            "应换届日期": pd.to_datetime(["2024-07-05", None]),
            "载入时间": pd.to_datetime(["2024-10-08 09:30:00", "2024-10-09 17:05:00"]),
            "得分": [float("nan"), 61.5],
            "备注": [None, "补报"],
            "书记是否配备": [True, False],
        }
    )
    sheet = reopen({"a": frame})["a"]
    assert sheet["A2"].is_date and sheet["A2"].value == dt.datetime(2024, 7, 5)
    assert sheet["A3"].value is None and sheet["C2"].value is None and sheet["D2"].value is None
    assert sheet["B3"].value == dt.datetime(2024, 10, 9, 17, 5)
    assert (sheet["E2"].value, sheet["E3"].value) == ("是", "否")
    assert sheet["A2"].number_format == "yyyy-mm-dd" and "hh:mm" in sheet["B2"].number_format


def test_sheet_names_are_valid_unique_and_at_most_31_characters():
    long = "区直机关基层党组织建设情况统计表之换届超期党组织名单（2024年第四季度）"
    given = [long + "甲", long + "乙", "a/b:c", "A/B:C", "Sheet", ""]
    names = sheet_names(given)
    assert all(len(n) <= 31 for n in names)
    assert len({n.lower() for n in names}) == len(names)
    assert names[0] == long[:31] and names[1] != names[0] and names[2] == "a_b_c"
    book = reopen({g: pd.DataFrame({"x": [i]}) for i, g in enumerate(given)})
    assert book.sheetnames == names
    assert [book[n]["A2"].value for n in names] == list(range(len(given)))


def test_empty_tables_and_no_tables_still_make_a_workbook():
    book = reopen({"换届超期": pd.DataFrame(columns=["所属系统", "单位名称"])})
    assert [c.value for c in book["换届超期"][1]] == ["所属系统", "单位名称"]
    assert book["换届超期"].max_row == 1
    assert reopen({}).sheetnames == ["Sheet1"]
