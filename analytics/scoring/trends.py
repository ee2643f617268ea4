"""Change since the previous quarter, per organization and per group (unit or system)."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from analytics.scoring.rubric import COMPOSITES
from analytics.scoring.scores import previous_quarter

KEYS = ["org_id", "system", "unit", "org_name"]
STREAK_STEPS = 3  # quarter-on-quarter steps in one direction that make a story
STREAK_SLACK = 1.0  # a step back this small (points) does not break a run
STREAK_MIN = 10.0  # points a run must gain or lose in all


def org_changes(current: pd.DataFrame, previous: pd.DataFrame | None) -> pd.DataFrame:
    """Per organization of the current quarter: both scores, last quarter's, the change and the quadrant move.

    Organizations new this quarter have empty previous values; organizations that reported last quarter
    but not this one are left out (the warnings page lists them as missing reports).
    """
    cols = [*KEYS, *COMPOSITES, "quadrant"]
    out = current[cols].copy()
    if previous is None or previous.empty:
        for name in COMPOSITES:
            out[f"{name}_previous"] = float("nan")
            out[f"{name}_change"] = float("nan")
        out["quadrant_previous"] = None
        return out
    before = previous[["org_id", *COMPOSITES, "quadrant"]].rename(
        columns=lambda c: c if c == "org_id" else f"{c}_previous"
    )
    out = out.merge(before, on="org_id", how="left")
    for name in COMPOSITES:
        out[f"{name}_change"] = out[name] - out[f"{name}_previous"]
    return out


def group_changes(current: pd.DataFrame, previous: pd.DataFrame | None, by: str = "unit") -> pd.DataFrame:
    """Per group: mean of each score this quarter and last quarter (over all organizations each time), and the change."""
    now = current.groupby(by)[list(COMPOSITES)].mean()
    if previous is None or previous.empty:
        before = pd.DataFrame(index=now.index, columns=COMPOSITES, dtype=float)
    else:
        before = previous.groupby(by)[list(COMPOSITES)].mean()
    out = now.join(before.add_suffix("_previous"), how="left")
    for name in COMPOSITES:
        out[f"{name}_change"] = out[name] - out[f"{name}_previous"]
    return out.reset_index()


def previous_label(quarter: str, quarters: list[str]) -> str | None:
    """The previous calendar quarter if it has data, else None (a gap is not compared across)."""
    label = previous_quarter(quarter)
    return label if label in quarters else None


@dataclass(frozen=True)
class Streak:
    """A unit's mean of one score moving one way over several quarters up to a quarter."""

    unit: str
    score: str
    start: str
    end: str
    first: float
    last: float

    @property
    def rising(self) -> bool:
        """True for a rise, False for a fall."""
        return self.last > self.first


def unit_streaks(history: pd.DataFrame, quarter: str) -> list[Streak]:
    """Every unit whose mean score rose (or fell) over at least STREAK_STEPS consecutive quarter steps ending at
    `quarter`, by STREAK_MIN points or more in all; biggest change first. history: scores of every quarter."""
    history = history[history["quarter"] <= quarter]
    means = history.groupby(["unit", "quarter"])[list(COMPOSITES)].mean()
    found = []
    for unit, rows in means.groupby(level="unit", sort=True):
        series = rows.droplevel("unit").sort_index()
        if quarter not in series.index:
            continue
        for score in COMPOSITES:
            run = _run(series[score].dropna(), quarter)
            if run is not None:
                found.append(Streak(unit, score, *run))
    return sorted(found, key=lambda s: -abs(s.last - s.first))


def _run(values: pd.Series, quarter: str) -> tuple[str, str, float, float] | None:
    """(start quarter, end quarter, first value, last value) of the longest one-way run ending at quarter."""
    if quarter not in values.index:  # no score now (a unit of 离退休 branches only has no integration mean)
        return None
    for sign in (1, -1):
        start = quarter
        while start in values.index and previous_quarter(start) in values.index:
            step = sign * (values[start] - values[previous_quarter(start)])
            if step < -STREAK_SLACK:
                break
            start = previous_quarter(start)
        steps = len(values.loc[start:quarter]) - 1
        gained = sign * (values[quarter] - values[start])
        if steps >= STREAK_STEPS and gained >= STREAK_MIN:
            return start, quarter, float(values[start]), float(values[quarter])
    return None
