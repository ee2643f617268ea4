"""What the numbers of a meeting say, decided from the data before any sentence is written.

The 通报 never states a direction, a praise or a trend the figures do not show: the heading of the overall
standing follows every headline measure, a unit is praised only when it is above the mean on both scores and
not lagging, and a unit's rise or fall over several quarters is found once per meeting (Meeting.streaks, scoring/trends.py).
"""

from __future__ import annotations

import pandas as pd

from analytics.meeting.meeting import Meeting
from analytics.scoring.rubric import COMPOSITES, QUADRANTS

STEADY = 0.05  # a change of a mean score smaller than this (points) is no change


# What the 通报's heading and the overview slide's title say for each direction
DIRECTION_WORDS = {
    "up": "整体质量稳中有升",
    "flat": "整体质量保持稳定",
    "mixed": "整体质量有升有降",
    "down": "整体质量有所下降",
}


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
    falling = {s.unit for s in m.streaks if not s.rising}  # named as 连续下滑 in the same document
    above = above[~above["unit"].isin(m.lagging["unit"]) & ~above["unit"].isin(falling)]
    order = above["standardization_rank"] + above["integration_rank"]
    return above.assign(order=order).sort_values(["order", "unit"], kind="stable").head(limit)
