"""Streamlit helpers of the leader pages: cached scores keyed on the data version, shared sidebar filters."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
import streamlit as st

from analytics.accounts import audit
from analytics.meeting.exports import xlsx_bytes
from analytics.scoring import alerts as warnings
from analytics.scoring import kept as derived
from analytics.scoring import robustness, rubric_versions, scores
from analytics.scoring import views as dashboard
from analytics.scoring.rubric import RUBRIC_PATH, Rubric, RubricError, parse_rubric
from analytics.store import database as store
from pages._ui import data_version, db_file, read_or_stop, upload_link

SCORE_NAMES = {"standardization": "支部标准化建设", "integration": "党建与业务融合"}
ALL = "全部"
FILTER_KEYS = ("quarter", "system", "unit", "org_type", "score")


@st.cache_data(show_spinner=False, max_entries=8)
def _rubric_text(db: str, version: int, file_stamp: int) -> str:
    with store.connect(db) as con:
        return rubric_versions.active_text(con)


def rubric_text() -> str:
    """The text of the rubric in force (part of every cache key: a saved rubric rescores at once).

    Read once per data version (saving a rubric bumps it) and per change of data/rubric.toml, not on every call:
    a page asks for it several times per render.
    """
    return read_or_stop(_rubric_text, db_file(), data_version(), RUBRIC_PATH.stat().st_mtime_ns)


@st.cache_data(show_spinner=False)
def _rubric(text: str) -> Rubric:
    return parse_rubric(text)


def current_rubric() -> Rubric:
    """The rubric in force, or a Chinese error on the page."""
    try:
        return _rubric(rubric_text())
    except (RubricError, OSError) as exc:
        st.error(f"评分细则有误，无法计算得分：{exc}")
        st.stop()


# Each cached read below first looks for the result kept in the store for this data version and rubric
# (analytics/scoring/kept.py): a fresh server reads it back in a tenth of a second instead of computing it.
# The big frames are shared, not copied (st.cache_resource): st.cache_data pickled 800,000 rows on every miss and
# unpickled them on every page run (0.4 s and 0.1-0.3 s at 200,000 organizations). Nothing changes them in place;
# tests/test_leader_pages.py checks that every page leaves them as computed.
@st.cache_resource(show_spinner="正在计算得分…", max_entries=4)
def _all_scores(db: str, version: int, text: str) -> pd.DataFrame:
    return derived.kept_or(
        db,
        derived.Key.of(version, text),
        "summary",
        "",
        lambda con: dashboard.all_scores_summary(con, parse_rubric(text)),
    )


def all_scores() -> pd.DataFrame:
    """Headline scores (dashboard.SUMMARY_COLUMNS) of every organization in every quarter, cached on data and rubric."""
    current_rubric()
    return read_or_stop(_all_scores, db_file(), data_version(), rubric_text())


# Every column of one quarter: at 200,000 organizations × 4 quarters the wide frame of all quarters was
# 800k rows × ~76 columns; pages only ever read one quarter of it (bench/scale.md).
@st.cache_resource(show_spinner="正在计算得分…", max_entries=8)
def _quarter_scores(db: str, version: int, text: str, quarter: str) -> pd.DataFrame:
    return derived.kept_or(
        db,
        derived.Key.of(version, text),
        "quarter",
        quarter,
        lambda con: scores.for_quarter(con, quarter, parse_rubric(text)),
    )


def quarter_scores(quarter: str) -> pd.DataFrame:
    """Every score column of one quarter (all organizations), cached like all_scores."""
    return read_or_stop(_quarter_scores, db_file(), data_version(), rubric_text(), quarter)


@st.cache_data(show_spinner=False, max_entries=16)
def _trend(db: str, version: int, text: str) -> pd.DataFrame:
    return derived.kept_or(
        db,
        derived.Key.of(version, text),
        "trend",
        "",
        lambda _: dashboard.quarter_trend(_all_scores(db, version, text)),
    )


def trend() -> pd.DataFrame:
    """Per-quarter means and imbalance measures (cached like the scores)."""
    return read_or_stop(_trend, db_file(), data_version(), rubric_text())


@dataclass(frozen=True)
class Filters:
    """The sidebar selection shared by the leader pages."""

    quarter: str
    system: str | None
    unit: str | None
    org_type: str | None
    score: str

    @property
    def score_name(self) -> str:
        """Chinese name of the selected score."""
        return SCORE_NAMES[self.score]

    def apply(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Rows of the frame inside the selected system, unit and org type."""
        return dashboard.filtered(frame, system=self.system, unit=self.unit, org_type=self.org_type)


# Keyed on the data version and the selection, never on a frame: hashing 200,000 rows × 76 columns on every
# render costs more than most of the page (bench/scale.md).
@st.cache_data(show_spinner="正在做权重扰动分析…", max_entries=16)
def _rank_intervals(db: str, version: int, text: str, filters: Filters, by: str) -> pd.DataFrame:
    def compute(_) -> pd.DataFrame:
        frame = filters.apply(_quarter_scores(db, version, text, filters.quarter))
        return robustness.rank_intervals(frame, parse_rubric(text), by, filters.score)

    if filters.system or filters.unit or filters.org_type:  # only the whole district's ranks are kept
        return compute(None)
    arg = derived.ranks_arg(filters.quarter, by, filters.score)
    return derived.kept_or(db, derived.Key.of(version, text), "ranks", arg, compute)


def rank_intervals(filters: Filters, by: str) -> pd.DataFrame:
    """Group ranks of the selection with 5–95 % intervals under ±25 % weight perturbation."""
    return read_or_stop(_rank_intervals, db_file(), data_version(), rubric_text(), filters, by)


@st.cache_resource(show_spinner="正在做权重扰动分析…", max_entries=8)
def _stability(db: str, version: int, text: str, quarter: str) -> pd.DataFrame:
    return derived.kept_or(
        db,
        derived.Key.of(version, text),
        "stability",
        quarter,
        lambda _: robustness.quadrant_stability(_quarter_scores(db, version, text, quarter), parse_rubric(text)),
    )


def stability(frame: pd.DataFrame, quarter: str) -> pd.DataFrame:
    """Per organization of `frame` (rows of quarter_scores): share of weight draws keeping its quadrant, 临界 flag.

    Computed once per quarter for every organization (each row's share depends only on that row), then the
    rows of the selection are taken, so changing a filter costs nothing.
    """
    whole = read_or_stop(_stability, db_file(), data_version(), rubric_text(), quarter)
    return whole.loc[frame.index].reset_index(drop=True)  # quarter_scores has a RangeIndex, as `whole`


def branch_stability(row: pd.DataFrame) -> float:
    """The share of weight draws keeping one organization's quadrant (its own row only: 1 × 1,000 draws)."""
    return float(robustness.quadrant_stability(row, current_rubric())["stability"].iloc[0])


@st.cache_data(show_spinner="正在生成预警清单…", max_entries=8)
def _warnings(db: str, version: int, text: str, quarter: str) -> dict[str, pd.DataFrame]:
    with store.connect(db) as con:
        kept = derived.fetch_warnings(con, derived.Key.of(version, text), quarter)
    if kept is not None:
        return kept
    now = _quarter_scores(db, version, text, quarter)
    before = _quarter_scores(db, version, text, scores.previous_quarter(quarter))
    with store.connect(db) as con:
        return warnings.warnings_for_quarter(con, quarter, parse_rubric(text), now=now, before=before)


def warning_lists(filters: Filters) -> dict[str, pd.DataFrame]:
    """Every warning list of the selected quarter (warnings.WARNINGS order), filtered to the selection."""
    lists = read_or_stop(_warnings, db_file(), data_version(), rubric_text(), filters.quarter)
    return {kind: filters.apply(frame) for kind, frame in lists.items()}


def audited_workbook(sheets: dict[str, pd.DataFrame], file_name: str, quarter: str) -> Callable[[], bytes]:
    """A download button's data: the XLSX written on click, and the export written to the audit log (SPEC §7)."""
    db, user = db_file(), st.session_state["user"].name

    def build() -> bytes:
        data = xlsx_bytes(sheets)
        with store.connect(db) as con, store.transaction(con):
            audit.record(con, user, "export", quarter=quarter, files=[file_name])
        return data

    return build


_warmed: set[tuple[str, int, str]] = set()
_warm_lock = threading.Lock()


def warm_up() -> None:
    """After a page has run: fill the latest quarter's caches in a background thread, once per data version and rubric,
    and keep the results in the store (analytics/scoring/kept.py) when the CLI has not already.

    At a province's size a page computing its scores, stability and warnings from nothing takes seconds
    (bench/scale.md); warmed after the first signed-in page of a new data version (an upload page, say), the other
    pages find them ready, and so does the next server process. Started after the page, not beside it: on two
    cores a parallel warm-up slowed that page down.
    """
    if os.environ.get("DANGJIAN_WARM_UP", "1") == "0":
        return
    try:
        with store.connect(db_file()) as con:
            version = store.data_version(con)
        key = (db_file(), version, _rubric_text(db_file(), version, RUBRIC_PATH.stat().st_mtime_ns))
    except (store.StoreError, OSError):  # the page has shown the error already
        return
    with _warm_lock:
        if key in _warmed:
            return
        _warmed.add(key)
    threading.Thread(target=_warm, args=key, name="dangjian-warm-up", daemon=True).start()


class _PageCaches:
    """derived.Sources backed by this server's page caches: what the warm-up computes, the next pages find."""

    def __init__(self, db: str, version: int, text: str):
        self.args = (db, version, text)

    def summary(self) -> pd.DataFrame:
        return _all_scores(*self.args)

    def quarter(self, quarter: str) -> pd.DataFrame:
        return _quarter_scores(*self.args, quarter)

    def stability(self, quarter: str) -> pd.DataFrame:
        return _stability(*self.args, quarter)

    def warnings(self, quarter: str) -> dict[str, pd.DataFrame]:
        return _warnings(*self.args, quarter)

    def ranks(self, quarter: str, by: str, score: str) -> pd.DataFrame:
        return _rank_intervals(*self.args, Filters(quarter, None, None, None, score), by)

    def trend(self) -> pd.DataFrame:
        return _trend(*self.args)


def _warm(db: str, version: int, text: str) -> None:
    """Fill the page caches with the latest quarter's results, then keep them in the store for the next server."""
    try:
        with store.connect(db) as con:
            quarters = store.quarters(con)
        if not quarters:
            return
        results = derived.latest(_PageCaches(db, version, text), quarters[-1])
        with store.connect(db) as con:
            derived.keep(con, derived.Key.of(version, text), results)
    except Exception:  # nothing lost: a page computes what is missing itself and shows its own error
        logging.getLogger(__name__).warning("warm-up of %s (version %s) stopped", db, version, exc_info=True)


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
    quarters = sorted(scored["quarter"].unique(), reverse=True)
    quarter = _select("季度", "quarter", quarters, quarters[0])
    in_quarter = scored[scored["quarter"] == quarter]
    system = _select("系统", "system", [ALL, *sorted(in_quarter["system"].unique())], ALL)
    units = in_quarter if system == ALL else in_quarter[in_quarter["system"] == system]
    unit = _select("单位", "unit", [ALL, *sorted(units["unit"].unique())], ALL)
    org_type = _select("组织类型", "org_type", [ALL, *sorted(in_quarter["org_type"].unique())], ALL)
    score = _select("得分", "score", list(SCORE_NAMES), "standardization", SCORE_NAMES.get)
    chosen = {"quarter": quarter, "system": system, "unit": unit, "org_type": org_type, "score": score}
    st.query_params.from_dict({k: v for k, v in chosen.items() if v != ALL})
    return Filters(quarter, *(None if v == ALL else v for v in (system, unit, org_type)), score)


def scores_or_stop() -> pd.DataFrame:
    """All scores; without any data, tell the user where to upload and stop the page."""
    scored = all_scores()
    if scored.empty:
        st.info("还没有任何数据。请先上传季度报表，或在命令行运行 `python -m analytics demo` 载入演示数据。")
        upload_link()
        st.stop()
    return scored


def quarter_or_stop(scored: pd.DataFrame, filters: Filters) -> pd.DataFrame:
    """The filtered rows (every score column) of the selected quarter; an empty selection says so and stops."""
    frame = filters.apply(quarter_scores(filters.quarter))
    if frame.empty:
        st.warning(f"{filters.quarter} 在当前筛选条件下没有党组织的数据，请调整左侧的系统、单位或组织类型。")
        st.stop()
    return frame


def fmt_change(value: float | None, digits: int = 1, scale: float = 1.0, unit: str = "") -> str | None:
    """A metric delta as text ("+2.3"), or None when there is no previous quarter."""
    if value is None or pd.isna(value):
        return None
    return f"{value * scale:+.{digits}f}{unit}"


def open_branch(org_id: int, unit: str | None = None) -> None:
    """Go to 支部画像 for one organization."""
    st.session_state["branch_org_id"] = int(org_id)
    if unit:
        st.session_state["keep_unit"] = unit
    st.switch_page("pages/branch.py")
