"""Exports: tables to XLSX bytes, the meeting workbook, and every meeting file at once.

Every text cell is written as a string, so a name like `=HYPERLINK(...)` or `+86…` is never a formula; such
cells carry Excel's quote prefix, so they show exactly as typed and stay text when edited in Excel.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import re
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd
import xlsxwriter

from analytics.accounts import audit
from analytics.charts.images import chart_files, safe_name, warm_browser
from analytics.meeting.bulletin import bulletin_bytes
from analytics.meeting.meeting import Meeting, figures
from analytics.meeting.slides import deck_bytes
from analytics.meeting.wording import display_width, rank_interval_text
from analytics.scoring.alerts import COLUMN_LABELS, MAX_LAGGING, WARNINGS, good_threshold
from analytics.scoring.imbalance import LABELS as IMBALANCE_LABELS
from analytics.scoring.rubric import COMPOSITES, NOT_RATED, QUADRANTS
from analytics.store import database as store

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
SHEET_NAME_MAX = 31
SHEET_NAME_BAD = re.compile(r"[\[\]:*?/\\]")
MIN_WIDTH, MAX_WIDTH = 6, 60
PRINT_FIT_WIDTH = 200  # character columns that still print legibly on one A4 landscape page
DATE_FORMAT, DATETIME_FORMAT = "yyyy-mm-dd", "yyyy-mm-dd hh:mm:ss"
Progress = Callable[[float, str], None] | None


@dataclass(frozen=True)
class Sheet:
    """A table and how to show it: number formats, cell colours by value and fixed widths, keyed by header."""

    frame: pd.DataFrame
    formats: dict[str, str] = field(default_factory=dict)
    colors: dict[str, dict[str, str]] = field(default_factory=dict)
    widths: dict[str, int] = field(default_factory=dict)  # a narrower column wraps its header


def formula_like(value: object) -> bool:
    """True for text a spreadsheet would read as a formula when typed: it starts with = + - @ (or tab, CR)."""
    return isinstance(value, str) and value.startswith(FORMULA_STARTS)


def sheet_names(names: list[str]) -> list[str]:
    """Valid, unique (case-insensitively) Excel sheet names of at most 31 characters, in order."""
    out: list[str] = []
    taken: set[str] = set()
    for raw in names:
        base = SHEET_NAME_BAD.sub("_", str(raw)).strip("'").strip() or "Sheet"
        name, n = base[:SHEET_NAME_MAX], 1
        while name.lower() in taken or name.lower() == "history":
            n += 1
            suffix = f"({n})"
            name = base[: SHEET_NAME_MAX - len(suffix)] + suffix
        taken.add(name.lower())
        out.append(name)
    return out


def _cell(value: object) -> object:
    """A value xlsxwriter writes as the right type: None for missing, 是/否 for yes/no, text as typed."""
    if value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, bool):
        return "是" if value else "否"  # the template's yes/no, as offices write it
    if isinstance(value, int | float | dt.date | dt.time):
        return value
    if value is pd.NA:
        return None
    return value if isinstance(value, str) else str(value)


def _column_format(series: pd.Series) -> str | None:
    """Number format of a column: dates, date-times, whole numbers or up to two decimals."""
    if pd.api.types.is_datetime64_any_dtype(series):
        times = series.dropna()
        return DATETIME_FORMAT if (times != times.dt.normalize()).any() else DATE_FORMAT
    if pd.api.types.is_float_dtype(series):
        values = series.dropna()
        return "0" if (values == values.round()).all() else "0.0#"
    return None


def _width(header: str, values: list[object], number_format: str | None) -> int:
    """Column width fitted to the header and the widest shown value."""
    if number_format in (DATE_FORMAT, DATETIME_FORMAT):
        widest = len(number_format)
    else:
        shown = (f"{v:.2f}" if isinstance(v, float) else str(v) for v in values if v is not None)
        widest = max((display_width(s) for s in shown), default=0)
    return min(max(display_width(header), widest, MIN_WIDTH) + 2, MAX_WIDTH)


def _write_sheet(book: xlsxwriter.Workbook, name: str, sheet: Sheet, header_format) -> None:
    frame, out = sheet.frame, book.add_worksheet(name)
    headers = [str(c) for c in frame.columns]
    out.write_row(0, 0, headers, header_format)
    quoted = book.add_format({"quote_prefix": True})
    for col, header in enumerate(headers):
        if formula_like(header):
            out.write_string(0, col, header, book.add_format({"bold": True, "quote_prefix": True}))
    total, lines = 0, 1
    for col, (header, column) in enumerate(zip(headers, frame.columns, strict=True)):
        series = frame[column]
        values = [_cell(v) for v in series.astype(object).tolist()]
        number_format = sheet.formats.get(str(column)) or _column_format(series)
        cell_format = book.add_format({"num_format": number_format}) if number_format else None
        out.write_column(1, col, values, cell_format)
        # Text such as =1+2党支部 stays exactly as typed: a string cell (strings_to_formulas is off) marked with
        # Excel's quote prefix, so editing it in Excel keeps it text and no apostrophe shows
        for row, value in enumerate(values, start=1):
            if formula_like(value):
                out.write_string(row, col, value, quoted)
        width = sheet.widths.get(str(column)) or _width(header, values, number_format)
        out.set_column(col, col, width)
        total, lines = total + width, max(lines, math.ceil(display_width(header) / max(width - 1, 1)))
        for value, color in sheet.colors.get(str(column), {}).items():
            rule = {
                "type": "cell",
                "criteria": "==",
                "value": f'"{value}"',
                "format": book.add_format({"bg_color": color}),
            }
            out.conditional_format(1, col, max(len(frame), 1), col, rule)
    out.set_row(0, 16 * lines)  # LibreOffice does not grow a wrapped header row by itself
    out.freeze_panes(1, 0)
    _print_setup(out, total)
    if len(frame.columns):
        out.autofilter(0, 0, max(len(frame), 1), len(frame.columns) - 1)


def _print_setup(out, total_width: int) -> None:
    """A4 landscape with the header row on every page; one page wide when that keeps the type readable."""
    out.set_landscape()
    out.set_paper(9)
    out.repeat_rows(0)
    if total_width <= PRINT_FIT_WIDTH:
        out.fit_to_pages(1, 0)


def xlsx_bytes(sheets: dict[str, pd.DataFrame | Sheet], title: str | None = None, author: str | None = None) -> bytes:
    """An XLSX workbook with one sheet per table: bold frozen header, fitted widths, text never a formula."""
    buffer = io.BytesIO()
    options = {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False, "remove_timezone": True}
    with xlsxwriter.Workbook(buffer, options) as book:
        book.set_properties({"title": title or "", "author": author or "", "comments": "党建质量看板导出"})
        header_format = book.add_format(
            {"bold": True, "bg_color": "#F2DCDB", "border": 1, "text_wrap": True, "valign": "vcenter"}
        )
        for name, table in zip(sheet_names(list(sheets)), sheets.values(), strict=True):
            _write_sheet(book, name, table if isinstance(table, Sheet) else Sheet(table), header_format)
        if not sheets:
            book.add_worksheet("Sheet1")
    return buffer.getvalue()


# Excel's own light fills (dark text stays readable when printed in grey)
GRADE_FILLS = {"优秀": "#C6EFCE", "良好": "#E2F0D9", "一般": "#FFEB9C", "较差": "#FFC7CE"}
QUADRANT_FILLS = {"融合型": "#C6EFCE", "两张皮": "#FCE4D6", "业务化": "#DDEBF7", "边缘化": "#FFC7CE"}
SCORE, RATE, SHARE, RATIO = "0.0", "0.00", "0.0%", "0.000"


def _org_sheet(meeting: Meeting) -> Sheet:
    """Every organization of the meeting: both scores, quadrant, grades, each indicator's 0–1 score."""
    rubric, frame = meeting.rubric, meeting.frame.sort_values(["system", "unit", "org_name"])
    names = {c: rubric.composite_name(c) for c in COMPOSITES}
    columns = {"system": "所属系统", "unit": "单位名称", "org_name": "党组织名称", "org_type": "组织类型"}
    columns |= names | {"quadrant": "象限"}
    if rubric.grade_of not in COMPOSITES:  # else the grade is that composite's own grade, the column below
        columns["grade"] = rubric.grade_name
    columns |= {f"{c}_grade": f"{names[c]}等级" for c in COMPOSITES}
    columns |= {i.id: f"{i.id} {i.name}" for i in rubric.indicators}
    columns |= {"completeness": "数据完整率", "missing": "未填报项目", "rubric_version": "评分细则版本"}
    table = frame[list(columns)].rename(columns=columns)
    table["象限"] = table["象限"].astype(object).where(frame["quadrant"].notna().to_numpy(), NOT_RATED)
    table["未填报项目"] = frame["missing"].map(
        lambda ids: "、".join(f"{i} {rubric.indicator(i).name}" for i in ids.split(",") if i) if ids else ""
    )
    formats = {names[c]: SCORE for c in COMPOSITES} | {f"{i.id} {i.name}": RATE for i in rubric.indicators}
    grades = {h: GRADE_FILLS for h in (rubric.grade_name, *(f"{names[c]}等级" for c in COMPOSITES))}
    narrow = {f"{i.id} {i.name}": 9 for i in rubric.indicators} | {h: 10 for h in grades} | {"数据完整率": 10}
    colors = grades | {"象限": QUADRANT_FILLS}
    return Sheet(
        table.reset_index(drop=True),
        formats | {"数据完整率": SHARE},
        colors,
        narrow | {names[c]: 10 for c in COMPOSITES},
    )


def _unit_sheet(meeting: Meeting) -> Sheet:
    """Per unit: organizations, each score's mean, rank, 5–95 % rank interval, change and share below 60; quadrants."""
    units, formats = meeting.units, {}
    table = pd.DataFrame({"所属系统": units["system"], "单位名称": units["unit"], "党组织数": units["organizations"]})
    for c in COMPOSITES:
        name = meeting.rubric.composite_name(c)
        table[f"{name}平均分"] = units[c]
        table[f"{name}名次"] = units[f"{c}_rank"].astype("Int64")  # none for a unit without the score
        table[f"{name}名次区间"] = [
            rank_interval_text(a, b) for a, b in zip(units[f"{c}_p05"], units[f"{c}_p95"], strict=True)
        ]
        table[f"{name}比上季度"] = units[f"{c}_change"]
        table[f"{name}低于60分占比"] = units[f"{c}_below_60"]
        formats |= {f"{name}平均分": SCORE, f"{name}比上季度": "+0.0;-0.0;0.0", f"{name}低于60分占比": SHARE}
    for q in QUADRANTS:
        table[q] = units[q]
    table["后进单位"] = units["unit"].isin(meeting.lagging["unit"]).map({True: "是", False: ""})
    return Sheet(table, formats, {"后进单位": {"是": GRADE_FILLS["较差"]}})


def _imbalance_sheets(meeting: Meeting) -> dict[str, Sheet]:
    """SPEC §5 measures of both scores by unit and by system, and the per-quarter trend by unit."""
    rows = []
    for c in COMPOSITES:
        for by in ("unit", "system"):
            report = {k: v for k, v in meeting.imbalance(c, by).items() if k not in ("by", "score", "groups")}
            rows.append(
                {"得分": meeting.rubric.composite_name(c), "分组": {"unit": "单位", "system": "系统"}[by]} | report
            )
    labels = {"n": "党组织数", "mean": "平均分"} | {
        k: v for k, v in IMBALANCE_LABELS.items() if k not in ("count", "min", "max", "below_60_share", "rank")
    }
    measures = pd.DataFrame(rows).rename(columns=labels)
    trend = meeting.trend.rename(columns={"quarter": "季度", "organizations": "党组织数"})
    trend = trend.rename(columns=lambda c: _trend_label(meeting, c))
    ratios = {h: RATIO for h in [*measures.columns[4:], *trend.columns[2:]]}
    return {"不平衡指标": Sheet(measures, ratios | {"平均分": SCORE}), "不平衡趋势": Sheet(trend, ratios)}


def _trend_label(meeting: Meeting, column: str) -> str:
    for c in COMPOSITES:
        if column == c:
            return f"{meeting.rubric.composite_name(c)}平均分"
        if column.startswith(f"{c}_"):
            return f"{meeting.rubric.composite_name(c)}{IMBALANCE_LABELS[column.removeprefix(c + '_')]}"
    return column


def _warning_sheets(meeting: Meeting) -> dict[str, Sheet]:
    """A summary of every warning kind, then one sheet per kind that has any rows (typed columns, dates as dates)."""
    summary = pd.DataFrame(
        [(WARNINGS[k][0], len(t), WARNINGS[k][1]) for k, t in meeting.warnings.items()],
        columns=["预警事项", "数量", "处理建议"],
    )
    out = {"预警汇总": Sheet(summary)}
    for kind, table in meeting.warnings.items():
        if len(table):
            shown = table.rename(columns=COLUMN_LABELS)
            out[f"预警-{WARNINGS[kind][0]}"] = Sheet(
                shown, {h: SCORE for h in shown.columns if "得分" in h or "变化" in h or h == "最大降幅"}
            )
    return out


def _about_sheet(meeting: Meeting) -> Sheet:
    """What the workbook holds: quarter, scope, rubric, thresholds, date and who exported it."""
    rubric = meeting.rubric
    rows = [
        ("标题", meeting.title), ("季度", meeting.quarter), ("范围", meeting.scope),
        ("参评党组织", f"{len(meeting.frame)} 个"), ("评分细则版本", rubric.version),
        ("四象限分界", f"{rubric.quadrant_threshold:g} 分"),
        ("等级划分", "，".join(f"{g} ≥ {b:g}" for g, b in rubric.grades)),
        ("后进单位", f"任一项平均分低于 {good_threshold(rubric):g} 分的单位，最多 {MAX_LAGGING} 个"),
        ("生成日期", meeting.made.isoformat()), ("导出人", meeting.user or ""),
    ]  # fmt: skip
    return Sheet(pd.DataFrame(rows, columns=["项目", "内容"]))


def meeting_sheets(meeting: Meeting) -> dict[str, Sheet]:
    """The meeting workbook's sheets in order: 说明, 党组织得分, 单位汇总, 不平衡, 预警."""
    sheets = {"说明": _about_sheet(meeting), "党组织得分": _org_sheet(meeting), "单位汇总": _unit_sheet(meeting)}
    return sheets | _imbalance_sheets(meeting) | _warning_sheets(meeting)


def meeting_xlsx(meeting: Meeting) -> bytes:
    """The meeting workbook as XLSX bytes."""
    return xlsx_bytes(meeting_sheets(meeting), title=meeting.title, author=meeting.user or meeting.district)


FORMATS = ("pptx", "xlsx", "docx", "png")
EXPORT_FORMATS = {"pptx": "演示文稿", "xlsx": "数据表", "docx": "季度通报", "png": "图表"}
# Rough share of the time each part takes, for one progress bar over the whole export.
_WEIGHTS = {"pptx": 5.0, "xlsx": 0.5, "docx": 2.0, "png": 6.0}


def file_stem(meeting: Meeting) -> str:
    """'2024Q4_区直机关_经济系统' — the common start of every exported file name."""
    return safe_name("_".join([meeting.quarter, *meeting.scope.split()]))


def _part(progress: Progress, start: float, share: float) -> Progress:
    """A progress callback for one part of the export, mapped onto [start, start + share] of the whole."""
    if progress is None:
        return None
    return lambda done, text: progress(min(start + share * done, 1.0), text)


def export_files(
    meeting: Meeting, formats: Iterable[str], svg: bool = False, progress: Progress = None
) -> dict[str, bytes]:
    """File name -> bytes for each format asked for (pptx, xlsx, docx, png), all charts by one warm browser.

    Charts land under '图表/'. The caller writes or offers the files and records the export in the audit log
    (record_export: meeting.user, quarter, scope, formats).
    """
    wanted = [f for f in FORMATS if f in set(formats)]
    total, done, out = sum(_WEIGHTS[f] for f in wanted) or 1.0, 0.0, {}
    stem = file_stem(meeting)
    with warm_browser():
        for fmt in wanted:
            step = _part(progress, done / total, _WEIGHTS[fmt] / total)
            if fmt == "pptx":
                out[f"{stem}_质量分析.pptx"] = deck_bytes(meeting, step)
            elif fmt == "xlsx":
                out[f"{stem}_数据.xlsx"] = meeting_xlsx(meeting)
            elif fmt == "docx":
                out[f"{stem}_季度通报.docx"] = bulletin_bytes(meeting, step)
            else:
                charts_ = chart_files(figures(meeting), svg=svg, progress=step)
                out |= {f"图表/{name}": data for name, data in charts_.items()}
            done += _WEIGHTS[fmt]
    if progress:
        progress(1.0, "全部完成")
    return out


def zip_bytes(files: dict[str, bytes]) -> bytes:
    """The files in one ZIP (UTF-8 names, so Chinese names survive Windows' unzip)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


MIME = {
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "zip": "application/zip",
}


def downloads(meeting: Meeting, files: dict[str, bytes]) -> list[tuple[str, bytes, str]]:
    """(file name, bytes, MIME type) to offer: each document, and every chart image in one ZIP."""
    out = [(name, data, MIME[name.rsplit(".", 1)[-1]]) for name, data in files.items() if not name.startswith("图表/")]
    images_ = {name.removeprefix("图表/"): data for name, data in files.items() if name.startswith("图表/")}
    if images_:
        out.append((f"{file_stem(meeting)}_图表.zip", zip_bytes(images_), MIME["zip"]))
    return out


def record_export(con: duckdb.DuckDBPyConnection, meeting: Meeting, names: Iterable[str]) -> None:
    """Write the export to the audit log (SPEC §7): who, which quarter and scope, which files."""
    with store.transaction(con):
        audit.record(
            con, meeting.user or "未知用户", "export", quarter=meeting.quarter, scope=meeting.scope, files=sorted(names)
        )


def write_export(fmt: str, target: Path, files: dict[str, bytes]) -> str:
    """Write one format's file (for png: every chart into the folder `target`); the line that says so."""
    if fmt != "png":
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(next(data for name, data in files.items() if name.endswith(f".{fmt}")))
        return f"已生成{EXPORT_FORMATS[fmt]}：{target}"
    target.mkdir(parents=True, exist_ok=True)
    charts = {name.removeprefix("图表/"): data for name, data in files.items() if name.startswith("图表/")}
    for name, data in charts.items():
        (target / name).write_bytes(data)
    return f"已生成图表 {len(charts)} 个文件：{target}"
