"""The audit log as a hash chain (issue 19 item 3): `audit verify` exits 0 on an untouched log and 1 naming the row
after any single-row edit, deletion, insertion or reordering made with plain SQL on the file; rows written before
the chain existed are chained by the migration; parallel appends keep the chain whole; 审计日志 shows its state."""

from __future__ import annotations

import threading
from pathlib import Path

import duckdb
import pytest

from analytics.accounts import audit
from analytics.store import audit_chain
from analytics.store import database as store
from tests.anydata import run_cli
from tests.test_admin_pages import admin_on


def logged(path: Path, n: int = 6) -> None:
    with store.connect(path) as con:
        for i in range(n):
            audit.record(con, f"用户{i}", "export", scope="区直机关", files=[f"f{i}.xlsx"])


def by_hand(path: Path, *statements: str) -> None:
    """Plain SQL on the file, as someone holding it could run (no app code)."""
    con = duckdb.connect(str(path))
    for statement in statements:
        con.execute(statement)
    con.close()


def verify(path: Path) -> tuple[int, str]:
    code, out, err = run_cli("audit", "verify", "--db", str(path))
    return code, out + err


def test_an_untouched_log_verifies(tmp_path: Path):
    logged(db := tmp_path / "a.duckdb")
    code, said = verify(db)
    assert code == 0 and "共 6 条记录" in said and "无误" in said


TAMPERING = {
    "an edited action": (["UPDATE audit_log SET action = 'login_ok' WHERE event_id = 3"], 3, "被修改"),
    "an edited detail": (["UPDATE audit_log SET detail = '{}' WHERE event_id = 4"], 4, "被修改"),
    "an edited time": (["UPDATE audit_log SET occurred_at = occurred_at - INTERVAL 1 DAY WHERE event_id = 2"], 2,
                       "被修改"),
    "a deleted middle row": (["DELETE FROM audit_log WHERE event_id = 3"], 4, "删除"),
    "a deleted first row": (["DELETE FROM audit_log WHERE event_id = 1"], 2, "删除"),
    "a deleted last row": (["DELETE FROM audit_log WHERE event_id = 6"], 6, "末尾"),
    "a row inserted in the middle": (
        ["UPDATE audit_log SET event_id = event_id + 100 WHERE event_id > 3",
         "INSERT INTO audit_log VALUES (50, now(), '某人', 'export', '{}', NULL, NULL)"], 50, "删除、插入"),
    "a row appended": (["INSERT INTO audit_log VALUES (99, now(), '某人', 'export', '{}', NULL, NULL)"], 99, "删除、插入"),
    "two rows swapped": (
        ["UPDATE audit_log SET event_id = -2 WHERE event_id = 2", "UPDATE audit_log SET event_id = 2 WHERE event_id = 3",
         "UPDATE audit_log SET event_id = 3 WHERE event_id = -2"], 2, "删除、插入"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(TAMPERING))
def test_any_single_row_change_made_by_hand_is_found_and_named(tmp_path: Path, case: str):
    statements, row, reason = TAMPERING[case]
    logged(db := tmp_path / "a.duckdb")
    by_hand(db, *statements)
    code, said = verify(db)
    assert code == 1, said
    assert f"序号 {row} 的记录" in said and reason in said, said


def test_rows_written_before_the_chain_are_chained_by_the_migration(tmp_path: Path):
    logged(db := tmp_path / "a.duckdb")
    # the file as schema 6 left it: no hash columns, no head
    by_hand(db, "ALTER TABLE audit_log DROP COLUMN prev_hash", "ALTER TABLE audit_log DROP COLUMN row_hash",
            "DELETE FROM meta WHERE key = 'audit_head'", "UPDATE meta SET value = '6' WHERE key = 'schema_version'")  # fmt: skip
    with store.connect(db) as con:
        assert store.schema_version(con) == store.SCHEMA_VERSION
        verdict = audit.chain_state(con)
        assert verdict.intact and verdict.rows == 6
        first = con.execute("SELECT prev_hash, row_hash FROM audit_log ORDER BY event_id LIMIT 1").fetchall()[0]
    assert first[0] == "" and len(first[1]) == 64
    by_hand(db, "UPDATE audit_log SET user_name = '别人' WHERE event_id = 5")
    assert verify(db)[0] == 1


def test_the_hash_is_the_sha256_of_the_row_content_and_the_previous_hash(tmp_path: Path):
    # a second computation with hashlib directly, from the stored columns
    import hashlib
    import json

    logged(db := tmp_path / "a.duckdb", 2)
    with store.connect(db) as con:
        rows = con.execute("SELECT event_id, occurred_at, user_name, action, detail, prev_hash, row_hash "
                           "FROM audit_log ORDER BY event_id").fetchall()  # fmt: skip
    previous = ""
    for event_id, at, user, action, detail, prev, digest in rows:
        content = [event_id, at.isoformat(timespec="microseconds"), user, action, detail, previous]
        assert prev == previous
        assert digest == hashlib.sha256(json.dumps(content, ensure_ascii=False).encode()).hexdigest()
        previous = digest


def test_parallel_appends_from_many_threads_keep_the_chain_whole(tmp_path: Path):
    db = tmp_path / "a.duckdb"
    with store.connect(db) as con:
        cursors = [con.cursor() for _ in range(20)]
        threads = [threading.Thread(target=audit.record, args=(c, f"用户{i}", "logout")) for i, c in enumerate(cursors)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        verdict = audit_chain.verify(con)
    assert verdict.intact and verdict.rows == 20


def test_the_audit_page_shows_the_chain_intact_then_broken(db_path: Path):
    at = admin_on("audit")
    assert [s.value for s in at.success if "审计日志完整" in s.value]
    by_hand(db_path, "DELETE FROM audit_log WHERE event_id = (SELECT min(event_id) FROM audit_log)")
    at = admin_on("audit")
    assert [e.value for e in at.error if "审计日志被改动" in e.value and "删除" in e.value]
