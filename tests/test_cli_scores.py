"""`scores` and `imbalance` on the command line, on a small upload whose scores are computed by hand."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from analytics.scoring.rubric import load_rubric
from tests.helpers import cli
from tests.records import COMMITTEE_ON_TIME, ON_TIME, OVERDUE, csv_bytes, org

# Slow: every test runs the CLI in a new process. `make test` runs them, `make test-fast` does not
pytestmark = pytest.mark.slow

# Integration: I1 I2 I4 missing (0), I3 applies (10 members) and vanguard posts missing (0); I5, I6 n/a.


@pytest.fixture
def db(tmp_path: Path) -> Path:
    rows = [
        org(1, unit=0),
        org(2, unit=0, last_election_date="2020-03-15"),
        org(3, unit=3, org_type="党委", last_election_date="2020-03-15"),  # 5-year term: not overdue
    ]
    path = tmp_path / "q1.csv"
    path.write_bytes(csv_bytes(rows))
    target = tmp_path / "t.duckdb"
    assert cli("ingest", str(path), db=target).returncode == 0
    return target


def test_scores_csv_has_the_spec_columns_and_hand_computed_values(db: Path):
    done = cli("scores", "--quarter", "2024Q1", db=db)
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    ids = [i.id for i in load_rubric().indicators]
    assert list(rows[0])[: 7 + len(ids)] == [
        "system", "unit", "org_name", "standardization", "integration", "quadrant", "grade", *ids,
    ]  # fmt: skip
    by_name = {r["org_name"]: r for r in rows}
    assert float(by_name["第1党支部"]["standardization"]) == pytest.approx(ON_TIME)
    assert float(by_name["第2党支部"]["standardization"]) == pytest.approx(OVERDUE)
    assert float(by_name["第3党支部"]["standardization"]) == pytest.approx(COMMITTEE_ON_TIME)
    assert float(by_name["第1党支部"]["integration"]) == 0.0
    assert by_name["第1党支部"]["quadrant"] == "边缘化"
    assert (by_name["第1党支部"]["grade"], by_name["第2党支部"]["grade"]) == ("较差", "较差")  # 56.6 and 47.0
    first = by_name["第1党支部"]
    # S9 applies in Q1 (the year just ended, SPEC §4.5) and is unreported: 0
    assert (first["S3"], first["S6"], first["S9"], first["S11"], first["I5"]) == ("1", "", "0", "0.9", "")
    assert by_name["第2党支部"]["S3"] == "0"
    assert float(first["completeness"]) == pytest.approx(6 / 16)  # 16 applicable, 10 missing
    assert set(first["missing"].split(",")) == {"S5", "S7", "S9", "S10", "S12", "S13", "I1", "I2", "I3", "I4"}
    assert first["rubric_version"] == load_rubric().version


def test_scores_json_gives_the_same_numbers(db: Path):
    rows = json.loads(cli("scores", "--quarter", "2024Q1", "--format", "json", db=db).stdout)
    assert sorted(round(r["standardization"], 6) for r in rows) == sorted(
        round(x, 6) for x in (ON_TIME, OVERDUE, COMMITTEE_ON_TIME)
    )
    assert all(r["S6"] is None for r in rows)


def test_imbalance_json_matches_hand_computed_gini_and_group_means(db: Path):
    done = cli(
        "imbalance", "--quarter", "2024Q1", "--by", "unit", "--score", "standardization", "--format", "json", db=db
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    a, b, c = ON_TIME, OVERDUE, COMMITTEE_ON_TIME
    mean = (a + b + c) / 3
    pairs = 2 * (abs(a - b) + abs(a - c) + abs(b - c))  # Σ over ordered pairs
    assert out["gini"] == pytest.approx(pairs / (2 * 9 * mean))
    assert out["max_min_ratio"] == pytest.approx(c / ((a + b) / 2))
    groups = {g["group"]: g for g in out["groups"]}
    assert groups["单位3"]["rank"] == 1 and groups["单位0"]["rank"] == 2
    assert groups["单位0"]["mean"] == pytest.approx((a + b) / 2)
    assert groups["单位0"]["below_60_share"] == pytest.approx(1.0)  # 47.0 and 56.6 < 60
    assert out["theil_total"] == pytest.approx(out["theil_between"] + out["theil_within"])
    for key in ("cv", "theil_total", "theil_between", "theil_within", "between_share"):
        assert key in out


def test_imbalance_text_names_the_measures_in_chinese(db: Path):
    done = cli("imbalance", "--quarter", "2024Q1", "--by", "system", db=db)
    assert done.returncode == 0
    assert "基尼系数" in done.stdout and "泰尔指数" in done.stdout and "系统" in done.stdout


@pytest.mark.parametrize("command", ["scores", "imbalance"])
def test_an_unknown_quarter_exits_1_with_a_chinese_message(db: Path, command: str):
    done = cli(command, "--quarter", "2030Q2", db=db)
    assert done.returncode == 1
    assert "2030Q2 没有数据" in done.stderr and "2024Q1" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_broken_rubric_file_exits_1_naming_the_indicator(db: Path, tmp_path: Path):
    text = (Path(__file__).parent.parent / "data" / "rubric.toml").read_text(encoding="utf-8")
    bad = tmp_path / "rubric.toml"
    bad.write_text(text.replace('kind = "share"', 'kind = "ratio"', 1), encoding="utf-8")
    done = cli("scores", "--quarter", "2024Q1", "--rubric", str(bad), db=db)
    assert done.returncode == 1
    assert "指标 S14" in done.stderr and "ratio" in done.stderr


def test_a_term_override_decides_whether_an_election_is_overdue(db: Path):
    # 第2党支部 was elected 2020-03-15: overdue with 3 years, on time with a 5-year override
    def s3() -> str:
        rows = csv.DictReader(io.StringIO(cli("scores", "--quarter", "2024Q1", db=db).stdout))
        return next(r["S3"] for r in rows if r["org_name"] == "第2党支部")

    assert s3() == "0"
    args = ["--system", "系统0", "--unit", "单位0", "--org", "第2党支部"]
    assert cli("term", *args, "--years", "5", db=db).returncode == 0
    assert s3() == "1"
    assert cli("term", *args, "--clear", db=db).returncode == 0
    assert s3() == "0"
    unknown = cli("term", "--system", "系统0", "--unit", "单位0", "--org", "无此支部", "--years", "5", db=db)
    assert unknown.returncode == 1 and "找不到党组织" in unknown.stderr
