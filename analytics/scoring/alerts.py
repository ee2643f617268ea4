"""Warnings (预警) of a quarter: the organizations and units to follow up, one table per kind.

Each kind answers one problem of the committee's own 2023 report: overdue elections, branches
with fewer than 3 full members, vacant secretaries, reports missing or sent late, lasting low scores,
falling units and 示范/样板 branches that no longer deserve the title. Everything is one query or one
whole-frame pandas step per kind; nothing loops over organizations.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import pandas as pd

from analytics.scoring import scores, trends
from analytics.scoring.rubric import COMPOSITES, Rubric

MIN_FULL_MEMBERS = 3  # 党章: a branch needs 3 full members; fewer should join a 联合党支部
DUE_SOON_MONTHS = 6
FALL_POINTS = 3.0
MAX_FALLING_UNITS = 10
MODEL_LEVELS = ("市级样板", "区级示范")
ORG = ["system", "unit", "org_name", "org_type"]

WARNINGS: dict[str, tuple[str, str]] = {
    "election_overdue": ("换届超期", "任期已满仍未换届，应督促其按程序召开党员大会尽快完成换届选举。"),
    "election_due_soon": ("半年内到期换届", "任期将在6个月内届满，应提前谋划、按程序请示报批，确保按期换届。"),
    "few_full_members": ("正式党员不足3人", "正式党员不足3人的党支部应按规定与邻近单位成立联合党支部。"),
    "no_secretary": ("书记空缺", "党组织书记空缺，抓党建无人牵头，应尽快按程序选配书记。"),
    "missing_report": ("本季度未报送", "上季度报送、本季度没有数据的党组织无法评价，应督促其尽快补报。"),
    "late_report": ("补报数据", "数据来自本季度首批报表之后单独补报的文件，应核实原因并督促按时报送。"),
    "low_two_quarters": ("连续两季度较差", "同一得分连续两个季度低于60分，应列为重点帮扶对象，查找原因、限期整改。"),
    "units_falling": ("单位平均分下滑", "单位平均分比上季度下降3分以上，应及时约谈了解原因，防止滑坡。"),
    "model_slipping": ("示范样板退步", "市级样板、区级示范党支部的标准化得分已低于良好，应复核创建等级并督促整改。"),
}

COLUMN_LABELS: dict[str, str] = {
    "system": "所属系统",
    "unit": "单位名称",
    "org_name": "党组织名称",
    "org_type": "组织类型",
    "last_election_date": "本届选举日期",
    "term_years": "任期（年）",
    "term_delay_until": "批准延期换届至",
    "due_date": "应换届日期",
    "months_overdue": "超期月数",
    "days_to_due": "距到期天数",
    "members_total": "党员总数",
    "members_full": "正式党员数",
    "members_probationary": "预备党员数",
    "last_reported": "最近报送季度",
    "unit_missing": "本单位未报送数",
    "unit_reported_before": "本单位上季度报送数",
    "batch_id": "批次",
    "file_name": "补报文件",
    "loaded_at": "载入时间",
    "low_in": "较差的得分",
    "standardization": "标准化建设得分",
    "standardization_previous": "上季度标准化建设得分",
    "standardization_change": "标准化建设变化",
    "standardization_grade": "标准化建设等级",
    "integration": "党建与业务融合得分",
    "integration_previous": "上季度党建与业务融合得分",
    "integration_change": "党建与业务融合变化",
    "largest_fall": "最大降幅",
    "model_level": "创建等级",
}

_DUE = """
    WITH due AS (
        SELECT org_id, system, unit, org_name, org_type, last_election_date, term_years, term_delay_until,
               -- an approved delay moves the due date to the day it runs until (SPEC §4.5)
               greatest(CAST(last_election_date + to_years(CAST(term_years AS INTEGER)) AS DATE),
                        coalesce(term_delay_until, DATE '0001-01-01')) AS due_date
        FROM (SELECT * REPLACE (coalesce(term_years, $years[list_position($types, org_type)]) AS term_years)
              FROM current_records WHERE quarter = $q AND last_election_date IS NOT NULL)
    )"""
OVERDUE_SQL = f"""{_DUE}
    SELECT * EXCLUDE (org_id), date_diff('month', due_date, $end) AS months_overdue FROM due
    WHERE due_date < $end ORDER BY due_date, system, unit, org_name"""
OVERDUE_IDS_SQL = f"{_DUE} SELECT org_id FROM due WHERE due_date < $end"
DUE_SOON_SQL = f"""{_DUE}
    SELECT * EXCLUDE (org_id), date_diff('day', $end, due_date) AS days_to_due FROM due
    WHERE due_date BETWEEN $end AND $horizon ORDER BY due_date, system, unit, org_name"""
FEW_FULL_SQL = """
    SELECT system, unit, org_name, org_type, members_total, members_full, members_probationary
    FROM current_records WHERE quarter = $q AND members_full < $min ORDER BY system, unit, org_name"""
NO_SECRETARY_SQL = """
    SELECT system, unit, org_name, org_type, members_full
    FROM current_records WHERE quarter = $q AND NOT has_secretary ORDER BY system, unit, org_name"""
MISSING_SQL = """
    WITH before AS (SELECT org_id, system, unit, org_name, org_type FROM current_records WHERE quarter = $previous),
    gone AS (SELECT * FROM before b
             WHERE NOT EXISTS (SELECT 1 FROM current_records c WHERE c.quarter = $q AND c.org_id = b.org_id))
    SELECT g.system, g.unit, g.org_name, g.org_type, $previous AS last_reported,
           count(*) OVER (PARTITION BY g.system, g.unit) AS unit_missing,
           (SELECT count(*) FROM before x WHERE x.system = g.system AND x.unit = g.unit) AS unit_reported_before
    FROM gone g ORDER BY g.system, g.unit, g.org_name"""
# A 补报 is an organization absent from the quarter's first active batch; a later file that corrects
# rows the first batch already held is a correction, not a late report.
LATE_SQL = """
    WITH first AS (SELECT min(batch_id) AS batch_id FROM batches WHERE quarter = $q AND status = 'active')
    SELECT c.system, c.unit, c.org_name, c.org_type, b.batch_id, b.file_name, b.created_at AS loaded_at
    FROM current_records c JOIN batches b ON b.batch_id = c.batch_id, first f
    WHERE c.quarter = $q AND c.batch_id <> f.batch_id
      AND NOT EXISTS (SELECT 1 FROM records r WHERE r.org_id = c.org_id AND r.quarter = $q AND r.batch_id = f.batch_id)
    ORDER BY b.batch_id, c.system, c.unit, c.org_name"""


def month_end_after(day: dt.date, months: int) -> dt.date:
    """The last day of the month that lies `months` months after day's month."""
    index = day.year * 12 + day.month - 1 + months + 1
    return dt.date(index // 12, index % 12 + 1, 1) - dt.timedelta(days=1)


def _term_params(quarter: str, rubric: Rubric) -> dict:
    """Query parameters: the quarter, its last day and the rubric's term years per org type."""
    term = next(i for i in rubric.indicators if i.kind == "term")
    end = scores.quarter_end(quarter)
    return {
        "q": quarter,
        "end": end,
        "types": [t for t, _ in term.years],
        "years": [y for _, y in term.years],
        "horizon": month_end_after(end, DUE_SOON_MONTHS),
    }


def election_overdue(con: duckdb.DuckDBPyConnection, quarter: str, rubric: Rubric) -> pd.DataFrame:
    """Organizations whose election date + term (own override, else the rubric's) is before the quarter end."""
    params = _term_params(quarter, rubric)
    return con.execute(OVERDUE_SQL, {k: params[k] for k in ("q", "end", "types", "years")}).df()


def overdue_org_ids(con: duckdb.DuckDBPyConnection, quarter: str, rubric: Rubric) -> list[int]:
    """org_id of the organizations whose election is overdue at the quarter's end (the data check of 整改督办)."""
    params = _term_params(quarter, rubric)
    rows = con.execute(OVERDUE_IDS_SQL, {k: params[k] for k in ("q", "end", "types", "years")}).fetchall()
    return [r[0] for r in rows]


def election_due_soon(con: duckdb.DuckDBPyConnection, quarter: str, rubric: Rubric) -> pd.DataFrame:
    """Organizations whose term ends on the quarter end or within the 6 months after it."""
    return con.execute(DUE_SOON_SQL, _term_params(quarter, rubric)).df()


def few_full_members(con: duckdb.DuckDBPyConnection, quarter: str) -> pd.DataFrame:
    """Organizations with fewer than 3 full members."""
    return con.execute(FEW_FULL_SQL, {"q": quarter, "min": MIN_FULL_MEMBERS}).df()


def no_secretary(con: duckdb.DuckDBPyConnection, quarter: str) -> pd.DataFrame:
    """Organizations that reported having no secretary (a blank answer is not a vacancy)."""
    return con.execute(NO_SECRETARY_SQL, {"q": quarter}).df()


def missing_report(con: duckdb.DuckDBPyConnection, quarter: str) -> pd.DataFrame:
    """Organizations with a record last calendar quarter and none this quarter, with their unit's counts."""
    return con.execute(MISSING_SQL, {"q": quarter, "previous": scores.previous_quarter(quarter)}).df()


def late_report(con: duckdb.DuckDBPyConnection, quarter: str) -> pd.DataFrame:
    """Organizations first reported in a later batch than the quarter's first one, with that file and time."""
    return con.execute(LATE_SQL, {"q": quarter}).df()


def low_two_quarters(now: pd.DataFrame, before: pd.DataFrame, rubric: Rubric) -> pd.DataFrame:
    """Organizations with the same score in the lowest grade (较差) this quarter and last quarter."""
    lowest = rubric.grades[-1][0]
    kept = before[["org_id", *COMPOSITES, "integration_grade", "standardization_grade"]]
    both = now.merge(kept, on="org_id", suffixes=("", "_previous"))
    low = {c: (both[f"{c}_grade"] == lowest) & (both[f"{c}_grade_previous"] == lowest) for c in COMPOSITES}
    s_name, i_name = (rubric.composite_name(c) for c in COMPOSITES)
    both["low_in"] = np.select(
        [low["standardization"] & low["integration"], low["standardization"]],
        [f"{s_name}、{i_name}", s_name],
        default=i_name,
    )
    columns = [*ORG, "low_in", "standardization_previous", "standardization", "integration_previous", "integration"]
    return both.loc[low["standardization"] | low["integration"], columns].reset_index(drop=True)


def units_falling(now: pd.DataFrame, before: pd.DataFrame) -> pd.DataFrame:
    """Units whose mean score fell by 3 points or more since last quarter, the largest fall first, at most 10."""
    # (system, unit): a unit name is unique only within its system
    changes = trends.group_changes(now, before, by=["system", "unit"])  # type: ignore[arg-type]
    worst = changes[[f"{c}_change" for c in COMPOSITES]].min(axis=1).round(scores.THRESHOLD_DIGITS)
    changes["largest_fall"] = -worst
    columns = ["system", "unit", "largest_fall"]
    columns += [f"{c}{suffix}" for c in COMPOSITES for suffix in ("_previous", "", "_change")]
    falling = changes.loc[worst <= -FALL_POINTS, columns]
    return (
        falling.sort_values(["largest_fall", "system", "unit"], ascending=[False, True, True])
        .head(MAX_FALLING_UNITS)
        .reset_index(drop=True)
    )


def good_threshold(rubric: Rubric) -> float:
    """The lowest standardization score still graded 良好 (the rubric's second grade if renamed)."""
    bounds = dict(rubric.grades)
    return bounds.get("良好", rubric.grades[min(1, len(rubric.grades) - 1)][1])


def model_slipping(now: pd.DataFrame, before: pd.DataFrame, rubric: Rubric) -> pd.DataFrame:
    """市级样板 / 区级示范 organizations whose standardization score is below 良好."""
    below = now["standardization"].round(scores.THRESHOLD_DIGITS) < good_threshold(rubric)
    slipping = now[now["model_level"].isin(MODEL_LEVELS) & below]
    slipping = slipping.merge(
        before[["org_id", "standardization"]], on="org_id", how="left", suffixes=("", "_previous")
    )
    columns = [*ORG, "model_level", "standardization_previous", "standardization", "standardization_grade"]
    return slipping[[*columns, "integration"]].sort_values(["system", "unit", "org_name"]).reset_index(drop=True)


def warnings_for_quarter(
    con: duckdb.DuckDBPyConnection,
    quarter: str,
    rubric: Rubric,
    now: pd.DataFrame | None = None,
    before: pd.DataFrame | None = None,
) -> dict[str, pd.DataFrame]:
    """Every warning of a quarter in WARNINGS order: kind -> table (empty when there is nothing to warn).

    `now` and `before` are the scores of the quarter and the one before, when the caller has them already.
    """
    now = scores.for_quarter(con, quarter, rubric) if now is None else now
    before = scores.for_quarter(con, scores.previous_quarter(quarter), rubric) if before is None else before
    found = {
        "election_overdue": election_overdue(con, quarter, rubric),
        "election_due_soon": election_due_soon(con, quarter, rubric),
        "few_full_members": few_full_members(con, quarter),
        "no_secretary": no_secretary(con, quarter),
        "missing_report": missing_report(con, quarter),
        "late_report": late_report(con, quarter),
        "low_two_quarters": low_two_quarters(now, before, rubric),
        "units_falling": units_falling(now, before),
        "model_slipping": model_slipping(now, before, rubric),
    }
    return {kind: found[kind] for kind in WARNINGS}


def reporting(reported: int, missing: int) -> tuple[int, float]:
    """(expected, share reported): expected = this quarter's reports plus last quarter's reporters now silent."""
    expected = reported + missing
    return expected, reported / max(expected, 1)


MAX_LAGGING = 5  # units named as 后进 at most (通报, deck, 总览)


def lagging_units(
    units: pd.DataFrame, rubric: Rubric, means: dict[str, float] | None = None, limit: int = MAX_LAGGING
) -> pd.DataFrame:
    """Units whose mean of either score is below 良好 and below the scope's mean of that score (a unit level with
    everyone else does not lag behind them), the lowest first, at most `limit`; `weak` names that score.
    units: one row per unit with its mean of each composite."""
    bar = good_threshold(rubric)
    scores = units[list(COMPOSITES)]
    if means is not None:  # only a score below the scope's mean can make a unit lag
        scores = scores.where(scores.lt(pd.Series(means) - 1e-9) & scores.notna())  # rounding noise is no gap
    low = scores.min(axis=1)  # NaN (nothing scored, or not below the mean) is never below the bar
    below = units[low < bar]
    out = below.assign(weak=scores[low < bar].idxmin(axis=1), weak_score=low[low < bar])
    return out.sort_values(["weak_score", "unit"], kind="stable").head(limit).reset_index(drop=True)


def costliest_item(frame: pd.DataFrame, rubric: Rubric, composite: str) -> tuple[str, float] | None:
    """(name, mean points lost) of the composite's indicator that costs these organizations the most, or None."""
    rated = frame[frame[composite].notna()]
    if rated.empty:
        return None
    lost = pd.Series({i.name: rated[f"lost_{i.id}"].fillna(0).mean() for i in rubric.of(composite)})
    return (str(lost.idxmax()), float(lost.max())) if lost.max() > 1e-9 else None


def lagging_overview(frame: pd.DataFrame, rubric: Rubric) -> pd.DataFrame:
    """The 后进 units of a quarter's scope (lagging_units over unit means) with the item costing each the most on
    its weak score: unit, system, organizations, weak, weak_score, item, item_lost (for 总览)."""
    units = frame.groupby("unit").agg(system=("system", "first"), organizations=("org_name", "size"))
    units = units.join(frame.groupby("unit")[list(COMPOSITES)].mean()).reset_index()
    lagging = lagging_units(units, rubric, {c: frame[c].mean() for c in COMPOSITES})
    items = [costliest_item(frame[frame["unit"] == r.unit], rubric, r.weak) for r in lagging.itertuples()]
    return lagging.assign(item=[i[0] if i else None for i in items], item_lost=[i[1] if i else None for i in items])[
        ["unit", "system", "organizations", "weak", "weak_score", "item", "item_lost"]
    ]
