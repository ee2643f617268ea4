"""SPEC §4.5: rules that fit each kind of organization (党组织类别, branch-only meeting counts) end to end."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from analytics.ingest.records import RETIRED_BY_NAME, ingest_bytes
from analytics.scoring.rubric import RubricError, indicator_rows, load_rubric, parse_rubric
from analytics.scoring.scores import for_quarter
from analytics.store import batches
from analytics.store import database as store
from tests import records
from tests.helpers import cli, rubric_edited
from tests.records import csv_bytes, org

records.HEADERS.setdefault("org_category", "党组织类别")
records.HEADERS.setdefault("joint_meetings", "党建业务同部署次数")


def rows() -> list[dict]:
    """A serving branch, one read as 离退休 from its name, one typed 离退休, one typed 在职 despite its name."""
    return [
        org(1, joint_meetings=1),
        org(2, org_name="离退休干部党支部", joint_meetings=1),
        org(3, org_category="离退休", joint_meetings=1),
        org(4, org_name="退休职工服务中心党支部", org_category="在职", joint_meetings=1),
    ]


def test_a_blank_category_read_from_the_name_is_reported_on_its_row():
    report = ingest_bytes(csv_bytes(rows()), "q.csv", "2024Q1")
    assert not report.errors
    named = [p for p in report.warnings if p.message == RETIRED_BY_NAME]
    assert [(p.row, p.column) for p in named] == [(4, "党组织类别")]  # title, header, then rows 3, 4, …
    assert report.records["org_category"].tolist()[2:] == ["离退休", "在职"]
    assert report.records["org_category"].isna().tolist()[:2] == [True, True]  # stored as typed: blank


@pytest.mark.parametrize(("typed", "read"), [("离退休党支部", "离退休"), ("退休", "离退休"), ("在岗", "在职")])
def test_category_words_offices_use_are_read_as_the_two_categories(typed: str, read: str):
    report = ingest_bytes(csv_bytes([org(1, org_category=typed)]), "q.csv", "2024Q1")
    assert report.records["org_category"].tolist() == [read]


def test_an_org_type_typed_as_category_is_an_error_naming_the_choices():
    report = ingest_bytes(csv_bytes([org(1, org_category="党支部")]), "q.csv", "2024Q1")
    (error,) = report.errors
    assert error.column == "党组织类别" and error.value == "党支部" and "在职 / 离退休" in error.message


def test_retiree_branches_get_no_integration_score_and_no_quadrant(tmp_path: Path):
    data = csv_bytes(rows())
    db = tmp_path / "k.duckdb"
    with store.connect(db) as con:
        batches.load_batch(con, ingest_bytes(data, "q.csv", "2024Q1"), data, "tester")
        scored = for_quarter(con, "2024Q1", load_rubric()).set_index("org_name")
    retired = ["离退休干部党支部", "第3党支部"]
    serving = ["第1党支部", "退休职工服务中心党支部"]
    assert scored.loc[retired, "integration"].isna().all() and scored.loc[retired, "quadrant"].isna().all()
    assert scored.loc[retired, ["I1", "I2", "I3", "I4", "I5", "I6"]].isna().all().all()
    assert scored.loc[serving, "integration"].notna().all() and scored.loc[serving, "quadrant"].notna().all()
    # the standardization score does not depend on the category: the four rows differ only in name and category
    assert scored["standardization"].nunique() == 1
    assert scored.loc[retired, "category"].tolist() == ["离退休", "离退休"]
    assert scored.loc[serving, "category"].tolist() == ["在职", "在职"]
    done = cli("scores", "--quarter", "2024Q1", db=db)
    shown = {r["org_name"]: r for r in csv.DictReader(io.StringIO(done.stdout))}
    assert (shown["离退休干部党支部"]["integration"], shown["离退休干部党支部"]["quadrant"]) == ("", "")


def test_the_method_table_states_who_each_rule_applies_to():
    rubric = load_rubric()
    rules = {r["编号"]: r["适用条件"] for c in rubric.composite_ids for r in indicator_rows(rubric, c)}
    assert rules["S5"] == "仅党支部、联合党支部"
    assert rules["S4"] == "仅党支部、联合党支部；正式党员数 ≥ 7"
    assert all(rules[f"I{n}"].startswith("仅在职党组织") for n in range(1, 7))
    assert rules["S1"] == "全部党组织"


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('applies = [{ category = ["在职"] }]', 'applies = [{ category = ["退役"] }]', "可选值为 在职、离退休"),
        (
            'applies = [{ category = ["在职"] }]',
            'applies = [{ category = ["在职"], quarter = [4] }]',
            "综合指数 integration",
        ),
        (
            'id = "S5"\ncomposite = "standardization"\nname = "党员大会"\nkind = "count"\ncolumn = "general_meetings"\n'
            'target = 1\nweight = 8\napplies = [{ org_type = ["党支部", "联合党支部"] }]',
            'id = "S5"\ncomposite = "standardization"\nname = "党员大会"\nkind = "count"\ncolumn = "general_meetings"\n'
            'target = 1\nweight = 8\napplies = [{ org_type = ["党小组"] }]',
            "指标 S5",
        ),
    ],
)
def test_a_kind_condition_naming_an_unknown_kind_is_refused_in_chinese(old: str, new: str, message: str):
    with pytest.raises(RubricError, match=message):
        parse_rubric(rubric_edited(old, new))


def test_mean_lost_points_add_up_to_100_minus_the_mean_score_of_the_organizations_scored(demo_db: Path):
    from analytics.scoring import views

    rubric = load_rubric()
    with store.connect(demo_db) as con:
        frame = for_quarter(con, "2024Q4", rubric)
    for composite in rubric.composite_ids:
        lost = views.indicator_summary(frame, rubric, composite)["lost"].sum()
        # each organization's score is 100 − its lost points; the retirees have no integration score to average
        assert lost == pytest.approx(100 - frame[composite].mean())


def test_an_approved_election_delay_is_respected_by_s3_and_the_overdue_list_until_it_runs_out(tmp_path: Path, capsys):
    from analytics.cli import main
    from analytics.scoring import alerts

    db = tmp_path / "d.duckdb"
    # elected 2020-03-15, a 3-year term: due 2023-03-15, overdue in 2024Q1 and 2024Q3
    late = org(1, last_election_date="2020-03-15")
    for quarter, title in (("2024Q1", "2024年第一季度"), ("2024Q3", "2024年第三季度")):
        data = csv_bytes([late, org(2)], title)
        with store.connect(db) as con:
            batches.load_batch(con, ingest_bytes(data, f"{quarter}.csv", quarter), data, "tester")
    where = ["--db", str(db), "--system", "系统0", "--unit", "单位0", "--org", "第1党支部"]

    def s3_and_overdue(quarter: str) -> tuple[float, list[str]]:
        rubric = load_rubric()
        with store.connect(db) as con:
            scored = for_quarter(con, quarter, rubric).set_index("org_name")
            overdue = alerts.election_overdue(con, quarter, rubric)
        return scored.loc["第1党支部", "S3"], list(overdue["org_name"])

    assert s3_and_overdue("2024Q1") == (0.0, ["第1党支部"])
    assert main(["term", *where, "--delay-until", "2024-06-30"]) == 1  # who approved it is required
    assert "批准单位或批准人" in capsys.readouterr().err
    assert main(["term", *where, "--delay-until", "2024-06-30", "--approved-by", "区委组织部"]) == 0
    assert "经区委组织部批准延期换届至 2024-06-30" in capsys.readouterr().out
    assert s3_and_overdue("2024Q1") == (1.0, [])  # 2024-06-30 ≥ 2024-03-31: not overdue
    assert s3_and_overdue("2024Q3") == (0.0, ["第1党支部"])  # the delay ran out before 2024-09-30
    with store.connect(db) as con:
        overdue = alerts.election_overdue(con, "2024Q3", load_rubric())
    assert str(overdue.loc[0, "due_date"])[:10] == "2024-06-30"  # due on the day the delay ran until
    assert main(["term", *where, "--clear-delay"]) == 0
    assert s3_and_overdue("2024Q1") == (0.0, ["第1党支部"])


def test_quadrant_stability_gives_retirees_no_quadrant_and_leaves_the_others_as_computed_alone(demo_db: Path):
    from analytics.scoring import robustness

    rubric = load_rubric()
    with store.connect(demo_db) as con:
        frame = for_quarter(con, "2024Q4", rubric)
    weights = robustness.weight_draws(rubric)
    shown = robustness.quadrant_stability(frame, rubric, weights)
    retired = frame["integration"].isna().to_numpy()
    assert retired.sum() == 5
    assert shown.loc[retired, "quadrant"].isna().all() and not shown.loc[retired, "borderline"].any()
    alone = robustness.quadrant_stability(frame[~retired], rubric, weights)  # a second way: without the retirees
    assert shown.loc[~retired, "quadrant"].tolist() == alone["quadrant"].tolist()
    assert shown.loc[~retired, "stability"].tolist() == alone["stability"].tolist()
    assert shown.loc[~retired, "quadrant"].tolist() == frame.loc[~retired, "quadrant"].tolist()
