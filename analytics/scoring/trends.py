"""Change since the previous quarter, per organization and per group (unit or system)."""

from __future__ import annotations

import pandas as pd

from analytics.scoring.rubric import COMPOSITES
from analytics.scoring.scores import previous_quarter

KEYS = ["org_id", "system", "unit", "org_name"]


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
