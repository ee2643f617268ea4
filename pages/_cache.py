"""Cached reads of the leader pages, keyed on (database, data version, rubric text): a result kept in the store for
that state is read back (analytics/scoring/kept.py), else computed once per process and shared by every session.

Every cached read is made by kept_read(); st.cache_data and st.cache_resource lock per key, so sessions asking for
the same result at once share one computation. The big frames are shared objects (st.cache_resource), not copies:
nothing changes them in place, and tests/test_leader_pages.py checks that every page leaves them as computed.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable

import pandas as pd
import streamlit as st

from analytics.scoring import alerts, annual, robustness, rubric_versions, scores
from analytics.scoring import kept as derived
from analytics.scoring import views as dashboard
from analytics.scoring.rubric import RUBRIC_PATH, Rubric, RubricError, parse_rubric
from analytics.store import database as store
from pages._ui import data_version, db_file, read_or_stop, upload_link

log = logging.getLogger(__name__)


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


def kept_read(
    name: str,
    compute: Callable[..., object],
    *,
    arg: Callable[..., str] = lambda *args: "",
    shared: bool = False,
    spinner: str | bool = False,
    max_entries: int = 8,
) -> Callable[..., object]:
    """A cached read (db, version, text, *args) of the result `name`: kept_or reads it back from the store when it
    was kept for this state under arg(*args), else compute(connection, db, version, text, *args) computes it.
    shared: one object for every session (st.cache_resource, for big frames), else a copy per caller (st.cache_data)."""

    def read(db: str, version: int, text: str, *args):
        key = derived.Key.of(version, text)
        return derived.kept_or(db, key, name, arg(*args), lambda con: compute(con, db, version, text, *args))

    # Streamlit keys a cache on the function's module, qualified name and source: each read needs its own name
    read.__name__ = read.__qualname__ = f"kept_{name}"
    cache = st.cache_resource if shared else st.cache_data
    return cache(show_spinner=spinner, max_entries=max_entries)(read)


def _summary(con, db: str, version: int, text: str) -> pd.DataFrame:
    return dashboard.all_scores_summary(con, parse_rubric(text))


def _quarter(con, db: str, version: int, text: str, quarter: str) -> pd.DataFrame:
    return scores.for_quarter(con, quarter, parse_rubric(text))


# Every column of one quarter: at 200,000 organizations × 4 quarters the wide frame of all quarters was
# 800k rows × ~76 columns; pages only ever read one quarter of it (bench/scale.md).
_all_scores = kept_read("summary", _summary, shared=True, spinner="正在计算得分…", max_entries=4)
_quarter_scores = kept_read("quarter", _quarter, arg=str, shared=True, spinner="正在计算得分…")
_trend = kept_read("trend", lambda _con, *key: dashboard.quarter_trend(_all_scores(*key)), max_entries=16)
_stability = kept_read(
    "stability",
    lambda _con, db, version, text, quarter: robustness.quadrant_stability(
        _quarter_scores(db, version, text, quarter), parse_rubric(text)
    ),
    arg=str,
    shared=True,
    spinner="正在做权重扰动分析…",
)


@st.cache_resource(show_spinner=False, max_entries=64)
def _per_state(db: str, version: int, text: str, name: str, key: tuple, _make: Callable[[], object]) -> object:
    return _make()


def per_state(name: str, make: Callable[[], object], *key: object) -> object:
    """make() computed once per (database, data version, rubric, name, key) and shared by every session: the
    figures and tables a page draws from the same data and filters are the same for every leader, so the second
    leader's page only sends them (issue 20). key: what make() depends on beyond the data and the rubric (the
    filters), hashable; make() is not hashed. The result is shared, never changed: st.plotly_chart and
    st.dataframe only read it."""
    return _per_state(db_file(), data_version(), rubric_text(), name, key, make)


def all_scores() -> pd.DataFrame:
    """Headline scores (views.SUMMARY_COLUMNS) of every organization in every quarter, cached on data and rubric."""
    current_rubric()
    return read_or_stop(_all_scores, db_file(), data_version(), rubric_text())


def quarter_scores(quarter: str) -> pd.DataFrame:
    """Every score column of one quarter (all organizations), cached like all_scores."""
    return read_or_stop(_quarter_scores, db_file(), data_version(), rubric_text(), quarter)


def trend() -> pd.DataFrame:
    """Per-quarter means and imbalance measures (cached like the scores)."""
    return read_or_stop(_trend, db_file(), data_version(), rubric_text())


# Keyed on the data version and the selection, never on a frame: hashing 200,000 rows × 76 columns on every
# render costs more than most of the page (bench/scale.md). Only the whole district's ranks are kept.
@st.cache_data(show_spinner="正在做权重扰动分析…", max_entries=16)
def _rank_intervals(db: str, version: int, text: str, selection: tuple, by: str) -> pd.DataFrame:
    quarter, score, system, unit, org_type = selection

    def compute(_con) -> pd.DataFrame:
        frame = dashboard.filtered(
            _quarter_scores(db, version, text, quarter), system=system, unit=unit, org_type=org_type
        )
        return robustness.rank_intervals(frame, parse_rubric(text), by, score)

    if system or unit or org_type:
        return compute(None)
    arg = derived.ranks_arg(quarter, by, score)
    return derived.kept_or(db, derived.Key.of(version, text), "ranks", arg, compute)


def rank_intervals(selection: tuple, by: str) -> pd.DataFrame:
    """Group ranks of a selection (quarter, score, system, unit, org type) with 5–95 % intervals under weight
    perturbation."""
    return read_or_stop(_rank_intervals, db_file(), data_version(), rubric_text(), selection, by)


def stability(frame: pd.DataFrame, quarter: str) -> pd.DataFrame:
    """Per organization of `frame` (rows of quarter_scores): share of weight draws keeping its quadrant, 临界 flag.

    Computed once per quarter for every organization (each row's share depends only on that row), then the
    rows of the selection are taken, so changing a filter costs nothing.
    """
    whole = read_or_stop(_stability, db_file(), data_version(), rubric_text(), quarter)
    if frame.index.equals(whole.index):  # the whole quarter: no reindexing of 200,000 labels
        return whole.copy(deep=False)
    return whole.loc[frame.index].reset_index(drop=True)  # quarter_scores has a RangeIndex, as `whole`


def branch_stability(row: pd.DataFrame) -> float:
    """The share of weight draws keeping one organization's quadrant (its own row only: 1 × 1,000 draws)."""
    return float(robustness.quadrant_stability(row, current_rubric())["stability"].iloc[0])


@st.cache_resource(show_spinner="正在生成预警清单…", max_entries=8)  # shared: pages filter, never change it
def _warnings(db: str, version: int, text: str, quarter: str) -> dict[str, pd.DataFrame]:
    with store.connect(db) as con:
        kept = derived.fetch_warnings(con, derived.Key.of(version, text), quarter)
    if kept is not None:
        return kept
    now = _quarter_scores(db, version, text, quarter)
    before = _quarter_scores(db, version, text, scores.previous_quarter(quarter))
    with store.connect(db) as con:
        return alerts.warnings_for_quarter(con, quarter, parse_rubric(text), now=now, before=before)


def warnings_for(quarter: str) -> dict[str, pd.DataFrame]:
    """Every warning list of a quarter (alerts.WARNINGS order), for all organizations."""
    return read_or_stop(_warnings, db_file(), data_version(), rubric_text(), quarter)


def scores_or_stop() -> pd.DataFrame:
    """All scores; without any data, tell the user where to upload and stop the page."""
    scored = all_scores()
    if scored.empty:
        st.info("还没有任何数据。请先上传季度报表，或在命令行运行 `python -m analytics demo` 载入演示数据。")
        upload_link()
        st.stop()
    return scored


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
        return _rank_intervals(*self.args, (quarter, score, None, None, None), by)

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
        log.warning("warm-up of %s (version %s) stopped", db, version, exc_info=True)


@st.cache_data(show_spinner="正在计算年度得分…", max_entries=8)
def _year(db: str, version: int, text: str, year: int) -> dict:
    with store.connect(db) as con:
        return annual.year_report(con, year, parse_rubric(text))


def year_report(year: int) -> dict:
    """annual.year_report of a year under the rubric in force (cached on data and rubric)."""
    return read_or_stop(_year, db_file(), data_version(), rubric_text(), year)
