"""Imbalance measures of SPEC §5: hand-computed values, edge cases, a second method, properties, PySAL."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

# PySAL is a required dev dependency (requirements-dev.txt): the cross-check must not skip silently.
from inequality.gini import Gini
from inequality.theil import Theil, TheilD

from analytics.scoring.imbalance import cv, gini, group_summary, imbalance_report, lorenz, nested_theil, theil

PROPERTY = settings(max_examples=150, deadline=None)
CLOSE = {"rel": 1e-9, "abs": 1e-12}

# Scores as the product stores them: 0–100 with two decimals.
scores = st.integers(0, 10_000).map(lambda k: k / 100)
score_lists = st.lists(scores, min_size=1, max_size=60)
positive_score_lists = score_lists.filter(lambda xs: sum(xs) > 0)
labelled_scores = st.lists(st.tuples(scores, st.sampled_from("ABCDE")), min_size=1, max_size=60).filter(
    lambda rows: sum(x for x, _ in rows) > 0
)


def brute_force_gini(values: list[float]) -> float:
    """The SPEC's O(n²) double sum Σᵢ Σⱼ |xᵢ − xⱼ| / (2 n² μ)."""
    x = np.asarray(values, dtype=float)
    return float(np.abs(x[:, None] - x[None, :]).sum() / (2 * x.size**2 * x.mean()))


def looped_theil_within(values: list[float], labels: list[str]) -> float:
    """Σ_g (n_g/n)(μ_g/μ) T_g with a Python loop over groups and the SPEC's 0 · ln 0 = 0."""
    x, g = np.asarray(values, dtype=float), np.asarray(labels)
    mean, total = x.mean(), 0.0
    for label in set(labels):
        part = x[g == label]
        if part.mean() > 0:
            r = part[part > 0] / part.mean()
            total += (part.size / x.size) * (part.mean() / mean) * float(np.sum(r * np.log(r)) / part.size)
    return total


# Hand-computed values


def test_gini_of_one_holder_among_four_is_three_quarters():
    # 6 ordered pairs differ by 1; 6 / (2 · 4² · 0.25) = 0.75 = (n − 1)/n
    assert gini([0, 0, 0, 1]) == pytest.approx(0.75)


def test_gini_of_equal_scores_is_zero():
    assert gini([73.5, 73.5, 73.5, 73.5, 73.5]) == pytest.approx(0.0, abs=1e-15)


def test_gini_of_one_and_three_is_a_quarter():
    # |1 − 3| · 2 ordered pairs / (2 · n² · μ) = 4 / (2 · 4 · 2) = 0.25
    assert gini([1, 3]) == pytest.approx(0.25)


def test_cv_of_one_and_three_uses_the_population_deviation():
    # μ = 2, population sd = √((1 + 1)/2) = 1 → 0.5; the sample sd √2 would give 0.707
    assert cv([1, 3]) == pytest.approx(0.5)


def test_theil_of_equal_scores_is_zero():
    assert theil([88.0, 88.0, 88.0])["total"] == pytest.approx(0.0, abs=1e-15)


def test_theil_of_one_and_three_by_hand():
    # μ = 2, ratios 0.5 and 1.5: (0.5 ln 0.5 + 1.5 ln 1.5) / 2 = (−0.346574 + 0.608198) / 2 = 0.130812
    result = theil([1, 3])
    assert result["total"] == pytest.approx(0.130812, abs=1e-6)
    assert result["between"] is None
    assert result["within"] is None


def test_theil_two_group_decomposition_by_hand():
    # x = 1, 2 | 3, 6; μ = 3, μ_a = 1.5, μ_b = 4.5
    # between = (2/4)(1.5/3) ln(0.5) + (2/4)(4.5/3) ln(1.5) = 0.25 ln 0.5 + 0.75 ln 1.5 = 0.130812
    # T_a = T_b = ((2/3) ln(2/3) + (4/3) ln(4/3)) / 2 = 0.056633; within = 0.25 T_a + 0.75 T_b = 0.056633
    # total = ((1/3) ln(1/3) + (2/3) ln(2/3) + 0 + 2 ln 2) / 4 = 0.187445
    result = theil([1, 2, 3, 6], ["a", "a", "b", "b"])
    assert result["between"] == pytest.approx(0.25 * math.log(0.5) + 0.75 * math.log(1.5))
    assert result["within"] == pytest.approx(((2 / 3) * math.log(2 / 3) + (4 / 3) * math.log(4 / 3)) / 2)
    assert result["total"] == pytest.approx(0.187445, abs=1e-6)


def test_zero_scores_count_as_zero_log_zero():
    # x = 0, 2: μ = 1, (0 · ln 0 + 2 ln 2) / 2 = ln 2, the maximum ln n for n = 2
    assert theil([0, 2])["total"] == pytest.approx(math.log(2))
    assert gini([0, 2]) == pytest.approx(0.5)  # 1 − 1/n
    assert cv([0, 2]) == pytest.approx(1.0)  # sd 1 / μ 1


def test_a_group_of_zeros_contributes_nothing_between_or_within():
    # group z has μ_z = 0; group a = 2, 2 has T_a = 0; between = (2/4)(2/1) ln 2 = ln 2 = total
    result = theil([0, 0, 2, 2], ["z", "z", "a", "a"])
    assert result["between"] == pytest.approx(math.log(2))
    assert result["within"] == pytest.approx(0.0, abs=1e-15)
    assert result["total"] == pytest.approx(math.log(2))


# Edge cases


def test_no_scores_give_no_value():
    assert gini([]) is None
    assert cv([]) is None
    assert theil([], []) == {"total": None, "between": None, "within": None}


@pytest.mark.parametrize("values", [[0], [0, 0, 0], [0.0, None, float("nan")]])
def test_a_mean_of_zero_gives_no_value(values):
    assert gini(values) is None
    assert cv(values) is None
    assert theil(values) == {"total": None, "between": None, "within": None}
    assert theil(values, ["a"] * len(values)) == {"total": None, "between": None, "within": None}


def test_a_single_organization_has_no_inequality():
    assert gini([42.0]) == 0.0
    assert cv([42.0]) == 0.0
    assert theil([42.0], ["一支部"]) == {"total": 0.0, "between": 0.0, "within": 0.0}


def test_missing_scores_are_dropped_with_their_group_labels():
    # The same as test_theil_two_group_decomposition_by_hand once the NaN and its group z are gone.
    result = theil([1, 2, float("nan"), 3, None, 6], ["a", "a", "z", "b", "z", "b"])
    assert result["between"] == pytest.approx(0.25 * math.log(0.5) + 0.75 * math.log(1.5))
    assert result["total"] == pytest.approx(0.187445, abs=1e-6)
    assert gini([1, None, 3, float("nan")]) == pytest.approx(0.25)
    assert cv(pd.Series([1, pd.NA, 3], dtype="Float64")) == pytest.approx(0.5)


def test_groups_of_the_wrong_length_are_a_programming_error():
    with pytest.raises(ValueError, match="labels"):
        theil([1, 2, 3], ["a", "b"])


def test_lorenz_curve_of_one_and_three_by_hand():
    # sorted 1, 3 of total 4: population 0, ½, 1 and score share 0, ¼, 1
    population, share = lorenz([3, 1])
    assert population.tolist() == [0.0, 0.5, 1.0]
    assert share.tolist() == [0.0, 0.25, 1.0]


@pytest.mark.parametrize("values", [[], [0, 0], [None]])
def test_lorenz_curve_is_empty_when_there_is_no_gini(values):
    population, share = lorenz(values)
    assert population.size == 0
    assert share.size == 0


# Second method


@pytest.mark.parametrize("seed", range(5))
def test_gini_matches_the_double_sum_on_random_scores(seed):
    rng = np.random.default_rng(seed)
    values = rng.uniform(0, 100, rng.integers(2, 400)).round(2).tolist()
    assert gini(values) == pytest.approx(brute_force_gini(values), **CLOSE)


@pytest.mark.parametrize("seed", range(5))
def test_theil_matches_the_direct_formula_on_random_scores(seed):
    rng = np.random.default_rng(seed)
    x = rng.uniform(1, 100, rng.integers(2, 400))
    r = x / x.mean()
    assert theil(x)["total"] == pytest.approx(float(np.mean(r * np.log(r))), **CLOSE)


@PROPERTY
@given(rows=labelled_scores)
def test_within_matches_a_loop_over_groups(rows):
    values, labels = [x for x, _ in rows], [g for _, g in rows]
    assert theil(values, labels)["within"] == pytest.approx(looped_theil_within(values, labels), **CLOSE)


@PROPERTY
@given(values=positive_score_lists)
def test_gini_is_one_minus_twice_the_area_under_the_lorenz_curve(values):
    population, share = lorenz(values)
    area = float(np.sum(np.diff(population) * (share[1:] + share[:-1]) / 2))  # trapezoids
    assert gini(values) == pytest.approx(1 - 2 * area, **CLOSE)


# Properties


@PROPERTY
@given(values=positive_score_lists, factor=st.floats(0.001, 1000))
def test_rescaling_all_scores_changes_no_measure(values, factor):
    scaled = [x * factor for x in values]
    assert gini(scaled) == pytest.approx(gini(values), **CLOSE)
    assert cv(scaled) == pytest.approx(cv(values), **CLOSE)
    assert theil(scaled)["total"] == pytest.approx(theil(values)["total"], rel=1e-9, abs=1e-11)


@PROPERTY
@given(rows=labelled_scores)
def test_theil_total_is_between_plus_within(rows):
    result = theil([x for x, _ in rows], [g for _, g in rows])
    assert result["total"] == pytest.approx(result["between"] + result["within"], **CLOSE)


@PROPERTY
@given(values=positive_score_lists)
def test_gini_lies_between_zero_and_one_minus_one_over_n(values):
    assert 0.0 <= gini(values) <= 1 - 1 / len(values) + 1e-12


@PROPERTY
@given(values=positive_score_lists)
def test_lorenz_curve_rises_from_zero_to_one_below_the_diagonal(values):
    population, share = lorenz(values)
    assert (population[0], share[0], population[-1], share[-1]) == (0.0, 0.0, 1.0, 1.0)
    assert np.all(np.diff(share) >= 0)
    assert np.all(share <= population + 1e-12)


@PROPERTY
@given(rows=labelled_scores)
def test_report_between_share_is_a_share(rows):
    frame = pd.DataFrame(rows, columns=["score", "unit"])
    share = imbalance_report(frame, "unit", "score")["between_share"]
    assert share is None or 0.0 <= share <= 1.0


@PROPERTY
@given(rows=st.lists(st.tuples(st.one_of(scores, st.none()), st.sampled_from("ABCDE")), min_size=1, max_size=60))
def test_group_counts_add_up_and_rank_one_has_the_highest_mean(rows):
    frame = pd.DataFrame(rows, columns=["score", "unit"]).astype({"score": float})
    summary = group_summary(frame, "unit", "score")
    assert summary["count"].sum() == frame["score"].notna().sum()
    if len(summary):
        assert summary.loc[summary["rank"] == 1, "mean"].min() == summary["mean"].max()
        assert summary["rank"].is_monotonic_increasing


@PROPERTY
@given(rows=st.lists(st.tuples(scores, st.sampled_from("XY"), st.sampled_from("abc")), min_size=1, max_size=60))
def test_nested_theil_parts_add_up_to_the_total(rows):
    frame = pd.DataFrame(rows, columns=["score", "system", "unit"])
    result = nested_theil(frame, "score")
    if result["total"] is None:
        assert frame["score"].sum() == 0
        return
    parts = result["between_outer"] + result["between_inner_within_outer"] + result["within_inner"]
    assert result["total"] == pytest.approx(parts, **CLOSE)
    assert result["total"] == pytest.approx(theil(frame["score"])["total"], **CLOSE)


# Group summary, report and nested decomposition by hand


def scored_units() -> pd.DataFrame:
    """甲: 50, 70; 乙: 90, 90; 丙: 40 and a missing score; 丁: only missing scores."""
    return pd.DataFrame(
        {
            "unit": ["甲", "甲", "乙", "乙", "丙", "丙", "丁"],
            "standardization": [50.0, 70.0, 90.0, 90.0, 40.0, None, None],
        }
    )


def test_group_summary_by_hand():
    summary = group_summary(scored_units(), "unit", "standardization")
    assert summary["unit"].tolist() == ["乙", "甲", "丙"]  # 丁 has no score at all
    assert summary["count"].tolist() == [2, 2, 1]
    assert summary["mean"].tolist() == [90.0, 60.0, 40.0]
    assert summary["min"].tolist() == [90.0, 50.0, 40.0]
    assert summary["max"].tolist() == [90.0, 70.0, 40.0]
    assert summary["below_60_share"].tolist() == [0.0, 0.5, 1.0]  # 50 < 60; 70 is not
    assert summary["rank"].tolist() == [1, 2, 3]


def test_a_score_of_exactly_sixty_is_not_below_sixty():
    frame = pd.DataFrame({"unit": ["甲", "甲"], "integration": [60.0, 59.99]})
    assert group_summary(frame, "unit", "integration")["below_60_share"].tolist() == [0.5]


def test_tied_group_means_share_the_lower_rank():
    frame = pd.DataFrame({"unit": list("ABCD"), "score": [80.0, 90.0, 80.0, 70.0]})
    summary = group_summary(frame, "unit", "score")
    assert summary["unit"].tolist() == ["B", "A", "C", "D"]
    assert summary["rank"].tolist() == [1, 2, 2, 4]


def test_imbalance_report_by_hand():
    report = imbalance_report(scored_units(), "unit", "standardization")
    # scores 50, 70, 90, 90, 40; μ = 340 / 5 = 68
    assert report["n"] == 5
    assert report["mean"] == pytest.approx(68.0)
    # unordered |differences|: 20 40 40 10 | 20 20 30 | 0 50 | 50 = 280; 2 · 280 / (2 · 25 · 68) = 0.164706
    assert report["gini"] == pytest.approx(280 / (25 * 68))
    # squared deviations 324 + 4 + 484 + 484 + 784 = 2080; √(2080 / 5) / 68
    assert report["cv"] == pytest.approx(math.sqrt(416) / 68)
    assert report["theil_total"] == pytest.approx(report["theil_between"] + report["theil_within"])
    assert report["between_share"] == pytest.approx(report["theil_between"] / report["theil_total"])
    assert report["max_min_ratio"] == pytest.approx(90 / 40)
    assert report["range"] == pytest.approx(50.0)
    assert report["groups"]["unit"].tolist() == ["乙", "甲", "丙"]


def test_report_has_no_ratio_when_a_group_mean_is_zero():
    frame = pd.DataFrame({"unit": ["甲", "甲", "乙"], "score": [0.0, 0.0, 50.0]})
    report = imbalance_report(frame, "unit", "score")
    assert report["max_min_ratio"] is None
    assert report["range"] == pytest.approx(50.0)
    assert report["between_share"] == pytest.approx(1.0)  # 甲 and 乙 are each internally equal


def test_report_on_equal_scores_has_no_between_share():
    frame = pd.DataFrame({"unit": ["甲", "乙", "丙"], "score": [75.0, 75.0, 75.0]})
    report = imbalance_report(frame, "unit", "score")
    assert report["between_share"] is None
    assert report["max_min_ratio"] == pytest.approx(1.0)


def test_report_without_any_score_has_no_values():
    frame = pd.DataFrame({"unit": ["甲", "乙"], "score": [None, None]}).astype({"score": float})
    report = imbalance_report(frame, "unit", "score")
    assert report["n"] == 0
    assert all(report[k] is None for k in ("mean", "gini", "cv", "theil_total", "between_share", "max_min_ratio"))
    assert report["groups"].empty


def test_nested_theil_by_hand():
    # S1: u1 = 2, u2 = 4; S2: u3 = 6, 6. μ = 4.5, μ_S1 = 3, μ_S2 = 6
    # between systems = (2/4)(3/4.5) ln(3/4.5) + (2/4)(6/4.5) ln(6/4.5) = (1/3) ln(2/3) + (2/3) ln(4/3)
    # between units within systems = (1/4)(2/4.5) ln(2/3) + (1/4)(4/4.5) ln(4/3) + 0
    #                              = (1/9) ln(2/3) + (2/9) ln(4/3)
    # within units = 0 (u1, u2 single, u3 equal)
    frame = pd.DataFrame({"system": ["S1", "S1", "S2", "S2"], "unit": ["u1", "u2", "u3", "u3"], "score": [2, 4, 6, 6]})
    result = nested_theil(frame, "score")
    outer = (1 / 3) * math.log(2 / 3) + (2 / 3) * math.log(4 / 3)
    inner = (1 / 9) * math.log(2 / 3) + (2 / 9) * math.log(4 / 3)
    assert result["between_outer"] == pytest.approx(outer)
    assert result["between_inner_within_outer"] == pytest.approx(inner)
    assert result["within_inner"] == pytest.approx(0.0, abs=1e-15)
    assert result["total"] == pytest.approx(outer + inner)
    assert result["between_outer_share"] == pytest.approx(0.75)  # inner = outer / 3


def test_a_unit_name_in_two_systems_is_two_units():
    # 一支部 of S1 = 1, 2 and 一支部 of S2 = 3, 6: the two-group case by hand, split by system
    frame = pd.DataFrame({"system": ["S1", "S1", "S2", "S2"], "unit": ["一支部"] * 4, "score": [1, 2, 3, 6]})
    result = nested_theil(frame, "score")
    assert result["between_outer"] == pytest.approx(0.25 * math.log(0.5) + 0.75 * math.log(1.5))
    assert result["between_inner_within_outer"] == pytest.approx(0.0, abs=1e-15)
    assert result["within_inner"] == pytest.approx(((2 / 3) * math.log(2 / 3) + (4 / 3) * math.log(4 / 3)) / 2)


def test_nested_theil_of_zero_scores_has_no_values():
    frame = pd.DataFrame({"system": ["S1"], "unit": ["u1"], "score": [0.0]})
    assert set(nested_theil(frame, "score").values()) == {None}


# PySAL `inequality` cross-check (inequality.gini.Gini(x).g, inequality.theil.Theil(y).T, TheilD(y, partition))

PYSAL_VECTORS = {
    "with zeros": [0.0, 0.0, 35.5, 60.0, 88.25, 100.0],
    "equal values": [72.5] * 7,
    "one zero among many": [0.0, *np.linspace(40, 95, 30)],
    "random": np.random.default_rng(7).uniform(0, 100, 500).round(2).tolist(),
}


@pytest.mark.parametrize("values", PYSAL_VECTORS.values(), ids=PYSAL_VECTORS.keys())
def test_gini_agrees_with_pysal(values):
    assert gini(values) == pytest.approx(Gini(np.asarray(values)).g, abs=1e-12)


@pytest.mark.parametrize("values", PYSAL_VECTORS.values(), ids=PYSAL_VECTORS.keys())
def test_theil_total_agrees_with_pysal(values):
    # PySAL adds the smallest float to zeros instead of 0 · ln 0 = 0; the difference is below 1e-300.
    assert theil(values)["total"] == pytest.approx(float(Theil(np.asarray(values)).T), abs=1e-12)


@pytest.mark.parametrize("values", PYSAL_VECTORS.values(), ids=PYSAL_VECTORS.keys())
@pytest.mark.parametrize("grouping", ["one per group", "three groups", "a single group"])
def test_theil_decomposition_agrees_with_pysal(values, grouping):
    n = len(values)
    labels = {"one per group": np.arange(n), "three groups": np.arange(n) % 3, "a single group": np.zeros(n)}[grouping]
    ours, pysal = theil(values, labels), TheilD(np.asarray(values), labels)
    assert ours["between"] == pytest.approx(float(pysal.bg[0]), abs=1e-12)
    assert ours["within"] == pytest.approx(float(pysal.wg[0]), abs=1e-12)


def test_all_zero_scores_are_no_value_where_pysal_reports_zero_theil():
    # A deliberate difference: SPEC §5 says μ = 0 gives null; PySAL's Theil returns 0 for all zeros.
    assert float(Theil(np.zeros(4)).T) == 0.0
    assert theil(np.zeros(4))["total"] is None
