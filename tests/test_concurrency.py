"""Concurrency: readers during a commit, uploads at once, the app and the CLI on one file, a bounded load test."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from unittest.mock import MagicMock, patch

import pytest
from streamlit.testing.v1 import AppTest

from analytics.accounts import access, audit, auth
from analytics.ingest.records import ingest_bytes
from analytics.scoring import terms
from analytics.scoring import views as dashboard
from analytics.scoring.rubric import load_rubric
from analytics.store import batches
from analytics.store import database as store
from tests.helpers import same_state, snapshot
from tests.records import QUARTER_TITLES, csv_bytes, org
from tests.server import healthy, streamlit_server
from tests.sessions import browser_sign_in

pytestmark = (
    pytest.mark.slow
)  # many sessions, processes and a real server at once: `make test` runs them, `make test-fast` does not

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "correct-horse-1"
CHROMIUM = "/usr/bin/chromium"


def upload(name: str, rows: list[dict], quarter: str = "2024Q1") -> tuple[str, bytes]:
    return name, csv_bytes(rows, QUARTER_TITLES[quarter])


def seed(path: Path, organizations: int, quarters=("2024Q1",)) -> None:
    """Organizations 0..n-1 in each quarter, plus a leader and an analyst account."""
    with store.connect(path) as con:
        for q in quarters:
            name, data = upload(f"seed-{q}.csv", [org(i, unit=i % 20) for i in range(organizations)], q)
            batches.load_batch(con, ingest_bytes(data, name), data, "seed")
        auth.add_user(con, "领导", PASSWORD, "leader", actor="tests")
        auth.add_user(con, "分析员", PASSWORD, "analyst", actor="tests")


def account(path: Path, name: str) -> auth.User:
    with store.connect(path) as con:
        return auth.current(con, name)


def load_as(path: Path, user: auth.User, name: str, data: bytes) -> batches.LoadResult:
    """What the upload page does on 确认载入: its own connection, validated report, access.load_as."""
    with store.connect(path) as con:
        return access.load_as(con, user, [(ingest_bytes(data, name), data)])[0]


def sequential(seed_file: Path, uploads: dict[str, bytes], final: Path, uploader: str, folder: Path) -> dict:
    """The second method: the uploads that landed in FINAL, applied one after another in batch order."""
    with store.connect(final) as con:
        landed = batches.history(con)
    order = landed.loc[landed["uploader"] == uploader, "file"].tolist()
    copy = folder / "sequential.duckdb"
    shutil.copy(seed_file, copy)
    with store.connect(copy) as con:
        for name in order:
            batches.load_batch(con, ingest_bytes(uploads[name], name), uploads[name], uploader)
    return snapshot(copy)


# --- opening a new or older file from several sessions at once -------------------------------------


@pytest.mark.parametrize("old_version", [0, 1], ids=["new file", "version 1 file"])
def test_sessions_opening_a_file_at_once_find_it_migrated_once(tmp_path: Path, monkeypatch, old_version):
    path = tmp_path / "d.duckdb"
    if old_version:
        with monkeypatch.context() as old_program:
            old_program.setattr(store, "SCHEMA_VERSION", old_version)
            with store.connect(path) as con:
                con.execute("SELECT 1")
    errors, versions = [], []
    start = threading.Barrier(8)

    def open_it():
        start.wait()
        try:
            with store.connect(path) as con:
                versions.append(store.schema_version(con))
        except Exception as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == [] and versions == [store.SCHEMA_VERSION] * 8


# --- (a) readers while an upload commits ----------------------------------------------------------


def test_readers_scoring_while_an_upload_commits_see_the_old_or_the_new_state(db_path: Path, tmp_path: Path):
    seed(db_path, 2000, quarters=("2024Q1", "2024Q2"))
    rubric = load_rubric()
    name, data = upload("q2.csv", [org(i, unit=i % 20, theme_days=0) for i in range(2500)], "2024Q2")
    with store.connect(db_path) as con:
        old = dashboard.all_scores(con, rubric)
    after = tmp_path / "after.duckdb"
    shutil.copy(db_path, after)
    with store.connect(after) as con:
        batches.load_batch(con, ingest_bytes(data, name), data, "分析员")
        new = dashboard.all_scores(con, rubric)
    assert not old.equals(new)

    reads, errors, window, done = [], [], {}, threading.Event()

    def reader():
        after_commit = 0
        deadline = time.monotonic() + 60
        while after_commit < 2 and time.monotonic() < deadline:
            began = time.monotonic()
            try:
                with store.connect(db_path) as con:
                    frame = dashboard.all_scores(con, rubric)
            except Exception as exc:  # collected and asserted below
                errors.append(exc)
                return
            seen = "old" if frame.equals(old) else "new" if frame.equals(new) else "mixed"
            reads.append((began, time.monotonic(), seen))
            after_commit += done.is_set()

    def uploader():
        while len(reads) < 4:  # every reader is busy before the upload starts
            time.sleep(0.01)
        window["start"] = time.monotonic()
        load_as(db_path, account(db_path, "分析员"), name, data)
        window["end"] = time.monotonic()
        done.set()

    threads = [threading.Thread(target=reader) for _ in range(4)] + [threading.Thread(target=uploader)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=90)
    assert errors == []
    seen = [r[2] for r in reads]
    assert "mixed" not in seen and {"old", "new"} <= set(seen), seen
    overlapping = [r for r in reads if r[0] < window["end"] and r[1] > window["start"]]
    assert overlapping, "no read ran while the upload was committing"
    print(
        f"{len(reads)} reads ({seen.count('old')} old, {seen.count('new')} new), {len(overlapping)} during the upload"
    )


# --- (b) two uploads of the same quarter at once --------------------------------------------------


def overlapping_uploads(count: int, quarter: str = "2024Q1") -> dict[str, bytes]:
    """Upload k changes organizations 50k..50k+149 (they overlap: order matters) and adds 10 of its own."""
    out = {}
    for k in range(count):
        rows = [org(i, unit=i % 20, theme_days=k + 1) for i in range(50 * k, 50 * k + 150)]
        rows += [org(10_000 + 10 * k + j, unit=7) for j in range(10)]
        out.update([upload(f"upload-{k}.csv", rows, quarter)])
    return out


def test_two_cli_ingests_of_one_quarter_at_once_both_land_as_if_one_after_the_other(tmp_path: Path):
    db, seed_file = tmp_path / "d.duckdb", tmp_path / "seed.duckdb"
    seed(db, 300)
    shutil.copy(db, seed_file)
    files = overlapping_uploads(2)
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "analytics", "ingest", str(tmp_path / name), "--db", str(db)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in files
    ]
    outputs = [p.communicate(timeout=60) for p in procs]
    for p, (_, err) in zip(procs, outputs, strict=True):
        assert p.returncode == 0 or "另一个上传" in err or "占用" in err, err
        assert "Traceback" not in err and "locked" not in err.lower()
    landed = [name for p, name in zip(procs, files, strict=True) if p.returncode == 0]
    assert landed, outputs
    assert same_state(snapshot(db), sequential(seed_file, files, db, "cli", tmp_path))
    print("exit codes", [p.returncode for p in procs])


def test_two_page_uploads_of_one_quarter_at_once_both_land_as_if_one_after_the_other(db_path: Path, tmp_path: Path):
    seed(db_path, 300)
    seed_file = tmp_path / "seed.duckdb"
    shutil.copy(db_path, seed_file)
    files = overlapping_uploads(2)
    analyst, results, errors = account(db_path, "分析员"), [], []
    start = threading.Barrier(len(files))

    def page_upload(name: str, data: bytes) -> None:
        start.wait()
        try:
            results.append(load_as(db_path, analyst, name, data))
        except store.StoreError as exc:  # collected: only the "try again" message may reach a person
            errors.append(exc)

    threads = [threading.Thread(target=page_upload, args=item) for item in files.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(results) + len(errors) == 2 and results
    assert all("另一个上传" in str(e) for e in errors), errors
    assert same_state(snapshot(db_path), sequential(seed_file, files, db_path, "分析员", tmp_path))
    with store.connect(db_path) as con:
        assert len(audit.events(con, action="upload")) == len(results)


def test_term_overrides_saved_while_uploads_commit_all_land(db_path: Path):
    seed(db_path, 40)
    with store.connect(db_path) as con:
        version = store.data_version(con)
    analyst, errors = account(db_path, "分析员"), []
    start = threading.Barrier(3 + 20)

    def page_upload(k: int) -> None:
        name, data = upload(f"u{k}.csv", [org(i, unit=i % 20, theme_days=k) for i in range(2000)])
        start.wait()
        try:
            load_as(db_path, analyst, name, data)
        except Exception as exc:  # collected and asserted below
            errors.append(exc)

    def term(i: int) -> None:
        start.wait()
        try:
            with store.connect(db_path) as con:  # both bump data_version: the same row as every load
                terms.set_term_years(con, f"系统{i % 20 % 3}", f"单位{i % 20}", f"第{i}党支部", 3)
        except Exception as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=page_upload, args=(k,)) for k in range(3)]
    threads += [threading.Thread(target=term, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    with store.connect(db_path) as con:
        assert store.data_version(con) == version + 3 + 20  # every change counted once: none lost
        assert len(terms.term_overrides(con)) == 20 and len(batches.history(con)) == 1 + 3


def test_an_ingest_that_waits_too_long_for_the_file_is_told_in_chinese_and_changes_nothing(tmp_path: Path):
    db = tmp_path / "d.duckdb"
    seed(db, 20)
    before = snapshot(db)
    name, data = upload("late.csv", [org(i, unit=i % 20, theme_days=0) for i in range(30)])
    (tmp_path / name).write_bytes(data)
    env = os.environ | {"DANGJIAN_LOCK_WAIT_SECONDS": "1"}
    with store.connect(db):  # another process (this one) keeps the file open for longer than the wait
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "analytics", "ingest", str(tmp_path / name), "--db", str(db)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        waited = time.monotonic() - started
    assert done.returncode == 1 and "文件被其他程序占用" in done.stderr and "请稍后再试" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and waited >= 1
    assert same_state(snapshot(db), before)
    retried = subprocess.run(
        [sys.executable, "-m", "analytics", "ingest", str(tmp_path / name), "--db", str(db)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert retried.returncode == 0 and len(snapshot(db)["quarters"]["2024Q1"]) == 30


# --- (c) a real server and the CLI on one file ----------------------------------------------------

LEADER_PAGES = {
    "总览": "总览",
    "标准化建设": "支部标准化建设",
    "党建业务融合": "党建与业务融合",
    "单位不平衡": "不平衡分析",
}


def run_ingests(db: Path, paths: list[Path], report: list) -> None:
    for path in paths:
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "analytics", "ingest", str(path), "--db", str(db)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        report.append((path.name, done.returncode, done.stderr, time.monotonic() - started))


@pytest.mark.browser
@pytest.mark.skipif(not shutil.which(CHROMIUM), reason="system chromium is installed by .ci/run")
def test_the_cli_ingests_while_a_real_server_serves_leader_pages_to_a_browser(tmp_path: Path):
    from playwright.sync_api import expect, sync_playwright

    db, seed_file, log = tmp_path / "d.duckdb", tmp_path / "seed.duckdb", tmp_path / "server.log"
    seed(db, 500)
    shutil.copy(db, seed_file)
    files = overlapping_uploads(2) | dict([upload("q2.csv", [org(i, unit=i % 20) for i in range(530)], "2024Q2")])
    paths = []
    for name, data in files.items():
        paths.append(tmp_path / name)
        paths[-1].write_bytes(data)
    ingests, rendered, health = [], [], []
    with streamlit_server(db, log) as url, sync_playwright() as p:
        browser, page = browser_sign_in(p, url, "领导", PASSWORD)
        idle = page.locator("[data-testid=stApp][data-test-script-state=notRunning]")
        expect(page.get_by_role("heading", name="2024Q1 总览")).to_be_visible(timeout=60_000)
        cli = threading.Thread(target=run_ingests, args=(db, paths, ingests))
        cli.start()
        rounds = 0
        while cli.is_alive() or rounds < 1:
            rounds += not cli.is_alive()
            for link, heading in LEADER_PAGES.items():
                page.get_by_role("link", name=link).click()
                expect(page.get_by_role("heading", name=heading).first).to_be_visible(timeout=60_000)
                expect(idle).to_be_visible(timeout=60_000)
                assert page.get_by_test_id("stException").count() == 0, page.inner_text("body")
                assert "无法打开数据库" not in page.inner_text("body")
                rendered.append(link)
                health.append(healthy(url))
        cli.join(timeout=120)
        page.get_by_role("link", name="总览").click()  # the quarter chosen in the sidebar (2024Q1) is kept
        expect(page.get_by_role("heading", name="2024Q1 总览")).to_be_visible(timeout=60_000)
        organizations = page.get_by_test_id("stMetric").filter(has_text="参评党组织")
        expect(organizations.get_by_test_id("stMetricValue")).to_have_text("520 个")  # 500 + 10 new per upload
        browser.close()
    server_output = log.read_text(errors="replace")
    print(
        f"pages rendered {len(rendered)}; ingests (name, exit, seconds):",
        [(n, rc, round(s, 2)) for n, rc, _, s in ingests],
    )
    assert [rc for _, rc, _, _ in ingests] == [0, 0, 0], ingests
    assert all("Traceback" not in err and "locked" not in err.lower() for _, _, err, _ in ingests)
    assert "Traceback" not in server_output and "locked" not in server_output.lower(), server_output
    assert all(health) and len(rendered) >= len(LEADER_PAGES)
    assert same_state(snapshot(db), sequential(seed_file, files, db, "cli", tmp_path))


# --- (d) a bounded load test: 20 page sessions and 4 uploads at once -------------------------------

SESSIONS, UPLOADS, LOAD_LIMIT_SECONDS = 20, 4, 90
SESSION_PAGES = {
    "standardization": "支部标准化建设",
    "integration": "党建与业务融合",
    "imbalance": "不平衡分析",
    "alerts": "预警",
    "branch": "支部画像",
}


@contextlib.contextmanager
def one_server_runtime():
    """AppTest swaps process globals on every run (the Runtime singleton, a config patch, a fresh script
    cache): right for one session, racy for twenty. Set them once for all sessions, as the single
    `streamlit run` process has them: one runtime, one st.cache_data store, one script cache.

    This patches AppTest's module internals (Runtime, ScriptCache, patch_config_options), which no public API
    exposes; constraints.txt pins the Streamlit it was written for, and a changed internal fails this test
    loudly rather than passing."""
    from streamlit.components.v2.component_manager import BidiComponentManager
    from streamlit.runtime import Runtime
    from streamlit.runtime.caching.storage.dummy_cache_storage import MemoryCacheStorageManager
    from streamlit.runtime.dataframe_source_manager import DataframeSourceManager
    from streamlit.runtime.media_file_manager import MediaFileManager
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
    from streamlit.testing.v1 import app_test, local_script_runner
    from streamlit.testing.v1.util import patch_config_options

    runtime = MagicMock(spec=Runtime)
    runtime.media_file_mgr = MediaFileManager(MemoryMediaFileStorage("/mock/media"))
    runtime.dataframe_source_mgr = DataframeSourceManager()
    runtime.cache_storage_manager = MemoryCacheStorageManager()
    runtime.bidi_component_registry = BidiComponentManager()
    scripts = app_test.ScriptCache()

    class PerRunRuntime(Runtime):
        """Where AppTest's per-run swap lands, leaving the shared runtime in place."""

    with (
        patch.object(Runtime, "_instance", runtime),
        patch.object(app_test, "Runtime", PerRunRuntime),
        patch.object(app_test, "ScriptCache", lambda: scripts),
        # the runner's own cache too: twenty caches compiling the same page at once in threads meet CPython 3.11's
        # thread-unsafe AST validator ("SystemError: AST constructor recursion depth mismatch", gh-106905); the
        # server has one cache, whose lock compiles each page once
        patch.object(local_script_runner, "ScriptCache", lambda: scripts),
        patch.object(app_test, "patch_config_options", lambda _options: contextlib.nullcontext()),
        patch_config_options({"global.appTest": True}),
    ):
        yield


def organizations_shown(at: AppTest) -> int:
    value = next(m.value for m in at.metric if m.label == "参评党组织")
    return int(value.removesuffix(" 个"))


@pytest.mark.slow
def test_twenty_page_sessions_and_four_uploads_at_once_all_succeed_and_end_as_the_sequential_result(
    db_path: Path, tmp_path: Path
):
    seed(db_path, 400, quarters=("2024Q1", "2024Q2"))
    seed_file = tmp_path / "seed.duckdb"
    shutil.copy(db_path, seed_file)
    files = overlapping_uploads(UPLOADS, "2024Q2")
    leader, analyst = account(db_path, "领导"), account(db_path, "分析员")
    possible = {400 + 10 * k for k in range(UPLOADS + 1)}  # 2024Q2 after 0..4 uploads: each adds 10
    sessions, uploads, errors = [], [], []
    start = threading.Barrier(SESSIONS + UPLOADS)

    def session(k: int) -> None:
        page = list(SESSION_PAGES)[k % len(SESSION_PAGES)]
        try:
            at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=LOAD_LIMIT_SECONDS)
            at.session_state["user"] = leader
            at.session_state["last_seen"] = time.time()
            start.wait()
            seen = [organizations_shown(at.run())]
            at.switch_page(f"pages/{page}.py").run()
            titles = [t.value for t in at.title]
            at.switch_page("pages/overview.py").run()
            seen.append(organizations_shown(at))
            sessions.append((k, page, titles, seen, [e.value for e in at.exception]))
        except Exception as exc:  # collected and asserted below
            errors.append((k, exc))

    def uploader(k: int, name: str, data: bytes) -> None:
        start.wait()
        time.sleep(1.5 * k)  # spread over the sessions' runs
        try:
            uploads.append(load_as(db_path, analyst, name, data))
        except Exception as exc:  # collected and asserted below
            errors.append((name, exc))

    began = time.monotonic()
    threads = [threading.Thread(target=session, args=(k,)) for k in range(SESSIONS)]
    threads += [threading.Thread(target=uploader, args=(k, *item)) for k, item in enumerate(files.items())]
    with one_server_runtime():
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=max(1.0, LOAD_LIMIT_SECONDS - (time.monotonic() - began)))
    elapsed = time.monotonic() - began
    assert not any(t.is_alive() for t in threads), "the load test did not finish in time"
    assert errors == [] and len(sessions) == SESSIONS and len(uploads) == UPLOADS, errors
    for k, page, titles, seen, exceptions in sessions:
        assert exceptions == [], (k, page, exceptions)
        assert any(SESSION_PAGES[page] in t for t in titles), (k, page, titles)
        assert set(seen) <= possible and seen[0] <= seen[1], (k, seen)  # a state some prefix of uploads left
    assert same_state(snapshot(db_path), sequential(seed_file, files, db_path, "分析员", tmp_path))
    with store.connect(db_path) as con:
        assert len(store.quarter_records(con, "2024Q2")) == max(possible)
        assert len(audit.events(con, action="upload")) == UPLOADS
    shown = sorted({n for *_, seen, _ in sessions for n in seen})
    print(f"{SESSIONS} sessions + {UPLOADS} uploads in {elapsed:.1f} s; 2024Q2 organizations shown: {shown}")
    assert elapsed < LOAD_LIMIT_SECONDS


def test_page_runs_share_one_opening_of_the_file_and_free_it_after_a_quiet_moment(db_path: Path, monkeypatch):
    """store.held keeps the database instance open LINGER seconds after a page run (issue 20: opening and closing
    it cost about 20 ms of CPU a run): runs in a row share one opening; once quiet, another process gets the file."""
    monkeypatch.setenv("DANGJIAN_LINGER_SECONDS", "3")
    with store.connect(db_path):
        pass
    target = str(db_path)
    probe = [sys.executable, "-c", "import duckdb, sys; duckdb.connect(sys.argv[1]).close()", target]
    with store.held(db_path), store.connect(db_path) as con:
        con.execute("SELECT 1").fetchall()
    first = store._ANCHORS._open[target]
    with store.held(db_path), store.connect(db_path) as con:  # the next run, at once: the same instance
        con.execute("SELECT 1").fetchall()
    assert store._ANCHORS._open[target] is first
    locked = subprocess.run(probe, capture_output=True, text=True)
    assert locked.returncode != 0 and "lock" in locked.stderr.lower()  # still open during the quiet moment
    time.sleep(3.5)
    assert target not in store._ANCHORS._open
    assert subprocess.run(probe, capture_output=True).returncode == 0  # then free for the CLI
