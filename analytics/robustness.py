"""How much rankings and quadrants depend on the rubric's weights (Monte Carlo over weights).

Every weight is perturbed independently by up to ±25 % (uniform, seeded), 1,000 draws. The composites
of all draws come from two matrix products per composite (Σ wᵢsᵢ and Σ wᵢ over applicable indicators),
so the cost is one BLAS call per chunk of draws, never a loop over organizations.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

from analytics.rubric import QUADRANTS, Rubric

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


def _composite_range(
    frame: pd.DataFrame, rubric: Rubric, composite: str, low: np.ndarray, high: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Exact lowest and highest composite of each organization over every weighting in the box [low, high].

    A weighted mean is lowest with the high weights on its lowest scores and the low weights on the rest,
    so the extremes are among the k + 1 splits of the sorted scores (NaN where nothing applies).
    """
    cols = [k for k, i in enumerate(rubric.indicators) if i.composite == composite]
    values = frame[[i.id for i in rubric.of(composite)]].to_numpy(dtype=float, na_value=np.nan)
    applicable = ~np.isnan(values)
    order = np.argsort(np.where(applicable, values, 0.0), axis=1, kind="stable")
    s = np.take_along_axis(np.where(applicable, values, 0.0), order, axis=1)
    mask = np.take_along_axis(applicable, order, axis=1)
    lo_w, hi_w = (np.where(mask, w[cols][order], 0.0) for w in (low, high))

    def splits(first: np.ndarray, rest: np.ndarray) -> np.ndarray:
        zero = np.zeros((len(s), 1))
        head_num, head_den = (np.hstack([zero, np.cumsum(x, axis=1)]) for x in (first * s, first))
        tail_num, tail_den = (np.hstack([np.cumsum(x[:, ::-1], axis=1)[:, ::-1], zero]) for x in (rest * s, rest))
        with np.errstate(invalid="ignore", divide="ignore"):
            return 100.0 * (head_num + tail_num) / (head_den + tail_den)

    return np.min(splits(hi_w, lo_w), axis=1), np.max(splits(lo_w, hi_w), axis=1)


def _settled(frame: pd.DataFrame, rubric: Rubric, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(settled, code): organizations whose quadrant is the same under every weighting in the draws' box."""
    low, high = weights.min(axis=0), weights.max(axis=0)
    t, margin = rubric.quadrant_threshold, 1e-6  # far above the float error of either computation
    sides = []
    for composite in ("standardization", "integration"):
        lo, hi = _composite_range(frame, rubric, composite, low, high)
        nothing = np.isnan(lo)  # nothing applies: NaN under every weighting, never "high"
        sides.append((nothing | (lo >= t + margin) | (hi < t - margin), ~nothing & (lo >= t + margin)))
    (s_fixed, s_high), (i_fixed, i_high) = sides
    code = np.where(s_high, np.where(i_high, 0, 1), np.where(i_high, 2, 3))
    settled = s_fixed & i_fixed if low.min() > 0 else np.zeros(len(frame), dtype=bool)
    return settled, code


def quadrant_stability(frame: pd.DataFrame, rubric: Rubric, weights: np.ndarray | None = None) -> pd.DataFrame:
    """Per organization: nominal quadrant, share of draws keeping it, and 临界 when under 90 %."""
    weights = weight_draws(rubric) if weights is None else weights
    nominal = _quadrants(frame, rubric, nominal_weights(rubric))[:, 0]
    # Only organizations near a threshold can change quadrant; the others keep theirs in every draw
    # (or in none), which the exact range over the weight box tells without drawing (n × 1000 → a few %).
    settled, code = _settled(frame, rubric, weights)
    kept = np.where(code == nominal, float(len(weights)), 0.0)
    unsettled = frame[~settled]
    near = nominal[~settled]
    counted = np.zeros(len(unsettled))
    for part in _chunks(len(unsettled), len(weights)):
        counted += (_quadrants(unsettled, rubric, weights[part]) == near[:, None]).sum(axis=1)
    kept[~settled] = counted
    share = kept / len(weights)
    out = frame[["system", "unit", "org_name"]].copy()
    out["quadrant"] = np.asarray(QUADRANTS, dtype=object)[nominal]
    out["stability"] = share
    out["borderline"] = share < BORDERLINE_SHARE
    return out.reset_index(drop=True)


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
    counts = np.bincount(codes, minlength=len(labels)).astype(float)
    # Rows sorted by group (stable), so each group's sum adds its rows in the same order np.add.at did.
    order = np.argsort(codes, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(codes[order]) != 0])
    present_groups = codes[order][starts]
    ordered = frame.iloc[order]
    ranks = []
    for part in _chunks(len(frame), len(weights)):
        composite = _composite_draws(ordered, rubric, score, weights[part])
        present = ~np.isnan(composite)
        sums = np.zeros((len(labels), composite.shape[1]))
        scored = np.zeros_like(sums)
        sums[present_groups] = np.add.reduceat(np.where(present, composite, 0.0), starts, axis=0)
        scored[present_groups] = np.add.reduceat(present.astype(float), starts, axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            means = sums / scored
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
    order = np.argsort(-np.nan_to_num(means, nan=-np.inf), axis=0, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(1, means.shape[0] + 1)[:, None], axis=0)
    return ranks
