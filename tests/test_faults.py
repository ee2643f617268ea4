"""Faults: a file of the older schema, a process killed mid-ingest, a read-only data directory, a full disk."""

from __future__ import annotations

import ctypes
import json
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from analytics.accounts import access, auth
from analytics.ingest.records import ingest_bytes
from analytics.store import audit_chain, batches
from analytics.store import database as store
from tests.helpers import cli, same_state, snapshot
from tests.records import csv_bytes, load, org

# Killed processes, full disks, read-only directories: `make test` runs them, `make test-fast` does not
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent


def leader_overview(db: Path, user: auth.User, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    """The 总览 page as a signed-in leader on DB; the app is the first to open the file."""
    monkeypatch.setenv("DANGJIAN_DB", str(db))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.session_state["user"] = user
    at.session_state["last_seen"] = time.time()
    return at.run()


# --- 1. an older schema ----------------------------------------------------------------------------


def raw_tables(path: Path) -> dict[str, pd.DataFrame]:
    """Every row of every v1 table, history included, in a fixed order; records without the columns v5 added."""
    order = {"records": "batch_id, org_id", "organizations": "org_id", "batches": "batch_id", "batch_files": "batch_id"}
    with store.connect(path) as con:
        tables = {t: con.execute(f"SELECT * FROM {t} ORDER BY {o}").df() for t, o in order.items()}
    for table in ("records", "organizations"):
        added = [c for c in V5_COLUMNS if c in tables[table]]
        assert tables[table][added].isna().all().all()  # rows written before v5 hold no value there
        tables[table] = tables[table].drop(columns=added)
    return tables


# schema_v5.sql: columns a program before version 5 did not write (records, organizations)
V5_COLUMNS = ("org_category", "term_delay_until", "term_delay_by")


def without_v5(state: dict) -> dict:
    """A snapshot as a program before version 5 shows it: the quarters' dumps without the columns v5 added."""
    quarters = {}
    for quarter, frame in state["quarters"].items():
        added = [c for c in V5_COLUMNS if c in frame]
        assert frame[added].isna().all().all()
        quarters[quarter] = frame.drop(columns=added)
    return state | {"quarters": quarters}


def as_old_program(old_program: pytest.MonkeyPatch, version: int) -> None:
    """The store as a program of schema VERSION had it: that version, and only the record columns it wrote."""
    columns = store.value_columns()
    old_program.setattr(store, "SCHEMA_VERSION", version)
    if version < 7:  # audit rows as the program before the hash chain wrote them
        old_program.setattr(audit_chain, "append", _unchained_append)
    if version < 5:
        old_program.setattr(store, "value_columns", lambda: [c for c in columns if c not in V5_COLUMNS])
    if version < 8:  # the dump as the program before current_records.unit_name read it
        old_program.setattr(store, "quarter_records", _dump_before_v8)


def _dump_before_v8(con, quarter: str) -> pd.DataFrame:
    names = ", ".join(["system", "unit", "org_name", *store.value_columns()])
    return con.execute(
        f"SELECT {names} FROM current_records WHERE quarter = $q ORDER BY system, unit, org_name", {"q": quarter}
    ).df()


def _unchained_append(con, occurred_at, user, action, detail) -> None:
    con.execute(
        "INSERT INTO audit_log (occurred_at, user_name, action, detail) VALUES ($at, $user, $action, $detail)",
        {"at": occurred_at, "user": user, "action": action, "detail": detail},
    )


def tables(path: Path) -> set[str]:
    with store.connect(path) as con:
        return {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}


def test_a_version_1_file_is_migrated_to_the_current_version_without_losing_a_row(tmp_path: Path, monkeypatch):
    path = tmp_path / "v1.duckdb"
    with monkeypatch.context() as old_program:
        as_old_program(old_program, 1)
        with store.connect(path) as con:
            load(con, [org(i, unit=i % 3) for i in range(8)], name="q1.csv")
            load(con, [org(2, theme_days=0), org(9)], name="q1b.csv")  # replaces a row, keeps it in history
            load(con, [org(i) for i in range(5)], "2024Q2", name="q2.csv")
            wrong = load(con, [org(3, members_total=99)], name="wrong.csv")
            batches.rollback(con, wrong.batch_id, "tester")
            assert store.schema_version(con) == 1
        assert "users" not in tables(path)
        before, raw_before = snapshot(path), raw_tables(path)

    with store.connect(path) as con:
        assert store.schema_version(con) == store.SCHEMA_VERSION == 9
        version = store.data_version(con)
    assert {
        "users",
        "audit_log",
        "rubric_versions",
        "derived",
        "header_mappings",
        "web_sessions",
        "rectifications",
    } <= tables(path)
    assert same_state(without_v5(snapshot(path)), before)
    for table, frame in raw_tables(path).items():
        pd.testing.assert_frame_equal(frame, raw_before[table], obj=table)
    assert before["counts"]["records"] == 8 + 2 + 5 + 1  # every row ever loaded, the replaced ones too

    asked: list[str] = []
    original_sql = store.sql
    monkeypatch.setattr(store, "sql", lambda name: asked.append(name) or original_sql(name))
    with store.connect(path) as con:
        assert store.schema_version(con) == store.SCHEMA_VERSION and store.data_version(con) == version
    assert not [name for name in asked if name.startswith("schema_v")]  # the second open is a no-op


def test_a_version_2_file_gains_the_kept_results_table_and_keeps_every_row(tmp_path: Path, monkeypatch):
    path = tmp_path / "v2.duckdb"
    with monkeypatch.context() as old_program:
        as_old_program(old_program, 2)
        with store.connect(path) as con:
            load(con, [org(i, unit=i % 3) for i in range(6)], name="q1.csv")
            auth.add_user(con, "管理员", "correct-horse-1", "admin", actor="tests")
            assert store.schema_version(con) == 2
        assert "derived" not in tables(path)
        before, raw_before = snapshot(path), raw_tables(path)
        with store.connect(path) as con:
            users_before = con.execute("SELECT * FROM users").df()
    with store.connect(path) as con:
        assert store.schema_version(con) == store.SCHEMA_VERSION == 9
        assert con.execute("SELECT count(*) FROM derived").fetchall() == [(0,)]
        assert con.execute("SELECT count(*) FROM web_sessions").fetchall() == [(0,)]
        assert con.execute("SELECT count(*) FROM header_mappings").fetchall() == [(0,)]
        pd.testing.assert_frame_equal(con.execute("SELECT * FROM users").df(), users_before)
        assert audit_chain.verify(con).intact and audit_chain.verify(con).rows >= 1  # the old rows, chained
    assert same_state(without_v5(snapshot(path)), before)
    for table, frame in raw_tables(path).items():
        pd.testing.assert_frame_equal(frame, raw_before[table], obj=table)


def test_the_migrated_file_takes_accounts_and_audited_uploads(tmp_path: Path, monkeypatch):
    path = tmp_path / "v1.duckdb"
    with monkeypatch.context() as old_program:
        as_old_program(old_program, 1)
        with store.connect(path) as con:
            load(con, [org(1), org(2)])
    data = csv_bytes([org(2, theme_days=0), org(3)])
    with store.connect(path) as con:
        admin = auth.add_user(con, "管理员", "correct-horse-1", "admin", actor="tests")
        [result] = access.load_as(con, admin, [(ingest_bytes(data, "g.csv"), data)])
        assert (result.batch_id, result.new, result.changed, result.unchanged) == (2, 1, 1, 0)
        assert len(store.quarter_records(con, "2024Q1")) == 3
        assert con.execute("SELECT count(*) FROM audit_log WHERE action = 'upload'").fetchall()[0][0] == 1


def test_a_file_from_a_newer_schema_is_refused_in_chinese_by_the_library_and_the_cli(tmp_path: Path):
    path = tmp_path / "new.duckdb"
    with store.connect(path) as con:
        load(con, [org(1)])
        con.execute("UPDATE meta SET value = $v WHERE key = 'schema_version'", {"v": str(store.SCHEMA_VERSION + 1)})
    newer, ours = store.SCHEMA_VERSION + 1, store.SCHEMA_VERSION
    with (
        pytest.raises(store.StoreError, match=rf"数据库版本（{newer}）比本程序（{ours}）新，请升级程序"),
        store.connect(path),
    ):
        pass
    done = cli("batches", db=path)
    assert done.returncode == 1 and "比本程序" in done.stderr and "Traceback" not in done.stderr
    with duckdb.connect(str(path)) as con:  # left as it was: nothing was migrated "down"
        assert con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall() == [
            (str(store.SCHEMA_VERSION + 1),)
        ]


# --- 2. a process killed in the middle of an ingest --------------------------------------------------

KILL_SEED = 8
RANDOM_KILLS = 6  # spread over the whole run, one in each sixth
COMMIT_KILLS = 3  # right after the write-ahead log appears: the commit itself is being written
BEFORE_ROWS, UPLOAD_ROWS = 10_000, 30_000


@pytest.fixture(scope="module")
def kill_files(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A file with one quarter loaded, an upload that changes a third and adds two thirds, and both dumps."""
    folder = tmp_path_factory.mktemp("kill")
    before = folder / "before.duckdb"
    data = csv_bytes([org(i, unit=i % 40) for i in range(BEFORE_ROWS)])
    with store.connect(before) as con:
        batches.load_batch(con, ingest_bytes(data, "seed.csv"), data, "seed")
        leader = auth.add_user(con, "领导", "correct-horse-1", "leader", actor="tests")
    upload = folder / "2024年第一季度报表.csv"
    upload.write_bytes(csv_bytes([org(i, unit=i % 40, theme_days=1) for i in range(UPLOAD_ROWS)]))
    after = folder / "after.duckdb"
    shutil.copy(before, after)
    started = time.monotonic()
    done = cli("ingest", str(upload), db=after)
    runtime = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    return {
        "folder": folder, "before": before, "upload": upload, "leader": leader, "runtime": runtime,
        "before_state": snapshot(before), "after_state": snapshot(after),
    }  # fmt: skip


def _kill_at(files: dict, work: Path, delay: float, after_wal: bool) -> dict:
    """Run the CLI ingest on a fresh copy of the before file and SIGKILL it; what was happening then."""
    for leftover in (work, work.with_name(work.name + ".wal")):
        leftover.unlink(missing_ok=True)
    shutil.copy(files["before"], work)
    wal = work.with_name(work.name + ".wal")
    proc = subprocess.Popen(
        [sys.executable, "-m", "analytics", "ingest", str(files["upload"]), "--db", str(work)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    start = time.monotonic()
    if after_wal:
        while proc.poll() is None and not wal.exists() and time.monotonic() - start < 60:
            time.sleep(0.0005)
    time.sleep(delay)
    alive = proc.poll() is None
    open_then = alive and _has_open(proc.pid, work)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    return {"alive": alive, "db_open": open_then, "wal_bytes": wal.stat().st_size if wal.exists() else None}


def _has_open(pid: int, path: Path) -> bool:
    fds = Path(f"/proc/{pid}/fd")
    try:
        return any(os.readlink(fds / fd) == str(path) for fd in os.listdir(fds))
    except OSError:
        return False


def kill_plan(runtime: float) -> list[tuple[float, bool]]:
    """(delay, after_wal): seeded random points, one in each sixth of a clean run, then some inside the commit."""
    rng = random.Random(KILL_SEED)
    spread = [(runtime * (k + rng.random()) / RANDOM_KILLS, False) for k in range(RANDOM_KILLS)]
    commit = [(0.005 * k + 0.005 * rng.random(), True) for k in range(COMMIT_KILLS)]
    return spread + commit


@pytest.mark.slow
def test_a_killed_ingest_leaves_the_file_as_before_or_as_after_and_the_app_opens_it(kill_files, monkeypatch):
    before, after = kill_files["before_state"], kill_files["after_state"]
    assert not same_state(before, after)
    shown = {len(before["quarters"]["2024Q1"]), len(after["quarters"]["2024Q1"])}
    outcomes = []
    for delay, after_wal in kill_plan(kill_files["runtime"]):
        work = kill_files["folder"] / "work.duckdb"
        what = _kill_at(kill_files, work, delay, after_wal)
        at = leader_overview(work, kill_files["leader"], monkeypatch)
        assert not at.exception, at.exception
        organizations = next(m.value for m in at.metric if m.label == "参评党组织")
        state = snapshot(work)
        outcome = "before" if same_state(state, before) else "after" if same_state(state, after) else "in between"
        outcomes.append((round(delay, 3), after_wal, what, outcome))
        assert outcome != "in between", outcomes
        assert organizations == f"{len(state['quarters']['2024Q1'])} 个" and int(organizations[:-2]) in shown
    print(f"clean run {kill_files['runtime']:.2f} s; kills:", *outcomes, sep="\n  ")
    assert {o[-1] for o in outcomes} == {"before", "after"}  # the kills fell on both sides of the commit
    assert any(o[2]["db_open"] for o in outcomes)  # and some while the process had the file open


# --- 3. a read-only data directory and a full disk -------------------------------------------------

PR_CAPBSET_DROP = 24
CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER = 1, 2, 3
READ_ONLY = "只读"
DISK_FULL = "磁盘空间不足"
UNCHANGED = "未做任何更改"


def as_plain_user() -> None:
    """preexec_fn: give up the capabilities that let root write where file modes forbid it (tests run as root in CI)."""
    if os.geteuid() == 0:
        libc = ctypes.CDLL(None, use_errno=True)
        for cap in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER):
            libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)


def file_size_limit(limit: int):
    """preexec_fn: writes past LIMIT bytes fail with EFBIG, as they would on a full disk (Python ignores SIGXFSZ)."""
    return lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


@pytest.fixture
def read_only_dir(tmp_path: Path):
    """A data directory with mode r-x; skipped where this process cannot make its children respect that."""
    folder = tmp_path / "data"
    folder.mkdir()
    folder.chmod(0o555)
    probe = subprocess.run(
        [sys.executable, "-c", f"open({str(folder / 'probe')!r}, 'w')"], preexec_fn=as_plain_user, capture_output=True
    )
    try:
        if probe.returncode == 0:
            pytest.skip("root without CAP_SETPCAP: cannot drop the override of file modes here")
        yield folder
    finally:
        folder.chmod(0o755)


def seeded(path: Path, rows: int = 10) -> dict:
    with store.connect(path) as con:
        load(con, [org(i, unit=i % 3) for i in range(rows)])
        auth.add_user(con, "分析员", "correct-horse-1", "analyst", actor="tests")
    return snapshot(path)


def upload_file(tmp_path: Path, rows: int) -> Path:
    path = tmp_path / "2024年第一季度报表.csv"
    path.write_bytes(csv_bytes([org(i, unit=i % 3, theme_days=1) for i in range(rows)]))
    return path


def assert_told(done: subprocess.CompletedProcess, words: str) -> None:
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert words in done.stderr and UNCHANGED in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and "程序内部错误" not in done.stderr and "另一个上传" not in done.stderr


def test_a_new_database_in_a_read_only_directory_is_refused_by_the_cli_in_chinese(read_only_dir: Path, tmp_path):
    done = cli("ingest", str(upload_file(tmp_path, 3)), db=read_only_dir / "d.duckdb", preexec=as_plain_user)
    assert_told(done, READ_ONLY)
    done = cli("batches", db=read_only_dir / "sub" / "d.duckdb", preexec=as_plain_user)
    assert done.returncode == 1 and "无法创建数据目录" in done.stderr and READ_ONLY in done.stderr, done.stderr


def test_a_database_whose_directory_became_read_only_can_be_read_but_an_ingest_is_refused(read_only_dir, tmp_path):
    db = read_only_dir / "d.duckdb"
    read_only_dir.chmod(0o755)
    before = seeded(db)
    read_only_dir.chmod(0o555)
    assert_told(cli("ingest", str(upload_file(tmp_path, 5)), db=db, preexec=as_plain_user), READ_ONLY)
    listed = cli("batches", "--json", db=db, preexec=as_plain_user)
    assert listed.returncode == 0 and [b["file"] for b in json.loads(listed.stdout)] == ["f.csv"]
    assert same_state(snapshot(db), before)


def test_a_read_only_database_file_answers_every_read_command_and_refuses_changes(read_only_dir, tmp_path):
    """The issue-19 finding: on a read-only file system even `batches` and `dump` failed. A file the system will
    not let us write (here mode r--r--r-- in an r-x directory) is opened read-only by the read commands."""
    db = read_only_dir / "d.duckdb"
    read_only_dir.chmod(0o755)
    before = seeded(db)
    db.chmod(0o444)
    read_only_dir.chmod(0o555)
    try:
        listed = cli("batches", "--json", db=db, preexec=as_plain_user)
        assert listed.returncode == 0 and [b["file"] for b in json.loads(listed.stdout)] == ["f.csv"], listed.stderr
        dumped = cli("dump", "--quarter", "2024Q1", db=db, preexec=as_plain_user)
        assert dumped.returncode == 0 and len(dumped.stdout.strip().splitlines()) == 1 + 10, dumped.stderr
        scored = cli("scores", "--quarter", "2024Q1", "--format", "json", db=db, preexec=as_plain_user)
        assert scored.returncode == 0 and len(json.loads(scored.stdout)) == 10, scored.stderr
        verified = cli("audit", "verify", db=db, preexec=as_plain_user)
        assert verified.returncode == 0 and "审计日志完整" in verified.stdout, verified.stderr
        assert_told(cli("ingest", str(upload_file(tmp_path, 5)), db=db, preexec=as_plain_user), READ_ONLY)
        assert_told(cli("rollback", "1", db=db, preexec=as_plain_user), READ_ONLY)
    finally:
        read_only_dir.chmod(0o755)
        db.chmod(0o644)
    assert same_state(snapshot(db), before)


def test_a_parent_that_is_a_regular_file_gives_a_chinese_error_in_the_cli(tmp_path: Path):
    blocker = tmp_path / "data"
    blocker.write_text("not a directory")  # works for root too: no mode bits involved
    done = cli("ingest", str(upload_file(tmp_path, 3)), db=blocker / "d.duckdb")
    assert done.returncode == 1 and "无法创建数据目录" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize(
    "rows",
    [
        pytest.param(20_000, id="the write-ahead log fails at commit"),
        pytest.param(130_000, id="row groups written into the file before commit fail"),  # > 122,880 rows
    ],
)
def test_a_full_disk_fails_the_ingest_with_a_clear_message_and_leaves_the_file_unchanged(tmp_path: Path, rows):
    db = tmp_path / "d.duckdb"
    before = seeded(db)
    limit = db.stat().st_size + 64 * 1024  # either write needs megabytes
    assert_told(cli("ingest", str(upload_file(tmp_path, rows)), db=db, preexec=file_size_limit(limit)), DISK_FULL)
    assert same_state(snapshot(db), before)
    again = cli("ingest", str(upload_file(tmp_path, 12)), db=db)  # space is back: the file takes the next upload
    assert again.returncode == 0, again.stderr
    assert len(snapshot(db)["quarters"]["2024Q1"]) == 12


PAGE_SESSION = """
import json, sys, time
from streamlit.testing.v1 import AppTest
from analytics.accounts import auth
from analytics.store import database as store

app, upload, limit = sys.argv[1], sys.argv[2], int(sys.argv[3])
with store.connect() as con:
    user = auth.current(con, "分析员")
if limit:
    import resource
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
seen = {}
at = AppTest.from_file(app, default_timeout=120)
at.session_state["user"] = user
at.session_state["last_seen"] = time.time()
at.run()
seen["overview"] = {m.label: m.value for m in at.metric}
at.switch_page("pages/upload.py").run()
with open(upload, "rb") as f:
    at.file_uploader(key="files").upload(upload.rsplit("/", 1)[-1], f.read(), "text/csv")
at.run()
at.button(key="load").click().run()
seen["errors"] = [e.value for e in at.error]
seen["exceptions"] = [e.value for e in at.exception]
seen["success"] = [s.value for s in at.success]
print(json.dumps(seen, ensure_ascii=False))
"""


def page_session(db: Path, upload: Path, preexec=None, limit: int = 0) -> dict:
    """总览 then 数据上传 → 确认载入 as an analyst, in a child process (limits and capabilities are per process)."""
    done = subprocess.run(
        [sys.executable, "-c", PAGE_SESSION, str(ROOT / "app.py"), str(upload), str(limit)],
        cwd=ROOT,
        env=os.environ | {"DANGJIAN_DB": str(db)},
        capture_output=True,
        text=True,
        preexec_fn=preexec,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def test_the_upload_page_on_a_read_only_directory_shows_the_chinese_message(read_only_dir: Path, tmp_path):
    db = read_only_dir / "d.duckdb"
    read_only_dir.chmod(0o755)
    before = seeded(db)
    read_only_dir.chmod(0o555)
    seen = page_session(db, upload_file(tmp_path, 5), preexec=as_plain_user)
    assert seen["overview"]["参评党组织"] == "10 个"  # reading still works
    assert seen["exceptions"] == [] and seen["success"] == []
    assert any(READ_ONLY in e and UNCHANGED in e for e in seen["errors"]), seen
    assert same_state(snapshot(db), before)


def test_the_upload_page_on_a_full_disk_shows_the_chinese_message(tmp_path: Path):
    db = tmp_path / "d.duckdb"
    before = seeded(db)
    seen = page_session(db, upload_file(tmp_path, 20_000), limit=db.stat().st_size + 64 * 1024)
    assert seen["exceptions"] == [] and seen["success"] == []
    assert any(DISK_FULL in e and UNCHANGED in e for e in seen["errors"]), seen
    assert same_state(snapshot(db), before)


@pytest.mark.parametrize(
    ("address", "message"),
    [
        # nothing listens on port 1: the PostgreSQL store is chosen, and the server cannot be reached
        ("postgresql://dj:secret@127.0.0.1:1/dangjian", "无法连接 PostgreSQL 数据库 127.0.0.1:1/dangjian"),
        ("postgres://127.0.0.1:1/dangjian", "无法连接 PostgreSQL 数据库 127.0.0.1:1/dangjian"),
        ("mysql://localhost/dangjian", "不支持的数据库地址「mysql://…」"),
    ],
)
def test_a_database_url_that_is_not_reachable_or_not_postgresql_is_refused_in_chinese_and_creates_no_directory(
    tmp_path: Path, address: str, message: str
):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    by_option = subprocess.run(
        [sys.executable, "-m", "analytics", "batches", "--db", address], cwd=tmp_path, env=env,
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    by_variable = subprocess.run(
        [sys.executable, "-m", "analytics", "ingest", str(ROOT / "data" / "demo" / "2024Q4_区直机关党组织统计表.csv")],
        cwd=tmp_path, env=env | {"DANGJIAN_DB": address}, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    for run in (by_option, by_variable):
        assert run.returncode == 1 and message in run.stderr and "Traceback" not in run.stderr
        assert "secret" not in run.stderr  # the password in an address is never echoed
    assert list(tmp_path.iterdir()) == []  # before: a directory named "postgresql:" (the URL read as a path)
