"""How offices spell their quarterly CSVs (SPEC §3.1): encodings, header synonyms, value spellings.

write_csv(path, quarter, records, layout) writes one file; the CsvLayout constants below are the offices of
the demo district. Records map the template's internal names to Python values, as in workbooks.py.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path

from district import COMMITTEE, LATE_REPORT, TITLE, filing_line, is_summed, quarter_title, template_columns


@dataclass(frozen=True)
class CsvLayout:
    """How one office spells its CSV: encoding, header words and the way values are written."""

    encoding: str
    date_text: Callable[[dt.date], str]
    headers: tuple[tuple[str, str], ...] = ()  # (internal name, header used instead of the canonical one)
    yes_no: tuple[str, str] = ("是", "否")
    secretary_words: tuple[str, str] | None = None  # e.g. 有 / 无 for 书记是否配备
    thousands: bool = False  # 党费 as "1,200.50"
    percent_sign: bool = False  # rates as "85.3%"
    not_applicable: str = ""  # written for a count that does not apply (no party groups, no 支委会)
    zero_words: tuple[str, ...] = ()  # count columns whose 0 is written 无
    level_suffix: str = ""  # 区级示范 -> 区级示范党支部
    subtotals: bool = False  # 小计 after each system and 总计 at the end
    filer: str = COMMITTEE
    filed_after_days: int = 10  # the 填报日期 after the quarter's end
    title_suffix: str = ""
    notes: tuple[str, ...] = ()


def csv_text(name: str, kind: str, value: object, layout: CsvLayout) -> str:
    """One value as the office types it."""
    if value is None:
        return layout.not_applicable if kind == "int" else ""
    if isinstance(value, bool):
        yes, no = layout.secretary_words if name == "has_secretary" and layout.secretary_words else layout.yes_no
        return yes if value else no
    if isinstance(value, dt.date):
        return layout.date_text(value)
    if kind == "number":
        return f"{value:,.2f}" if layout.thousands else f"{value:.2f}"
    if kind == "rate":
        return f"{value:g}%" if layout.percent_sign else f"{value:g}"
    if kind == "level" and value != "无":
        return f"{value}{layout.level_suffix}"
    if value == 0 and name in layout.zero_words:
        return "无"
    return str(value)


def csv_sum_row(label: str, system: str, records: list[dict], layout: CsvLayout) -> list[str]:
    """A 小计 / 总计 line with sums of the count and money columns."""
    row = [label]
    for name, _, kind in template_columns():
        if is_summed(name):
            row.append(csv_text(name, kind, round(sum(r[name] or 0 for r in records), 2), layout))
        else:
            row.append(system if name == "system" else "")
    return row


def csv_rows(quarter: str, records: list[dict], layout: CsvLayout) -> list[list[str]]:
    """Every line of the CSV, padded to one width as Excel exports it."""
    columns = template_columns()
    headers = dict(layout.headers)
    rows = [
        [f"{quarter_title(quarter)}{TITLE}{layout.title_suffix}"],
        [filing_line(quarter, layout.filer, layout.filed_after_days)],
        ["序号"] + [headers.get(name, header) for name, header, _ in columns],
    ]
    index = 0
    for system, run in groupby(records, key=lambda r: r["system"]):
        section = list(run)
        for record in section:
            index += 1
            rows.append([str(index)] + [csv_text(name, kind, record[name], layout) for name, _, kind in columns])
        if layout.subtotals:
            rows.append(csv_sum_row("小计", system, section, layout))
    if layout.subtotals:
        rows.append(csv_sum_row("总计", "", records, layout))
    rows.extend([note] for note in layout.notes)
    width = len(columns) + 1
    return [row + [""] * (width - len(row)) for row in rows]


def write_csv(path: Path, quarter: str, records: list[dict], layout: CsvLayout) -> None:
    """A CSV file in the layout's encoding with Windows line ends."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(csv_rows(quarter, records, layout))
    path.write_bytes(buffer.getvalue().encode(layout.encoding))


GBK_SYNONYMS = CsvLayout(
    encoding="gbk",
    date_text=lambda d: f"{d.year}/{d.month}/{d.day}",
    headers=(
        ("system", "系统"),
        ("unit", "单位"),
        ("org_name", "党组织"),
        ("org_type", "组织类别"),
        ("members_total", "党员人数"),
        ("members_full", "正式党员"),
        ("members_probationary", "预备党员"),
        ("has_secretary", "书记配备"),
        ("last_election_date", "换届时间"),
        ("committee_meetings", "支部委员会会议"),
        ("general_meetings", "党员大会"),
        ("group_meetings", "党小组会"),
        ("party_lectures", "党课"),
        ("theme_days", "主题党日活动"),
        ("life_meetings", "组织生活会"),
        ("member_review_done", "民主评议"),
        ("online_record_rate", "线上录入率(%)"),
        ("study_rate", "参学率(%)"),
        ("records_standard", "台账资料"),
        ("dues_due", "应缴党费(元)"),
        ("dues_paid", "实缴党费(元)"),
        ("activists", "积极分子"),
        ("candidates", "发展对象"),
        ("new_probationary", "发展党员数"),
        ("converted", "转正人数"),
        ("joint_meetings", "同部署次数"),
        ("pb_plus_projects", "党建+项目"),
        ("vanguard_posts", "先锋岗数"),
        ("business_completion", "业务完成率(%)"),
        ("issues_found", "查摆问题数"),
        ("issues_fixed", "整改问题数"),
        ("secretary_review", "述职评议等次"),
        ("model_level", "创建级别"),
    ),
    thousands=True,
)
GB18030_SPACED = CsvLayout(
    encoding="gb18030",
    date_text=lambda d: f"{d.year}年{d.month}月{d.day}日",
    headers=(
        ("org_name", "党组织 名称"),
        ("members_total", "党员总数（人）"),
        ("committee_meetings", "支委会次数（次）"),
        ("online_record_rate", "三会一课线上录入率（%）"),
        ("study_rate", "学习强国参学率（%）"),
        ("dues_due", "党费应缴（元）"),
        ("dues_paid", "党费实缴（元）"),
        ("business_completion", "业务目标完成率（%）"),
    ),
    yes_no=("√", "×"),
    thousands=True,
    level_suffix="党支部",
)
GBK_MIXED = CsvLayout(
    encoding="gbk",
    date_text=lambda d: f"{d.year}.{d.month}.{d.day}",
    headers=(
        ("unit", "所在单位"),
        ("org_name", "支部名称"),
        ("org_type", "党组织类型"),
        ("has_secretary", "是否配备书记"),
        ("last_election_date", "选举日期"),
        ("committee_meetings", "支委会"),
        ("theme_days", "主题党日"),
        ("online_record_rate", "平台录入率"),
        ("study_rate", "学习强国参学率"),
        ("dues_due", "党费应缴金额"),
        ("dues_paid", "已缴党费"),
        ("vanguard_posts", "党员示范岗数"),
        ("issues_found", "检视查摆问题数"),
        ("issues_fixed", "整改完成数"),
        ("secretary_review", "书记抓党建述职评议等次"),
        ("model_level", "示范创建等级"),
    ),
    secretary_words=("有", "无"),
    percent_sign=True,
    not_applicable="/",
    zero_words=("pb_plus_projects", "converted"),
    subtotals=True,
    notes=(
        "注：1. 未设党小组的党支部“党小组会次数”、未设支委会的党支部“支委会”填“/”。2. 民主评议党员为年度工作，本季度填报全年完成情况。",
        "填报人：赵敏    审核人：张建国",
    ),
)
LATE_LAYOUT = CsvLayout(
    encoding="utf-8-sig",
    date_text=dt.date.isoformat,
    filer=LATE_REPORT[0],
    filed_after_days=28,
    title_suffix="（补报）",
)
