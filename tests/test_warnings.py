"""Warnings: the demo's planted facts come back exactly, and the boundaries hold on hand-built uploads."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest

from analytics.ingest.records import ingest_bytes
from analytics.scoring import alerts as warn
from analytics.scoring import scores
from analytics.scoring.rubric import load_rubric
from analytics.store import batches
from analytics.store import database as store
from tests.records import csv_bytes, org

ROOT = Path(__file__).resolve().parent.parent
TRUTH = json.loads((ROOT / "data" / "demo" / "truth.json").read_text(encoding="utf-8"))
RUBRIC = load_rubric()
TITLES = {"2024Q1": "2024年第一季度", "2024Q2": "2024年第二季度", "2024Q4": "2024年第四季度"}


@pytest.fixture(scope="session")
def demo_db(demo_template: Path) -> Path:
    """The bundled demo district, loaded once per test run (tests/conftest.py); these tests only read it."""
    return demo_template


@pytest.fixture(scope="session")
def demo(demo_db: Path) -> dict[str, dict[str, pd.DataFrame]]:
    """Every quarter's warnings of the demo district."""
    with store.connect(demo_db) as con:
        return {q: warn.warnings_for_quarter(con, q, RUBRIC) for q in TRUTH["quarters"]}


def names(frame: pd.DataFrame) -> set[str]:
    return set(frame["org_name"])


def shift_years(day: dt.date, years: int) -> dt.date:
    return day.replace(year=day.year + years)  # demo days are at most the 28th


# ---------------------------------------------------------------------------------------------- the demo


def test_every_kind_has_a_chinese_title_explanation_and_a_table(demo):
    assert list(demo["2024Q4"]) == list(warn.WARNINGS)
    for title, why in warn.WARNINGS.values():
        assert title and why.endswith("。")
    for kind, frame in demo["2024Q4"].items():
        assert set(frame.columns) <= set(warn.COLUMN_LABELS), kind
        if kind != "units_falling":
            assert {"system", "unit", "org_name"} <= set(frame.columns), kind


def test_overdue_elections_in_2024q4_are_exactly_the_planted_ones_with_their_dates(demo):
    overdue = demo["2024Q4"]["election_overdue"]
    assert names(overdue) == set(TRUTH["overdue_2024Q4"])
    elected = {n: str(d.date()) for n, d in zip(overdue["org_name"], overdue["last_election_date"], strict=True)}
    assert elected == TRUTH["overdue_2024Q4_dates"]
    first_school = overdue.set_index("org_name").loc["区第一中学党委"]
    assert first_school["term_years"] == 5 and first_school["due_date"].date() == dt.date(2024, 7, 5)
    assert first_school["months_overdue"] == 5  # 2024-07-05 -> 2024-12-05 is 5 full months, 12-31 not yet 6


@pytest.mark.parametrize("quarter", TRUTH["quarters"])
def test_each_quarter_lists_overdue_exactly_the_planted_terms_that_had_run_out(demo, quarter):
    since = {n: q for n, q in TRUTH["overdue_since"].items() if q <= quarter}
    end = scores.quarter_end(quarter)
    lapsed = {
        n: r for n, r in TRUTH["re_elected"].items()
        if shift_years(dt.date.fromisoformat(r["old"]), 3) < end and quarter < r["quarter"]
    }  # fmt: skip
    assert names(demo[quarter]["election_overdue"]) == set(since) | set(lapsed)


def test_elections_due_within_six_months_match_a_plain_date_computation(demo_db, demo):
    end, horizon = dt.date(2024, 12, 31), dt.date(2025, 6, 30)
    with store.connect(demo_db) as con:
        records = store.quarter_records(con, "2024Q4")
    years = records["org_type"].map(lambda t: 5 if t == "党委" else 3)
    due = [shift_years(d.date(), y) for d, y in zip(records["last_election_date"], years, strict=True)]
    expected = {n for n, d in zip(records["org_name"], due, strict=True) if end <= d <= horizon}
    soon = demo["2024Q4"]["election_due_soon"]
    assert names(soon) == expected and expected
    assert not names(soon) & set(TRUTH["overdue_2024Q4"])


def test_branches_under_three_full_members_are_exactly_the_planted_ones(demo):
    assert names(demo["2024Q4"]["few_full_members"]) == set(TRUTH["under_3_full_2024Q4"])
    assert (demo["2024Q4"]["few_full_members"]["members_full"] < 3).all()
    (grown, quarter), = TRUTH["reached_3_full"].items()  # fmt: skip
    assert grown in names(demo[scores.previous_quarter(quarter)]["few_full_members"])
    assert grown not in names(demo[quarter]["few_full_members"])


def test_vacant_secretaries_are_exactly_the_planted_ones(demo):
    assert names(demo["2024Q4"]["no_secretary"]) == set(TRUTH["no_secretary_2024Q4"])
    assert len(TRUTH["secretary_filled"]) == 2
    for filled, quarter in TRUTH["secretary_filled"].items():
        assert filled in names(demo[scores.previous_quarter(quarter)]["no_secretary"])
        assert filled not in names(demo[quarter]["no_secretary"])


def test_the_missing_report_is_exactly_the_planted_unit_in_its_quarter(demo, demo_db):
    unit, quarter = TRUTH["missing_report"]
    missing = demo[quarter]["missing_report"]
    with store.connect(demo_db) as con:
        before = store.quarter_records(con, scores.previous_quarter(quarter))
    assert names(missing) == set(before.loc[before["unit"] == unit, "org_name"])
    assert set(missing["last_reported"]) == {scores.previous_quarter(quarter)}
    assert set(missing["unit_missing"]) == set(missing["unit_reported_before"]) == {len(missing)}  # the whole unit
    assert all(demo[q]["missing_report"].empty for q in TRUTH["quarters"] if q != quarter)


def test_the_late_report_is_exactly_the_planted_supplementary_file(demo):
    unit, quarter = TRUTH["late_report"]
    late = demo[quarter]["late_report"]
    (size,) = [f["records"] for f in TRUTH["files"] if f["path"] == TRUTH["late_report_file"]]
    assert set(late["unit"]) == {unit} and len(late) == size
    assert set(late["file_name"]) == {TRUTH["late_report_file"]}
    assert late["loaded_at"].notna().all()
    assert all(demo[q]["late_report"].empty for q in TRUTH["quarters"] if q != quarter)


def test_the_slipping_model_branch_is_the_only_model_below_good_in_2024q4(demo):
    slipping = demo["2024Q4"]["model_slipping"]
    assert names(slipping) == {TRUTH["slipping_model_branch"]["org_name"]}
    assert (slipping["standardization"] < 75).all()
    models = {n for level in TRUTH["model_levels"].values() for n in level}
    before = [q for q in TRUTH["quarters"] if q < TRUTH["slipping_model_branch"]["from"]]
    assert all(names(demo[q]["model_slipping"]) <= models for q in TRUTH["quarters"])
    assert all(demo[q]["model_slipping"].empty for q in before)


def test_two_low_quarters_match_a_second_computation_and_fall_in_the_planted_units(demo_db, demo):
    with store.connect(demo_db) as con:
        now, before = (scores.for_quarter(con, q, RUBRIC) for q in ("2024Q4", "2024Q3"))
    both = now.merge(before, on="org_name", suffixes=("", "_p"))
    low = both[
        ((both["standardization"] < 60) & (both["standardization_p"] < 60))
        | ((both["integration"] < 60) & (both["integration_p"] < 60))
    ]
    found = demo["2024Q4"]["low_two_quarters"]
    assert names(found) == set(low["org_name"])
    planted = {TRUTH["two_skins_unit"], TRUTH["business_heavy_unit"], TRUTH["declining_unit"]}
    assert set(found["unit"]) == planted  # 两张皮, 业务化 and the declining unit, nobody else
    two_skins = found[found["unit"] == TRUTH["two_skins_unit"]]
    assert set(two_skins["low_in"]) == {"党建与业务融合"}


def test_falling_units_match_plain_group_means_largest_fall_first(demo_db, demo):
    with store.connect(demo_db) as con:
        now, before = (scores.for_quarter(con, q, RUBRIC).groupby("unit")[["standardization", "integration"]].mean()
                       for q in ("2024Q4", "2024Q3"))  # fmt: skip
    fall = (before - now).max(axis=1)
    expected = fall[fall >= 3].sort_values(ascending=False).head(10)
    found = demo["2024Q4"]["units_falling"]
    assert list(found["unit"]) == list(expected.index)
    assert found["largest_fall"].tolist() == pytest.approx(expected.tolist())
    assert TRUTH["declining_unit"] in set(found["unit"])
    assert TRUTH["improving_unit"] not in set(found["unit"])


def test_the_first_quarter_has_no_comparisons(demo):
    first = demo[TRUTH["quarters"][0]]
    assert first["missing_report"].empty and first["low_two_quarters"].empty and first["units_falling"].empty


# ---------------------------------------------------------------------------------------------- hand-built


def upload(con, rows: list[dict], quarter: str, name: str = "f.csv") -> int:
    data = csv_bytes(rows, TITLES[quarter])
    report = ingest_bytes(data, name)
    assert not report.errors and report.quarter == quarter
    return batches.load_batch(con, report, data, "tester").batch_id


def elected(i: int, day: str, org_type: str = "党支部") -> dict:
    name = f"第{i}党委" if org_type == "党委" else f"第{i}党支部"
    return org(i, org_name=name, org_type=org_type, last_election_date=day)


def test_a_term_ending_on_the_quarter_end_is_not_overdue_but_a_day_earlier_is(db_path: Path):
    rows = [
        elected(1, "2021-12-31"),  # 3 years -> due 2024-12-31, the quarter end: due, not overdue
        elected(2, "2021-12-30"),  # due 2024-12-30 < 2024-12-31: overdue by less than a month
        elected(3, "2019-12-31", "党委"),  # 5 years -> due 2024-12-31
        elected(4, "2019-12-30", "党委"),
        elected(5, "2021-02-28"),  # due 2024-02-28: 10 full months before 2024-12-31
    ]
    with store.connect(db_path) as con:
        upload(con, rows, "2024Q4")
        overdue = warn.election_overdue(con, "2024Q4", RUBRIC).set_index("org_name")
    assert set(overdue.index) == {"第2党支部", "第4党委", "第5党支部"}
    assert overdue.loc["第2党支部", "due_date"].date() == dt.date(2024, 12, 30)
    assert overdue["months_overdue"].to_dict() == {"第5党支部": 10, "第2党支部": 0, "第4党委": 0}


def test_due_soon_runs_from_the_quarter_end_to_the_end_of_the_sixth_month_after(db_path: Path):
    rows = [
        elected(1, "2021-12-31"),  # due on the quarter end itself
        elected(2, "2022-06-30"),  # due 2025-06-30, the last day of the window
        elected(3, "2022-07-01"),  # due 2025-07-01, one day after
        elected(4, "2021-12-30"),  # already overdue, not "soon"
    ]
    with store.connect(db_path) as con:
        upload(con, rows, "2024Q4")
        soon = warn.election_due_soon(con, "2024Q4", RUBRIC).set_index("org_name")
    assert soon["days_to_due"].to_dict() == {"第1党支部": 0, "第2党支部": 181}


def test_the_six_month_window_ends_on_a_month_end_even_after_a_30_day_quarter_end(db_path: Path):
    # 2024-06-30 + 6 months would be 2024-12-30 by day arithmetic; the window is the whole of December.
    with store.connect(db_path) as con:
        upload(con, [elected(1, "2021-12-31"), elected(2, "2022-01-01")], "2024Q2")
        soon = warn.election_due_soon(con, "2024Q2", RUBRIC)
    assert names(soon) == {"第1党支部"}


def test_an_organizations_own_term_overrides_the_rubric_default(db_path: Path):
    rows = [elected(1, "2023-03-15"), elected(2, "2020-06-01"), elected(3, "2023-03-15")]
    with store.connect(db_path) as con:
        upload(con, rows, "2024Q4")
        assert names(warn.election_overdue(con, "2024Q4", RUBRIC)) == {"第2党支部"}
        for name, years in (("第1党支部", 1), ("第2党支部", 5)):
            con.execute("UPDATE organizations SET term_years = $y WHERE org_name = $n", {"y": years, "n": name})
        overdue = warn.election_overdue(con, "2024Q4", RUBRIC)
        soon = warn.election_due_soon(con, "2024Q4", RUBRIC)
    assert overdue[["org_name", "term_years", "months_overdue"]].values.tolist() == [["第1党支部", 1, 9]]
    assert soon[["org_name", "term_years"]].values.tolist() == [["第2党支部", 5]]  # due 2025-06-01


def test_few_members_and_vacant_secretaries_count_only_what_was_reported(db_path: Path):
    rows = [
        org(1, members_full=2, members_total=2, members_probationary=0),
        org(2, members_full=3, members_total=3, members_probationary=0),
        org(3, members_full="", has_secretary=""),
        org(4, has_secretary="否"),
    ]
    with store.connect(db_path) as con:
        upload(con, rows, "2024Q1")
        assert names(warn.few_full_members(con, "2024Q1")) == {"第1党支部"}
        assert names(warn.no_secretary(con, "2024Q1")) == {"第4党支部"}


def test_missing_reports_are_last_quarters_organizations_absent_now_with_unit_counts(db_path: Path):
    with store.connect(db_path) as con:
        upload(con, [org(1), org(2), org(3), org(4, unit=1)], "2024Q1", "q1.csv")
        assert warn.missing_report(con, "2024Q1").empty  # no 2023Q4 data at all
        upload(con, [org(1), org(2)], "2024Q2", "q2.csv")
        missing = warn.missing_report(con, "2024Q2")
    assert missing[["unit", "org_name", "last_reported", "unit_missing", "unit_reported_before"]].values.tolist() == [
        ["单位0", "第3党支部", "2024Q1", 1, 3],
        ["单位1", "第4党支部", "2024Q1", 1, 1],
    ]


def test_late_reports_are_organizations_missing_from_the_first_batch_not_corrections(db_path: Path):
    with store.connect(db_path) as con:
        upload(con, [org(1), org(2)], "2024Q2", "main.csv")
        late_batch = upload(con, [org(3, unit=1)], "2024Q2", "补报.csv")
        upload(con, [org(1, theme_days=1)], "2024Q2", "更正.csv")  # corrects a row the first file had
        late = warn.late_report(con, "2024Q2")
        assert late[["org_name", "file_name"]].values.tolist() == [["第3党支部", "补报.csv"]]
        assert warn.missing_report(con, "2024Q3").shape[0] == 3
        batches.rollback(con, late_batch, "tester")
        assert warn.late_report(con, "2024Q2").empty


def test_month_end_after_counts_whole_months():
    assert warn.month_end_after(dt.date(2024, 6, 30), 6) == dt.date(2024, 12, 31)
    assert warn.month_end_after(dt.date(2024, 12, 31), 6) == dt.date(2025, 6, 30)
    assert warn.month_end_after(dt.date(2023, 8, 31), 6) == dt.date(2024, 2, 29)
