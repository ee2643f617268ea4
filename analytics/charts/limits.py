"""What a chart keeps when there is too much to draw: the groups and points a leader needs, summaries for the rest.

A district (SPEC §1: up to 60 units, 500 organizations) is always drawn whole, exactly as before; a city or a
province (10,000 units, 200,000 organizations) gets the lowest groups, the two ends of a ranking, box
statistics instead of every point, and a density picture with the starkest 两张皮/业务化 organizations on top.
Pure pandas/numpy and the Chinese notes that say what was left out; analytics.charts draws.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

MAX_GROUPS = 60  # SPEC §1: a district has at most 60 units; up to that every group is drawn
SHOWN_GROUPS = 30  # lowest groups kept above MAX_GROUPS (boxes, heatmap rows)
EDGE_GROUPS = 15  # rank_dots above MAX_GROUPS: the best 15 and the worst 15
MAX_BOX_POINTS = 5_000  # more points than this in the drawn boxes: quartiles only, no points
WEBGL_POINTS = 5_000  # SVG scatter gets slow in the browser past a few thousand points
DENSITY_POINTS = 20_000  # past a city's size the scatter is a density picture with a few markers on top
MAX_MARKERS = 2_000  # markers drawn over the density: the starkest mismatches
TEXT_CELLS = 1_000  # heatmap cells with a printed value; past this the numbers are unreadable
DENSITY_BIN = 2.0  # score points per density cell: 50 × 50 cells over 0–100
MISMATCHES = ("两张皮", "业务化")


def count_text(n: int) -> str:
    """10000 -> '10,000' (the way the office writes counts)."""
    return f"{n:,}"


def lowest_medians(medians: pd.Series, n: int = SHOWN_GROUPS) -> pd.Series:
    """The n lowest of medians that come sorted highest first, in the same order (ties at the cut: later names)."""
    return medians.iloc[-n:] if len(medians) > n else medians


def box_stats(frame: pd.DataFrame, by: str, score: str) -> pd.DataFrame:
    """Per group: q1, median, q3 (linear interpolation), mean, count, and the lowest and highest score."""
    groups = frame.groupby(by, observed=True)[score]
    quartiles = groups.quantile([0.25, 0.5, 0.75]).unstack()
    quartiles.columns = ["q1", "median", "q3"]
    # Whiskers to the lowest and highest score, not Tukey fences: no outlier points are drawn, and the
    # lowest organization of a unit is what a leader asks about.
    extra = groups.agg(["mean", "count", "min", "max"]).rename(columns={"min": "lowest", "max": "highest"})
    return quartiles.join(extra)


def rank_ends(ranks: pd.DataFrame, n: int = EDGE_GROUPS) -> pd.DataFrame:
    """The first n and last n rows of a frame sorted by rank (all rows when there are at most 2n)."""
    return ranks if len(ranks) <= 2 * n else pd.concat([ranks.head(n), ranks.tail(n)])


def _mismatch_quotas(counts: dict[str, int], n: int) -> dict[str, int]:
    """Half of n to each mismatch quadrant; what one cannot use goes to the other."""
    first, second = (counts.get(q, 0) for q in MISMATCHES)
    keep_first = min(first, max(n // 2, n - second))
    return {MISMATCHES[0]: keep_first, MISMATCHES[1]: min(second, n - keep_first)}


def starkest_mismatches(frame: pd.DataFrame, n: int = MAX_MARKERS) -> pd.DataFrame:
    """Up to n 两张皮 and 业务化 organizations (half each when both have enough) whose two scores differ most."""
    quadrant = frame["quadrant"].astype(object).to_numpy()
    gap = (frame["standardization"] - frame["integration"]).abs().to_numpy(float)
    order = np.argsort(-gap, kind="stable")  # biggest gap first, ties in frame order
    quotas = _mismatch_quotas({q: int((quadrant == q).sum()) for q in MISMATCHES}, n)
    # Both kinds, not only the larger one: 两张皮 gaps run bigger and would take every dot.
    kept = [order[quadrant[order] == q][:quota] for q, quota in quotas.items()]
    return frame.iloc[np.sort(np.concatenate(kept), kind="stable")]  # only the kept rows are copied


def density(x: np.ndarray, y: np.ndarray, step: float = DENSITY_BIN) -> tuple[np.ndarray, np.ndarray]:
    """Cell centres on 0–100 and the organizations per cell (rows = y, columns = x), 100 in the top cell."""
    edges = np.arange(0.0, 100.0 + step, step)
    counts, _, _ = np.histogram2d(np.clip(y, 0, 100), np.clip(x, 0, 100), bins=[edges, edges])
    return (edges[:-1] + edges[1:]) / 2, counts.astype(int)


def density_note(total: int, mismatched: int, drawn: int) -> str:
    """What the density picture shows and which organizations are drawn as dots."""
    shade = f"底色：{count_text(total)} 个党组织的分布，越深越密集"
    if not mismatched:
        return f"（{shade}；没有“两张皮”“业务化”党组织）"
    dots = f"全部 {count_text(drawn)} 个" if drawn == mismatched else f"两项得分相差最大的 {count_text(drawn)} 个"
    return f"（{shade}；圆点：{dots}“两张皮”“业务化”党组织）"


def distribution_note(word: str, shown: int, total: int, summarized: bool) -> str | None:
    """Which groups are drawn and how, or None when every group is drawn with its points."""
    parts = [f"中位数最低的 {shown} 个{word}，共 {count_text(total)} 个"] if shown < total else []
    if summarized:
        parts.append("箱体为四分位数，须线为最低分至最高分，虚线为平均分")
    return f"（{'；'.join(parts)}）" if parts else None
