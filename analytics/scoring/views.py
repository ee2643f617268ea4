"""What the leader pages show: KPIs, trends over quarters, items losing points, a branch's profile."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

from analytics.scoring import imbalance
from analytics.scoring.rubric import COMPOSITES, QUADRANTS, Rubric
from analytics.scoring.scores import as_frame, for_quarter, previous_quarter, scores_relation
from analytics.store import database as store
from analytics.template import load_template

FILTERS = ("system", "unit", "org_type")


def filtered(frame: pd.DataFrame, **filters: str | None) -> pd.DataFrame:
    """Rows matching every given filter (system, unit, org_type); None or "" means all; absent columns are skipped."""
    active = {key: value for key, value in filters.items() if value and key in frame.columns}
    if not active:  # a shallow copy (copy-on-write): taking all 200,000 rows of a wide frame cost 0.1 s a page run
        return frame.copy(deep=False)
    mask = pd.Series(True, index=frame.index)
    for key, value in active.items():
        mask &= frame[key] == value
    return frame[mask]


def all_scores(con: duckdb.DuckDBPyConnection, rubric: Rubric) -> pd.DataFrame:
    """Scores of every organization in every quarter with data, oldest quarter first."""
    with store.snapshot(con):
        frames = [for_quarter(con, q, rubric) for q in store.quarters(con)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


# What the pages need of every quarter (filters, KPIs, trend, a branch's history); the wide frame is per quarter.
SUMMARY_COLUMNS = ["quarter", "org_id", "system", "unit", "org_name", "org_type", "category", "model_level",
                   "standardization", "integration", "quadrant", "grade", "completeness"]  # fmt: skip


def all_scores_summary(con: duckdb.DuckDBPyConnection, rubric: Rubric) -> pd.DataFrame:
    """SUMMARY_COLUMNS of all_scores, same rows in the same order, without the ~60 indicator columns."""
    with store.snapshot(con):  # one state for every quarter, even while an upload commits
        frames = [
            as_frame(scores_relation(con, q, rubric).order("system, unit, org_name").select(*SUMMARY_COLUMNS))
            for q in store.quarters(con)
        ]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _quarter_figures(frame: pd.DataFrame, threshold: float = imbalance.PASS_MARK) -> dict:
    counts = frame["quadrant"].value_counts()
    out = {"organizations": len(frame), "completeness": frame["completeness"].mean()}
    for score in COMPOSITES:
        out[score] = frame[score].mean()
        scored = frame[score].dropna()  # 离退休 organizations have no integration score (SPEC §4.5)
        out[f"{score}_below_60"] = (scored < threshold).mean() if len(scored) else np.nan
    out |= {q: int(counts.get(q, 0)) for q in QUADRANTS}
    out["not_rated"] = int(frame["quadrant"].isna().sum()) if len(frame) else 0
    return out


def kpis(current: pd.DataFrame, previous: pd.DataFrame | None) -> dict:
    """Headline figures of a quarter, each with `<name>_change` against the previous quarter (None if none)."""
    now = _quarter_figures(current)
    before = _quarter_figures(previous) if previous is not None and len(previous) else None
    out = dict(now)
    for key, value in now.items():
        out[f"{key}_change"] = None if before is None else value - before[key]
    return out


def quarter_trend(scored: pd.DataFrame) -> pd.DataFrame:
    """Per quarter: means of both scores, organizations, and gini/cv/theil of each score across units."""
    rows = []
    for quarter, frame in scored.groupby("quarter", sort=True):
        row = {"quarter": quarter, "organizations": len(frame)}
        for score in COMPOSITES:
            report = imbalance.imbalance_report(frame, "unit", score)
            row[score] = frame[score].mean()
            for key in ("gini", "cv", "theil_total", "between_share"):
                row[f"{score}_{key}"] = report[key]
        rows.append(row)
    return pd.DataFrame(rows)


def imbalance_series(trend: pd.DataFrame, score: str) -> pd.DataFrame:
    """quarter, gini, cv, theil_total, between_share of one score (for the imbalance trend chart)."""
    cols = {f"{score}_{k}": k for k in ("gini", "cv", "theil_total", "between_share")}
    return trend[["quarter", *cols]].rename(columns=cols)


def indicator_summary(frame: pd.DataFrame, rubric: Rubric, composite: str) -> pd.DataFrame:
    """Per indicator: mean points lost per organization scored on the composite (0 where it does not apply, so the
    means add up to 100 − the mean score), mean score where it applies, full marks and 未填报 counts."""
    rows = []
    frame = frame[frame[composite].notna()]  # organizations scored on it (SPEC §4.5: not 离退休 for integration)
    for ind in rubric.of(composite):
        scores = frame[ind.id]
        rows.append(
            {
                "id": ind.id,
                "name": ind.name,
                "weight": ind.weight,
                "applicable": int(scores.notna().sum()),
                "mean_score": scores.mean(),
                "full_marks_share": (scores == 1).sum() / max(int(scores.notna().sum()), 1),
                "lost": frame[f"lost_{ind.id}"].fillna(0).mean() if len(frame) else np.nan,
                "missing": int(frame[f"missing_{ind.id}"].sum()),
            }
        )
    return pd.DataFrame(rows).sort_values("lost", ascending=False, kind="stable").reset_index(drop=True)


def unit_indicator_matrix(frame: pd.DataFrame, rubric: Rubric, composite: str, by: str = "unit") -> pd.DataFrame:
    """Rows = groups, columns = "S8 主题党日"-style labels, values = mean 0–1 score where the item applies."""
    ids = [i.id for i in rubric.of(composite)]
    matrix = frame.groupby(by)[ids].mean()
    order = frame.groupby(by)[composite].mean().sort_values().index
    labels = {i.id: f"{i.id} {i.name}" for i in rubric.of(composite)}
    return matrix.reindex(order).rename(columns=labels)


def previous_of(scored: pd.DataFrame, quarter: str) -> pd.DataFrame | None:
    """The previous calendar quarter's rows of an all-quarters frame, or None if it has no data."""
    before = quarter_rows(scored, previous_quarter(quarter))
    return before if len(before) else None


def quarter_rows(scored: pd.DataFrame, quarter: str) -> pd.DataFrame:
    """The rows of one quarter of an all-quarters frame: a slice when they are contiguous (all_scores puts each
    quarter's rows together), which costs nothing; a boolean take of 800,000 wide rows cost 0.4 s at 200k."""
    hits = np.flatnonzero((scored["quarter"] == quarter).to_numpy(dtype=bool, na_value=False))
    if len(hits) and hits[-1] - hits[0] + 1 == len(hits):
        return scored.iloc[hits[0] : hits[-1] + 1]
    return scored.iloc[hits]


def lost_points(row: pd.Series, rubric: Rubric, composite: str) -> pd.DataFrame:
    """One organization's lost points per indicator of a composite, biggest first (only where it lost any)."""
    out = pd.DataFrame(
        [{"id": i.id, "name": i.name, "lost": row[f"lost_{i.id}"]} for i in rubric.of(composite)]
    ).dropna(subset=["lost"])
    return out[out["lost"] > 1e-9].sort_values("lost", ascending=False).reset_index(drop=True)


def reported_vs_target(records: pd.DataFrame, quarter: str, score_row: pd.Series, rubric: Rubric) -> pd.DataFrame:
    """Per indicator: the reported value(s), the target, the 0–1 score and whether it was 未填报.

    records are the organization's records of every quarter (branch_records); an annual item judged over its
    window (SPEC §4.5) shows the previous quarter's value beside this one's in the window's last quarter."""
    headers = {c.name: c.header for c in load_template().columns}
    record = records[records["quarter"] == quarter].iloc[0]
    before = records[records["quarter"] == previous_quarter(quarter)]
    rows = []
    for ind in rubric.indicators:
        if ind.kind == "share":
            shown = f"{_fmt(record.get(ind.numerator))} / {_fmt(record.get(ind.denominator))}"
            column = f"{headers[ind.numerator]} / {headers[ind.denominator]}"
        else:
            shown, column = _fmt(record.get(ind.column)), headers[ind.column]
        if ind.window and int(quarter[-1]) == ind.window[1]:
            earlier = _fmt(before.iloc[0][ind.column]) if len(before) else "未报送"
            shown = f"上季度 {earlier}；本季度 {shown}"
        rows.append(
            {
                "id": ind.id,
                "name": ind.name,
                "column": column,
                "reported": shown,
                "target": _target_text(ind),
                "score": score_row[ind.id],
                "missing": bool(score_row[f"missing_{ind.id}"]),
            }
        )
    return pd.DataFrame(rows)


def _fmt(value: object) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NaT or value is pd.NA:
        return "未填"
    if isinstance(value, bool | np.bool_):
        return "是" if value else "否"
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _target_text(ind) -> str:
    return _plain_target(ind) + (_window_text(ind) if ind.window else "")


def _plain_target(ind) -> str:
    if ind.kind == "flag":
        return f"≥ {ind.at_least:g}" if ind.at_least is not None else "是"
    if ind.kind == "grade":
        return "、".join(f"{g}={s:g}" for g, s in ind.table)
    if ind.kind == "term":
        return "按期换届（" + "、".join(f"{t}{y}年" for t, y in ind.years) + "）"
    suffix = "（全年累计）" if ind.accumulate else ""
    return f"{ind.target:g}{suffix}"


def _window_text(ind) -> str:
    first, last = ind.window
    return f"（年度事项：第{first}季度或{'次年' if last < first else ''}第{last}季度完成）"


def branch_records(con: duckdb.DuckDBPyConnection, org_id: int) -> pd.DataFrame:
    """The reported records of one organization in every quarter, oldest first."""
    return con.execute("SELECT * FROM current_records WHERE org_id = $id ORDER BY quarter", {"id": int(org_id)}).df()
