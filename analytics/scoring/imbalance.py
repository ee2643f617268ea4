"""Imbalance of scores across units and systems: Gini, CV, Theil T and its decompositions (SPEC §5).

Population definitions throughout. Missing scores (NaN/None) are dropped first. A mean of 0 gives
None ("no value"), never an exception; a single organization gives 0. Everything is vectorized:
one sort for Gini, np.bincount over integer group codes for Theil, one groupby for the summary.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

PASS_MARK = 60.0

# Equal scores leave a Theil total of rounding noise (~1e-17); a share of that noise means nothing.
_NOISE = 1e-12

LABELS = {
    "count": "组织数",
    "mean": "平均分",
    "min": "最低分",
    "max": "最高分",
    "below_60_share": "60分以下占比",
    "rank": "排名",
    "gini": "基尼系数",
    "cv": "变异系数",
    "theil_total": "泰尔指数",
    "theil_between": "组间差异",
    "theil_within": "组内差异",
    "between_share": "组间差异占比",
    "max_min_ratio": "最高/最低均分比",
    "range": "均分极差",
}


def _as_float(values: Any) -> np.ndarray:
    """1-d float64 array of the values, None and pd.NA turned into NaN."""
    if isinstance(values, pd.Series | pd.Index | pd.api.extensions.ExtensionArray):
        return pd.Series(values).to_numpy(dtype=float, na_value=np.nan)
    return np.asarray(values, dtype=float).ravel()


def _present(values: Any) -> np.ndarray:
    """The values as float64 with NaN dropped."""
    array = _as_float(values)
    missing = np.isnan(array)
    return array[~missing] if missing.any() else array


def gini(values: Any) -> float | None:
    """Population Gini Σᵢ Σⱼ |xᵢ − xⱼ| / (2 n² μ); None when empty or the mean is 0, 0.0 for one value."""
    x = np.sort(_present(values))
    n = x.size
    if n == 0 or x.sum() == 0:
        return None
    if n == 1:
        return 0.0
    # Σ (2i − n − 1)·x_(i) / (n Σx) equals 2 Σ i·x_(i) / (n Σx) − (n + 1)/n; the centred weights sum
    # to zero, so equal values cancel instead of leaving a difference of two nearly equal numbers.
    weights = np.arange(1 - n, n, 2, dtype=float)
    return max(float(weights @ x) / (n * float(x.sum())), 0.0)


def cv(values: Any) -> float | None:
    """Population standard deviation (ddof=0) over the mean; None when empty or the mean is 0."""
    x = _present(values)
    if x.size == 0:
        return None
    mean = float(x.mean())
    if mean == 0:
        return None
    return 0.0 if x.size == 1 else float(x.std()) / mean


def _weighted_log_sum(weight: np.ndarray, numer: np.ndarray, denom: np.ndarray | float) -> float:
    """Σ weight · ln(numer / denom) over the entries with weight > 0, so that 0 · ln 0 counts as 0."""
    positive = weight > 0
    if not positive.all():
        weight, numer = weight[positive], numer[positive]
        denom = denom[positive] if isinstance(denom, np.ndarray) else denom
    return float(weight @ np.log(numer / denom))


def _group_codes(groups: Any, size: int) -> np.ndarray:
    """Integer code per value for the group labels; a missing label is a group of its own."""
    codes, _ = pd.factorize(groups if isinstance(groups, pd.Series) else np.asarray(groups), use_na_sentinel=False)
    if codes.size != size:
        raise ValueError(f"groups has {codes.size} labels for {size} values")
    return codes


def _group_means(x: np.ndarray, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-code sums and means of x (mean 0 for a code with no values left)."""
    counts = np.bincount(codes)
    sums = np.bincount(codes, weights=x, minlength=counts.size)
    means = np.divide(sums, counts, out=np.zeros_like(sums), where=counts > 0)
    return sums, means


def _between(sums: np.ndarray, means: np.ndarray, reference: np.ndarray | float, scale: float) -> float:
    """Σ_g (n_g/n)(μ_g/μ) ln(μ_g/ref_g), written as Σ_g S_g ln(μ_g/ref_g) / (nμ); never below 0."""
    return max(_weighted_log_sum(sums, means, reference) / scale, 0.0)


def _within(x: np.ndarray, codes: np.ndarray, means: np.ndarray, scale: float) -> float:
    """Σ_g (n_g/n)(μ_g/μ) T_g, which equals Σᵢ xᵢ ln(xᵢ/μ_g(i)) / (nμ); never below 0."""
    return max(_weighted_log_sum(x, x, means[codes]) / scale, 0.0)


def _total(x: np.ndarray, mean: float) -> float:
    """Theil T (1/n) Σ (xᵢ/μ) ln(xᵢ/μ) with 0 · ln 0 = 0; never below 0."""
    return max(_weighted_log_sum(x, x, mean) / (x.size * mean), 0.0)


def theil(values: Any, groups: Any = None) -> dict[str, float | None]:
    """Theil T {"total", "between", "within"}; all None when empty or the mean is 0, the parts None without groups."""
    array = _as_float(values)
    keep = ~np.isnan(array)
    x = array[keep]
    result: dict[str, float | None] = {"total": None, "between": None, "within": None}
    if x.size == 0 or x.sum() == 0:
        return result
    mean = float(x.mean())
    result["total"] = _total(x, mean)
    if groups is not None:
        codes = _group_codes(groups, array.size)[keep]
        sums, means = _group_means(x, codes)
        result["between"] = _between(sums, means, mean, x.size * mean)
        result["within"] = _within(x, codes, means, x.size * mean)
    return result


def lorenz(values: Any) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative population share and cumulative score share, each from 0 to 1 (n + 1 points).

    Both arrays are empty exactly when gini() is None (no values, or a mean of 0): there is no curve
    to draw, rather than a misleading line of perfect equality.
    """
    x = np.sort(_present(values))
    total = float(x.sum()) if x.size else 0.0
    if total == 0:
        return np.empty(0), np.empty(0)
    population = np.arange(x.size + 1, dtype=float) / x.size
    share = np.concatenate(([0.0], np.cumsum(x) / total))
    share[-1] = 1.0  # the cumulative sum may end a rounding error away from the total
    return population, share


def _scored(frame: pd.DataFrame, by: str, score: str) -> pd.DataFrame:
    """Columns `by` and `score` (as float64) of the rows whose score is present."""
    scores = _as_float(frame[score])
    keep = ~np.isnan(scores)
    return pd.DataFrame({by: frame[by].array[keep], score: scores[keep]})


def group_summary(frame: pd.DataFrame, by: str, score: str) -> pd.DataFrame:
    """One row per group: `by`, count, mean, min, max, below_60_share, rank (1 = highest mean), by rank.

    Groups whose scores are all missing are left out, so the counts add up to the scored organizations.
    """
    data = _scored(frame, by, score)
    data["below"] = data[score] < PASS_MARK
    summary = data.groupby(by, sort=False, dropna=False, observed=True).agg(
        count=(score, "size"),
        mean=(score, "mean"),
        min=(score, "min"),
        max=(score, "max"),
        below_60_share=("below", "mean"),
    )
    summary["below_60_share"] = summary["below_60_share"].astype(float)
    summary["rank"] = summary["mean"].rank(method="min", ascending=False).astype("int64")
    summary = summary.reset_index()
    return summary.sort_values(["rank", by], kind="stable", ignore_index=True)


def _share(part: float | None, total: float | None) -> float | None:
    """part / total clipped to [0, 1]; None when the total is None or only rounding noise."""
    if part is None or total is None or total <= _NOISE:
        return None
    return min(max(part / total, 0.0), 1.0)


def imbalance_report(frame: pd.DataFrame, by: str, score: str) -> dict[str, Any]:
    """SPEC §5 figures for one score and grouping, with the group_summary table under "groups"."""
    data = _scored(frame, by, score)
    values = data[score].to_numpy()
    split = theil(values, data[by])
    groups = group_summary(data, by, score)
    means = groups["mean"].to_numpy()
    low, high = (float(means.min()), float(means.max())) if means.size else (None, None)
    return {
        "by": by,
        "score": score,
        "n": int(values.size),
        "mean": float(values.mean()) if values.size else None,
        "gini": gini(values),
        "cv": cv(values),
        "theil_total": split["total"],
        "theil_between": split["between"],
        "theil_within": split["within"],
        "between_share": _share(split["between"], split["total"]),
        "max_min_ratio": high / low if low else None,
        "range": high - low if means.size else None,
        "groups": groups,
    }


def _nested_codes(frame: pd.DataFrame, outer: str, inner: str, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Codes of the outer group and of the (outer, inner) pair for the kept rows."""
    outer_codes = _group_codes(frame[outer], len(frame))[keep]
    pair_codes = frame.groupby([outer, inner], sort=False, dropna=False).ngroup().to_numpy()[keep]
    return outer_codes, pair_codes


def nested_theil(
    frame: pd.DataFrame, score: str, outer: str = "system", inner: str = "unit"
) -> dict[str, float | None]:
    """Theil T split three ways: between outer groups, between inner groups within an outer, within inner.

    Inner groups are the (outer, inner) pairs, so a unit name repeated in two systems is two units.
    Keys: total, between_outer, between_inner_within_outer, within_inner and a `_share` of each
    (None when the total is None or 0).
    """
    array = _as_float(frame[score])
    keep = ~np.isnan(array)
    x = array[keep]
    parts = ("between_outer", "between_inner_within_outer", "within_inner")
    result: dict[str, float | None] = dict.fromkeys(("total", *parts, *(f"{p}_share" for p in parts)))
    if x.size == 0 or x.sum() == 0:
        return result
    mean = float(x.mean())
    scale = x.size * mean
    outer_codes, pair_codes = _nested_codes(frame, outer, inner, keep)
    outer_sums, outer_means = _group_means(x, outer_codes)
    pair_sums, pair_means = _group_means(x, pair_codes)
    outer_of_pair = np.zeros(pair_sums.size, dtype=np.int64)
    outer_of_pair[pair_codes] = outer_codes  # each pair lies in exactly one outer group
    result["total"] = _total(x, mean)
    result["between_outer"] = _between(outer_sums, outer_means, mean, scale)
    result["between_inner_within_outer"] = _between(pair_sums, pair_means, outer_means[outer_of_pair], scale)
    result["within_inner"] = _within(x, pair_codes, pair_means, scale)
    for part in parts:
        result[f"{part}_share"] = _share(result[part], result["total"])
    return result
