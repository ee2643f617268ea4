"""The bundled demo district loads through the normal ingest path and holds its planted patterns."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from analytics.demo import DEMO_DIR, demo_files, load_demo
from analytics.store import batches
from analytics.store import database as store

ROOT = Path(__file__).resolve().parent.parent
TRUTH = json.loads((DEMO_DIR / "truth.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    with store.connect(path) as con:
        results = load_demo(con)
    assert [r.file for r, loaded in results if loaded is None] == []
    assert all(not r.errors for r, _ in results)
    return path


def test_demo_uses_the_layouts_offices_send():
    suffixes = {f.path.suffix for f in demo_files()}
    assert {".xlsx", ".csv", ".xls"} <= suffixes
    assert demo_files()[0].quarter == "2023Q1"
    assert sorted({f.quarter for f in demo_files()}) == [f"{y}Q{q}" for y in (2023, 2024) for q in range(1, 5)]
    gbk = next(f for f in demo_files() if f.path.suffix == ".csv").path.read_bytes()
    with pytest.raises(UnicodeDecodeError):
        gbk.decode("utf-8")  # really GBK, as many offices export


def test_demo_district_has_the_promised_size_and_types(demo_db: Path):
    with store.connect(demo_db) as con:
        q4 = store.quarter_records(con, "2024Q4")
        assert store.quarters(con) == [f"{y}Q{q}" for y in (2023, 2024) for q in range(1, 5)]
    assert len(q4) == TRUTH["organizations"] and 120 <= len(q4) <= 180
    assert q4["system"].nunique() == 6 and q4["unit"].nunique() == TRUTH["units"]
    assert set(q4["org_type"]) == {"党委", "党总支", "党支部", "联合党支部"}
    assert q4["group_meetings"].isna().any()  # branches without party groups


def test_demo_has_a_missing_report_and_a_late_one(demo_db: Path):
    missing_unit, missing_quarter = TRUTH["missing_report"]
    late_unit, late_quarter = TRUTH["late_report"]
    with store.connect(demo_db) as con:
        assert missing_unit not in set(store.quarter_records(con, missing_quarter)["unit"])
        listed = batches.history(con)
        late = listed[listed["file"].str.contains("补报")]
        assert late["quarter"].tolist() == [late_quarter]
        assert late_unit in set(store.quarter_records(con, late_quarter)["unit"])


def test_demo_plants_small_branches_missing_secretaries_and_overdue_elections(demo_db: Path):
    with store.connect(demo_db) as con:
        q4 = store.quarter_records(con, "2024Q4").set_index("org_name")
    assert sorted(q4.index[q4["members_full"] < 3]) == TRUTH["under_3_full_2024Q4"]
    assert sorted(q4.index[~q4["has_secretary"].astype(bool)]) == TRUTH["no_secretary_2024Q4"]
    overdue = [
        name
        for name, kind, elected in zip(q4.index, q4["org_type"], q4["last_election_date"], strict=True)
        if elected.replace(year=elected.year + (5 if kind == "党委" else 3)) < pd.Timestamp("2024-12-31")
    ]
    assert sorted(overdue) == TRUTH["overdue_2024Q4"]


def test_two_skins_unit_holds_meetings_but_does_little_joint_work(demo_db: Path):
    with store.connect(demo_db) as con:
        q = store.quarter_records(con, "2024Q4")
    by_unit = q.groupby("unit")[["theme_days", "online_record_rate", "joint_meetings", "business_completion"]].mean()
    two_skins, business = by_unit.loc[TRUTH["two_skins_unit"]], by_unit.loc[TRUTH["business_heavy_unit"]]
    district = by_unit.mean()
    assert two_skins["online_record_rate"] > district["online_record_rate"]
    assert two_skins["business_completion"] < district["business_completion"]
    assert business["online_record_rate"] < district["online_record_rate"]
    assert business["business_completion"] > district["business_completion"]


def test_improving_and_declining_units_move_apart_over_the_quarters(demo_db: Path):
    with store.connect(demo_db) as con:
        first, last = store.quarter_records(con, "2023Q1"), store.quarter_records(con, "2024Q4")
    rate = "online_record_rate"
    up, down = TRUTH["improving_unit"], TRUTH["declining_unit"]
    assert last[last.unit == up][rate].mean() > first[first.unit == up][rate].mean() + 20
    assert last[last.unit == down][rate].mean() < first[first.unit == down][rate].mean() - 20


def test_generator_is_deterministic(tmp_path: Path):
    subprocess.run([sys.executable, str(DEMO_DIR / "generate.py"), str(tmp_path)], check=True, cwd=ROOT)
    for name in ("manifest.toml", "truth.json", "2024Q4_区直机关党组织统计表.csv"):
        assert (tmp_path / name).read_bytes() == (DEMO_DIR / name).read_bytes(), name


@pytest.mark.slow  # the CLI in a new process, twice
def test_cli_demo_is_idempotent_and_if_empty_skips(tmp_path: Path):
    db = str(tmp_path / "cli.duckdb")
    run = [sys.executable, "-m", "analytics", "demo", "--db", db]
    assert subprocess.run(run, cwd=ROOT, capture_output=True).returncode == 0
    again = subprocess.run(run, cwd=ROOT, capture_output=True, text=True)
    assert again.returncode == 0 and again.stdout.count("已载入过") == len(demo_files())
    skipped = subprocess.run([*run, "--if-empty"], cwd=ROOT, capture_output=True, text=True)
    assert "未载入演示数据" in skipped.stdout
