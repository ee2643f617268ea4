"""Hostile files (tests/corpus/make_corpus.py) through ingest_bytes and the CLI, each in a child process held to
2 GB of address space and 60 s (tests/corpus/limited.py): every file is refused with its reason in Chinese, or
loaded with the problems an analyst has to see, and none can take the process down."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from analytics.ingest.records import ingest_bytes
from analytics.ingest.sheets.sandbox import LimitExceeded, run_limited
from analytics.problems import format_problem
from analytics.store import batches
from analytics.store import database as store
from tests.corpus import make_corpus

pytestmark = (
    pytest.mark.slow
)  # hostile files, each read in limited child processes: `make test` runs them, `make test-fast` does not

ROOT = Path(__file__).resolve().parent.parent
LIMITED = ROOT / "tests" / "corpus" / "limited.py"
SECONDS = 60


@dataclass(frozen=True)
class Case:
    """What one file must do: exit code of `ingest --json`, valid rows, a fragment of a problem, bad cells."""

    name: str
    exit_code: int
    rows: int
    fragment: str | None = None
    cells: tuple[tuple[int, str], ...] = ()


CASES = [
    Case("zip_bomb.xlsx", 1, 0, "疑似“压缩炸弹”"),
    Case("billion_laughs.xlsx", 1, 0, "含有 DTD 实体定义"),
    Case("million_empty_rows.xlsx", 0, 3),
    Case("stray_space_far_down.xlsx", 1, 0, "有 1000005 行，超过上限 500000 行"),
    Case("far_corner_cell.xlsx", 1, 0, "超出内存上限"),
    Case("shared_strings_count.xlsx", 1, 0, "超出内存上限"),
    Case("ods_repeat_bomb.ods", 1, 0, "使用范围"),
    Case("wide_10000_columns.xlsx", 0, 5, "另有 9972 个未识别的列"),
    Case("formula_errors.xlsx", 1, 2, "公式计算出错", ((4, "党员总数"), (5, "正式党员数"), (7, "党员总数"))),
    Case("encrypted.xlsx", 1, 0, "文件已加密"),
    Case("mixed_encoding.csv", 0, 4, "文件编码不一致：第 5、6 行是 GBK 编码"),
    Case(
        "control_characters.xlsx", 1, 2, "不可见的控制字符", ((3, "党组织名称"), (4, "党组织名称"), (5, "党组织名称"))
    ),
    Case("control_characters.csv", 1, 2, "不可见的控制字符", ((3, "党组织名称"), (4, "党组织名称"), (5, "党组织名称"))),
    Case("dates_1900_9999.xlsx", 1, 1, "日期不合理", tuple((row, "本届选举日期") for row in range(3, 8))),
    Case("truncated.xlsx", 1, 0, "文件已损坏"),
    Case("png_named.xlsx", 1, 0, "PNG 图片"),
    Case("empty.xlsx", 1, 0, "文件为空"),
    Case("empty.csv", 1, 0, "文件为空"),
    Case("html_saved_as.xls", 0, 4, "假 xls"),
    Case("spreadsheet_2003.xls", 1, 0, "XML 电子表格 2003"),
    Case("partial_header.csv", 1, 0, "缺少必填列「组织类型」"),
    Case("unclosed_quote.csv", 1, 0, "引号不配对"),
    Case("unicode_text.txt", 0, 3),
    Case("garbage_rows.csv", 1, 0, "另有 990000 个错误未逐条列出"),
    Case("million_commas.csv", 1, 0, "超过上限（最多 16384 列"),
]


def _limited(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(LIMITED), *args], capture_output=True, text=True, timeout=SECONDS, cwd=ROOT
    )


def _run(case: Case, directory: Path) -> dict:
    """ingest_bytes and the CLI on one file, each in its own limited child."""
    path, db = directory / case.name, directory / f"{case.name}.duckdb"
    inner = _limited("ingest", str(path))
    cli = _limited("cli", "ingest", str(path), "--db", str(db), "--json", "--allow-missing-columns")
    return {"ingest": inner, "cli": cli, "db": db}


@pytest.fixture(scope="session")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    """Every case run once, two at a time (the machine has two cores)."""
    directory = tmp_path_factory.mktemp("corpus")
    make_corpus.write_corpus(directory, [c.name for c in CASES])
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = pool.map(lambda c: (c.name, _run(c, directory)), CASES)
        return dict(runs)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_ingest_bytes_reports_and_never_raises_within_the_limits(case: Case, outcomes: dict):
    run = outcomes[case.name]["ingest"]
    assert run.returncode == 0, run.stderr[-2000:]
    result = json.loads(run.stdout)
    errors = [p for p in result["problems"] if p["severity"] == "error"]
    warnings = [p for p in result["problems"] if p["severity"] == "warning"]
    assert result["seconds"] < SECONDS and result["peak_mb"] < 2048
    assert result["rows"] == case.rows
    assert bool(errors) == (case.exit_code == 1), errors
    if case.fragment:
        assert any(case.fragment in p["message"] for p in (errors or warnings)), result["problems"]
    assert all(p["message"] for p in result["problems"])
    cell_errors = [p for p in errors if p["row"] is not None]
    assert all(p["sheet"] and p["column"] for p in cell_errors)
    if case.cells:
        assert sorted((p["row"], p["column"]) for p in cell_errors) == sorted(case.cells)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_cli_exits_with_every_problem_and_leaves_the_database_as_it_was(case: Case, outcomes: dict):
    run = outcomes[case.name]
    cli = run["cli"]
    assert cli.returncode == case.exit_code, cli.stderr[-2000:]
    payload = json.loads(cli.stdout)
    assert bool(payload["errors"]) == (case.exit_code == 1)
    if case.fragment:
        assert any(case.fragment in p["message"] for p in payload["errors"] or payload["warnings"])
    with store.connect(run["db"]) as con:
        listed = batches.history(con)
    assert len(listed) == (1 if case.exit_code == 0 else 0)
    if case.exit_code == 0:
        assert payload["loaded"][0]["rows"] == case.rows


def test_html_export_fills_units_merged_down_its_rows():
    report = ingest_bytes(make_corpus.html_as_xls(), "导出.xls")
    assert report.records["unit"].tolist() == ["区教育局"] * 4
    assert report.records["org_name"].tolist() == [f"第{i}党支部" for i in range(1, 5)]


def test_lines_in_another_encoding_are_read_in_their_own():
    report = ingest_bytes(make_corpus.mixed_encoding_csv(), "混合.csv")
    assert report.records["org_name"].tolist() == [f"第{i}党支部" for i in range(1, 5)]


def test_terminal_output_shows_control_characters_as_escapes():
    report = ingest_bytes(make_corpus.control_characters(), "控制符.xlsx")
    lines = [format_problem(p) for p in report.problems]
    assert not any(ch in line for line in lines for ch in "\x00\x1b\u202e")
    assert any("\\x1b[31m第二党支部" in line for line in lines)


def test_a_formula_keeps_its_cached_value():
    report = ingest_bytes(make_corpus.formula_errors(), "公式.xlsx")
    first = report.records.set_index("org_name").loc["第1党支部"]
    assert first["members_total"] == 10  # =5+5


XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.mark.parametrize(
    ("name", "fragment"),
    [("far_corner_cell.xlsx", "超出内存上限"), ("zip_bomb.xlsx", "压缩炸弹"), ("formula_errors.xlsx", "公式计算出错")],
)
def test_upload_page_shows_why_a_hostile_file_is_refused_and_loads_nothing(name: str, fragment: str, db_path: Path):
    from streamlit.testing.v1 import AppTest

    from tests.sessions import as_user

    at = as_user(AppTest.from_file(str(ROOT / "app.py"), default_timeout=60))
    at.run()
    at.switch_page("pages/upload.py")
    at.run()
    at.file_uploader(key="files").upload(name, make_corpus.CASES[name](), XLSX_MIME)
    at.run()
    assert not at.exception, at.exception
    # a file that cannot be read at all says so in one message of its own; one read in part lists its problems
    said = [e.value for e in at.error] + [
        message for d in at.dataframe if "问题说明" in d.value for message in d.value["问题说明"]
    ]
    assert any(fragment in message for message in said), said
    assert not at.button
    with store.connect(db_path) as con:
        assert batches.history(con).empty


def _abort() -> None:
    os.abort()


def _sleep(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


def _fail() -> None:
    raise ValueError("读不了")


def test_a_reader_that_crashes_or_hangs_ends_only_its_child():
    with pytest.raises(LimitExceeded) as crashed:
        run_limited(_abort)
    assert crashed.value.kind == "crash"  # killed by SIGABRT, as a Rust panic in calamine ends
    with pytest.raises(LimitExceeded) as hung:
        run_limited(_sleep, 5, seconds=0.5)
    assert hung.value.kind == "time"
    with pytest.raises(ValueError, match="读不了"):
        run_limited(_fail)
    assert run_limited(_sleep, 0) == 0


def test_two_uploads_read_at_once_do_not_wait_for_each_other():
    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=2) as pool:
        slow = pool.submit(run_limited, _sleep, 2.0)
        time.sleep(0.1)
        fast = pool.submit(lambda: (run_limited(_sleep, 0.1), time.monotonic() - start))
        assert fast.result()[1] < 1.5
        assert slow.result() == 2.0
