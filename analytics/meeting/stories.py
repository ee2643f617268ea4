"""What the numbers of a meeting say, decided from the data before any sentence is written.

The 通报 never states a direction, a praise or a trend the figures do not show: the heading of the overall
standing follows every headline measure, a unit is praised only when it is above the mean on both scores and
not lagging, and a unit's rise or fall over several quarters is found here, not guessed by the text.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from analytics.meeting.meeting import Meeting
from analytics.scoring.rubric import COMPOSITES, QUADRANTS
from analytics.scoring.scores import previous_quarter

STEADY = 0.05  # a change of a mean score smaller than this (points) is no change
STREAK_STEPS = 3  # quarter-on-quarter steps in one direction that make a story
STREAK_SLACK = 1.0  # a step back this small (points) does not break a run
STREAK_MIN = 10.0  # points a run must gain or lose in all


def direction(kpis: dict) -> str | None:
    """'up' when no headline measure got worse and one got better, 'down' the reverse, 'mixed', 'flat', or None
    without a previous quarter. Headline: both mean scores (higher is better), 融合型 (more is better) and the
    other three quadrants (fewer is better)."""
    signed = [kpis.get(f"{s}_change") for s in COMPOSITES]
    if any(c is None or pd.isna(c) for c in signed):
        return None
    moves = [int(c > STEADY) - int(c < -STEADY) for c in signed]
    for quadrant in QUADRANTS:
        change = kpis.get(f"{quadrant}_change")
        if change is not None and not pd.isna(change):
            better = change if quadrant == QUADRANTS[0] else -change
            moves.append(int(better > 0) - int(better < 0))
    if all(m >= 0 for m in moves):
        return "up" if any(m > 0 for m in moves) else "flat"
    if all(m <= 0 for m in moves):
        return "down"
    return "mixed"


def praised(m: Meeting, limit: int = 3) -> pd.DataFrame:
    """Units above the scope's mean on both scores, neither lagging nor falling, the best sum of ranks first."""
    means = {s: m.frame[s].mean() for s in COMPOSITES}
    units = m.units.dropna(subset=list(COMPOSITES))
    above = units[(units["standardization"] > means["standardization"]) & (units["integration"] > means["integration"])]
    falling = {s.unit for s in streaks(m) if not s.rising}  # named as 连续下滑 in the same document
    above = above[~above["unit"].isin(m.lagging["unit"]) & ~above["unit"].isin(falling)]
    order = above["standardization_rank"] + above["integration_rank"]
    return above.assign(order=order).sort_values(["order", "unit"], kind="stable").head(limit)


@dataclass(frozen=True)
class Streak:
    """A unit's mean of one score moving one way over several quarters up to the meeting's quarter."""

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


def streaks(m: Meeting) -> list[Streak]:
    """Every unit whose mean score rose (or fell) over at least STREAK_STEPS consecutive quarter steps ending at the
    meeting's quarter, by STREAK_MIN points or more in all; biggest change first."""
    history = m.history[m.history["quarter"] <= m.quarter]
    means = history.groupby(["unit", "quarter"])[list(COMPOSITES)].mean()
    found = []
    for unit, rows in means.groupby(level="unit", sort=True):
        series = rows.droplevel("unit").sort_index()
        if m.quarter not in series.index:
            continue
        for score in COMPOSITES:
            run = _run(series[score].dropna(), m.quarter)
            if run is not None:
                found.append(Streak(unit, score, *run))
    return sorted(found, key=lambda s: -abs(s.last - s.first))


def _run(values: pd.Series, quarter: str) -> tuple[str, str, float, float] | None:
    """(start quarter, end quarter, first value, last value) of the longest one-way run ending at quarter."""
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
