"""How offices lay out their quarterly workbooks (SPEC §3.1): the .xlsx and legacy .xls writers of the demo.

Every writer takes (path, quarter, records); a record maps the template's internal names to Python values
(str, int, float, bool, datetime.date, or None for a blank cell). Writers only format and draw no random
numbers; workbook properties carry a fixed date, so the bytes depend on the records alone.
"""

from __future__ import annotations

import datetime as dt
from itertools import groupby
from pathlib import Path

import xlsxwriter
import xlwt
from district import COMMITTEE, TITLE, filing_line, is_summed, quarter_end, quarter_title, template_columns

REMARK_COLUMN = "备注"  # an extra column of the 2023Q1 workbook, ignored by the ingester with a warning


# ---------------------------------------------------------------------------------------------- .xlsx layouts

# The consolidated workbook's columns after 序号: (group cell over the leaf or None, internal name, leaf text).
# Single-level headers are merged down over both header rows; the leaf names the column.
TWO_ROW_HEADER = (
    (None, "system", "所属系统"),
    (None, "unit", "单位名称"),
    (None, "org_name", "党组织名称"),
    (None, "org_type", "组织类型"),
    ("党员情况", "members_total", "党员总数(人)"),
    ("党员情况", "members_full", "正式党员(人)"),
    ("党员情况", "members_probationary", "预备党员(人)"),
    (None, "has_secretary", "书记是否\n配备"),
    (None, "last_election_date", "本届选举\n日期"),
    ("三会一课", "committee_meetings", "支委会\n次数"),
    ("三会一课", "general_meetings", "党员大会\n次数"),
    ("三会一课", "group_meetings", "党小组会\n次数"),
    ("三会一课", "party_lectures", "党课(次)"),
    ("组织生活", "theme_days", "主题党日\n(次)"),
    ("组织生活", "life_meetings", "组织生活会\n(次)"),
    ("组织生活", "member_review_done", "民主评议党员\n是否完成"),
    ("平台运用", "online_record_rate", "三会一课线上\n录入率（%）"),
    ("平台运用", "study_rate", "学习强国\n参学率（%）"),
    (None, "records_standard", "台账资料\n是否规范"),
    ("党费收缴", "dues_due", "应缴党费\n（元）"),
    ("党费收缴", "dues_paid", "实缴党费\n（元）"),
    ("党员发展", "activists", "入党积极分子\n(人)"),
    ("党员发展", "candidates", "发展对象\n(人)"),
    ("党员发展", "new_probationary", "接收预备党员\n(人)"),
    ("党员发展", "converted", "预备党员转正\n(人)"),
    ("党建与业务融合", "joint_meetings", "党建业务同部署\n次数"),
    ("党建与业务融合", "pb_plus_projects", "党建+项目数\n(个)"),
    ("党建与业务融合", "vanguard_posts", "党员先锋岗数\n(个)"),
    ("党建与业务融合", "business_completion", "业务目标\n完成率（%）"),
    ("问题整改", "issues_found", "检视问题数\n(个)"),
    ("问题整改", "issues_fixed", "已整改问题数\n(个)"),
    (None, "secretary_review", "书记述职\n评议等次"),
    (None, "model_level", "创建等级"),
)
XLSX_NOTES = (
    "填表说明：1. 党员人数为季度末人数，各项次数为本季度内召开（开展）的次数。",
    "2. 未设党小组的党组织“党小组会次数”不填，未设支委会的党支部“支委会次数”不填；民主评议党员为年度工作，第四季度填报完成情况。",
    "3. 本届选举日期填写党组织最近一次换届（选举）的日期。",
    "填报人：王丽    审核人：张建国",
)


def new_workbook(path: Path, quarter: str) -> xlsxwriter.Workbook:
    """An xlsx workbook whose properties carry a fixed date, so the bytes do not change between runs."""
    workbook = xlsxwriter.Workbook(str(path))
    filed = dt.datetime.combine(quarter_end(quarter) + dt.timedelta(days=10), dt.time(9, 0))
    workbook.set_properties({"title": quarter_title(quarter) + TITLE, "author": COMMITTEE, "created": filed})
    return workbook


def xlsx_formats(workbook: xlsxwriter.Workbook) -> dict:
    """The cell formats of the demo workbooks by role."""
    border = {"border": 1, "valign": "vcenter"}
    return {
        "title": workbook.add_format({"bold": True, "font_size": 16, "align": "center"}),
        "head": workbook.add_format({**border, "bold": True, "align": "center", "text_wrap": True}),
        "cell": workbook.add_format(border),
        "date": workbook.add_format({**border, "num_format": "yyyy-mm-dd"}),
        "cn_date": workbook.add_format({**border, "num_format": 'yyyy"年"m"月"d"日"'}),
        "percent": workbook.add_format({**border, "num_format": "0%"}),
        "money": workbook.add_format({**border, "num_format": "#,##0.00"}),
    }


def value_styles(fraction_rates: bool = False, date_style: str = "date") -> dict[str, str]:
    """Format role of each column: rates as percent-formatted fractions in some quarters."""
    roles = {"rate": "percent" if fraction_rates else "cell", "number": "money", "date": date_style}
    return {name: roles.get(kind, "cell") for name, _, kind in template_columns()}


def write_xlsx_value(ws, row: int, col: int, value: object, fmt: dict, style: str) -> None:
    """One record value as Excel writes it: date cells, 是/否, percent-formatted fractions."""
    if value is None or value == "":
        ws.write_blank(row, col, None, fmt["cell"])
    elif isinstance(value, bool):
        ws.write_string(row, col, "是" if value else "否", fmt["cell"])
    elif isinstance(value, dt.date):
        ws.write_datetime(row, col, dt.datetime.combine(value, dt.time()), fmt[style])
    elif style == "percent":
        ws.write_number(row, col, round(float(value) / 100, 4), fmt[style])
    else:
        ws.write(row, col, value, fmt[style])


def write_two_row_header(ws, top: int, columns: tuple, fmt: dict) -> None:
    """序号 and single-level headers merged over two rows; group cells merged over their leaves."""
    ws.merge_range(top, 0, top + 1, 0, "序号", fmt["head"])
    for group, run in groupby(enumerate(columns, start=1), key=lambda item: item[1][0]):
        cells = [(col, text) for col, (_, _, text) in run]
        if group is None:
            for col, text in cells:
                ws.merge_range(top, col, top + 1, col, text, fmt["head"])
            continue
        ws.merge_range(top, cells[0][0], top, cells[-1][0], group, fmt["head"])
        for col, text in cells:
            ws.write_string(top + 1, col, text, fmt["head"])
    ws.set_row(top + 1, 45)


def write_xlsx_records(
    ws, top: int, records: list[dict], columns: tuple, fmt: dict, styles: dict, first_index: int = 1
) -> None:
    """One row per record from row top on, with its 序号."""
    for k, record in enumerate(records):
        ws.write_number(top + k, 0, first_index + k, fmt["cell"])
        for col, (_, name, _) in enumerate(columns, start=1):
            write_xlsx_value(ws, top + k, col, record[name], fmt, styles.get(name, "cell"))


def write_xlsx_sum_row(ws, row: int, label: str, records: list[dict], columns: tuple, fmt: dict) -> None:
    """A 合计 / 小计 row: the label over 序号…组织类型, sums of the count and money columns."""
    ws.merge_range(row, 0, row, 4, label, fmt["head"])
    for col, (_, name, _) in enumerate(columns, start=1):
        if is_summed(name):
            total = round(sum(r[name] or 0 for r in records), 2)
            ws.write_number(row, col, total, fmt["money" if name.startswith("dues") else "cell"])
        elif col > 4:
            ws.write_blank(row, col, None, fmt["cell"])


def merge_identity_cells(ws, top: int, records: list[dict], columns: tuple, fmt: dict) -> None:
    """Merge 所属系统 and 单位名称 down over their rows, as many offices do."""
    for col, (_, name, _) in enumerate(columns, start=1):
        if name not in ("system", "unit"):
            continue
        row = top
        for value, run in groupby(records, key=lambda r: r[name]):
            height = len(list(run))
            if height > 1:
                ws.merge_range(row, col, row + height - 1, col, value, fmt["cell"])
            row += height


def write_sheet_frame(ws, quarter: str, title: str, width: int, fmt: dict) -> None:
    """Title line, 填报单位 line and column widths of a consolidated sheet."""
    ws.merge_range(0, 0, 0, width - 1, title, fmt["title"])
    ws.write_string(1, 0, filing_line(quarter))
    ws.set_column(0, 0, 5)
    ws.set_column(1, 2, 16)
    ws.set_column(3, 3, 30)
    ws.set_column(4, width - 1, 9)


def write_two_row_xlsx(
    path: Path,
    quarter: str,
    records: list[dict],
    *,
    fraction_rates: bool = False,
    merge_identity: bool = False,
    remarks: bool = False,
) -> None:
    """The consolidated workbook: title, two-row merged header, 序号, 合计 row, 填表说明 lines."""
    workbook = new_workbook(path, quarter)
    fmt = xlsx_formats(workbook)
    ws = workbook.add_worksheet("汇总表")
    columns = TWO_ROW_HEADER + (((None, "remark", REMARK_COLUMN),) if remarks else ())
    width = len(columns) + 1
    write_sheet_frame(ws, quarter, quarter_title(quarter) + TITLE, width, fmt)
    write_two_row_header(ws, 2, columns, fmt)
    write_xlsx_records(ws, 4, records, columns, fmt, value_styles(fraction_rates))
    if merge_identity:
        merge_identity_cells(ws, 4, records, columns, fmt)
    end = 4 + len(records)
    write_xlsx_sum_row(ws, end, "合计", records, columns, fmt)
    for k, note in enumerate(XLSX_NOTES):
        ws.merge_range(end + 2 + k, 0, end + 2 + k, width - 1, note)
    ws.freeze_panes(4, 4)
    workbook.close()


def write_sectioned_xlsx(path: Path, quarter: str, records: list[dict]) -> None:
    """One-row canonical header, systems in sections closed by 小计 rows; the title names the quarter as 2024Q3."""
    workbook = new_workbook(path, quarter)
    fmt = xlsx_formats(workbook)
    ws = workbook.add_worksheet("季度报表")
    columns = tuple((None, name, header) for name, header, _ in template_columns())
    width = len(columns) + 1
    write_sheet_frame(ws, quarter, f"{TITLE}（{quarter}）", width, fmt)
    for col, text in enumerate(["序号"] + [header for _, _, header in columns]):
        ws.write_string(2, col, text, fmt["head"])
    row, index = 3, 1
    for _, run in groupby(records, key=lambda r: r["system"]):
        section = list(run)
        write_xlsx_records(ws, row, section, columns, fmt, value_styles(date_style="cn_date"), index)
        row, index = row + len(section), index + len(section)
        write_xlsx_sum_row(ws, row, "小计", section, columns, fmt)
        row += 2  # a blank line between systems
    ws.write_string(row, 0, "填报人：刘洋    审核人：陈国华    联系电话：（略）")
    ws.freeze_panes(3, 4)
    workbook.close()


# ---------------------------------------------------------------------------------------------- legacy .xls

XLS_INSTRUCTIONS = (
    "填表说明",
    "1. 本表按系统分工作表填报，各工作表格式相同，请勿增删列、合并单元格。",
    "2. 党员人数为季度末人数；“三会一课”等各项次数为本季度内召开的次数。",
    "3. 未设党小组的党支部“党小组会次数”不填；正式党员不足7人、未设支委会的党支部“支委会次数”不填。",
    "4. 线上录入率、参学率、业务目标完成率填写百分数（如 85 表示 85%）。",
    "5. 本届选举日期填写最近一次换届选举的日期，如 2023-03-15。",
)


def xls_styles() -> dict:
    """xlwt cell styles by role."""
    return {
        "title": xlwt.easyxf("font: bold on, height 320; align: horiz center"),
        "head": xlwt.easyxf(
            "font: bold on; align: wrap on, horiz center, vert center; borders: left thin, "
            "right thin, top thin, bottom thin"
        ),
        "date": xlwt.easyxf(num_format_str="YYYY-MM-DD"),
    }


def write_xls_value(ws, row: int, col: int, value: object, styles: dict) -> None:
    """One record value in a legacy sheet: date cells, 是/否, numbers as numbers."""
    if value is None:
        return
    if isinstance(value, bool):
        ws.write(row, col, "是" if value else "否")
    elif isinstance(value, dt.date):
        ws.write(row, col, dt.datetime.combine(value, dt.time()), styles["date"])
    else:
        ws.write(row, col, value)


def write_xls_system(ws, quarter: str, system: str, records: list[dict], styles: dict) -> None:
    """One system's sheet: title, 系统 line, one-row header, 序号, data, 小计 row, a 注 line."""
    columns = template_columns()
    ws.write_merge(0, 0, 0, len(columns), f"{quarter_title(quarter)}{TITLE}（{system}）", styles["title"])
    ws.write(1, 0, f"系统：{system}    {filing_line(quarter)}")
    ws.write(2, 0, "序号", styles["head"])
    for col, (_, header, _) in enumerate(columns, start=1):
        ws.write(2, col, header, styles["head"])
    for k, record in enumerate(records, start=1):
        ws.write(2 + k, 0, k)
        for col, (name, _, _) in enumerate(columns, start=1):
            write_xls_value(ws, 2 + k, col, record[name], styles)
    end = 3 + len(records)
    ws.write(end, 0, "小计")
    for col, (name, _, _) in enumerate(columns, start=1):
        if is_summed(name):
            ws.write(end, col, round(sum(r[name] or 0 for r in records), 2))
    ws.write(end + 2, 0, "注：本表由各单位党组织填报，系统牵头单位汇总后报区直机关工委。")


def write_xls_by_system(path: Path, quarter: str, records: list[dict]) -> None:
    """The legacy workbook: a 填表说明 sheet that holds no data, then one sheet per system."""
    workbook = xlwt.Workbook(encoding="utf-8")
    styles = xls_styles()
    notes = workbook.add_sheet("填表说明")
    for k, line in enumerate(XLS_INSTRUCTIONS):
        notes.write(k, 0, line)
    for system, run in groupby(records, key=lambda r: r["system"]):
        write_xls_system(workbook.add_sheet(system), quarter, system, list(run), styles)
    workbook.save(str(path))
