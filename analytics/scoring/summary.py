"""A quarter's scores and imbalance, shaped for the CLI, the pages and the exports."""

from __future__ import annotations

import math

import duckdb
import pandas as pd

from analytics.scoring import imbalance, robustness, rubric_versions
from analytics.scoring.rubric import Rubric, load_rubric
from analytics.scoring.scores import for_quarter
from analytics.store import database as store

IDENTITY = ["system", "unit", "org_name", "standardization", "integration", "quadrant", "grade"]
TRAILER = ["completeness", "missing", "rubric_version"]


def require_quarter(con: duckdb.DuckDBPyConnection, quarter: str) -> None:
    """Raise StoreError (Chinese) when the quarter has no data."""
    known = store.quarters(con)
    if quarter not in known:
        have = "、".join(known) if known else "无"
        raise store.StoreError(f"季度 {quarter} 没有数据（已有季度：{have}）。")


def rubric_in_force(con: duckdb.DuckDBPyConnection, path: str | None = None) -> Rubric:
    """The rubric file given, else the newest version saved in the database, else data/rubric.toml."""
    return load_rubric(path) if path else rubric_versions.active(con)


def quarter_scores(con: duckdb.DuckDBPyConnection, quarter: str, rubric: Rubric) -> pd.DataFrame:
    """Every organization's scores in a known quarter (StoreError for an unknown one)."""
    require_quarter(con, quarter)
    return for_quarter(con, quarter, rubric)


def scores_table(con: duckdb.DuckDBPyConnection, quarter: str, rubric_path: str | None = None) -> pd.DataFrame:
    """SPEC §6 scores columns: identity, composites, quadrant, grade, one 0–1 column per indicator, then extras."""
    rubric = rubric_in_force(con, rubric_path)
    frame = quarter_scores(con, quarter, rubric)
    return frame[[*IDENTITY, *(i.id for i in rubric.indicators), *TRAILER]]


def _clean(value: object) -> object:
    """JSON-safe scalar: numpy types to Python, NaN to None."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def imbalance_summary(
    con: duckdb.DuckDBPyConnection, quarter: str, by: str, score: str, rubric_path: str | None = None
) -> dict:
    """Group table (with 5–95 % rank interval under weight perturbation) and the SPEC §5 measures."""
    rubric = rubric_in_force(con, rubric_path)
    frame = quarter_scores(con, quarter, rubric)
    report = imbalance.imbalance_report(frame, by, score)
    ranks = robustness.rank_intervals(frame, rubric, by, score)[[by, "rank_p05", "rank_p95"]]
    groups = report.pop("groups").merge(ranks, on=by, how="left").rename(columns={by: "group"})
    out = {k: _clean(v) for k, v in report.items()}
    out["nested"] = {k: _clean(v) for k, v in imbalance.nested_theil(frame, score).items()}
    out["groups"] = [{k: _clean(v) for k, v in row.items()} for row in groups.to_dict("records")]
    return {"quarter": quarter, "score_name": rubric.composite_name(score), "rubric_version": rubric.version} | out


def imbalance_text(summary: dict) -> str:
    """imbalance_summary as the CLI prints it: the group table and the measures, in Chinese."""
    groups = pd.DataFrame(summary["groups"])
    groups["rank_interval"] = groups["rank_p05"].astype(str) + "–" + groups["rank_p95"].astype(str)
    groups["below_60_share"] = (groups["below_60_share"] * 100).round(1)
    table = groups[["rank", "group", "count", "mean", "min", "max", "below_60_share", "rank_interval"]].round(2)
    table.columns = ["名次", "单位" if summary["by"] == "unit" else "系统", "组织数", "平均分", "最低分", "最高分",
                     "低于60分占比(%)", "名次区间(5%–95%)"]  # fmt: skip

    def fmt(key: str) -> str:
        value = summary[key]
        return "无" if value is None else f"{value:.4f}"

    lines = [
        f"{summary['quarter']} {summary['score_name']}，按{'单位' if summary['by'] == 'unit' else '系统'}（{summary['n']} 个党组织）",
        table.to_string(index=False),
        f"基尼系数 {fmt('gini')}；变异系数 {fmt('cv')}；泰尔指数 {fmt('theil_total')}"
        f"（组间 {fmt('theil_between')}，组内 {fmt('theil_within')}，组间占比 {fmt('between_share')}）；"
        f"最高/最低组均分之比 {fmt('max_min_ratio')}，极差 {fmt('range')}",
    ]
    return "\n".join(lines)
