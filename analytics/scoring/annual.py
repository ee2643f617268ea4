"""The year (SPEC §9): annual scores of organizations and units, ranks, change on the year before, and the year's
counts from the records, for the 年度考核 and the data of the 年度述职.

An organization's annual score is the mean of its four quarterly scores; a quarter the district reported but the
organization did not counts as 0 and is flagged 未报送 (rubric [annual] missing_quarter = "zero", the default), or
is left out ("reported": the mean of the quarters it reported). A quarter the district has not loaded at all (a
year still under way) is not counted. Whole-frame pivots, no loop over organizations.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

from analytics.scoring import alerts, robustness, scores
from analytics.scoring.rubric import COMPOSITES, Rubric
from analytics.store import database as store

IDENTITY = ["org_id", "system", "unit", "org_name", "org_type", "category"]
# Of the template's counts: summed over the year's quarters (each quarter reports its own), or read at year end
SUMMED = {
    "new_probationary": "接收预备党员",
    "converted": "预备党员转正",
    "issues_found": "检视问题",
    "issues_fixed": "已整改问题",
}
AT_YEAR_END = {"candidates": "发展对象", "activists": "入党积极分子"}
# 《中国共产党支部工作条例（试行）》: 支委会 monthly, 党员大会 and 党课 quarterly, 党小组会 monthly (where there are groups)
REQUIRED_PER_YEAR = {"committee_meetings": 12, "general_meetings": 4, "party_lectures": 4, "group_meetings": 12}
MEETING_NAMES = {
    "committee_meetings": "支委会",
    "general_meetings": "党员大会",
    "party_lectures": "党课",
    "group_meetings": "党小组会",
}


def year_quarters(year: int) -> list[str]:
    """The four quarters of a year, in order."""
    return [f"{year}Q{q}" for q in range(1, 5)]


def loaded_quarters(con: duckdb.DuckDBPyConnection, year: int) -> list[str]:
    """The quarters of the year the district has data for."""
    return [q for q in store.quarters(con) if q.startswith(f"{year}Q")]


def years(con: duckdb.DuckDBPyConnection) -> list[int]:
    """Years with any quarter of data, newest first."""
    return sorted({int(q[:4]) for q in store.quarters(con)}, reverse=True)


def quarter_frames(con: duckdb.DuckDBPyConnection, year: int, rubric: Rubric) -> dict[str, pd.DataFrame]:
    """Every score column of each loaded quarter of the year (scored once, read by the means and the intervals)."""
    return {q: scores.for_quarter(con, q, rubric) for q in loaded_quarters(con, year)}


def unit_intervals(frames: dict[str, pd.DataFrame], rubric: Rubric, now: pd.DataFrame) -> pd.DataFrame:
    """Per unit (system, unit): the 5–95 % interval of its annual rank on each score under weight perturbation;
    frames: quarter_frames of the year, now: its annual_scores."""
    keyed = now.assign(group=now["system"] + "\x1f" + now["unit"])
    keyed_frames = [f.assign(group=f["system"] + "\x1f" + f["unit"]) for f in frames.values()]
    out = None
    for score in COMPOSITES:
        band = robustness.annual_rank_intervals(keyed_frames, keyed, rubric, "group", score)
        band = band.rename(columns={"rank_p05": f"{score}_rank_p05", "rank_p95": f"{score}_rank_p95"})
        out = band if out is None else out.merge(band, on="group")
    out[["system", "unit"]] = out["group"].str.split("\x1f", expand=True)
    return out.drop(columns="group")


def _annual_mean(long: pd.DataFrame, composite: str, quarters: list[str], rule: str) -> pd.Series:
    """Per org_id: the annual score of one composite under the rule."""
    wide = long.pivot(index="org_id", columns="quarter", values=composite).reindex(columns=quarters)
    reported = long.assign(one=1).pivot(index="org_id", columns="quarter", values="one").reindex(columns=quarters)
    unreported = reported.isna()
    applicable = wide.notna()
    if rule == "reported":
        return wide.mean(axis=1)
    counted = (applicable | unreported).sum(axis=1)  # a quarter reported without this score does not count
    total = wide.fillna(0.0).sum(axis=1)
    return (total / counted.replace(0, np.nan)).where(applicable.any(axis=1))


def annual_scores(
    con: duckdb.DuckDBPyConnection, year: int, rubric: Rubric, frames: dict[str, pd.DataFrame] | None = None
) -> pd.DataFrame:
    """Per organization that reported in the year: both annual scores, quarters reported and missed (未报送),
    annual quadrant and grade (the quarterly rules applied to the annual scores) and district ranks (1 = best).
    frames: quarter_frames of the year when already scored. StoreError when the year has no data."""
    frames = quarter_frames(con, year, rubric) if frames is None else frames
    quarters = list(frames)
    if not quarters:
        known = "、".join(str(y) for y in years(con)) or "无"
        raise store.StoreError(f"{year}年没有任何季度的数据（已有数据的年份：{known}）。")
    keep = [*IDENTITY, *COMPOSITES]
    long = pd.concat([frame[keep].assign(quarter=q) for q, frame in frames.items()], ignore_index=True)
    out = long.sort_values("quarter").groupby("org_id")[IDENTITY[1:]].last()  # names as last reported
    for composite in COMPOSITES:
        out[composite] = _annual_mean(long, composite, quarters, rubric.annual_missing)
    reported = long.groupby("org_id")["quarter"].agg(lambda q: set(q))
    out["quarters_reported"] = reported.map(len)
    out["missing_quarters"] = reported.map(lambda got: ",".join(q for q in quarters if q not in got))
    out = out.reset_index()
    labelled = _labels(con, out, rubric)
    for composite in COMPOSITES:
        labelled[f"{composite}_rank"] = labelled[composite].rank(ascending=False, method="min").astype("Int64")
    return labelled.sort_values(["system", "unit", "org_name"]).reset_index(drop=True)


def _labels(con: duckdb.DuckDBPyConnection, frame: pd.DataFrame, rubric: Rubric) -> pd.DataFrame:
    """The frame with quadrant and grades by the same rules as a quarter's (scores.quadrant_and_grades)."""
    relation = con.from_df(frame)
    return scores.as_frame(relation.select(duckdb.StarExpression(), *scores.quadrant_and_grades(rubric)))


def unit_annual(frame: pd.DataFrame) -> pd.DataFrame:
    """Per unit (annual_scores rows): organizations, mean annual scores, ranks (1 = best), organizations with a
    quarter not reported."""
    grouped = frame.groupby(["system", "unit"])
    out = grouped.agg(
        organizations=("org_id", "size"), standardization=("standardization", "mean"),
        integration=("integration", "mean"), with_missing=("missing_quarters", lambda m: int((m != "").sum())),
    ).reset_index()  # fmt: skip
    for composite in COMPOSITES:
        out[f"{composite}_rank"] = out[composite].rank(ascending=False, method="min").astype("Int64")
    return out.sort_values(["standardization_rank", "unit"]).reset_index(drop=True)


def year_on_year(now: pd.DataFrame, before: pd.DataFrame | None, by: list[str]) -> pd.DataFrame:
    """`now` with each composite's change on the previous year's value of the same key (NaN where it has none)."""
    out = now.copy()
    for composite in COMPOSITES:
        previous = before.set_index(by)[composite] if before is not None else pd.Series(dtype=float)
        key = pd.MultiIndex.from_frame(out[by]) if len(by) > 1 else out[by[0]]
        out[f"{composite}_previous"] = previous.reindex(key).to_numpy() if len(previous) else np.nan
        out[f"{composite}_change"] = out[composite] - out[f"{composite}_previous"]
    return out


def previous_year(con: duckdb.DuckDBPyConnection, year: int, rubric: Rubric) -> pd.DataFrame | None:
    """annual_scores of the year before, or None when it has no data."""
    return annual_scores(con, year - 1, rubric) if loaded_quarters(con, year - 1) else None


YEAR_RECORDS_SQL = """
    SELECT * FROM current_records WHERE list_contains($quarters, quarter)
    QUALIFY row_number() OVER (PARTITION BY org_id ORDER BY quarter DESC) = 1"""
YEAR_SUMS_SQL = """
    SELECT sum(new_probationary), sum(converted), sum(issues_found), sum(issues_fixed)
    FROM current_records WHERE list_contains($quarters, quarter)"""
MEETINGS_SQL = """
    SELECT org_id, sum(committee_meetings) AS committee_meetings, sum(general_meetings) AS general_meetings,
           sum(party_lectures) AS party_lectures,
           -- blank in every quarter: the branch has no party groups (SPEC §3), not zero meetings
           CASE WHEN count(group_meetings) > 0 THEN sum(group_meetings) END AS group_meetings
    FROM current_records WHERE list_contains($quarters, quarter) AND list_contains($types, org_type)
    GROUP BY org_id"""
BRANCH_TYPES = ["党支部", "联合党支部"]  # the 支部工作条例's meeting rules are for branches


def year_counts(con: duckdb.DuckDBPyConnection, year: int, rubric: Rubric) -> dict:
    """The year's figures for the 述职 (SPEC §9): counts summed over the quarters (SUMMED), read at year end
    (AT_YEAR_END: each organization's last report of the year), elections held, organizations off the 换届超期 /
    正式党员不足3人 / 书记空缺 lists by year end, 示范/样板 at year end, and branches holding the 三会一课 the 条例
    requires (pro rata to the quarters loaded)."""
    quarters = loaded_quarters(con, year)
    params = {"quarters": quarters}
    sums = con.execute(YEAR_SUMS_SQL, params).fetchall()[0]
    latest = con.execute(YEAR_RECORDS_SQL, params).df()
    counts = {name: int(v or 0) for name, v in zip(SUMMED.values(), sums, strict=True)}
    counts |= {label: int(latest[column].fillna(0).sum()) for column, label in AT_YEAR_END.items()}
    elected = pd.to_datetime(latest["last_election_date"]).dt.year == year
    counts["年内完成换届"] = int(elected.sum())
    levels = latest["model_level"].value_counts()
    counts |= {level: int(levels.get(level, 0)) for level in alerts.MODEL_LEVELS}
    return {
        "year": year, "quarters": quarters, "organizations": len(latest), "counts": counts,
        "lists": _lists_left(con, year, quarters, rubric), "meetings": _meetings(con, quarters),
    }  # fmt: skip


def _lists_left(con: duckdb.DuckDBPyConnection, year: int, quarters: list[str], rubric: Rubric) -> dict:
    """Per warning list: organizations on it at the start of the year (last year's Q4, if loaded), on it at year
    end, and those that left it during the year (on it at the start or in any earlier quarter of the year,
    reported at year end and off it)."""
    start = [f"{year - 1}Q4"] if f"{year - 1}Q4" in store.quarters(con) else []
    end = quarters[-1]
    lists = {
        "换届超期": lambda q: alerts.election_overdue(con, q, rubric),
        "正式党员不足3人": lambda q: alerts.few_full_members(con, q),
        "书记空缺": lambda q: alerts.no_secretary(con, q),
    }
    key = ["system", "unit", "org_name"]
    reported_end = set(map(tuple, store.quarter_records(con, end)[key].itertuples(index=False)))
    out = {}
    for name, listed in lists.items():
        on = {q: set(map(tuple, listed(q)[key].itertuples(index=False))) for q in [*start, *quarters]}
        earlier = set().union(*(on[q] for q in [*start, *quarters[:-1]]))
        left = sorted(o for o in earlier - on[end] if o in reported_end)
        at_start = len(on[start[0]]) if start else None
        out[name] = {"start": at_start, "end": len(on[end]), "left": len(left), "left_names": [o[2] for o in left]}
    return out


def _meetings(con: duckdb.DuckDBPyConnection, quarters: list[str]) -> dict:
    """Per meeting kind: branches counted, the number the 条例 asks for in these quarters, branches that held it."""
    held = con.execute(MEETINGS_SQL, {"quarters": quarters, "types": BRANCH_TYPES}).df()
    out = {}
    for column, per_year in REQUIRED_PER_YEAR.items():
        needed = per_year * len(quarters) / 4
        counted = held[column].notna()
        out[MEETING_NAMES[column]] = {
            "branches": int(counted.sum()), "required": needed, "met": int((held.loc[counted, column] >= needed).sum()),
        }  # fmt: skip
    return out


def year_report(con: duckdb.DuckDBPyConnection, year: int, rubric: Rubric, columns: list[str] | None = None) -> dict:
    """The year in one dict: the rule, quarters, the district's means (this year and last), organizations and units
    with year-on-year change, the counts."""
    frames = quarter_frames(con, year, rubric)
    now, before = annual_scores(con, year, rubric, frames), previous_year(con, year, rubric)
    orgs = year_on_year(now, before, ["system", "unit", "org_name"])
    units = year_on_year(unit_annual(now), unit_annual(before) if before is not None else None, ["system", "unit"])
    units = units.merge(unit_intervals(frames, rubric, now), on=["system", "unit"], how="left")
    district = {score: _mean(now[score]) for score in COMPOSITES}
    district |= {f"{s}_previous": _mean(before[s]) if before is not None else None for s in COMPOSITES}
    return {
        "year": year, "rule": rubric.annual_missing, "quarters": loaded_quarters(con, year), "district": district,
        "organizations": orgs[columns] if columns else orgs, "units": units, "counts": year_counts(con, year, rubric),
    }  # fmt: skip


def _mean(values: pd.Series) -> float | None:
    """The mean of the scores that exist, None when none does."""
    return float(values.mean()) if values.notna().any() else None


def persistent(summary: pd.DataFrame, year: int, quadrant: str = "两张皮", at_least: int = 3) -> pd.DataFrame:
    """Organizations in `quadrant` in at least `at_least` quarters of the year (rows of views.all_scores_summary),
    with the quarters, most quarters first."""
    mine = summary[summary["quarter"].str.startswith(f"{year}Q") & summary["quadrant"].eq(quadrant)]
    grouped = mine.groupby(["system", "unit", "org_name"])["quarter"].agg(["size", lambda q: "、".join(sorted(q))])
    grouped.columns = ["quarters", "which"]
    out = grouped[grouped["quarters"] >= at_least].reset_index()
    return out.sort_values(["quarters", "system", "unit", "org_name"], ascending=[False, True, True, True])


def counts_table(counts: dict) -> pd.DataFrame:
    """The year's counts (year_counts) as a two-column table: 项目, 数量."""
    return pd.DataFrame({"项目": list(counts["counts"]), "数量": list(counts["counts"].values())})


def meetings_table(counts: dict) -> pd.DataFrame:
    """三会一课 against the 条例 (year_counts): branches counted, required, met, share."""
    rows = [
        {"会议": name, "应开次数": f"{m['required']:g}", "党支部数": m["branches"], "达到要求": m["met"],
         "达标比例": f"{m['met'] / m['branches'] * 100:.0f}%" if m["branches"] else "—"}
        for name, m in counts["meetings"].items()
    ]  # fmt: skip
    return pd.DataFrame(rows)


def lists_table(counts: dict) -> pd.DataFrame:
    """The warning lists over the year (year_counts): at the start, at year end, left during the year."""
    rows = [
        {"名单": name, "年初": "—" if v["start"] is None else v["start"], "年末": v["end"], "年内解决": v["left"]}
        for name, v in counts["lists"].items()
    ]
    return pd.DataFrame(rows)


def units_table(units: pd.DataFrame, rubric: Rubric) -> pd.DataFrame:
    """The unit ranking (year_report's units) in Chinese, worst first, each rank with its 5–95 % interval."""
    out = pd.DataFrame({"所属系统": units["system"], "单位名称": units["unit"], "党组织数": units["organizations"]})
    for score in COMPOSITES:
        label = rubric.composite_name(score)
        out[f"{label}年度得分"] = units[score]
        band = units[f"{score}_rank_p05"].map("{:.0f}".format) + "–" + units[f"{score}_rank_p95"].map("{:.0f}".format)
        out[f"{label}名次"] = units[f"{score}_rank"]
        out[f"{label}名次区间"] = band.where(units[f"{score}_rank"].notna(), "—")
        out[f"{label}同比"] = units[f"{score}_change"]
    out["有未报送季度的党组织"] = units["with_missing"]
    return out.iloc[::-1].reset_index(drop=True)
