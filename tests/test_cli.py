"""The command line as automation uses it: real subprocesses, real files, exit codes of SPEC §6."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from analytics.ingest.records import ingest_path
from analytics.template import load_template
from tests.helpers import cli
from tests.records import csv_bytes, org

# Slow: every test runs the CLI in a new process. `make test` runs them, `make test-fast` does not
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent


def write(tmp_path: Path, name: str, rows: list[dict], title: str = "2024年第一季度") -> Path:
    path = tmp_path / name
    path.write_bytes(csv_bytes(rows, title))
    return path


def test_ingest_prints_the_batch_id_and_batches_json_lists_it(tmp_path: Path):
    db = tmp_path / "t.duckdb"
    done = cli("ingest", str(write(tmp_path, "a.csv", [org(1), org(2)])), db=db)
    assert done.returncode == 0, done.stderr
    assert "批次 1" in done.stdout
    listed = json.loads(cli("batches", "--json", db=db).stdout)
    assert [(b["id"], b["quarter"], b["file"], b["rows"], b["status"]) for b in listed] == [
        (1, "2024Q1", "a.csv", 2, "active")
    ]
    assert listed[0]["created_at"][:2] == "20" and "T" in listed[0]["created_at"]


def test_batches_table_has_the_batch_id_first(tmp_path: Path):
    db = tmp_path / "t.duckdb"
    cli("ingest", str(write(tmp_path, "a.csv", [org(1)])), db=db)
    lines = cli("batches", db=db).stdout.splitlines()
    assert lines[0].split()[0] == "批次"
    assert lines[1].split()[0] == "1"


def test_dump_has_the_template_columns_in_order_and_plain_values(tmp_path: Path):
    db = tmp_path / "t.duckdb"
    rows = [org(2, unit=1, has_secretary="否"), org(1, unit=0, online_record_rate="85%", members_total=10)]
    cli("ingest", str(write(tmp_path, "a.csv", rows)), db=db)
    done = cli("dump", "--quarter", "2024Q1", db=db)
    assert done.returncode == 0
    table = list(csv.DictReader(io.StringIO(done.stdout)))
    assert list(table[0]) == load_template().names
    assert [(r["unit"], r["org_name"]) for r in table] == [("单位0", "第1党支部"), ("单位1", "第2党支部")]
    first = table[0]
    assert first["last_election_date"] == "2023-03-15"
    assert first["online_record_rate"] == "85" and first["members_total"] == "10"
    assert first["has_secretary"] == "true" and table[1]["has_secretary"] == "false"
    assert first["group_meetings"] == "" and first["secretary_review"] == ""


def test_rejected_file_exits_1_and_leaves_the_store_unchanged(tmp_path: Path):
    db = tmp_path / "t.duckdb"
    cli("ingest", str(write(tmp_path, "a.csv", [org(1), org(2)])), db=db)
    before = cli("dump", "--quarter", "2024Q1", db=db).stdout, cli("batches", "--json", db=db).stdout
    bad = write(tmp_path, "b.csv", [org(1, theme_days=-2), org(3, org_type="党小组")])
    done = cli("ingest", str(bad), "--json", db=db)
    assert done.returncode == 1
    errors = json.loads(done.stdout)["errors"]
    assert {(e["row"], e["column"], e["value"]) for e in errors} == {
        (3, "主题党日次数", "-2"),
        (4, "组织类型", "党小组"),
    }
    assert all(e["sheet"] and e["message"] for e in errors)
    after = cli("dump", "--quarter", "2024Q1", db=db).stdout, cli("batches", "--json", db=db).stdout
    assert after == before


def test_several_files_load_all_or_nothing(tmp_path: Path):
    db = tmp_path / "t.duckdb"
    good = write(tmp_path, "good.csv", [org(1)])
    bad = write(tmp_path, "bad.csv", [org(2, members_full=99)])
    assert cli("ingest", str(good), str(bad), db=db).returncode == 1
    assert json.loads(cli("batches", "--json", db=db).stdout) == []
    other = write(tmp_path, "other.csv", [org(2)], "2024年第二季度")
    done = cli("ingest", str(good), str(other), db=db)
    assert done.returncode == 0
    assert [b["quarter"] for b in json.loads(cli("batches", "--json", db=db).stdout)] == ["2024Q1", "2024Q2"]


def test_the_same_organization_in_two_files_of_one_quarter_is_an_error(tmp_path: Path):
    db = tmp_path / "t.duckdb"
    a, b = write(tmp_path, "a.csv", [org(1)]), write(tmp_path, "b.csv", [org(1)])
    done = cli("ingest", str(a), str(b), "--json", db=db)
    assert done.returncode == 1
    assert [e["file"] for e in json.loads(done.stdout)["errors"]] == ["b.csv"]


def test_rollback_restores_and_refuses_twice(tmp_path: Path):
    db = tmp_path / "t.duckdb"
    cli("ingest", str(write(tmp_path, "a.csv", [org(1, theme_days=1)])), db=db)
    first_dump = cli("dump", "--quarter", "2024Q1", db=db).stdout
    cli("ingest", str(write(tmp_path, "b.csv", [org(1, theme_days=2)])), db=db)
    assert cli("rollback", "2", db=db).returncode == 0
    assert cli("dump", "--quarter", "2024Q1", db=db).stdout == first_dump
    again = cli("rollback", "2", db=db)
    assert again.returncode == 1 and "已经回退" in again.stderr
    assert cli("rollback", "77", db=db).returncode == 1


def test_identical_reupload_is_reported_and_changes_nothing(tmp_path: Path):
    db = tmp_path / "t.duckdb"
    path = write(tmp_path, "a.csv", [org(1)])
    cli("ingest", str(path), db=db)
    done = cli("ingest", str(path), "--json", db=db)
    assert done.returncode == 0
    assert json.loads(done.stdout)["loaded"][0]["already_loaded"] is True
    assert len(json.loads(cli("batches", "--json", db=db).stdout)) == 1


def test_usage_errors_exit_2_in_chinese(tmp_path: Path):
    db = tmp_path / "t.duckdb"
    for args, text in [
        (("rollback",), "缺少必需的参数"),
        (("dump", "--quarter", "2024Q5"), "季度格式应为"),
        (("ingest", str(tmp_path / "none.xlsx")), "文件不存在"),
        (("ingest", "x.csv", "--bogus"), "无法识别的参数"),
    ]:
        done = cli(*args, db=db)
        assert done.returncode == 2, args
        assert text in done.stderr and "Traceback" not in done.stderr


def test_unknown_quarter_in_dump_exits_1_naming_the_quarters_there_are(tmp_path: Path):
    db = tmp_path / "t.duckdb"
    cli("ingest", str(write(tmp_path, "a.csv", [org(1)])), db=db)
    done = cli("dump", "--quarter", "2023Q4", db=db)
    assert done.returncode == 1 and "2024Q1" in done.stderr


def test_template_writes_a_workbook_that_reads_back_with_every_header(tmp_path: Path):
    out = tmp_path / "模板.xlsx"
    assert cli("template", str(out), db=tmp_path / "t.duckdb").returncode == 0
    report = ingest_path(out, "2024Q1")
    # the blank template has every column recognized but no data rows
    assert any("没有任何党组织数据行" in p.message for p in report.errors)
    assert not any("未识别的列" in p.message for p in report.problems)
    import fastexcel

    reader = fastexcel.read_excel(out.read_bytes())
    assert reader.sheet_names == ["季度报表", "填表说明"]
    notes = reader.load_sheet("填表说明", header_row=0).to_pandas()
    headers = [c.header for c in load_template().columns]
    assert notes["列名"].dropna().tolist()[: len(headers)] == headers
