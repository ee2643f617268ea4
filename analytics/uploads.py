"""Checks that need more than one file or the stored data: cross-file duplicates, new units, confirmed header
mappings, and the template columns a file lacks with the indicators they feed (SPEC §3.1.1)."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass

import duckdb
import pandas as pd

from analytics import mappings
from analytics.accounts import access
from analytics.accounts.auth import User
from analytics.ingest.records import ingest_bytes
from analytics.problems import ERROR, WARNING, Problem, Report
from analytics.rectify import checks
from analytics.scoring import rubric_versions
from analytics.scoring.rubric import Indicator, Rubric
from analytics.store import batches
from analytics.store import database as store
from analytics.template import load_template

KEYS = ["system_key", "unit_key", "name_key"]


def upload_checks(reports: list[Report], known: pd.DataFrame) -> None:
    """Append to each report the problems seen only across files or against the stored units (store.known_units)."""
    _cross_file_duplicates(reports)
    if not known.empty:
        for report in reports:
            _new_unit_warnings(report, known)


def _cross_file_duplicates(reports: list[Report]) -> None:
    frames = [
        r.records.assign(file_index=i)[[*KEYS, "org_name", "source_sheet", "source_row", "file_index"]]
        for i, r in enumerate(reports)
        if r.records is not None and r.quarter
    ]
    if len(frames) < 2:
        return
    quarters = {i: r.quarter for i, r in enumerate(reports)}
    allrows = pd.concat(frames, ignore_index=True)
    allrows["quarter"] = allrows["file_index"].map(quarters)
    dup = allrows[allrows.duplicated([*KEYS, "quarter"], keep="first")]
    for row in dup.itertuples(index=False):
        report = reports[row.file_index]
        report.problems.append(
            Problem(
                ERROR,
                "同一党组织在本次上传的另一个文件中已出现（同一季度只能出现一次）",
                sheet=row.source_sheet,
                row=int(row.source_row),
                column="党组织名称",
                value=row.org_name,
                field="org_name",
                file=report.file,
            )
        )


def _new_unit_warnings(report: Report, known: pd.DataFrame) -> None:
    if report.records is None or report.records.empty:
        return
    units = report.records.drop_duplicates(["system_key", "unit_key"])
    fresh = units.merge(known[["system_key", "unit_key"]], how="left", indicator=True)
    fresh = fresh[fresh["_merge"] == "left_only"]
    known_names = list(known["unit"].unique())
    # A unit is (system, unit): the same name under another system is another unit, scored apart from it.
    elsewhere = known.groupby("unit_key")["system"].agg(lambda s: "、".join(sorted(set(s))))
    for row in fresh.itertuples(index=False):
        close = difflib.get_close_matches(row.unit, known_names, n=1, cutoff=0.75)
        hint = f"，是否应为「{close[0]}」？" if close else "，请确认名称无误"
        if row.unit_key in elsewhere.index:
            hint = (
                f"（在{row.system}中）；同名单位属于{elsewhere[row.unit_key]}，两者将作为不同单位分别计分、"
                "名称后注明所属系统，请确认所属系统填写无误"
            )
        report.problems.append(
            Problem(
                WARNING,
                f"此前未出现过的单位{hint}",
                sheet=row.source_sheet,
                row=int(row.source_row),
                column="单位名称",
                value=row.unit,
                field="unit",
                file=report.file,
            )
        )


def validate_uploads(
    con: duckdb.DuckDBPyConnection,
    files: list[tuple[str, bytes]],
    quarter: str | None,
    confirmed: dict[str, str | None] | None = None,
) -> list[Report]:
    """Ingest every file (nothing is stored) with the stored header mappings plus `confirmed` (header -> field),
    and add the cross-file and against-store checks."""
    known = mappings.stored(con)
    known.update({mappings.checked(header, field)[0]: field for header, field in (confirmed or {}).items()})
    units = store.known_units(con)
    systems = frozenset(units["system_key"])
    reports = [ingest_bytes(data, name, quarter, mappings=known, known_systems=systems) for name, data in files]
    upload_checks(reports, units)
    return reports


@dataclass(frozen=True)
class Gap:
    """A template column that a file lacks, and what that does to the scores."""

    field: str
    header: str
    sheets: tuple[str, ...]
    zero: tuple[str, ...]  # indicators scored 0 (未填报) for the file's organizations
    excluded: tuple[str, ...]  # indicators whose applicability rests on the column: left out of the score

    @property
    def indicators(self) -> tuple[str, ...]:
        """Every indicator the column feeds."""
        return self.zero + self.excluded

    def message(self) -> str:
        """The gap in one sentence of Chinese."""
        parts = []
        if self.zero:
            parts.append(f"{'、'.join(self.zero)} 无法评分，这些党组织将按未填报计 0 分")
        if self.excluded:
            parts.append(f"{'、'.join(self.excluded)} 的适用条件无法判断，将不计入得分")
        effect = "；".join(parts) if parts else "不影响评分，但这些党组织的该项数据将为空"
        return f"缺少「{self.header}」：{effect}"


def column_gaps(report: Report, rubric: Rubric) -> list[Gap]:
    """Template columns missing from a sheet the report read (none of the optional ones), with their indicators."""
    gaps = []
    for col in load_template().columns:
        if col.optional:
            continue
        sheets = tuple(sheet for sheet, present in report.sheet_columns.items() if col.name not in present)
        if sheets:
            zero = tuple(i.id for i in rubric.indicators if col.name in _value_columns(i))
            excluded = tuple(i.id for i in rubric.indicators if col.name in i.columns and i.id not in zero)
            gaps.append(Gap(col.name, col.header, sheets, zero, excluded))
    return gaps


def _value_columns(indicator: Indicator) -> set[str]:
    """The columns whose missing value scores the indicator 0 (a share's denominator decides applicability)."""
    return {c for c in (indicator.column, indicator.numerator) if c}


def file_gaps(con: duckdb.DuckDBPyConnection, reports: list[Report]) -> list[list[Gap]]:
    """column_gaps of every report under the rubric in force."""
    rubric = rubric_versions.active(con)
    return [column_gaps(report, rubric) for report in reports]


def unreadable(report: Report) -> bool:
    """True when the file itself could not be read (empty, corrupt, not a spreadsheet): nothing in it to fix row by
    row, no quarter to fill in; its file-level message is all there is to say."""
    return (
        report.records is None and bool(report.errors) and all(p.row is None and p.sheet is None for p in report.errors)
    )


def blocking(reports: list[Report], valid_rows_only: bool, gaps: list[list[Gap]], gaps_accepted: bool) -> list[str]:
    """Why nothing may be loaded, in Chinese (empty: it may): errors (unless only valid rows are wanted), no rows,
    headers not yet mapped, or missing columns not acknowledged."""
    reasons = []
    for report, file_gaps_ in zip(reports, gaps, strict=True):
        name = f"「{report.file}」"
        if report.unmapped:
            headers = "、".join(f"「{u.header}」" for u in report.unmapped)
            reasons.append(f"{name}有未确认对应关系的列：{headers}")
        if unreadable(report):
            reasons.append(f"{name}无法读取")
        elif report.records is None or report.quarter is None or report.row_count == 0:
            reasons.append(f"{name}没有可载入的数据")
        elif report.errors and not valid_rows_only:
            reasons.append(f"{name}有 {len(report.errors)} 个错误")
        if file_gaps_ and not gaps_accepted:
            reasons.append(f"{name}缺少 {len(file_gaps_)} 个模板列，需确认已知晓")
    return reasons


def ingest_json(
    reports: list[Report], results: list[batches.LoadResult], gaps: list[list[Gap]], reasons: list[str]
) -> dict:
    """The `ingest --json` object: loaded batches, problems, missing columns and their indicators, unmapped headers."""
    problems = [p for r in reports for p in r.problems]
    missing = [
        {"file": report.file, "field": g.field, "column": g.header, "sheets": list(g.sheets),
         "indicators": list(g.indicators), "zero": list(g.zero), "excluded": list(g.excluded), "message": g.message()}
        for report, file_gaps_ in zip(reports, gaps, strict=True) for g in file_gaps_
    ]  # fmt: skip
    return {
        "loaded": [_result_dict(r, rep) for r, rep in zip(results, reports, strict=False)],
        "errors": [_problem_json(p) for p in problems if p.severity == "error"],
        "warnings": [_problem_json(p) for p in problems if p.severity == "warning"],
        "missing_columns": missing,
        "affected_indicators": sorted({i for m in missing for i in m["indicators"]}, key=_indicator_order),
        "unmapped_columns": [
            {
                "file": r.file,
                "sheet": u.sheet,
                "cell": u.cell,
                "header": u.header,
                "suggestions": list(u.suggestions),
                "preselect": u.preselect,
            }
            for r in reports
            for u in r.unmapped
        ],
        "blocked": reasons,
    }


def _indicator_order(indicator_id: str) -> tuple[str, int]:
    """S2 before S10: letter, then number."""
    digits = "".join(ch for ch in indicator_id if ch.isdigit())
    return indicator_id.rstrip("0123456789"), int(digits or 0)


def _problem_json(p) -> dict:
    d = p.as_dict()
    d.pop("severity")
    return d


def _result_dict(result: batches.LoadResult, report: Report) -> dict:
    return {
        "batch_id": result.batch_id,
        "file": report.file,
        "quarter": result.quarter,
        "rows": result.rows,
        "new": result.new,
        "changed": result.changed,
        "unchanged": result.unchanged,
        "skipped": result.skipped,
        "already_loaded": result.already_loaded,
    }


def result_line(result: batches.LoadResult, report: Report) -> str:
    if result.already_loaded:
        return f"批次 {result.batch_id}：文件「{report.file}」与该批次内容完全相同，已载入过，未做任何更改。"
    skipped = f"，跳过有错误的行 {result.skipped}" if result.skipped else ""
    return (
        f"批次 {result.batch_id}：已载入「{report.file}」，{result.quarter}，{result.rows} 个党组织"
        f"（新增 {result.new}，变更 {result.changed}，未变 {result.unchanged}{skipped}）。"
    )


def load_as(
    con: duckdb.DuckDBPyConnection,
    user: User,
    uploads: list[tuple[Report, bytes]],
    valid_rows_only: bool = False,
    also: Callable[[duckdb.DuckDBPyConnection], None] | None = None,
) -> list[batches.LoadResult]:
    """access.load_as, and in the same transaction the data check of the open 整改 items (SPEC §8)."""

    def inside(con: duckdb.DuckDBPyConnection) -> None:
        if also is not None:
            also(con)
        checks.check_in_force(con, user.name)

    return access.load_as(con, user, uploads, valid_rows_only, also=inside)


def rollback_as(con: duckdb.DuckDBPyConnection, user: User, batch_id: int) -> batches.RollbackResult:
    """access.rollback_as, and in the same transaction the data check: an item its data had fixed reopens."""
    return access.rollback_as(con, user, batch_id, also=lambda con: checks.check_in_force(con, user.name))
