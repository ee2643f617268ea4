"""`python -m analytics annual --year Y` (SPEC §9): the year's scores of organizations and units, and its counts."""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
from pathlib import Path

import pandas as pd

from analytics.accounts import audit
from analytics.cli_args import EXIT_OK, UsageError
from analytics.meeting import annual_report
from analytics.scoring import annual, rubric_versions, views
from analytics.scoring.rubric import load_rubric
from analytics.store import database as store

ORG_COLUMNS = [
    "system", "unit", "org_name", "org_type", "standardization", "integration", "quadrant", "grade",
    "standardization_rank", "integration_rank", "quarters_reported", "missing_quarters",
    "standardization_change", "integration_change",
]  # fmt: skip


def add_parser(sub, common: argparse.ArgumentParser) -> None:
    """The annual command."""
    p = sub.add_parser(
        "annual", parents=[common], help="年度考核：某年各党组织、各单位的年度得分、排名、同比变化与全年数据"
    )
    p.add_argument("--year", type=int, required=True)
    p.add_argument(
        "--format", choices=("csv", "json"), default="csv", help="csv：各党组织一行；json：党组织、单位与全年数据"
    )
    p.add_argument("--rubric", help="评分细则文件（默认使用系统中生效的细则）")


def cmd_annual(args: argparse.Namespace) -> int:
    """The year's report: organizations as CSV, or everything as JSON."""
    with store.connect(args.db, reading=True) as con:
        rubric = load_rubric(args.rubric) if args.rubric else rubric_versions.active(con)
        report = annual.year_report(con, args.year, rubric, ORG_COLUMNS)
    if args.format == "json":
        out = report | {k: _records(report[k]) for k in ("organizations", "units")}
        print(json.dumps(out, ensure_ascii=False, indent=2))
        return EXIT_OK
    frame = report["organizations"]
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(frame.columns)
    for row in frame.itertuples(index=False):
        writer.writerow(["" if _missing(v) else v for v in row])
    return EXIT_OK


def _missing(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def _records(frame: pd.DataFrame) -> list[dict]:
    return [{k: None if _missing(v) else v for k, v in row.items()} for row in frame.astype(object).to_dict("records")]


def export_year(args: argparse.Namespace) -> int:
    """`export --year Y --docx F --xlsx F`: the 年度述职 data draft and the year's workbook."""
    if not (args.docx or args.xlsx) or args.pptx or args.png:
        raise UsageError("年度材料只有 --docx（年度述职数据稿）和 --xlsx（年度数据表）")
    with store.connect(args.db) as con:
        rubric = load_rubric(args.rubric) if args.rubric else rubric_versions.active(con)
        report = annual.year_report(con, args.year, rubric)
        stuck = annual.persistent(views.all_scores_summary(con, rubric), args.year)
        files = {}
        if args.docx:
            files[args.docx] = annual_report.report_bytes(report, rubric, stuck, args.district, args.signed)
        if args.xlsx:
            files[args.xlsx] = annual_report.year_xlsx(report, rubric)
        for target, data in files.items():
            Path(target).write_bytes(data)
            print(f"已写出 {target}（{args.year}年度）")
        with store.transaction(con):
            audit.record(con, "cli", "export", year=args.year, files=[Path(t).name for t in files])
    return EXIT_OK
