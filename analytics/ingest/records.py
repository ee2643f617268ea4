"""Bytes -> sheets -> header row -> typed records + problems (SPEC §3.1, §3.2)."""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from analytics.ingest import values as V
from analytics.ingest.header import HEADER_SCAN_ROWS, HeaderMap, find_header, quarter_from_text, report_header_notes
from analytics.ingest.sheets.rawsheet import RawSheet
from analytics.ingest.sheets.workbook import OLE_MAGIC, ZIP_MAGIC, UnreadableFile, read_sheets
from analytics.problems import ERROR, WARNING, Problem, Report, column_letter
from analytics.template import RETIRED_MARK, Template, load_template, normalize_key

MAX_ROWS = 500_000
SPARSE_CELLS = 8  # a note or sign-off line fills at most this many cells (a 填表人… prefix then decides)
QUARTER_RE = re.compile(r"^\d{4}Q[1-4]$")
KEY_COLUMNS = {"system": "system_key", "unit": "unit_key", "org_name": "name_key"}
_TOTAL_ROW = re.compile(r"^(?:合计|总计|小计|累计|汇总)(?:$|[:：(（\d])")
_TOTAL_PREFIX = "^(?:合计|总计|小计|累计|汇总)"  # RE2: a superset of _TOTAL_ROW
_NAMED_TOTAL = re.compile(r"^.{1,30}(?:合计|总计|小计)[:：]?$")
_NAMED_TOTAL_RE2 = "(?:合计|总计|小计)[:：]?$"
# Sheet names a program gives, which name no system: Sheet1, 工作表2, 表1 …
_GENERIC_SHEET = re.compile(r"^(?:sheet|工作表|表|页|数据|汇总|统计表?)?\d*(?:\(\d+\))?$", re.IGNORECASE)


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
    mappings: dict[str, str | None] | None = None,
    known_systems: frozenset[str] = frozenset(),
) -> Report:
    """Typed records and every problem of one uploaded file; never raises for bad input.

    mappings: header_key -> internal name (None: ignore) confirmed by analysts for headers the template lacks;
    known_systems: normalized names of the systems already stored (a sheet so named stands for its system)."""
    report = Report(file=file_name)
    try:
        sheets = read_sheets(data, file_name, max_rows)
    except UnreadableFile as exc:
        report.problems.append(Problem(ERROR, str(exc), file=file_name))
        return report
    frames, titles = [], [file_name]
    context = _SheetContext(
        load_template(),
        today or dt.date.today(),
        mappings or {},
        known_systems,
        data.startswith((ZIP_MAGIC, OLE_MAGIC)),
    )
    for sheet in sheets:
        frame = _read_sheet(sheet, context, report, titles)
        if frame is not None:
            frames.append(frame)
    _finish(report, frames, quarter, titles, max_rows)
    report.list_unlisted()
    order = {s.name: i for i, s in enumerate(sheets)}
    report.problems.sort(key=lambda p: (p.sheet is not None, order.get(p.sheet, -1), p.row or 0))
    return report


@dataclass(frozen=True)
class _SheetContext:
    """What every sheet of one upload is read with."""

    template: Template
    today: dt.date
    mappings: dict[str, str | None]
    known_systems: frozenset[str]
    named_sheets: bool  # sheets of a workbook carry names an office gave them (not a CSV's file name)


def _read_sheet(sheet: RawSheet, context: _SheetContext, report: Report, titles: list[str]):
    report.problems.extend(Problem(WARNING, note, sheet=sheet.name) for note in sheet.notes)
    if not sheet.visible:
        report.problems.append(Problem(WARNING, "隐藏的工作表，已跳过", sheet=sheet.name))
        return None
    head = sheet.head_rows(HEADER_SCAN_ROWS)
    header = find_header(head, context.mappings)
    if header is None:
        report.problems.append(Problem(WARNING, "未找到可识别的表头，已跳过该工作表", sheet=sheet.name))
        return None
    template = context.template
    titles.extend([sheet.name] + [str(c) for r in head[: header.first_row] for c in r if c])
    if "system" not in header.columns and context.named_sheets and _names_system(sheet.name, context.known_systems):
        header.system_from_sheet = sheet.name.strip()
        message = f"表中没有「所属系统」列，已按工作表名称「{header.system_from_sheet}」作为所属系统"
        report.problems.append(Problem(WARNING, message, sheet=sheet.name, row=header.first_row + 1))
    present = set(header.columns) | ({"system"} if header.system_from_sheet else set())
    missing = [c for c in template.required if c.name not in present]
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
    report_header_notes(sheet, header, report)
    if missing:
        return None
    report.sheets_read.append(sheet.name)
    report.sheet_columns[sheet.name] = frozenset(present)
    return _parse_rows(sheet, header, template, report, context.today)


def _names_system(sheet_name: str, known_systems: frozenset[str]) -> bool:
    """True when a sheet's name can stand for its system: not a program's default, and a system's name."""
    key = normalize_key(sheet_name)
    return bool(key) and not _GENERIC_SHEET.match(key) and (key.endswith("系统") or key in known_systems)


def _data_rows(sheet: RawSheet, header: HeaderMap, template: Template) -> tuple[pd.DataFrame, ...]:
    """Raw, normalized and display cells (text columns) of the rows that hold records (no blanks, totals, notes)."""
    table = sheet.rows_from(header.data_start)
    rows = np.arange(table.num_rows) + header.data_start + 1  # Excel row numbers
    raw = _fill_merged({name: table.column(j) for name, (j, _) in header.columns.items()}, sheet, header)
    # Each column is normalized once, in Arrow; rows are classified before anything goes to pandas.
    # Columns read as numbers (typedread.py) have nothing to normalize.
    display = {n: V.text_forms(c) for n, c in raw.items() if template.column(n).type == "text" and V.is_text(c)}
    norm = {n: display[n][1] if n in display else V.normalized_arrow(c) if V.is_text(c) else c for n, c in raw.items()}
    display = {n: forms[0] for n, forms in display.items()}
    keep = _record_rows(norm, table, header, template)
    note_at = _first_note_row(sheet, header, template)
    if note_at is not None:
        keep &= rows < note_at
    if not keep.all():  # a clean sheet keeps every row: no copies
        chosen = pa.array(keep)
        raw, norm, display = ({n: c.filter(chosen) for n, c in cells.items()} for cells in (raw, norm, display))
    index = rows[keep]
    if header.system_from_sheet:  # added after the row choice: a constant fills no row
        raw["system"] = pa.chunked_array([pa.repeat(pa.scalar(header.system_from_sheet), len(index))])
        display["system"], norm["system"] = V.text_forms(raw["system"])
    raw = {n: _series(c, index, "string") for n, c in raw.items()}
    # A number column is its own normalized form: the same Series, not a second conversion
    norm = {n: _series(c, index, "string[pyarrow]") if V.is_text(c) else raw[n] for n, c in norm.items()}
    display = {n: _series(c, index, "string[pyarrow]") for n, c in display.items()}
    return pd.DataFrame(raw, index=index), pd.DataFrame(norm, index=index), display


def _series(column: pa.ChunkedArray, index: np.ndarray, text: str) -> pd.Series:
    """Text as the `text` dtype; numbers as float64 with NaN for empty cells (one array, no mask), integers as Int64."""
    if V.is_text(column):
        return pd.Series(column, dtype=text, index=index)
    if pa.types.is_integer(column.type):
        return pd.Series(column, dtype="Int64", index=index)
    return pd.Series(column.to_numpy(), index=index)


def _record_rows(norm: dict, table: pa.Table, header: HeaderMap, template: Template) -> np.ndarray:
    """True for rows with some filled cell that are not total rows or repeated headers."""
    missing = {name: V.missing_flags(column, template.markers) for name, column in norm.items()}
    filled = np.sum([~m for m in missing.values()], axis=0)
    has_key = np.any([~missing[c.name] for c in template.required if c.name in missing], axis=0)
    texts = [norm[c] for c in ("org_name", "unit", "system", "org_type") if c in norm]
    # 合计 may stand in any column left of the organization's name (序号, 所属系统, 单位名称 …), as read before any
    # merged-cell fill; a number column holds no 合计 label
    leading = {*range(header.columns["org_name"][0]), *header.index_columns}
    lead = [V.normalized_arrow(table.column(j)) for j in leading if V.is_text(table.column(j))]
    totals = np.any([_total_row(t, _TOTAL_PREFIX, _TOTAL_ROW) for t in texts + lead], axis=0)
    # A subtotal named after what it sums (经济系统小计, 全区合计) has no organization name
    named = np.any([_total_row(t, _NAMED_TOTAL_RE2, _NAMED_TOTAL) for t in lead + texts[1:]], axis=0)
    totals |= named & missing["org_name"]
    repeated_header = _bools(pc.is_in(norm["org_name"], value_set=pa.array(sorted(_header_texts("org_name")))))
    return (filled > 0) & ~totals & ~repeated_header & (has_key | (filled > 2))


def _bools(mask: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """A boolean Arrow column as numpy, null as False."""
    return pc.fill_null(mask, False).to_numpy(zero_copy_only=False)


def _total_row(text: pa.ChunkedArray, candidate: str, pattern: re.Pattern) -> np.ndarray:
    """Rows whose text is a 合计/小计… label: Arrow finds the candidates (RE2 `candidate`), `pattern` decides."""
    labels = V.per_distinct(text, lambda t: pc.match_substring_regex(t, candidate), pa.bool_())
    candidates = np.flatnonzero(_bools(labels))
    found = np.zeros(len(text), dtype=bool)
    for i, value in zip(candidates, text.take(candidates).to_pylist(), strict=True):
        found[i] = pattern.search(value) is not None
    return found


# Offices merge 所属系统 / 单位名称 down over a unit's rows; only the top cell holds the text.
FILL_DOWN = ("system", "unit", "org_type")


def _fill_merged(raw: dict[str, pa.ChunkedArray], sheet: RawSheet, header: HeaderMap) -> dict[str, pa.ChunkedArray]:
    """Copy the top cell of each vertically merged range into the rows it covers (identity columns only)."""
    columns = {sheet.first_col + j: name for name, (j, _) in header.columns.items() if name in FILL_DOWN}
    source = {name: np.arange(len(raw[name])) for name in columns.values()}
    for r1, c1, r2, c2 in sheet.merged:
        name = columns.get(c1)
        top, bottom = r1 - header.data_start, r2 - header.data_start  # positions in the data rows
        if name is None or c1 != c2 or bottom <= top or top < 0 or top >= len(source[name]):
            continue
        source[name][top + 1 : bottom + 1] = source[name][top]  # later ranges see earlier fills
    for name, take in source.items():
        if (take != np.arange(len(take))).any():
            raw[name] = raw[name].take(take)
    return raw


def _header_texts(name: str) -> set[str]:
    col = load_template().column(name)
    return {"".join(t.split()) for t in (col.header, *col.synonyms)}


def _first_note_row(sheet: RawSheet, header: HeaderMap, template: Template) -> int | None:
    """Excel row of the first 填表说明 / 注： line after the header; everything from it on is notes."""
    table = sheet.rows_from(header.data_start)
    if table.num_columns == 0:
        return None
    filled = np.zeros(table.num_rows, dtype=np.int32)
    for column in table.columns:
        # A number cell is filled, and its text (digits) starts no note
        present = V.per_distinct(column, _non_blank, pa.bool_()) if V.is_text(column) else pc.is_valid(column)
        filled += pc.fill_null(present, False).to_numpy(zero_copy_only=False)
    # Notes and sign-off lines (填表人：… 审核人：… 联系电话：…) fill a few cells; only those sparse rows are looked at
    sparse = np.flatnonzero((filled > 0) & (filled <= SPARSE_CELLS))
    if not len(sparse):
        return None
    first = _first_filled(table.take(pa.array(sparse)))
    starts = [pc.starts_with(first, prefix) for prefix in template.markers.note_prefixes]
    hits = np.flatnonzero(_bools(functools.reduce(pc.or_, starts)))
    return None if not len(hits) else int(sparse[hits[0]]) + header.data_start + 1


def _first_filled(rows: pa.Table) -> pa.ChunkedArray:
    """The normalized text of each row's first non-blank cell (null for a blank row), computed column by column in
    Arrow: a sheet of 200,000 sparse rows is read here without a copy per cell."""
    first = None
    for column in rows.columns:
        text = column if V.is_text(column) else pc.cast(column, pa.string())
        text = pc.if_else(_non_blank(text), text, pa.scalar(None, pa.string()))
        first = text if first is None else pc.coalesce(first, text)
    return V.normalized_arrow(first)


def _non_blank(text: pa.Array) -> pa.Array:
    return pc.not_equal(pc.utf8_trim_whitespace(text), "")


def _parse_rows(sheet: RawSheet, header: HeaderMap, template: Template, report: Report, today: dt.date):
    """Typed records of one sheet with a bad-row mask; problems appended to the report."""
    raw, norm, display = _data_rows(sheet, header, template)
    frame = pd.DataFrame(index=raw.index)
    bad = pd.Series(False, index=raw.index)
    for col in template.columns:
        if col.name not in raw:
            frame[col.name] = V.empty_column(col, raw.index)
            continue
        parsed = V.parse_column(raw[col.name], col, template.markers, today, norm[col.name], display.get(col.name))
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
    union = np.zeros(len(raw.index), dtype=bool)
    j, text = header.columns.get(name, (None, name))
    letter = column_letter(sheet.first_col + j) if j is not None else ""
    values = raw[name] if name in raw else pd.Series(pd.NA, index=raw.index, dtype="string")
    as_text = str if V.is_text(values) else V.cell_text
    for mask, message in masks:
        flags = mask.fillna(False).to_numpy(dtype=bool)
        rows = mask.index[flags] if flags.any() else mask.index[:0]  # most masks flag nothing
        union |= flags
        report.unlisted[severity] += max(len(rows) - report.room(), 0)
        for row in rows[: report.room()]:
            value = values.loc[row]
            report.problems.append(
                Problem(
                    severity,
                    message,
                    sheet=sheet.name,
                    row=int(row),
                    column=text,
                    value=None if pd.isna(value) else as_text(value),
                    field=name,
                    cell=f"{letter}{row}" if letter else None,
                )
            )
    return pd.Series(union, index=raw.index)


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
    # SPEC §4.5: the scores read a blank 党组织类别 from the name; say so where that makes a branch 离退休
    named = frame["org_category"].isna() & frame["org_name"].str.contains(RETIRED_MARK, regex=False).fillna(False)
    _collect(report, sheet, header, "org_category", raw, [(named, RETIRED_BY_NAME)], WARNING)
    frame.loc[full_over, "members_full"] = pd.NA
    frame.loc[fixed_over, "issues_fixed"] = pd.NA
    return bad | full_over | fixed_over


RETIRED_BY_NAME = (
    "党组织类别未填，名称含“退休”，按离退休党组织评价（不参与融合评价）；如为在职党组织，请在“党组织类别”列填“在职”"
)


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
    records = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]  # one sheet: no copy
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
    report.records = records[~bad].reset_index(drop=True) if bad.any() else records
    report.all_rows = len(records)


def _duplicates(records: pd.DataFrame, report: Report) -> pd.Series:
    """Rows naming an organization already named in the same file (same system, unit and name)."""
    keys = list(KEY_COLUMNS.values())
    usable = records[keys].notna().all(axis=1)
    dup = records.duplicated(keys, keep=False) & usable
    first = records[dup].groupby(keys, sort=False)[["source_sheet", "source_row"]].transform("first")
    rows = records.index[dup.to_numpy()]
    report.unlisted[ERROR] += max(len(rows) - report.room(), 0)
    for i in rows[: report.room()]:
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
