"""Checks that need more than one file or the stored data: cross-file duplicates, new units."""

from __future__ import annotations

import difflib

import duckdb
import pandas as pd

from analytics import store
from analytics.problems import ERROR, WARNING, Problem, Report

KEYS = ["system_key", "unit_key", "name_key"]


def upload_checks(con: duckdb.DuckDBPyConnection, reports: list[Report]) -> None:
    """Append to each report the problems seen only across files or against the store."""
    _cross_file_duplicates(reports)
    known = store.known_units(con)
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
    for row in fresh.itertuples(index=False):
        close = difflib.get_close_matches(row.unit, known_names, n=1, cutoff=0.75)
        hint = f"，是否应为「{close[0]}」？" if close else "，请确认名称无误"
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
    con: duckdb.DuckDBPyConnection, files: list[tuple[str, bytes]], quarter: str | None
) -> list[Report]:
    """Ingest every file (nothing is stored) and add the cross-file and against-store checks."""
    from analytics.ingest import ingest_bytes

    reports = [ingest_bytes(data, name, quarter) for name, data in files]
    upload_checks(con, reports)
    return reports


def is_blocked(reports: list[Report], valid_rows_only: bool) -> bool:
    """True when nothing may be loaded: errors (unless only valid rows are wanted) or no rows."""
    for r in reports:
        if r.records is None or r.quarter is None or r.row_count == 0:
            return True
        if r.errors and not valid_rows_only:
            return True
    return False
