"""The sidebar selection shared by the leader pages (quarter, system, unit, org type, score), kept across pages and
in the URL, and the cached reads narrowed to it."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import streamlit as st

from analytics.scoring import views as dashboard
from analytics.scoring.rubric import COMPOSITES
from pages import _cache

ALL = "全部"


@dataclass(frozen=True)
class Filters:
    """The sidebar selection shared by the leader pages."""

    quarter: str
    system: str | None
    unit: str | None
    org_type: str | None
    score: str
    score_name: str  # the rubric's name of the selected composite

    def apply(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Rows of the frame inside the selected system, unit and org type."""
        return dashboard.filtered(frame, system=self.system, unit=self.unit, org_type=self.org_type)

    @property
    def selection(self) -> tuple:
        """(quarter, score, system, unit, org type): the cache key of reads narrowed to this selection."""
        return (self.quarter, self.score, self.system, self.unit, self.org_type)


def _remembered(key: str, options: list[str], default: str) -> int:
    """Index of the value kept in session state or the URL, else of the default."""
    value = st.session_state.get(f"keep_{key}") or st.query_params.get(key) or default
    return options.index(value) if value in options else options.index(default)


def _select(label: str, key: str, options: list[str], default: str, fmt=str) -> str:
    index = _remembered(key, options, default)
    value = st.sidebar.selectbox(label, options, index=index, key=f"w_{key}", format_func=fmt)
    st.session_state[f"keep_{key}"] = value
    return value


def sidebar_filters(scored: pd.DataFrame) -> Filters:
    """Quarter, system, unit, org type and score in the sidebar, kept across pages and in the URL."""
    # The lists are computed once per data state from the quarter's own frame (which the page reads anyway):
    # filtering the all-quarters frame (800,000 rows at 200,000 organizations) on every run cost 0.2 s (issue 20)
    quarters = _cache.per_state("sidebar.quarters", lambda: sorted(scored["quarter"].unique(), reverse=True))
    quarter = _select("季度", "quarter", quarters, quarters[0])
    systems = _cache.per_state("sidebar.systems", lambda: listed(_cache.quarter_scores(quarter)), quarter)
    system = _select("系统", "system", systems, ALL)
    units = _cache.per_state(
        "sidebar.units", lambda: listed(_cache.quarter_scores(quarter), system, "unit"), quarter, system
    )
    unit = _select("单位", "unit", units, ALL)
    kinds = _cache.per_state(
        "sidebar.kinds", lambda: listed(_cache.quarter_scores(quarter), column="org_type"), quarter
    )
    org_type = _select("组织类型", "org_type", kinds, ALL)
    rubric = _cache.current_rubric()
    score = _select("得分", "score", list(COMPOSITES), COMPOSITES[0], rubric.composite_name)
    chosen = {"quarter": quarter, "system": system, "unit": unit, "org_type": org_type, "score": score}
    st.query_params.from_dict({k: v for k, v in chosen.items() if v != ALL})
    narrowed = (None if v == ALL else v for v in (system, unit, org_type))
    return Filters(quarter, *narrowed, score, rubric.composite_name(score))


def listed(frame: pd.DataFrame, system: str = ALL, column: str = "system") -> list[str]:
    """全部 and the sorted values of `column` in a quarter's frame (in one system, unless 全部)."""
    rows = frame if system == ALL else frame[frame["system"] == system]
    return [ALL, *sorted(rows[column].unique())]


def quarter_or_stop(scored: pd.DataFrame, filters: Filters) -> pd.DataFrame:
    """The filtered rows (every score column) of the selected quarter; an empty selection says so and stops."""
    frame = filters.apply(_cache.quarter_scores(filters.quarter))
    if frame.empty:
        st.warning(f"{filters.quarter} 在当前筛选条件下没有党组织的数据，请调整左侧的系统、单位或组织类型。")
        st.stop()
    return frame


def fmt_change(value: float | None, digits: int = 1, scale: float = 1.0, unit: str = "") -> str | None:
    """A metric delta as text ("+2.3"), 持平 when it rounds to nothing, or None when there is no previous quarter."""
    if value is None or pd.isna(value):
        return None
    if round(value * scale, digits) == 0:
        return "持平"
    return f"{value * scale:+.{digits}f}{unit}"


def change(value: float | None, digits: int = 1, scale: float = 1.0, unit: str = "", color: str = "normal") -> dict:
    """st.metric's delta arguments: no arrow and no colour for 持平 (a +0.0 is not a rise)."""
    text = fmt_change(value, digits, scale, unit)
    if text == "持平":
        return {"delta": text, "delta_color": "off", "delta_arrow": "off"}
    return {"delta": text, "delta_color": color}


def open_branch(org_id: int) -> None:
    """Go to 支部画像 for one organization (the sidebar's filters stay as the user set them)."""
    st.session_state["branch_org_id"] = int(org_id)
    st.switch_page("pages/branch.py")


def rank_intervals(filters: Filters, by: str) -> pd.DataFrame:
    """Group ranks of the selection with 5–95 % intervals under weight perturbation."""
    return _cache.rank_intervals(filters.selection, by)


def warning_lists(filters: Filters) -> dict[str, pd.DataFrame]:
    """Every warning list of the selected quarter (alerts.WARNINGS order), filtered to the selection."""
    return {kind: filters.apply(frame) for kind, frame in _cache.warnings_for(filters.quarter).items()}
