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


def quadrant_stability(frame: pd.DataFrame, rubric: Rubric, weights: np.ndarray | None = None) -> pd.DataFrame:
    """Per organization: nominal quadrant, share of draws keeping it, and 临界 when under 90 %."""
    weights = weight_draws(rubric) if weights is None else weights
    nominal = _quadrants(frame, rubric, nominal_weights(rubric))[:, 0]
    kept = np.zeros(len(frame))
    for part in _chunks(len(frame), len(weights)):
        kept += (_quadrants(frame, rubric, weights[part]) == nominal[:, None]).sum(axis=1)
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
    ranks = []
    for part in _chunks(len(frame), len(weights)):
        composite = _composite_draws(frame, rubric, score, weights[part])
        present = ~np.isnan(composite)
        sums = np.zeros((len(labels), composite.shape[1]))
        np.add.at(sums, codes, np.where(present, composite, 0.0))
        scored = np.zeros_like(sums)
        np.add.at(scored, codes, present.astype(float))
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
