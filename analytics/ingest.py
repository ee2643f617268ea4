"""Bytes -> sheets -> header row -> typed records + problems (SPEC §3.1, §3.2)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from analytics import values as V
from analytics.header import HEADER_SCAN_ROWS, HeaderMap, find_header, quarter_from_text
from analytics.problems import ERROR, WARNING, Problem, Report, column_letter
from analytics.template import Template, load_template
from analytics.workbook import RawSheet, UnreadableFile, read_sheets

MAX_ROWS = 500_000
QUARTER_RE = re.compile(r"^\d{4}Q[1-4]$")
KEY_COLUMNS = {"system": "system_key", "unit": "unit_key", "org_name": "name_key"}
_TOTAL_ROW = re.compile(r"^(?:合计|总计|小计|累计|汇总)(?:$|[:：(（\d])")


def ingest_path(path: Path, quarter: str | None = None, **kwargs) -> Report:
    """Ingest a file from disk (see ingest_bytes)."""
    return ingest_bytes(Path(path).read_bytes(), Path(path).name, quarter, **kwargs)


def ingest_bytes(
    data: bytes,
    file_name: str,
    quarter: str | None = None,
    *,
    today: dt.date | None = None,
    max_rows: int = MAX_ROWS,
) -> Report:
    """Typed records and every problem of one uploaded file; never raises for bad input."""
    report = Report(file=file_name)
    try:
        sheets = read_sheets(data, file_name, max_rows)
    except UnreadableFile as exc:
        report.problems.append(Problem(ERROR, str(exc), file=file_name))
        return report
    frames, titles = [], [file_name]
    template = load_template()
    for sheet in sheets:
        frame = _read_sheet(sheet, template, report, titles, today or dt.date.today())
        if frame is not None:
            frames.append(frame)
    _finish(report, frames, quarter, titles, max_rows)
    order = {s.name: i for i, s in enumerate(sheets)}
    report.problems.sort(key=lambda p: (p.sheet is not None, order.get(p.sheet, -1), p.row or 0))
    return report


def _read_sheet(sheet: RawSheet, template: Template, report: Report, titles: list[str], today: dt.date):
    if not sheet.visible:
        report.problems.append(Problem(WARNING, "隐藏的工作表，已跳过", sheet=sheet.name))
        return None
    head = sheet.head_rows(HEADER_SCAN_ROWS)
    header = find_header(head)
    if header is None:
        report.problems.append(Problem(WARNING, "未找到可识别的表头，已跳过该工作表", sheet=sheet.name))
        return None
    titles.extend([sheet.name] + [str(c) for r in head[: header.first_row] for c in r if c])
    missing = [c for c in template.required if c.name not in header.columns]
    for col in missing:
        hint = " / ".join((col.header, *col.synonyms[:3]))
        report.problems.append(
            Problem(
                ERROR,
                f"缺少必填列「{col.header}」（表头可写作：{hint}）",
                sheet=sheet.name,
                row=header.first_row + 1,
                column=col.header,
                field=col.name,
            )
        )
    _report_header_notes(sheet, header, report)
    if missing:
        return None
    report.sheets_read.append(sheet.name)
    return _parse_rows(sheet, header, template, report, today)


def _report_header_notes(sheet: RawSheet, header: HeaderMap, report: Report) -> None:
    row = header.first_row + 1
    for j, text in header.unknown:
        cell = f"{column_letter(sheet.first_col + j)}{row}"
        report.problems.append(
            Problem(WARNING, "未识别的列，已忽略", sheet=sheet.name, row=row, column=text, cell=cell)
        )
    for j, text in header.repeated:
        cell = f"{column_letter(sheet.first_col + j)}{row}"
        report.problems.append(
            Problem(WARNING, "与前面的列重复，已忽略此列", sheet=sheet.name, row=row, column=text, cell=cell)
        )


def _data_rows(sheet: RawSheet, header: HeaderMap, template: Template) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Raw and normalized cells of the rows that hold records (no blanks, totals, notes)."""
    table = sheet.table.slice(header.data_start)
    names = list(header.columns)
    raw = pd.DataFrame(
        {
            name: table.column(j).to_pandas(types_mapper=pd.ArrowDtype).astype("string")
            for name, (j, _) in header.columns.items()
        }
    )
    raw.index = np.arange(len(raw)) + header.data_start + 1  # Excel row numbers
    _fill_merged(raw, sheet, header)
    norm = pd.DataFrame({c: V.normalized(raw[c]) for c in raw}, index=raw.index)
    missing = pd.DataFrame({c: V.missing_mask(norm[c], template.markers) for c in norm}, index=raw.index).astype(bool)
    filled = (~missing).sum(axis=1)
    has_key = (~missing[[c.name for c in template.required]]).any(axis=1)
    keep = filled > 0
    texts = norm[[c for c in ("org_name", "unit", "system", "org_type") if c in names]].copy()
    for j in {0, *header.index_columns}:
        texts[f"_c{j}"] = V.normalized(table.column(j).to_pandas(types_mapper=pd.ArrowDtype)).to_numpy()
    totals = pd.DataFrame({c: texts[c].str.contains(_TOTAL_ROW, na=False) for c in texts}, index=raw.index)
    keep &= ~totals.any(axis=1).astype(bool)
    keep &= ~norm["org_name"].isin(_header_texts("org_name"))
    keep &= has_key | (filled > 2)
    note_at = _first_note_row(sheet, header, template)
    if note_at is not None:
        keep &= raw.index < note_at
    return raw[keep], norm[keep]


# Offices merge 所属系统 / 单位名称 down over a unit's rows; only the top cell holds the text.
FILL_DOWN = ("system", "unit", "org_type")


def _fill_merged(raw: pd.DataFrame, sheet: RawSheet, header: HeaderMap) -> None:
    """Copy the top cell of each vertically merged range into the rows it covers (identity columns only)."""
    columns = {sheet.first_col + j: name for name, (j, _) in header.columns.items() if name in FILL_DOWN}
    for r1, c1, r2, c2 in sheet.merged:
        name = columns.get(c1)
        top, bottom = r1 + 1, r2 + 1  # Excel row numbers
        if name is None or c1 != c2 or bottom <= top or top <= header.data_start:
            continue
        if top in raw.index:
            raw.loc[top + 1 : bottom, name] = raw.at[top, name]


def _header_texts(name: str) -> set[str]:
    col = load_template().column(name)
    return {"".join(t.split()) for t in (col.header, *col.synonyms)}


def _first_note_row(sheet: RawSheet, header: HeaderMap, template: Template) -> int | None:
    """Excel row of the first 填表说明 / 注： line after the header; everything from it on is notes."""
    table = sheet.table.slice(header.data_start)
    if table.num_columns == 0:
        return None
    filled = np.zeros(table.num_rows, dtype=np.int32)
    for column in table.columns:
        filled += pc.fill_null(pc.not_equal(pc.utf8_trim_whitespace(column), ""), False).to_numpy(zero_copy_only=False)
    # Notes fill one or two (merged) cells; only those sparse rows are looked at cell by cell
    sparse = np.flatnonzero((filled > 0) & (filled <= 3))
    if not len(sparse):
        return None
    cells = table.take(sparse).to_pandas(types_mapper=pd.ArrowDtype).astype("string")
    first = V.normalized(cells.replace(r"^\s*$", pd.NA, regex=True).bfill(axis=1).iloc[:, 0])
    hits = np.flatnonzero(first.str.startswith(template.markers.note_prefixes).fillna(False).to_numpy())
    return None if not len(hits) else int(sparse[hits[0]]) + header.data_start + 1


def _parse_rows(sheet: RawSheet, header: HeaderMap, template: Template, report: Report, today: dt.date):
    """Typed records of one sheet with a bad-row mask; problems appended to the report."""
    raw, norm = _data_rows(sheet, header, template)
    frame = pd.DataFrame(index=raw.index)
    bad = pd.Series(False, index=raw.index)
    for col in template.columns:
        if col.name not in raw:
            frame[col.name] = V.empty_column(col, raw.index)
            continue
        parsed = V.parse_column(raw[col.name], col, template.markers, today)
        frame[col.name] = parsed.values
        bad |= _collect(report, sheet, header, col.name, raw, parsed.errors, ERROR)
        _collect(report, sheet, header, col.name, raw, parsed.warnings, WARNING)
    for name, key in KEY_COLUMNS.items():
        frame[key] = norm[name]
    bad |= _cross_checks(frame, raw, sheet, header, report)
    frame.insert(0, "source_row", raw.index.astype("int64"))
    frame.insert(0, "source_sheet", sheet.name)
    frame["_bad"] = bad.to_numpy()
    return frame.reset_index(drop=True)


def _collect(report, sheet, header, name, raw, masks, severity) -> pd.Series:
    """Problems for every flagged cell; returns the union of the masks."""
    union = pd.Series(False, index=raw.index)
    j, text = header.columns.get(name, (None, name))
    letter = column_letter(sheet.first_col + j) if j is not None else ""
    values = raw[name] if name in raw else pd.Series(pd.NA, index=raw.index, dtype="string")
    for mask, message in masks:
        mask = mask.fillna(False).astype(bool)
        union |= mask
        for row in mask.index[mask.to_numpy()]:
            value = values.loc[row]
            report.problems.append(
                Problem(
                    severity,
                    message,
                    sheet=sheet.name,
                    row=int(row),
                    column=text,
                    value=None if pd.isna(value) else str(value),
                    field=name,
                    cell=f"{letter}{row}" if letter else None,
                )
            )
    return union


def _cross_checks(frame, raw, sheet, header, report) -> pd.Series:
    """Rules between columns: full ≤ total, fixed ≤ found; full + probationary = total is a warning."""
    full_over = (frame["members_full"] > frame["members_total"]).fillna(False)
    fixed_over = (frame["issues_fixed"] > frame["issues_found"]).fillna(False)
    mismatch = (frame["members_full"] + frame["members_probationary"] != frame["members_total"]).fillna(False)
    bad = _collect(report, sheet, header, "members_full", raw, [(full_over, "正式党员数大于党员总数")], ERROR)
    bad |= _collect(report, sheet, header, "issues_fixed", raw, [(fixed_over, "已整改问题数大于检视问题数")], ERROR)
    _collect(
        report,
        sheet,
        header,
        "members_probationary",
        raw,
        [(mismatch, "正式党员数 + 预备党员数 不等于 党员总数，请核实")],
        WARNING,
    )
    frame.loc[full_over, "members_full"] = pd.NA
    frame.loc[fixed_over, "issues_fixed"] = pd.NA
    return bad | full_over | fixed_over


def _finish(report: Report, frames: list, quarter: str | None, titles: list[str], max_rows: int) -> None:
    """Quarter, file-level limits, duplicates; sets report.records to the loadable rows."""
    if not frames:
        if not report.errors:
            report.problems.append(
                Problem(
                    ERROR,
                    "文件中没有可识别的季度报表：请确认表头包含 所属系统、单位名称、党组织名称、组织类型 等列（可下载标准模板对照）。",
                    file=report.file,
                )
            )
        return
    records = pd.concat(frames, ignore_index=True)
    if records.empty:
        report.problems.append(
            Problem(ERROR, "表格中没有任何党组织数据行（只有表头），请填写后再上传。", file=report.file)
        )
        return
    if len(records) > max_rows:
        report.problems.append(
            Problem(ERROR, f"数据共 {len(records)} 行，超过上限 {max_rows} 行，请拆分后上传。", file=report.file)
        )
        return
    report.quarter = _quarter(report, quarter, titles)
    bad = records.pop("_bad") | _duplicates(records, report)
    report.rejected_rows = int(bad.sum())
    report.records = records[~bad].reset_index(drop=True)
    report.all_rows = len(records)


def _duplicates(records: pd.DataFrame, report: Report) -> pd.Series:
    """Rows naming an organization already named in the same file (same system, unit and name)."""
    keys = list(KEY_COLUMNS.values())
    usable = records[keys].notna().all(axis=1)
    dup = records.duplicated(keys, keep=False) & usable
    first = records[dup].groupby(keys, sort=False)[["source_sheet", "source_row"]].transform("first")
    for i in records.index[dup.to_numpy()]:
        where = f"工作表「{first.at[i, 'source_sheet']}」第{first.at[i, 'source_row']}行"
        is_first = (first.at[i, "source_sheet"], first.at[i, "source_row"]) == (
            records.at[i, "source_sheet"],
            records.at[i, "source_row"],
        )
        message = "同一党组织在本文件中重复出现" + ("" if is_first else f"（首次出现在{where}）")
        report.problems.append(
            Problem(
                ERROR,
                message,
                sheet=records.at[i, "source_sheet"],
                row=int(records.at[i, "source_row"]),
                column="党组织名称",
                value=records.at[i, "org_name"],
                field="org_name",
            )
        )
    return dup


def _quarter(report: Report, given: str | None, titles: list[str]) -> str | None:
    found = next((q for q in map(quarter_from_text, titles[1:] + titles[:1]) if q), None)
    if given:
        if found and found != given:
            report.problems.append(
                Problem(WARNING, f"表格标题显示为 {found}，已按指定的季度 {given} 载入", file=report.file)
            )
        return given
    if found is None:
        report.problems.append(
            Problem(ERROR, "无法从标题或文件名识别季度，请指定季度（如 2024Q1）后重新上传。", file=report.file)
        )
    return found
