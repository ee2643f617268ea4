"""Quarter-over-quarter change per organization and unit, on hand-built score frames."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from analytics.scoring import trends
from analytics.scoring.scores import previous_quarter, quarter_end


def frame(rows: list[tuple]) -> pd.DataFrame:
    cols = ["org_id", "system", "unit", "org_name", "standardization", "integration", "quadrant"]
    return pd.DataFrame(rows, columns=cols)


@pytest.mark.parametrize(
    ("quarter", "before", "end"),
    [("2024Q1", "2023Q4", "2024-03-31"), ("2024Q3", "2024Q2", "2024-09-30"), ("2023Q4", "2023Q3", "2023-12-31")],
)
def test_previous_quarter_and_quarter_end_follow_the_calendar(quarter, before, end):
    assert previous_quarter(quarter) == before
    assert quarter_end(quarter).isoformat() == end


def test_org_changes_are_differences_and_new_organizations_have_no_previous():
    now = frame([(1, "s", "u", "a", 90.0, 70.0, "两张皮"), (2, "s", "u", "b", 50.0, 85.0, "业务化")])
    before = frame([(1, "s", "u", "a", 80.0, 75.0, "两张皮"), (3, "s", "u", "gone", 60.0, 60.0, "边缘化")])
    out = trends.org_changes(now, before).set_index("org_id")
    assert out.loc[1, "standardization_change"] == pytest.approx(10.0)  # 90 − 80
    assert out.loc[1, "integration_change"] == pytest.approx(-5.0)  # 70 − 75
    assert math.isnan(out.loc[2, "standardization_previous"])
    assert 3 not in out.index  # reported last quarter only: not a change, a missing report


def test_group_changes_compare_unit_means():
    now = frame(
        [(1, "s", "u1", "a", 90.0, 70.0, ""), (2, "s", "u1", "b", 70.0, 80.0, ""), (3, "s", "u2", "c", 60, 60, "")]
    )
    before = frame([(1, "s", "u1", "a", 60.0, 70.0, ""), (3, "s", "u2", "c", 70, 50, "")])
    out = trends.group_changes(now, before, "unit").set_index("unit")
    assert out.loc["u1", "standardization_change"] == pytest.approx(20.0)  # (90+70)/2 − 60
    assert out.loc["u2", "integration_change"] == pytest.approx(10.0)  # 60 − 50


def test_previous_label_skips_a_gap():
    assert trends.previous_label("2024Q3", ["2024Q1", "2024Q2", "2024Q3"]) == "2024Q2"
    assert trends.previous_label("2024Q3", ["2024Q1", "2024Q3"]) is None
