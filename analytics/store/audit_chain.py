"""The audit log's hash chain: row_hash = sha256 of (event_id, time, user, action, detail, prev_hash), prev_hash the
row_hash of the row before it ('' for the first). Whoever edits a row with plain SQL has to recompute every hash
after it and the head in meta to hide it; `verify` finds the first row where that was not done.

This is tamper-evidence, not secrecy: anyone holding the file can rebuild a consistent chain. Its purpose is
that an edit made by hand (a changed action, a deleted login) never passes silently. Appends are serialized by
the store's write lock; only one process at a time has the DuckDB file open for writing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass

import duckdb
import pandas as pd

from analytics.store.locks import WRITE_LOCK

HEAD_KEY = "audit_head"  # meta: '<event_id> <row_hash>' of the newest row


def row_hash(event_id: int, occurred_at: dt.datetime, user: str, action: str, detail: str | None, prev: str) -> str:
    """The sha256 hex digest of one row's content and the previous row's hash."""
    content = [int(event_id), occurred_at.isoformat(timespec="microseconds"), user, action, detail, prev]
    return hashlib.sha256(json.dumps(content, ensure_ascii=False).encode("utf-8")).hexdigest()


def append(con: duckdb.DuckDBPyConnection, occurred_at: dt.datetime, user: str, action: str, detail: str) -> int:
    """Insert one chained row and move the head; returns its event_id."""
    with WRITE_LOCK:
        event_id = con.execute("SELECT nextval('audit_seq')").fetchall()[0][0]
        last = con.execute("SELECT row_hash FROM audit_log ORDER BY event_id DESC LIMIT 1").fetchall()
        prev = (last[0][0] or "") if last else ""
        digest = row_hash(event_id, occurred_at, user, action, detail, prev)
        con.execute(
            "INSERT INTO audit_log (event_id, occurred_at, user_name, action, detail, prev_hash, row_hash) "
            "VALUES ($id, $at, $user, $action, $detail, $prev, $hash)",
            {"id": event_id, "at": occurred_at, "user": user, "action": action, "detail": detail, "prev": prev,
             "hash": digest},
        )  # fmt: skip
        con.execute("INSERT OR REPLACE INTO meta VALUES ($k, $v)", {"k": HEAD_KEY, "v": f"{event_id} {digest}"})
    return event_id


def _rows(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return con.execute(
        "SELECT event_id, occurred_at, user_name, action, detail, prev_hash, row_hash FROM audit_log ORDER BY event_id"
    ).df()


def _walk(rows: pd.DataFrame):
    """(row, the previous row's hash, this row's hash) in event order, both recomputed from the content."""
    prev = ""
    for r in rows.itertuples(index=False):
        detail = None if pd.isna(r.detail) else r.detail
        digest = row_hash(r.event_id, r.occurred_at.to_pydatetime(), r.user_name, r.action, detail, prev)
        yield r, prev, digest
        prev = digest


def chain_existing(con: duckdb.DuckDBPyConnection) -> None:
    """Chain every row in event order (the migration to schema 7; rows written before it had no hashes)."""
    rows = _rows(con)
    walked = list(_walk(rows))
    if walked:
        prevs, hashes = [p for _, p, _ in walked], [h for _, _, h in walked]
        con.register("chained", pd.DataFrame({"event_id": rows["event_id"], "p": prevs, "h": hashes}))
        con.execute("UPDATE audit_log SET prev_hash = c.p, row_hash = c.h FROM chained c "
                    "WHERE audit_log.event_id = c.event_id")  # fmt: skip
        con.unregister("chained")
        head = f"{int(rows['event_id'].iloc[-1])} {hashes[-1]}"
        con.execute("INSERT OR REPLACE INTO meta VALUES ($k, $v)", {"k": HEAD_KEY, "v": head})


@dataclass(frozen=True)
class Verdict:
    rows: int
    broken_at: int | None  # event_id of the first row where the chain breaks (None: intact)
    reason: str  # Chinese, '' when intact

    @property
    def intact(self) -> bool:
        return self.broken_at is None


def verify(con: duckdb.DuckDBPyConnection) -> Verdict:
    """Recompute the chain; the first row whose content, link or place does not match, in Chinese."""
    rows, last = _rows(con), ""
    for r, prev, expected in _walk(rows):
        if (r.prev_hash or "") != prev:
            return Verdict(len(rows), int(r.event_id), "与上一条记录的链接不符：其前面的记录被删除、插入或调换了顺序")
        if r.row_hash != expected:
            return Verdict(len(rows), int(r.event_id), "内容与其摘要不符：这条记录被修改过")
        last = f"{int(r.event_id)} {expected}"
    found = con.execute("SELECT value FROM meta WHERE key = $k", {"k": HEAD_KEY}).fetchall()
    head = found[0][0] if found else ""
    if head != last:
        at = int(head.split()[0]) if head else 0
        return Verdict(len(rows), at, "最后的记录与登记的链尾不符：末尾的记录被删除或追加")
    return Verdict(len(rows), None, "")
