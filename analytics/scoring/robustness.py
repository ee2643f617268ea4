"""How much rankings and quadrants depend on the rubric's weights (Monte Carlo over weights).

Every weight is perturbed independently by up to ±25 % (uniform, seeded), 1,000 draws. The composites
of all draws come from two matrix products per composite (Σ wᵢsᵢ and Σ wᵢ over applicable indicators),
so the cost is one BLAS call per chunk of draws, never a loop over organizations.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

from analytics.scoring.rubric import COMPOSITES, QUADRANTS, Rubric

DRAWS = 1000
SPREAD = 0.25
SEED = 20240101
BORDERLINE_SHARE = 0.9
_CHUNK_CELLS = 20_000_000  # organizations × draws held at once (160 MB of float64)


def weight_draws(rubric: Rubric, draws: int = DRAWS, spread: float = SPREAD, seed: int = SEED) -> np.ndarray:
    """draws × indicators matrix of weights, each wᵢ·(1 + U(−spread, spread)) drawn independently."""
    nominal = nominal_weights(rubric)
    return nominal * np.random.default_rng(seed).uniform(1 - spread, 1 + spread, size=(draws, nominal.size))


def nominal_weights(rubric: Rubric) -> np.ndarray:
    """1 × indicators matrix of the rubric's own weights."""
    return np.array([[i.weight for i in rubric.indicators]])


def _chunks(n: int, draws: int) -> Iterator[slice]:
    """Slices of draws small enough to keep n × chunk cells in memory."""
    step = max(1, min(draws, _CHUNK_CELLS // max(n, 1)))
    for start in range(0, draws, step):
        yield slice(start, min(start + step, draws))


def _composite_draws(frame: pd.DataFrame, rubric: Rubric, composite: str, weights: np.ndarray) -> np.ndarray:
    """n × draws composite scores under each weight draw (NaN where nothing applies)."""
    ids = [i.id for i in rubric.of(composite)]
    cols = [k for k, i in enumerate(rubric.indicators) if i.composite == composite]
    values = frame[ids].to_numpy(dtype=float, na_value=np.nan)
    applicable = ~np.isnan(values)
    w = weights[:, cols].T
    with np.errstate(invalid="ignore", divide="ignore"):
        return 100.0 * (np.where(applicable, values, 0.0) @ w) / (applicable.astype(float) @ w)


def _quadrant_codes(standardization: np.ndarray, integration: np.ndarray, threshold: float) -> np.ndarray:
    """0 融合型, 1 两张皮, 2 业务化, 3 边缘化 (the order of rubric.QUADRANTS)."""
    s_high = np.round(standardization, 9) >= threshold
    i_high = np.round(integration, 9) >= threshold
    return np.where(s_high, np.where(i_high, 0, 1), np.where(i_high, 2, 3))


def _quadrants(frame: pd.DataFrame, rubric: Rubric, weights: np.ndarray) -> np.ndarray:
    """n × draws quadrant codes under each weight draw."""
    s = _composite_draws(frame, rubric, "standardization", weights)
    i = _composite_draws(frame, rubric, "integration", weights)
    return _quadrant_codes(s, i, rubric.quadrant_threshold)


def _margins(frame: pd.DataFrame, rubric: Rubric, composite: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(d, nothing, scale): d = applicable sᵢ − T/100 (0 elsewhere), rows where nothing applies, Σ applicable 1s.

    The composite is ≥ T exactly when Σ wᵢ·dᵢ ≥ 0 (the denominator Σ wᵢ is positive), so the quadrant side
    under a weighting is the sign of one dot product: no division, no rounding, and a box of weightings
    has its extremes at corners (each wᵢ at its low or high end, by the sign of dᵢ).
    """
    values = frame[[i.id for i in rubric.of(composite)]].to_numpy(dtype=float, na_value=np.nan)
    applicable = ~np.isnan(values)
    d = np.where(applicable, values - rubric.quadrant_threshold / 100.0, 0.0)
    return d, ~applicable.any(axis=1), applicable.astype(float)


def _sides(
    frame: pd.DataFrame, rubric: Rubric, weights: np.ndarray
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """Per composite: (d, band, high under every weighting in the draws' box, low under every one).

    band = 1e-8 · the largest Σ wᵢ of the row: |Σ wᵢdᵢ| ≤ band means the composite is within 1e-6 of T,
    where only the exact rounded composite decides (far above the float error of either computation).
    """
    low, high = weights.min(axis=0), weights.max(axis=0)
    out = []
    for composite in COMPOSITES:
        cols = [k for k, i in enumerate(rubric.indicators) if i.composite == composite]
        d, nothing, applicable = _margins(frame, rubric, composite)
        band = 1e-8 * (applicable @ high[cols])
        lowest = np.minimum(d * low[cols], d * high[cols]).sum(axis=1)
        highest = np.maximum(d * low[cols], d * high[cols]).sum(axis=1)
        out.append((d, band, ~nothing & (lowest > band), nothing | (highest < -band)))
    return out


def _side_kept(d: np.ndarray, band: np.ndarray, weights: np.ndarray, high: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(kept, exact): per row and draw, the composite stays on its nominal side; rows with a draw within the band."""
    sign = np.where(high, 1.0, -1.0)[:, None]
    margin = (d * (sign / np.where(band > 0, band, 1.0)[:, None])) @ weights.T  # in units of the band
    # Outside the band the side is the sign of the margin; a row with any draw inside it is decided exactly.
    return margin > 0, (np.abs(margin) <= 1).any(axis=1)


def _kept_draws(
    frame: pd.DataFrame, rubric: Rubric, weights: np.ndarray, sides: list, nominal: np.ndarray
) -> np.ndarray:
    """Per organization, the number of draws (of this chunk) whose quadrant equals `nominal`.

    A composite settled for a row (same side under every weighting of the box) is drawn for no row: only
    the rows unsettled in that composite get its n × draws margins, and each side counts alone unless both vary.
    """
    n = len(frame)
    ok = []  # per composite: (rows drawn, kept matrix of those rows, constant kept of the others)
    exact = np.zeros(n, dtype=bool)
    for k, (composite, (d, band, high, low)) in enumerate(zip(COMPOSITES, sides, strict=True)):
        cols = [j for j, i in enumerate(rubric.indicators) if i.composite == composite]
        nominal_high = np.isin(nominal, (0, 1) if k == 0 else (0, 2))
        drawn = ~(high | low)
        kept, near = _side_kept(d[drawn], band[drawn], weights[:, cols], nominal_high[drawn])
        exact[np.flatnonzero(drawn)[near]] = True
        ok.append((drawn, kept, np.where(high, nominal_high, ~nominal_high)))
    (s_drawn, s_kept, s_const), (i_drawn, i_kept, i_const) = ok
    counts = np.where(s_const & i_const, float(len(weights)), 0.0)
    both = s_drawn & i_drawn
    counts[s_drawn & ~both] = s_kept[~both[s_drawn]].sum(axis=1) * i_const[s_drawn & ~both]
    counts[i_drawn & ~both] = i_kept[~both[i_drawn]].sum(axis=1) * s_const[i_drawn & ~both]
    counts[both] = (s_kept[both[s_drawn]] & i_kept[both[i_drawn]]).sum(axis=1)
    if exact.any():  # a composite within 1e-6 of T: the rounded composite decides, as for the nominal quadrant
        counts[exact] = (_quadrants(frame[exact], rubric, weights) == nominal[exact, None]).sum(axis=1)
    return counts


def quadrant_stability(frame: pd.DataFrame, rubric: Rubric, weights: np.ndarray | None = None) -> pd.DataFrame:
    """Per organization: nominal quadrant, share of draws keeping it, and 临界 when under 90 %.

    An organization without both scores (SPEC §4.5: 离退休, no integration score) has no quadrant: None, NaN, False.
    """
    composites = list(rubric.composite_ids)
    if not set(composites) <= set(frame.columns):  # indicator scores only: every row has both composites
        return _stability(frame, rubric, weights)
    rated = frame[composites].notna().all(axis=1).to_numpy()
    if rated.all():
        return _stability(frame, rubric, weights)
    out = frame[["system", "unit", "org_name"]].reset_index(drop=True)
    out = out.assign(quadrant=None, stability=np.nan, borderline=False)
    if rated.any():
        part = _stability(frame[rated], rubric, weights)
        out.loc[rated, ["quadrant", "stability", "borderline"]] = part[
            ["quadrant", "stability", "borderline"]
        ].to_numpy()
    out["borderline"] = out["borderline"].astype(bool)
    out["stability"] = out["stability"].astype(float)
    out["quadrant"] = out["quadrant"].astype("str")  # as the all-rated path gives it (missing stays missing)
    return out


def _stability(frame: pd.DataFrame, rubric: Rubric, weights: np.ndarray | None) -> pd.DataFrame:
    weights = weight_draws(rubric) if weights is None else weights
    nominal = _quadrants(frame, rubric, nominal_weights(rubric))[:, 0]
    # Only organizations near a threshold can change quadrant; the others keep theirs in every draw
    # (or in none), which the corners of the weight box tell without drawing (n × 1000 → a fraction).
    sides = _sides(frame, rubric, weights)
    if weights.min() <= 0:  # a zero weight can empty a denominator: nothing is settled by the corners
        sides = [(d, band, np.zeros_like(hi), np.zeros_like(lo)) for d, band, hi, lo in sides]
    (_, _, s_high, s_low), (_, _, i_high, i_low) = sides
    rows = ~((s_high | s_low) & (i_high | i_low))
    code = np.where(s_high, np.where(i_high, 0, 1), np.where(i_high, 2, 3))
    kept = np.where(code == nominal, float(len(weights)), 0.0)
    near = [tuple(x[rows] for x in side) for side in sides]
    unsettled = frame[rows]
    counted = np.zeros(rows.sum())
    for part in _chunks(len(counted), len(weights)):
        counted += _kept_draws(unsettled, rubric, weights[part], near, nominal[rows])
    kept[rows] = counted
    share = kept / len(weights)
    out = frame[["system", "unit", "org_name"]].copy()
    out["quadrant"] = np.asarray(QUADRANTS, dtype=object)[nominal]
    out["stability"] = share
    out["borderline"] = share < BORDERLINE_SHARE
    return out.reset_index(drop=True)


def _pattern_sums(frame: pd.DataFrame, rubric: Rubric, score: str, codes: np.ndarray, groups: int) -> tuple:
    """Rows pooled by applicable set: (masks P × k, per-group value sums G × P·k, per-group row counts G × P).

    Rows sharing a set of applicable indicators share the denominator Σ wᵢ of every draw, so a group's sum of
    composites is Σ over sets of 100·(Σ values)·w / (mask·w): one (G × P·k) @ (P·k × draws) product instead
    of organizations × draws composites.
    """
    values = frame[[i.id for i in rubric.of(score)]].to_numpy(dtype=float, na_value=np.nan)
    applicable = ~np.isnan(values)
    k = values.shape[1]
    patterns, pattern_of_row = np.unique(applicable @ (1 << np.arange(k, dtype=np.int64)), return_inverse=True)
    cell = codes * len(patterns) + pattern_of_row.ravel()
    cells = groups * len(patterns)
    sums = np.column_stack(
        [np.bincount(cell, weights=column, minlength=cells) for column in np.where(applicable, values, 0.0).T]
    )
    masks = ((patterns[:, None] >> np.arange(k, dtype=np.int64)) & 1).astype(float)
    rows = np.bincount(cell, minlength=cells).astype(float).reshape(groups, len(patterns))
    return masks, sums.reshape(groups, len(patterns) * k), rows


def rank_intervals(
    frame: pd.DataFrame,
    rubric: Rubric,
    by: str = "unit",
    score: str = "standardization",
    weights: np.ndarray | None = None,
) -> pd.DataFrame:
    """Per group: nominal mean and rank (1 = best) with the 5–95 % rank interval over the weight draws."""
    weights = weight_draws(rubric) if weights is None else weights
    codes, labels = pd.factorize(frame[by], sort=True)
    # organizations scored on it: a 离退休 branch has no integration score (SPEC §4.5)
    scored = frame[score].notna().to_numpy() if score in frame else np.ones(len(frame), dtype=bool)
    counts = np.bincount(codes[scored], minlength=len(labels)).astype(float)
    masks, sums, rows = _pattern_sums(frame, rubric, score, codes, len(labels))
    cols = [k for k, i in enumerate(rubric.indicators) if i.composite == score]
    ranks = []
    for part in _chunks(max(len(labels), sums.shape[1]), len(weights)):  # groups × draws and P·k × draws cells
        w = weights[part][:, cols].T  # k × draws
        den = masks @ w  # P × draws; 0 where nothing applies (or all its weights are 0): no composite
        with np.errstate(invalid="ignore", divide="ignore"):
            scaled = np.where(den[:, None, :] > 0, masks[:, :, None] * w[None] / den[:, None, :], 0.0)
            means = 100.0 * (sums @ scaled.reshape(-1, w.shape[1])) / (rows @ (den > 0))
        ranks.append(_ranks(means))
    rank = np.concatenate(ranks, axis=1)
    nominal = _composite_draws(frame, rubric, score, nominal_weights(rubric))[:, 0]
    nominal_means = pd.Series(nominal).groupby(codes).mean().reindex(range(len(labels))).to_numpy()
    out = pd.DataFrame({by: labels, "count": counts.astype(int), "mean": nominal_means})
    out["rank"] = out["mean"].rank(ascending=False, method="min")
    out["rank_p05"] = np.percentile(rank, 5, axis=1, method="lower")
    out["rank_p95"] = np.percentile(rank, 95, axis=1, method="higher")
    return out.sort_values(["rank", by]).reset_index(drop=True)


def _ranks(means: np.ndarray) -> np.ndarray:
    """groups × draws rank of each group in each draw (1 = highest mean; NaN means rank last)."""
    # Sorted along contiguous rows (draws × groups): several times faster than down the columns.
    order = np.argsort(-np.nan_to_num(means.T, nan=-np.inf), axis=1, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(1, means.shape[0] + 1)[None, :], axis=1)
    return ranks.T


def annual_rank_intervals(
    quarters: list[pd.DataFrame],
    annual_frame: pd.DataFrame,
    rubric: Rubric,
    by: str = "unit",
    score: str = "standardization",
    weights: np.ndarray | None = None,
) -> pd.DataFrame:
    """Per group of the year (SPEC §9): the 5–95 % interval of its annual rank over the weight draws. Under each
    draw every quarter is rescored, each organization's annual score is the mean of its quarters by the rubric's
    rule (an unreported quarter 0, or left out), and groups are ranked by the mean of their organizations.
    quarters: one frame of every score column per loaded quarter; annual_frame: annual.annual_scores rows."""
    weights = weight_draws(rubric) if weights is None else weights
    index = pd.Index(annual_frame["org_id"])
    codes, labels = pd.factorize(annual_frame[by], sort=True)
    reported = np.zeros(len(index))
    for frame in quarters:
        reported[index.get_indexer(frame["org_id"])] += 1
    missed = (len(quarters) - reported) if rubric.annual_missing == "zero" else np.zeros(len(index))
    ranks = []
    for part in _chunks(len(index) * max(len(quarters), 1), len(weights)):
        total, counted = np.zeros((len(index), len(weights[part]))), np.zeros((len(index), len(weights[part])))
        for frame in quarters:  # a few quarters; every organization and draw at once
            rows = index.get_indexer(frame["org_id"])
            composite = _composite_draws(frame, rubric, score, weights[part])
            total[rows] += np.nan_to_num(composite)
            counted[rows] += ~np.isnan(composite)
        with np.errstate(invalid="ignore", divide="ignore"):
            yearly = np.where(counted > 0, total / (counted + missed[:, None]), np.nan)
        sums, rated = np.zeros((len(labels), yearly.shape[1])), np.zeros((len(labels), yearly.shape[1]))
        np.add.at(sums, codes, np.nan_to_num(yearly))
        np.add.at(rated, codes, ~np.isnan(yearly))
        with np.errstate(invalid="ignore", divide="ignore"):
            ranks.append(_ranks(sums / rated))
    rank = np.concatenate(ranks, axis=1)
    return pd.DataFrame(
        {
            by: labels,
            "rank_p05": np.percentile(rank, 5, axis=1, method="lower"),
            "rank_p95": np.percentile(rank, 95, axis=1, method="higher"),
        }
    )
