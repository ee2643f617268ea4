"""`users` on the command line, and CLI changes recorded in the audit log as `cli`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from analytics.accounts import audit, auth
from analytics.store import database as store
from tests.helpers import ROOT, cli
from tests.records import csv_bytes, org

# Slow: every test runs the CLI in a new process. `make test` runs them, `make test-fast` does not
pytestmark = pytest.mark.slow


def users_add(db: Path, *args: str, password: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "analytics", "users", "add", *args, "--password-stdin", "--db", str(db)],
        cwd=ROOT, input=password + "\n", capture_output=True, text=True,
    )  # fmt: skip


def test_users_add_reads_the_password_from_stdin_and_it_works_for_login(tmp_path: Path):
    db = tmp_path / "u.duckdb"
    done = users_add(db, "张三", "--role", "analyst", "--system", "经济系统", password="pass-word-9")
    assert done.returncode == 0, done.stderr
    assert "pass-word-9" not in done.stdout + done.stderr
    with store.connect(db) as con:
        user = auth.authenticate(con, "张三", "pass-word-9")
        assert (user.role, user.systems) == ("analyst", ("经济系统",))
        assert ("cli", "user_add") in zip(audit.events(con)["user_name"], audit.events(con)["action"], strict=True)


def test_users_add_refuses_a_short_password_and_a_taken_name(tmp_path: Path):
    db = tmp_path / "u.duckdb"
    short = users_add(db, "李四", "--role", "leader", password="short")
    assert short.returncode == 1 and "至少需要 8 个字符" in short.stderr
    assert users_add(db, "李四", "--role", "leader", password="long-enough").returncode == 0
    again = users_add(db, "李四", "--role", "admin", password="long-enough")
    assert again.returncode == 1 and "已存在" in again.stderr


def test_users_add_without_a_terminal_or_stdin_flag_is_a_usage_error(tmp_path: Path):
    done = subprocess.run(
        [sys.executable, "-m", "analytics", "users", "add", "王五", "--role", "leader", "--db", str(tmp_path / "u.duckdb")],
        cwd=ROOT, stdin=subprocess.DEVNULL, capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 2 and "--password-stdin" in done.stderr


def test_cli_ingest_and_rollback_are_audited_as_cli(tmp_path: Path):
    db = tmp_path / "t.duckdb"
    path = tmp_path / "a.csv"
    path.write_bytes(csv_bytes([org(1), org(2)]))
    assert cli("ingest", str(path), db=db).returncode == 0
    assert cli("rollback", "1", db=db).returncode == 0
    with store.connect(db) as con:
        events = audit.events(con)
    assert list(zip(events["user_name"], events["action"], strict=True)) == [("cli", "rollback"), ("cli", "upload")]
