"""The PostgreSQL store under many writers, servers, kills and restarts (issue 17), on real PostgreSQL servers."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from analytics.accounts import audit, auth
from analytics.ingest.records import ingest_bytes
from analytics.store import audit_chain, batches
from analytics.store import database as store
from tests import pg
from tests.helpers import cli, same_state, snapshot
from tests.records import QUARTER_TITLES, csv_bytes, org
from tests.server import streamlit_server
from tests.sessions import PASSWORD, browser_sign_in

pytestmark = pytest.mark.postgres
ROOT = Path(__file__).resolve().parent.parent
QUARTERS = ("2024Q1", "2024Q2")


def seed_files() -> dict[str, bytes]:
    """Two quarters of 200 organizations, then one extra batch per quarter (the two that will be rolled back)."""
    files = {}
    for q in QUARTERS:
        files[f"seed-{q}.csv"] = csv_bytes([org(i, unit=i % 10) for i in range(200)], QUARTER_TITLES[q])
    for k, q in enumerate(QUARTERS):
        rows = [org(500 + 20 * k + j, unit=3) for j in range(20)] + [org(190 + k, unit=(190 + k) % 10, theme_days=9)]
        files[f"extra-{q}.csv"] = csv_bytes(rows, QUARTER_TITLES[q])
    return files


def concurrent_files() -> dict[str, bytes]:
    """Eight uploads, four per quarter: each changes 20 organizations of the seed and adds 15 of its own.
    No two touch the same organization, so the end state does not depend on the order they commit in."""
    files = {}
    for k in range(8):
        q = QUARTERS[k % 2]
        rows = [org(i, unit=i % 10, theme_days=k + 1) for i in range(20 * k, 20 * k + 20)]
        rows += [org(1000 + 15 * k + j, unit=k % 4) for j in range(15)]
        files[f"upload-{k}-{q}.csv"] = csv_bytes(rows, QUARTER_TITLES[q])
    return files


def fill(target: Path | str, seed: dict[str, bytes]) -> None:
    with store.connect(target) as con:
        for name, data in seed.items():
            batches.load_batch(con, ingest_bytes(data, name), data, "seed")
        auth.add_user(con, "分析员", PASSWORD, "analyst", actor="tests")


def replay(folder: Path, seed: dict[str, bytes], uploads: dict[str, bytes], rolled_back: list[str]) -> dict:
    """The second method: the same work one step after another on a DuckDB file."""
    path = folder / "serial.duckdb"
    fill(path, seed)
    with store.connect(path) as con:
        for name, data in uploads.items():
            batches.load_batch(con, ingest_bytes(data, name), data, "serial")
        ids = batches.history(con).set_index("file")["id"]
        for name in rolled_back:
            batches.rollback(con, int(ids[name]), "serial")
    return snapshot(path)


def lane(commands: list[list[str]], url: str, out: list) -> None:
    """One CLI process after another, as an analyst at a terminal would run them."""
    for args in commands:
        run = subprocess.run(
            [sys.executable, "-m", "analytics", *args, "--db", url], cwd=ROOT, capture_output=True, text=True,
            timeout=300,
        )  # fmt: skip
        out.append((args, run.returncode, run.stdout, run.stderr))


def upload_in_browser(url: str, path: Path, errors: list) -> None:
    from playwright.sync_api import expect, sync_playwright

    from tests.test_browser import upload_on_the_page

    try:
        with sync_playwright() as p:
            browser, page = browser_sign_in(p, url, "分析员", PASSWORD)
            # two servers, four CLIs and two browsers share two cores with the rest of the suite: minutes, not seconds
            expect(page.get_by_role("link", name="数据上传")).to_be_visible(timeout=120_000)
            upload_on_the_page(page, path, timeout=120_000)
            browser.close()
    except Exception as exc:  # reported by the test with the server's log
        errors.append(f"{path.name}: {exc}")


@pytest.mark.browser
@pytest.mark.slow
def test_two_servers_and_four_clis_upload_and_roll_back_at_once_and_end_as_a_serial_replay(pg_db: str, tmp_path):
    seed, uploads = seed_files(), concurrent_files()
    fill(pg_db, seed)
    with store.connect(pg_db) as con:
        ids = batches.history(con).set_index("file")["id"]
    for name, data in uploads.items():
        (tmp_path / name).write_bytes(data)
    names = list(uploads)
    commands = [
        [["ingest", str(tmp_path / names[2])], ["rollback", str(ids["extra-2024Q1.csv"])]],
        [["ingest", str(tmp_path / names[3])], ["ingest", str(tmp_path / names[4])]],
        [["ingest", str(tmp_path / names[5])], ["rollback", str(ids["extra-2024Q2.csv"])]],
        [["ingest", str(tmp_path / names[6])], ["ingest", str(tmp_path / names[7])]],
    ]
    ran: list = []
    browser_errors: list[str] = []
    logs = [tmp_path / "server-a.log", tmp_path / "server-b.log"]
    with streamlit_server(pg_db, logs[0]) as url_a, streamlit_server(pg_db, logs[1]) as url_b:
        workers = [threading.Thread(target=lane, args=(c, pg_db, ran)) for c in commands]
        workers += [
            threading.Thread(target=upload_in_browser, args=(url, tmp_path / names[k], browser_errors))
            for k, url in enumerate((url_a, url_b))
        ]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
    assert browser_errors == [], browser_errors + [log.read_text(errors="replace")[-3000:] for log in logs]
    for args, code, out, err in ran:
        assert code == 0 and "Traceback" not in err, (args, out, err)
    rolled_back = ["extra-2024Q1.csv", "extra-2024Q2.csv"]
    expected, got = replay(tmp_path, seed, uploads, rolled_back), snapshot(pg_db)
    assert got["quarters"].keys() == expected["quarters"].keys()
    for q in expected["quarters"]:
        pd.testing.assert_frame_equal(got["quarters"][q], expected["quarters"][q])
    assert got["counts"] == expected["counts"]  # every row of history, every organization, batch and file
    with store.connect(pg_db) as con:
        history = batches.history(con)
        events = audit.events(con)
        verdict = audit_chain.verify(con)
    assert sorted(history.loc[history["status"] == "active", "file"]) == sorted([*seed.keys() - rolled_back, *names])
    assert sorted(history.loc[history["status"] == "rolled_back", "file"]) == sorted(rolled_back)
    uploaded = [json.loads(d)["file"] for d in events.loc[events["action"] == "upload", "detail"]]
    assert sorted(uploaded) == sorted(names)  # each upload audited once (the seed loaded below the audit)
    rollbacks = [json.loads(d)["batch"] for d in events.loc[events["action"] == "rollback", "detail"]]
    assert sorted(rollbacks) == sorted(int(ids[n]) for n in rolled_back)
    assert verdict.intact and verdict.rows == len(events)


def advisory_lock_held(url: str) -> bool:
    return bool(pg.rows(url, "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted"))


@pytest.mark.slow
def test_a_cli_killed_mid_upload_leaves_the_database_as_before_and_the_next_upload_lands(pg_db: str, tmp_path):
    fill(pg_db, {"seed.csv": csv_bytes([org(i, unit=i % 10) for i in range(300)])})
    before = snapshot(pg_db)
    big = tmp_path / "big.csv"
    big.write_bytes(csv_bytes([org(i, unit=i % 10, theme_days=3) for i in range(20_000)]))
    proc = subprocess.Popen(
        [sys.executable, "-m", "analytics", "ingest", str(big), "--db", pg_db], cwd=ROOT,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline and not advisory_lock_held(pg_db):
        time.sleep(0.005)
    assert proc.poll() is None, "the upload finished before it could be killed inside its write"
    os.kill(proc.pid, signal.SIGKILL)  # while it holds the write lock: inside its PostgreSQL transaction
    proc.wait()
    deadline = time.monotonic() + 30
    while advisory_lock_held(pg_db) and time.monotonic() < deadline:  # the server notices the dead client
        time.sleep(0.05)
    assert not advisory_lock_held(pg_db)
    assert same_state(snapshot(pg_db), before)
    run = cli("ingest", str(big), db=pg_db)
    assert run.returncode == 0, run.stderr
    with store.connect(pg_db) as con:
        assert len(store.quarter_records(con, "2024Q1")) == 20_000


def test_a_server_restart_is_told_in_chinese_and_the_next_action_reconnects(tmp_path):
    server = pg.own_cluster()
    try:
        server.start()
        url = pg.new_database(server.url)
        fill(url, {"seed.csv": csv_bytes([org(i) for i in range(5)])})
        server.stop()
        refused = cli("batches", db=url)
        assert refused.returncode == 1 and "无法连接 PostgreSQL 数据库" in refused.stderr, refused.stderr
        assert "Traceback" not in refused.stderr
        with pytest.raises(store.StoreError, match="无法连接 PostgreSQL 数据库"), store.connect(url):
            pass  # this process's pooled connections are dead too
        server.start()
        with store.connect(url) as con:  # the next action reconnects
            assert len(store.quarter_records(con, "2024Q1")) == 5
        assert cli("batches", db=url).returncode == 0
    finally:
        server.remove()


def test_the_audit_log_cannot_be_changed_or_emptied_even_with_the_apps_own_login(pg_db: str):
    fill(pg_db, {"seed.csv": csv_bytes([org(1)])})
    with store.connect(pg_db) as con:
        audit.record(con, "分析员", "logout")
    for statement in ("UPDATE audit_log SET user_name = '别人'", "DELETE FROM audit_log", "TRUNCATE audit_log"):
        with pytest.raises(Exception, match="append-only"):
            pg.rows(pg_db, statement)
    expected = [("tests", "user_add"), ("分析员", "logout")]  # the account made by fill(), then the record above
    assert pg.rows(pg_db, "SELECT user_name, action FROM audit_log ORDER BY event_id") == expected


def test_a_write_by_another_process_is_seen_here_at_the_next_read(pg_db: str, tmp_path: Path):
    fill(pg_db, {"seed.csv": csv_bytes([org(i) for i in range(3)])})
    with store.connect(pg_db) as con:
        assert len(store.quarter_records(con, "2024Q1")) == 3  # this process's copy, read once
    more = tmp_path / "more.csv"
    more.write_bytes(csv_bytes([org(i) for i in range(3, 10)]))
    run = cli("ingest", str(more), db=pg_db)
    assert run.returncode == 0, run.stderr
    with store.connect(pg_db) as con:  # another process wrote: this copy reads the changed tables again
        assert len(store.quarter_records(con, "2024Q1")) == 10
        assert len(batches.history(con)) == 2


def test_a_duckdb_store_copied_to_postgresql_scores_and_dumps_the_same_and_a_full_target_is_refused(
    demo_template: Path, pg_server: str, tmp_path: Path
):
    demo_file = tmp_path / "demo.duckdb"  # the read-outs below are audited: never in the shared template
    shutil.copy(demo_template, demo_file)
    url = pg.new_database(pg_server)
    try:
        copied = cli("store-copy", "--from", str(demo_file), db=url)
        assert copied.returncode == 0 and "已复制到 PostgreSQL" in copied.stdout, copied.stderr
        for command in (["scores", "--quarter", "2024Q4", "--format", "csv"], ["dump", "--quarter", "2024Q3"]):
            on_file, on_server = cli(*command, db=demo_file), cli(*command, db=url)
            assert on_file.returncode == on_server.returncode == 0, on_server.stderr
            assert on_server.stdout == on_file.stdout and len(on_file.stdout.splitlines()) > 140
        with store.connect(demo_file) as con:
            file_events = len(audit.events(con))
        with store.connect(url) as con:
            events = audit.events(con)
            assert audit_chain.verify(con).intact
        assert len(events) >= file_events + 1 and "store_copy" in set(events["action"])  # the copy is audited there
        before = pg.rows(url, "SELECT count(*) FROM records")
        again = cli("store-copy", "--from", str(demo_file), db=url)
        assert again.returncode == 1 and "已有数据" in again.stderr and "Traceback" not in again.stderr
        assert pg.rows(url, "SELECT count(*) FROM records") == before
    finally:
        pg.drop_database(pg_server, url)


def wait_until(condition, seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


@pytest.mark.slow
def test_a_streaming_standby_answers_reads_follows_the_primary_and_refuses_writes_in_chinese(tmp_path):
    primary = pg.own_cluster()
    standby = None
    try:
        primary.start()
        url = pg.new_database(primary.url)
        fill(url, {"seed.csv": csv_bytes([org(i) for i in range(30)])})
        standby = pg.Cluster(standby_of=primary)
        standby.start()
        on_standby = pg.database_url(standby.url, url.rsplit("/", 1)[1])
        dump = cli("dump", "--quarter", "2024Q1", db=url)
        read = cli("dump", "--quarter", "2024Q1", db=on_standby)
        assert read.returncode == 0 and read.stdout == dump.stdout and len(read.stdout.splitlines()) == 31, read.stderr
        more = tmp_path / "more.csv"
        more.write_bytes(csv_bytes([org(i) for i in range(30, 40)], QUARTER_TITLES["2024Q2"]))
        refused = cli("ingest", str(more), db=on_standby)
        assert refused.returncode == 1 and "只读的备用服务器" in refused.stderr and "Traceback" not in refused.stderr
        assert cli("ingest", str(more), db=url).returncode == 0  # on the primary
        assert wait_until(lambda: cli("dump", "--quarter", "2024Q2", db=on_standby).stdout.count("\n") == 11)
    finally:
        if standby is not None:
            standby.remove()
        primary.remove()


def every_table(url: str) -> dict[str, pd.DataFrame]:
    """Every table of the store as this process's copy of `url` holds it, rows sorted."""
    from analytics.store import replica

    with store.connect(url) as con:
        tables = replica.of(con).columns
        return {t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").df() for t in tables}


def test_a_copy_kept_up_to_date_by_increments_equals_the_database_read_whole(pg_db: str, tmp_path: Path):
    from analytics import mappings
    from analytics.accounts import access
    from analytics.scoring import terms
    from analytics.store import replica

    fill(pg_db, seed_files())
    other = pg_db + "?application_name=other"  # a second copy in this process, as another server would hold
    every_table(other)
    assert replica._REPLICAS[other].versions["records"] >= 0  # from now on it reads increments
    uploads = concurrent_files()
    analyst, admin = auth.User("分析员", "analyst", ()), auth.User("tests", "admin", ())
    with store.connect(pg_db) as con:
        for name in list(uploads)[:3]:
            access.load_as(con, analyst, [(ingest_bytes(uploads[name], name), uploads[name])])
        ids = batches.history(con).set_index("file")["id"]
        access.rollback_as(con, analyst, int(ids["extra-2024Q1.csv"]))
        access.rollback_as(con, analyst, int(ids[list(uploads)[1]]))
        auth.add_user(con, "领导", PASSWORD, "leader", actor="tests")
        terms.set_term_years(con, "系统0", "单位0", "第0党支部", 2)
        auth.set_disabled(con, admin, "领导", True)
        mappings.save(con, admin, {"支部特色活动开展情况": None})  # an unknown header, ignored
    every_table(other)  # the copy holds the mapping now; its removal reaches it only as a removed key
    with store.connect(pg_db) as con:
        (key,) = con.execute("SELECT header_key FROM header_mappings").fetchall()[0]
        assert mappings.remove(con, admin, key)
    incremental = every_table(other)
    whole = every_table(pg_db + "?application_name=fresh")  # a new copy: every table read whole
    assert incremental.keys() == whole.keys()
    for table, frame in whole.items():
        pd.testing.assert_frame_equal(incremental[table], frame, obj=table)
    # every row ever loaded stays in history: 2 × 200 seed + 2 × 21 extra + 3 uploads × (20 changed + 15 new)
    assert len(whole["records"]) == 2 * 200 + 2 * 21 + 3 * 35
    assert (whole["batches"]["status"] == "rolled_back").sum() == 2
    gone = pg.rows(pg_db, "SELECT count(*) FROM _gone_records")[0][0]
    assert gone > 0  # the loads replaced rows: the increments carried removed keys
