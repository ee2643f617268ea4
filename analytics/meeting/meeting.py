"""One quarter for a meeting: the numbers, tables and figures every export (PPTX, XLSX, DOCX, PNG) shows.

Everything an export prints comes from a Meeting, so the deck, the workbook and the bulletin can never
disagree with each other or with the pages: the same scores, the same filters, the same lagging units.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field

import duckdb
import pandas as pd
import plotly.graph_objects as go

from analytics.charts import charts
from analytics.rectify import board, items
from analytics.scoring import alerts as warnings
from analytics.scoring import imbalance, robustness, trends
from analytics.scoring import views as dashboard
from analytics.scoring.rubric import COMPOSITES, QUADRANTS, Rubric
from analytics.scoring.scores import for_quarter, previous_quarter, quarter_end, quarter_parts
from analytics.scoring.summary import require_quarter
from analytics.store import database as store

DISTRICT = "区直机关"
MAX_RANK_ROWS = 30  # more units than this do not fit one slide: the best 10 and the worst 20 are shown
QUARTER_NAMES = {1: "一", 2: "二", 3: "三", 4: "四"}
REPORT_DAYS = 15  # a 通报 is signed about this many days after its quarter ends, once the reports are in


def quarter_text(quarter: str) -> str:
    """'2024年第四季度' for 2024Q4."""
    year, q = quarter_parts(quarter)
    return f"{year}年第{QUARTER_NAMES[q]}季度"


def default_signing_date(quarter: str) -> dt.date:
    """When a quarter's 通报 is usually signed: REPORT_DAYS after the quarter ends, once the reports are in."""
    return quarter_end(quarter) + dt.timedelta(days=REPORT_DAYS)


@dataclass(frozen=True)
class Meeting:
    """A quarter's scores in one scope (the district, or one system / unit / org type) and what follows from them."""

    quarter: str
    rubric: Rubric
    frame: pd.DataFrame
    previous: pd.DataFrame | None
    history: pd.DataFrame
    units: pd.DataFrame
    lagging: pd.DataFrame
    warnings: dict[str, pd.DataFrame]
    district: str = DISTRICT
    filters: dict[str, str] = field(default_factory=dict)
    made: dt.date = field(default_factory=dt.date.today)
    user: str | None = None  # who asked for the export, as record_export writes it to the audit log
    # The 通报's own fields (GB/T 9704): 文号 (blank: filled in by the office), signing date, 抄送
    number: str = ""
    signed: dt.date | None = None
    copies_to: str = ""
    rectification: pd.DataFrame = field(default_factory=pd.DataFrame)  # 整改事项 in scope (items.items)

    @functools.cached_property
    def follow_up(self) -> board.FollowUp | None:
        """Where the items found last quarter stand (SPEC §8); None when no item was ever created."""
        if self.rectification.empty:
            return None
        names = {i.id: i.name for i in self.rubric.indicators}
        return board.follow_up(self.rectification, previous_quarter(self.quarter), names)

    @property
    def signing_date(self) -> dt.date:
        """The date the 通报 is signed: chosen at export, else default_signing_date."""
        return self.signed or default_signing_date(self.quarter)

    @property
    def system(self) -> str | None:
        """The one system the meeting is about, or None for the whole district."""
        return self.filters.get("system")

    @property
    def scope(self) -> str:
        """'区直机关' or '区直机关 经济系统' (with every filter that applies)."""
        return " ".join([self.district, *self.filters.values()])

    @property
    def title(self) -> str:
        """'2024年第四季度 区直机关基层党组织建设质量分析' and the like."""
        return f"{quarter_text(self.quarter)}{self.scope}基层党组织建设质量分析"

    @property
    def kpis(self) -> dict:
        """Headline figures with their change against the previous quarter."""
        return dashboard.kpis(self.frame, self.previous)

    @property
    def trend(self) -> pd.DataFrame:
        """Per quarter in scope: mean scores and imbalance across units."""
        return dashboard.quarter_trend(self.history)

    @functools.cached_property
    def streaks(self) -> list[trends.Streak]:
        """Units whose mean rose or fell over several quarters up to this one, biggest change first."""
        return trends.unit_streaks(self.history, self.quarter)

    @functools.cached_property
    def stability(self) -> pd.DataFrame:
        """Per organization of the frame (same order): quadrant, share of weight draws keeping it, borderline."""
        return robustness.quadrant_stability(self.frame, self.rubric)

    def indicators(self, composite: str) -> pd.DataFrame:
        """Items of one composite by mean points lost, biggest first."""
        return dashboard.indicator_summary(self.frame, self.rubric, composite)

    def imbalance(self, score: str, by: str = "unit") -> dict:
        """SPEC §5 measures of one score across units (or systems) in scope."""
        return imbalance.imbalance_report(self.frame, by, score)

    def unit_frame(self, unit: str) -> pd.DataFrame:
        """This quarter's organizations of one unit."""
        return self.frame[self.frame["unit"] == unit]


def _scoped(frame: pd.DataFrame | None, filters: dict[str, str]) -> pd.DataFrame | None:
    return None if frame is None else dashboard.filtered(frame, **filters)


def unit_table(frame: pd.DataFrame, previous: pd.DataFrame | None, rubric: Rubric) -> pd.DataFrame:
    """Per unit: organizations, both means with rank and 5–95 % rank interval, change, quadrant counts, below 60."""
    out = frame.groupby("unit").agg(system=("system", "first"), organizations=("org_name", "size")).reset_index()
    for score in COMPOSITES:
        ranks = robustness.rank_intervals(frame, rubric, "unit", score)
        ranks = ranks.rename(columns={"mean": score, "rank": f"{score}_rank", "rank_p05": f"{score}_p05"})
        ranks = ranks.rename(columns={"rank_p95": f"{score}_p95"}).drop(columns="count")
        out = out.merge(ranks, on="unit", how="left")
        below = frame.assign(below=frame[score] < imbalance.PASS_MARK).groupby("unit")["below"].mean()
        out[f"{score}_below_60"] = out["unit"].map(below)
    changes = trends.group_changes(frame, previous, by="unit")
    out = out.merge(changes[["unit", *(f"{s}_change" for s in COMPOSITES)]], on="unit", how="left")
    counts = pd.crosstab(frame["unit"], frame["quadrant"]).reindex(columns=list(QUADRANTS), fill_value=0)
    out = out.merge(counts, left_on="unit", right_index=True, how="left")
    out[list(QUADRANTS)] = out[list(QUADRANTS)].fillna(0).astype(int)
    out = out.sort_values(["standardization_rank", "unit"], kind="stable").reset_index(drop=True)
    return out[["system", *out.columns.drop("system")]]


def build(
    con: duckdb.DuckDBPyConnection,
    quarter: str,
    rubric: Rubric,
    filters: dict[str, str | None] | None = None,
    district: str = DISTRICT,
    user: str | None = None,
) -> Meeting:
    """The meeting of a quarter in a scope (filters: system, unit, org_type); StoreError when nothing is in it."""
    require_quarter(con, quarter)
    chosen = {k: v for k, v in (filters or {}).items() if v}
    everyone = for_quarter(con, quarter, rubric)
    frame = _scoped(everyone, chosen)
    if frame is None or frame.empty:
        where = "、".join(chosen.values())
        systems = "、".join(sorted(everyone["system"].unique()))
        raise store.StoreError(f"{quarter} 在「{where}」中没有党组织的数据（该季度的系统：{systems}）。")
    before = _scoped(for_quarter(con, previous_quarter(quarter), rubric), chosen)
    previous = before if before is not None and len(before) else None
    history = _scoped(dashboard.all_scores_summary(con, rubric), chosen)
    history = history[history["quarter"] <= quarter]
    found = warnings.warnings_for_quarter(con, quarter, rubric)
    units = unit_table(frame, previous, rubric)
    return Meeting(
        quarter=quarter, rubric=rubric, frame=frame.reset_index(drop=True), previous=previous, history=history,
        units=units, lagging=warnings.lagging_units(units, rubric, {c: frame[c].mean() for c in COMPOSITES}),
        district=district, user=user,
        warnings={kind: dashboard.filtered(table, **chosen).reset_index(drop=True) for kind, table in found.items()},
        filters=chosen, rectification=dashboard.filtered(items.items(con), **chosen).reset_index(drop=True),
    )  # fmt: skip


def ranked_units(meeting: Meeting, score: str) -> pd.DataFrame:
    """unit, mean, rank, rank_p05, rank_p95 of one score (best 10 and worst 20 when there are more than 30); units
    without the score are left out."""
    cols = {score: "mean", f"{score}_rank": "rank", f"{score}_p05": "rank_p05", f"{score}_p95": "rank_p95"}
    ranks = meeting.units[["unit", *cols]].rename(columns=cols).sort_values("rank", kind="stable")
    ranks = ranks[ranks["mean"].notna() & ranks["rank"].notna()]  # a unit of 离退休 branches only has no integration
    if len(ranks) > MAX_RANK_ROWS:
        ranks = pd.concat([ranks.head(10), ranks.tail(MAX_RANK_ROWS - 10)])
    return ranks.reset_index(drop=True)


def unit_items(meeting: Meeting, unit: str, composite: str) -> pd.DataFrame:
    """Items of one composite by the unit's mean points lost, only those losing any."""
    summary = dashboard.indicator_summary(meeting.unit_frame(unit), meeting.rubric, composite)
    return summary[summary["lost"] > 0.005].reset_index(drop=True)


def lowest_branch(meeting: Meeting) -> pd.Series:
    """The organization with the lowest of its two scores in scope (for the branch charts)."""
    low = meeting.frame[list(COMPOSITES)].min(axis=1).dropna()
    return meeting.frame.loc[low.idxmin() if len(low) else meeting.frame.index[0]]


def figures(meeting: Meeting) -> dict[str, go.Figure]:
    """Every leader-page chart of the meeting, keyed by a Chinese file name stem, in reading order."""
    rubric, frame = meeting.rubric, meeting.frame
    out = {
        "四象限分布": charts.quadrant_scatter(frame, rubric.quadrant_threshold),
        "四象限组织数": charts.quadrant_counts(frame["quadrant"].value_counts()),
        "平均得分趋势": charts.trend_lines(meeting.trend, title=f"{meeting.scope}平均得分趋势"),
    }
    for score in COMPOSITES:
        name = rubric.composite_name(score)
        report = meeting.imbalance(score)
        out[f"{name}_指标失分"] = charts.indicator_bars(meeting.indicators(score), title=f"{name}：各指标平均失分")
        matrix = dashboard.unit_indicator_matrix(frame, rubric, score)
        out[f"{name}_单位指标热力图"] = charts.heatmap(matrix, title=f"{name}：各单位指标得分率")
        out[f"{name}_单位得分分布"] = charts.score_distribution(frame, "unit", score)
        out[f"{name}_单位排名"] = charts.rank_dots(
            ranked_units(meeting, score), "unit", title=f"{name}：单位名次及其区间"
        )
        series = dashboard.imbalance_series(meeting.trend, score)
        out[f"{name}_不平衡趋势"] = charts.imbalance_trend(series, title=f"{name}：不均衡程度趋势")
        x, y = imbalance.lorenz(frame[score])
        out[f"{name}_洛伦兹曲线"] = charts.lorenz_curve(x, y, report["gini"], title=f"{name}：洛伦兹曲线")
    out |= _lagging_figures(meeting)
    return out


def _lagging_figures(meeting: Meeting) -> dict[str, go.Figure]:
    """Lost points of each lagging unit, and the lowest branch's history and waterfall."""
    out = {}
    for row in meeting.lagging.itertuples():
        name = meeting.rubric.composite_name(row.weak)
        items = unit_items(meeting, row.unit, row.weak)
        out[f"后进单位_{row.unit}"] = charts.indicator_bars(items, title=f"{row.unit}：{name}各指标平均失分")
    branch = lowest_branch(meeting)
    history = meeting.history[meeting.history["org_id"] == branch["org_id"]].sort_values("quarter")
    threshold = meeting.rubric.quadrant_threshold
    out[f"支部历季得分_{branch['org_name']}"] = charts.branch_history(
        history, threshold, title=f"{branch['org_name']}历季得分"
    )
    weak = min(COMPOSITES, key=lambda s: branch[s])
    lost = dashboard.lost_points(branch, meeting.rubric, weak)
    out[f"支部失分构成_{branch['org_name']}"] = charts.waterfall(
        lost, branch[weak], title=f"{branch['org_name']}：{meeting.rubric.composite_name(weak)}得分构成"
    )
    return out
