"""Weight perturbation: rank intervals and 临界 quadrants, on frames built by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analytics.scoring import robustness
from analytics.scoring.rubric import load_rubric

RUBRIC = load_rubric()
S_IDS = [i.id for i in RUBRIC.of("standardization")]
I_IDS = [i.id for i in RUBRIC.of("integration")]


def org(name: str, unit: str = "单位甲", s: float = 1.0, i: float = 1.0, **indicators: float) -> dict:
    """A scored row: every indicator at s (standardization) or i (integration) unless given."""
    row = {"system": "系统", "unit": unit, "org_name": name}
    row |= dict.fromkeys(S_IDS, s) | dict.fromkeys(I_IDS, i) | indicators
    return row


def composite(row: pd.Series, weights: dict[str, float], ids: list[str]) -> float:
    """100·Σwᵢsᵢ/Σwᵢ over the present indicators, written out as a loop (the second method)."""
    present = [k for k in ids if not np.isnan(row[k])]
    return 100 * sum(weights[k] * row[k] for k in present) / sum(weights[k] for k in present)


def test_weight_draws_stay_within_a_quarter_of_each_nominal_weight_and_are_seeded():
    nominal = np.array([i.weight for i in RUBRIC.indicators])
    draws = robustness.weight_draws(RUBRIC)
    assert draws.shape == (1000, len(RUBRIC.indicators))
    ratio = draws / nominal
    assert ratio.min() >= 0.75 and ratio.max() <= 1.25
    assert ratio.min() < 0.76 and ratio.max() > 1.24  # the whole band is used
    assert np.array_equal(draws, robustness.weight_draws(RUBRIC))
    # independent per indicator: two indicators' factors are nearly uncorrelated
    assert abs(np.corrcoef(ratio[:, 0], ratio[:, 1])[0, 1]) < 0.1


def test_an_organization_exactly_on_the_threshold_by_a_weight_tie_is_borderline():
    # S1 = 1.0 and S2 = 0.6 with equal weights (6), everything else 0.8: nominal 80 exactly;
    # under perturbation the score is ≥ 80 iff w(S1) ≥ w(S2), which happens in about half the draws.
    frame = pd.DataFrame([org("临界", s=0.8, S1=1.0, S2=0.6), org("稳定", s=1.0, i=1.0)])
    out = robustness.quadrant_stability(frame, RUBRIC)
    assert out["quadrant"].tolist() == ["融合型", "融合型"]
    assert 0.4 < out.loc[0, "stability"] < 0.6
    assert out["borderline"].tolist() == [True, False]
    assert out.loc[1, "stability"] == 1.0


def test_quadrant_under_one_given_weighting_matches_a_hand_loop():
    rng = np.random.default_rng(7)
    rows = [org(f"o{k}", **{x: float(rng.uniform(0.5, 1)) for x in S_IDS + I_IDS}) for k in range(40)]
    frame = pd.DataFrame(rows)
    frame.loc[::3, "S6"] = np.nan  # not applicable for some organizations
    draw = robustness.weight_draws(RUBRIC, draws=1, seed=3)
    weights = dict(zip([i.id for i in RUBRIC.indicators], draw[0], strict=True))
    nominal = {i.id: i.weight for i in RUBRIC.indicators}

    def quadrant(row, w):
        s, i = composite(row, w, S_IDS) >= 80, composite(row, w, I_IDS) >= 80
        return (s, i)

    same = [quadrant(r, weights) == quadrant(r, nominal) for _, r in frame.iterrows()]
    out = robustness.quadrant_stability(frame, RUBRIC, weights=draw)
    assert out["stability"].tolist() == [1.0 if x else 0.0 for x in same]


def test_a_clearly_better_unit_keeps_rank_one_in_every_draw():
    frame = pd.DataFrame([org("a1", "好单位", s=1.0), org("a2", "好单位", s=0.95), org("b1", "差单位", s=0.5)])
    out = robustness.rank_intervals(frame, RUBRIC, "unit", "standardization")
    assert out["unit"].tolist() == ["好单位", "差单位"]
    assert out[["rank", "rank_p05", "rank_p95"]].to_numpy().tolist() == [[1, 1, 1], [2, 2, 2]]
    assert out["mean"].tolist() == pytest.approx([97.5, 50.0])  # (100 + 95) / 2 and 50


def test_units_tied_by_weights_have_rank_intervals_spanning_both_places():
    # mirror images: which unit leads depends only on whether w(S1) > w(S2)
    frame = pd.DataFrame([org("x", "甲", s=0.8, S1=1.0, S2=0.6), org("y", "乙", s=0.8, S1=0.6, S2=1.0)])
    out = robustness.rank_intervals(frame, RUBRIC, "unit", "standardization")
    assert out["rank_p05"].tolist() == [1, 1]
    assert out["rank_p95"].tolist() == [2, 2]


def test_no_spread_means_no_uncertainty():
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(
        [org(f"o{k}", f"u{k % 5}", **{x: float(rng.uniform(0.3, 1)) for x in S_IDS}) for k in range(30)]
    )
    weights = robustness.weight_draws(RUBRIC, draws=50, spread=0.0)
    ranks = robustness.rank_intervals(frame, RUBRIC, "unit", "standardization", weights=weights)
    assert (ranks["rank_p05"] == ranks["rank"]).all() and (ranks["rank_p95"] == ranks["rank"]).all()
    assert robustness.quadrant_stability(frame, RUBRIC, weights=weights)["stability"].eq(1.0).all()


def drawn_quadrant_shares(frame: pd.DataFrame, weights: np.ndarray) -> np.ndarray:
    """Share of draws keeping the nominal quadrant, by scoring every organization under every draw (no shortcut)."""
    ids = [i.id for i in RUBRIC.indicators]

    def quadrants(w: np.ndarray) -> list[tuple[bool, bool]]:
        named = dict(zip(ids, w, strict=True))
        out = []
        for _, row in frame.iterrows():
            sides = []
            for part in (S_IDS, I_IDS):
                present = [k for k in part if not np.isnan(row[k])]
                total = sum(named[k] for k in present)
                score = 100 * sum(named[k] * row[k] for k in present) / total if present and total > 0 else np.nan
                sides.append(bool(round(score, 9) >= 80) if not np.isnan(score) else False)
            out.append(tuple(sides))
        return out

    nominal = quadrants(np.array([i.weight for i in RUBRIC.indicators], dtype=float))
    kept = np.zeros(len(frame))
    for w in weights:
        kept += [a == b for a, b in zip(quadrants(w), nominal, strict=True)]
    return kept / len(weights)


@pytest.mark.parametrize("zero_weight", [False, True])
def test_stability_shortcuts_agree_with_scoring_every_draw(zero_weight: bool):
    # Rows far from, near and exactly on the threshold (all indicators at 0.8), rows with nothing applicable
    # in one composite, and random rows: the corner test and the signed margins must count what drawing counts.
    rng = np.random.default_rng(11)
    rows = [org(f"r{k}", **{x: float(rng.choice([0.0, 0.5, 0.8, 1.0, rng.uniform(0.6, 1)])) for x in S_IDS + I_IDS})
            for k in range(60)]  # fmt: skip
    rows += [org("正好80", s=0.8, i=0.8), org("远高", s=1.0, i=1.0), org("远低", s=0.2, i=0.3)]
    rows += [org("融合无项", **dict.fromkeys(I_IDS, np.nan)), org("临界", s=0.8, S1=1.0, S2=0.6)]
    frame = pd.DataFrame(rows)
    frame.loc[::4, "S6"] = np.nan
    weights = robustness.weight_draws(RUBRIC, draws=40, seed=5)
    if zero_weight:  # a weight of 0 can leave a composite with no weight at all
        weights[::3, [k for k, i in enumerate(RUBRIC.indicators) if i.id == "I1"]] = 0.0
    out = robustness.quadrant_stability(frame, RUBRIC, weights=weights)
    assert out["stability"].to_numpy() == pytest.approx(drawn_quadrant_shares(frame, weights), abs=0)
