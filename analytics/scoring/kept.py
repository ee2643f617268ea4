"""Leader-page results kept in the store: computed once per data version and rubric, read back on view.

At a province's size (200,000 organizations) a page that scores four quarters, draws 1,000 weightings and builds
the warning lists on view takes 3-6 s (bench/scale.md); read back from the store, the same frames take a tenth of
a second. After each change of the data or of the rubric, the latest quarter's results are computed once and kept
under (data version, rubric): by the CLI after the command that changed the data (`refresh`), by the app's warm-up
thread after the next page. Older versions are dropped. What is not kept (another quarter, a filtered selection) is
computed on view, as before.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Protocol

import duckdb
import pandas as pd
import pyarrow as pa

from analytics.scoring import alerts as warnings
from analytics.scoring import robustness, rubric_versions, scores
from analytics.scoring import views as dashboard
from analytics.scoring.rubric import COMPOSITES, Rubric, parse_rubric
from analytics.store import database as store

RANKED_BY = ("unit", "system")
# Above this many organizations in the latest quarter nothing is kept: the pages' all-quarter frame alone would
# take gigabytes (5M organizations × 8 quarters ≈ 8 GB), and such a store is served by precomputed tables
# behind another engine (docs/scaling.md), not by these pages.
REFRESH_MAX_ORGANIZATIONS = 1_000_000


@dataclass(frozen=True)
class Key:
    """The state a kept result belongs to: a data version and the rubric text in force."""

    version: int
    rubric: str  # sha256 of the rubric text

    @classmethod
    def of(cls, version: int, rubric_text: str) -> Key:
        """The key of a data version under a rubric text."""
        return cls(version, hashlib.sha256(rubric_text.encode("utf-8")).hexdigest())


def ranks_arg(quarter: str, by: str, score: str) -> str:
    """The argument a kept rank table is stored under (whole district, no filter)."""
    return f"{quarter}|{by}|{score}"


def warnings_arg(quarter: str, kind: str) -> str:
    """The argument one kept warning list is stored under."""
    return f"{quarter}|{kind}"


def frame_bytes(frame: pd.DataFrame) -> bytes:
    """A frame as a zstd-compressed Arrow IPC stream (pandas dtypes and index kept in its metadata)."""
    table = pa.Table.from_pandas(frame)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema, options=pa.ipc.IpcWriteOptions(compression="zstd")) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def frame_of(payload: bytes) -> pd.DataFrame:
    """The frame frame_bytes wrote."""
    return pa.ipc.open_stream(payload).read_all().to_pandas()


def fetch(con: duckdb.DuckDBPyConnection, key: Key, name: str, arg: str = "") -> pd.DataFrame | None:
    """A kept result, or None when it is not kept for this state."""
    rows = con.execute(
        "SELECT payload FROM derived WHERE data_version = $v AND rubric_sha = $r AND name = $n AND arg = $a",
        {"v": key.version, "r": key.rubric, "n": name, "a": arg},
    ).fetchall()
    return frame_of(rows[0][0]) if rows else None


def fetch_warnings(con: duckdb.DuckDBPyConnection, key: Key, quarter: str) -> dict[str, pd.DataFrame] | None:
    """Every kept warning list of a quarter in warnings.WARNINGS order, or None unless all are kept."""
    lists = {kind: fetch(con, key, "warnings", warnings_arg(quarter, kind)) for kind in warnings.WARNINGS}
    return None if any(frame is None for frame in lists.values()) else lists


def kept_names(con: duckdb.DuckDBPyConnection, key: Key) -> set[tuple[str, str]]:
    """(name, arg) of every result kept for this state."""
    rows = con.execute(
        "SELECT name, arg FROM derived WHERE data_version = $v AND rubric_sha = $r", {"v": key.version, "r": key.rubric}
    ).fetchall()
    return {(name, arg) for name, arg in rows}


def keep(con: duckdb.DuckDBPyConnection, key: Key, results: dict[tuple[str, str], pd.DataFrame]) -> int:
    """Store the results not kept yet under `key`, dropping every older data version, in one transaction.

    Returns how many were stored: none when the data has changed since (a newer version is the one worth keeping).
    """
    kept = kept_names(con, key)
    payloads = {name: frame_bytes(frame) for name, frame in results.items() if name not in kept}  # outside the lock
    if not payloads:
        return 0
    with store.transaction(con):
        if store.data_version(con) != key.version:
            return 0
        con.execute(
            "DELETE FROM derived WHERE data_version < $v OR rubric_sha <> $r", {"v": key.version, "r": key.rubric}
        )
        kept = kept_names(con, key)  # again, under the lock: another thread may have kept some meanwhile
        missing = {name: payload for name, payload in payloads.items() if name not in kept}
        now = dt.datetime.now()
        for (name, arg), payload in missing.items():
            con.execute(
                "INSERT INTO derived VALUES ($v, $r, $n, $a, $at, $p)",
                {"v": key.version, "r": key.rubric, "n": name, "a": arg, "at": now, "p": payload},
            )
    return len(missing)


class Sources(Protocol):
    """Where the kept results come from: computed here (CLI), or the app's page caches (warm-up)."""

    def summary(self) -> pd.DataFrame: ...
    def quarter(self, quarter: str) -> pd.DataFrame: ...
    def stability(self, quarter: str) -> pd.DataFrame: ...
    def warnings(self, quarter: str) -> dict[str, pd.DataFrame]: ...
    def ranks(self, quarter: str, by: str, score: str) -> pd.DataFrame: ...
    def trend(self) -> pd.DataFrame: ...


def latest_names(quarter: str) -> set[tuple[str, str]]:
    """(name, arg) of every result kept of a state whose latest quarter is `quarter`."""
    ranks = {("ranks", ranks_arg(quarter, by, score)) for by in RANKED_BY for score in COMPOSITES}
    lists = {("warnings", warnings_arg(quarter, kind)) for kind in warnings.WARNINGS}
    return {("summary", ""), ("trend", ""), ("quarter", quarter), ("stability", quarter)} | ranks | lists


def latest(sources: Sources, quarter: str) -> dict[tuple[str, str], pd.DataFrame]:
    """What is kept of a state (latest_names): the headline scores of every quarter and their trend; of the latest
    quarter every score column, the quadrant stability, the warning lists, and the district's unit and system ranks."""
    results = {
        ("summary", ""): sources.summary(),
        ("trend", ""): sources.trend(),
        ("quarter", quarter): sources.quarter(quarter),
        ("stability", quarter): sources.stability(quarter),
    }
    for kind, frame in sources.warnings(quarter).items():
        results["warnings", warnings_arg(quarter, kind)] = frame
    for by in RANKED_BY:
        for score in COMPOSITES:
            results["ranks", ranks_arg(quarter, by, score)] = sources.ranks(quarter, by, score)
    return results


class Computed:
    """Sources computed on one connection, each once (wrap the use in store.snapshot for one consistent state)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, rubric: Rubric):
        self.con, self.rubric = con, rubric
        self.summary = cache(lambda: dashboard.all_scores_summary(con, rubric))
        self.quarter = cache(lambda quarter: scores.for_quarter(con, quarter, rubric))
        self.trend = cache(lambda: dashboard.quarter_trend(self.summary()))

    def stability(self, quarter: str) -> pd.DataFrame:
        """Quadrant stability of every organization of the quarter."""
        return robustness.quadrant_stability(self.quarter(quarter), self.rubric)

    def warnings(self, quarter: str) -> dict[str, pd.DataFrame]:
        """Every warning list of the quarter."""
        before = self.quarter(scores.previous_quarter(quarter))
        return warnings.warnings_for_quarter(self.con, quarter, self.rubric, now=self.quarter(quarter), before=before)

    def ranks(self, quarter: str, by: str, score: str) -> pd.DataFrame:
        """Rank intervals of the district's units or systems."""
        return robustness.rank_intervals(self.quarter(quarter), self.rubric, by, score)


@dataclass(frozen=True)
class Refreshed:
    """What a refresh kept: the state, its latest quarter, how many results were stored, and the seconds it took."""

    key: Key
    quarter: str
    stored: int
    seconds: float
    too_big: bool = False  # more than REFRESH_MAX_ORGANIZATIONS in the latest quarter: nothing computed


def refresh(db: str | None = None) -> Refreshed | None:
    """Compute and keep the latest quarter's results of the file's current state; None when there is no data."""
    started = time.perf_counter()
    with store.connect(db) as con:
        with store.snapshot(con):  # one state: a commit meanwhile neither mixes in nor gets its results lost
            text = rubric_versions.active_text(con)
            key = Key.of(store.data_version(con), text)
            quarters = store.quarters(con)
            if not quarters:
                return None
            if latest_names(quarters[-1]) <= kept_names(con, key):
                return Refreshed(key, quarters[-1], 0, time.perf_counter() - started)
            if _organizations(con, quarters[-1]) > REFRESH_MAX_ORGANIZATIONS:
                return Refreshed(key, quarters[-1], 0, time.perf_counter() - started, too_big=True)
            results = latest(Computed(con, parse_rubric(text)), quarters[-1])
        stored = keep(con, key, results)
    return Refreshed(key, quarters[-1], stored, time.perf_counter() - started)


def _organizations(con: duckdb.DuckDBPyConnection, quarter: str) -> int:
    return con.execute("SELECT count(*) FROM current_records WHERE quarter = $q", {"q": quarter}).fetchall()[0][0]


def kept_or(db: str, key: Key, name: str, arg: str, compute: Callable[[duckdb.DuckDBPyConnection], pd.DataFrame]):
    """The kept result, else compute(connection) (not kept: the warm-up keeps what the pages will ask for)."""
    with store.connect(db) as con:
        found = fetch(con, key, name, arg)
        return found if found is not None else compute(con)
