"""Helpers shared by test modules: the CLI as a user runs it, and the observable state of a database file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from analytics.store import batches
from analytics.store import database as store

ROOT = Path(__file__).resolve().parent.parent


def snapshot(path: Path) -> dict:
    """Every quarter's dump, the batch list (without clock times) and the row counts of the history tables."""
    with store.connect(path) as con:
        counts = {
            table: con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
            for table in ("records", "organizations", "batches", "batch_files")
        }
        return {
            "quarters": {q: store.quarter_records(con, q) for q in store.quarters(con)},
            "batches": batches.history(con).drop(columns=["created_at", "rolled_back_at"]),
            "counts": counts,
        }


def same_state(a: dict, b: dict) -> bool:
    """True when two snapshots hold exactly the same data."""
    return (
        a["counts"] == b["counts"]
        and a["quarters"].keys() == b["quarters"].keys()
        and all(a["quarters"][q].equals(b["quarters"][q]) for q in a["quarters"])
        and a["batches"].equals(b["batches"])
    )


def cli(*args: str, db: Path, preexec=None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "analytics", *args, "--db", str(db)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        preexec_fn=preexec,
        timeout=timeout,
    )


def rubric_edited(old: str, new: str) -> str:
    """The default rubric text with one exact passage replaced (the passage must occur once)."""
    from analytics.scoring.rubric import RUBRIC_PATH

    text = RUBRIC_PATH.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    return text.replace(old, new)
