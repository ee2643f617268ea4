"""The DuckDB store: connect, migrate, load_batch, rollback, batches and records (SPEC §2)."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from analytics import ROOT
from analytics.problems import Report
from analytics.store.errors import DIR_ERRORS, StoreError, write_failure
from analytics.template import load_template

SQL_DIR = Path(__file__).with_name("sql")
SCHEMA_VERSION = 4
LOCK_WAIT_SECONDS = 15.0
# One writer at a time inside a process (Streamlit sessions are threads); DuckDB locks the file across processes.
_WRITE_LOCK = threading.RLock()


@cache
def sql(name: str) -> str:
    """A fixed query from analytics/sql/NAME.sql."""
    return (SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")


def value_columns() -> list[str]:
    """Per-quarter value columns of a record: the template minus the organization identity."""
    return [n for n in load_template().names if n not in ("system", "unit", "org_name")]


def db_path(explicit: str | os.PathLike | None = None) -> Path:
    """--db, else $DANGJIAN_DB, else data/dangjian.duckdb in the project."""
    return Path(explicit or os.environ.get("DANGJIAN_DB") or ROOT / "data" / "dangjian.duckdb")


@contextlib.contextmanager
def connect(path: str | os.PathLike | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """An open, migrated connection; waits a little if another process holds the file."""
    target = db_path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"无法创建数据目录 {target.parent}：{DIR_ERRORS.get(exc.errno, exc.strerror)}。") from exc
    con = _open(target)
    try:
        migrate(con)
        yield con
    finally:
        con.close()


@contextlib.contextmanager
def held(path: str | os.PathLike | None = None) -> Iterator[None]:
    """Keep an existing file's database instance open meanwhile: every connect() inside is a lookup, not a file open.

    Around one page run (app.py), which opens a connection a dozen times (15 ms each without this, 2 ms with it);
    between runs the file is closed, so the CLI can get in (docs/concurrency.md). Never waits and never reports:
    a locked, missing or broken file is left to the reads inside, which say what is wrong in Chinese.
    """
    target = db_path(path)
    try:
        anchor = duckdb.connect(str(target)) if target.is_file() else None
    except (duckdb.Error, OSError):
        anchor = None
    try:
        yield
    finally:
        if anchor is not None:
            anchor.close()


def lock_wait_seconds() -> float:
    """How long to wait for another process to release the file: $DANGJIAN_LOCK_WAIT_SECONDS or 15 s."""
    try:
        return float(os.environ.get("DANGJIAN_LOCK_WAIT_SECONDS", LOCK_WAIT_SECONDS))
    except ValueError:
        return LOCK_WAIT_SECONDS


def _open(target: Path) -> duckdb.DuckDBPyConnection:
    deadline = time.monotonic() + lock_wait_seconds()
    while True:
        try:
            return duckdb.connect(str(target))
        except duckdb.IOException as exc:
            if failure := write_failure(exc, target):
                raise failure from exc
            if "Could not set lock" not in str(exc) or time.monotonic() > deadline:
                raise StoreError(f"无法打开数据库 {target}：文件被其他程序占用或不可写，请稍后再试。") from exc
            time.sleep(0.2)
        except duckdb.Error as exc:
            raise StoreError(f"无法打开数据库 {target}：文件已损坏或不是本系统的数据库。") from exc


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    """The schema version of the open file (0 for a new file)."""
    found = con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'meta'").fetchall()[0][0]
    if not found:
        return 0
    rows = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall()
    return int(rows[0][0]) if rows else 0


def migrate(con: duckdb.DuckDBPyConnection) -> None:
    """Apply schema_vN.sql for every version above the file's, each in one transaction."""
    current = schema_version(con)
    if current > SCHEMA_VERSION:
        raise StoreError(f"数据库版本（{current}）比本程序（{SCHEMA_VERSION}）新，请升级程序。")
    if current == SCHEMA_VERSION:
        return
    # Several sessions can open a new or older file at once: one migrates, the others find it done.
    with _WRITE_LOCK:
        for version in range(schema_version(con) + 1, SCHEMA_VERSION + 1):
            with transaction(con):
                con.execute(sql(f"schema_v{version}"))
                con.execute(
                    "INSERT OR REPLACE INTO meta VALUES ('schema_version', $v), ('data_version', coalesce("
                    "(SELECT value FROM meta WHERE key = 'data_version'), '0'))",
                    {"v": str(version)},
                )


@contextlib.contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """BEGIN … COMMIT, one writer per process at a time; on any failure nothing is kept (the file stays as before)."""
    # Writers of one process share one DuckDB instance: serialized, they never meet a write-write conflict.
    with _WRITE_LOCK:
        con.execute("BEGIN TRANSACTION")
        try:
            yield
            con.execute("COMMIT")
        except BaseException as exc:
            with contextlib.suppress(duckdb.Error):  # a failed COMMIT has already rolled back
                con.execute("ROLLBACK")
            if isinstance(exc, duckdb.Error) and (failure := write_failure(exc)):
                raise failure from exc
            raise


_SNAPSHOTS = threading.local()


@contextlib.contextmanager
def snapshot(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Several reads that see one consistent state of the file (no upload half-seen between them); nests."""
    held = _SNAPSHOTS.__dict__.setdefault("connections", set())
    if id(con) in held:  # inside an outer snapshot of this connection: its state is the one to read
        yield
        return
    con.execute("BEGIN TRANSACTION")
    held.add(id(con))
    try:
        yield
    finally:
        held.discard(id(con))
        con.execute("ROLLBACK")


def data_version(con: duckdb.DuckDBPyConnection) -> int:
    """A number that changes with every load and rollback (cache key for the pages)."""
    rows = con.execute("SELECT value FROM meta WHERE key = 'data_version'").fetchall()
    return int(rows[0][0]) if rows else 0


def bump_data_version(con: duckdb.DuckDBPyConnection) -> None:
    """Mark the data changed (inside the caller's transaction): every cache keyed on data_version() misses."""
    con.execute("UPDATE meta SET value = CAST(CAST(value AS BIGINT) + 1 AS VARCHAR) WHERE key = 'data_version'")


@dataclass(frozen=True)
class LoadResult:
    """Outcome of loading one file: a new batch, or the batch that already holds these bytes."""

    batch_id: int
    quarter: str
    rows: int
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    skipped: int = 0
    already_loaded: bool = False


def sha256(data: bytes) -> str:
    """Hex digest identifying an upload's bytes."""
    return hashlib.sha256(data).hexdigest()


def find_identical(con: duckdb.DuckDBPyConnection, digest: str) -> int | None:
    """The active batch holding exactly these bytes, if any."""
    rows = con.execute(
        "SELECT batch_id FROM batches WHERE sha256 = $h AND status = 'active' ORDER BY batch_id LIMIT 1",
        {"h": digest},
    ).fetchall()
    return rows[0][0] if rows else None


def _register_incoming(con: duckdb.DuckDBPyConnection, records: pd.DataFrame) -> None:
    """The records as view `incoming`, with seq = 1, 2, … in file order."""
    frame = records.drop(columns=[c for c in ("source_sheet", "source_row") if c not in records])
    # An Arrow table is scanned in place; copying the DataFrame into a temp table cost 0.15 s per 100k rows (bench/)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    con.register("incoming", table.add_column(0, "seq", pa.array(np.arange(1, len(frame) + 1, dtype=np.int64))))


def changed_fields_sql(new: str, old: str) -> str:
    """SQL of the list of value columns (template names) in which row alias `new` differs from row alias `old`."""
    cases = ", ".join(f"CASE WHEN {new}.{c} IS DISTINCT FROM {old}.{c} THEN '{c}' END" for c in value_columns())
    return f"list_filter([{cases}], lambda x: x IS NOT NULL)"


def _changes_sql() -> str:
    """Per incoming row: new / changed / unchanged against the current row, and which fields differ."""
    differs = " OR ".join(f"i.{c} IS DISTINCT FROM c.{c}" for c in value_columns())
    fields = changed_fields_sql("i", "c")
    return f"""
        SELECT i.seq, i.system, i.unit, i.org_name, o.org_id,
               CASE WHEN c.org_id IS NULL THEN 'new' WHEN {differs} THEN 'changed' ELSE 'unchanged' END AS change,
               CASE WHEN c.org_id IS NULL THEN [] ELSE {fields} END AS fields
        FROM incoming i
        LEFT JOIN organizations o USING (system_key, unit_key, name_key)
        LEFT JOIN records c ON c.org_id = o.org_id AND c.quarter = $quarter AND c.replaced_by IS NULL
        ORDER BY i.seq"""


def compare(con: duckdb.DuckDBPyConnection, quarter: str, records: pd.DataFrame) -> pd.DataFrame:
    """How an upload differs from what is stored for its quarter, without changing anything."""
    _register_incoming(con, records)
    return con.execute(_changes_sql(), {"quarter": quarter}).df()


def load_batch(
    con: duckdb.DuckDBPyConnection,
    report: Report,
    data: bytes,
    uploader: str,
    valid_rows_only: bool = False,
) -> LoadResult:
    """Store one report's records as one batch in one transaction; identical bytes change nothing."""
    return load_batches(con, [(report, data)], uploader, valid_rows_only)[0]


def load_batches(
    con: duckdb.DuckDBPyConnection,
    uploads: list[tuple[Report, bytes]],
    uploader: str,
    valid_rows_only: bool = False,
    inside: Callable[[duckdb.DuckDBPyConnection, list[LoadResult]], None] | None = None,
) -> list[LoadResult]:
    """Store several reports, one batch each, all in one transaction (all or nothing).

    `inside` runs in the same transaction after the inserts (the audit record), so both land or neither.
    """
    for report, _ in uploads:
        if (report.errors and not valid_rows_only) or report.records is None or report.quarter is None:
            raise StoreError(f"文件「{report.file}」有错误，未载入。")
    try:
        with _WRITE_LOCK, _without_zstd(con, all(data.startswith(b"PK\x03\x04") for _, data in uploads)):
            results = _load_in_transaction(con, uploads, uploader, valid_rows_only, inside)
    except duckdb.TransactionException as exc:
        raise StoreError("另一个上传或回退正在同时进行，本次未载入任何数据，请稍后重试。") from exc
    return results


@contextlib.contextmanager
def _without_zstd(con: duckdb.DuckDBPyConnection, packaged: bool) -> Iterator[None]:
    """zstd off while these uploads commit, when every one is a zip package (xlsx, ods).

    Their bytes are deflated already: zstd saves about 7 % of them and costs 0.05-0.1 s per 14 MB in the
    checkpoint at COMMIT (bench/). The setting belongs to the database instance; under _WRITE_LOCK no other
    writer of this process commits meanwhile, and readers do not compress.
    """
    if not packaged:
        yield
        return
    before = con.execute("SELECT current_setting('disabled_compression_methods')").fetchall()[0][0]
    con.execute("SET disabled_compression_methods = 'zstd'")
    try:
        yield
    finally:
        with contextlib.suppress(duckdb.Error):  # a failed restore leaves zstd off, which only costs file size
            con.execute("SET disabled_compression_methods = $m", {"m": before})


def _load_in_transaction(con, uploads, uploader, valid_rows_only, inside) -> list[LoadResult]:
    results = []
    with transaction(con):
        for report, data in uploads:
            digest = sha256(data)
            existing = find_identical(con, digest)
            if existing is not None:
                results.append(LoadResult(existing, report.quarter, report.row_count, already_loaded=True))
                continue
            results.append(_insert_batch(con, report, data, digest, uploader, valid_rows_only))
        if inside is not None:
            inside(con, results)
    return results


def _change_counts(con: duckdb.DuckDBPyConnection, report: Report) -> dict[str, int]:
    """Rows of `incoming` that are new, changed or unchanged against the current rows of the quarter."""
    current = con.execute(
        "SELECT count(*) FROM records WHERE quarter = $quarter AND replaced_by IS NULL", {"quarter": report.quarter}
    ).fetchall()[0][0]
    if not current:  # the first upload of a quarter: every row is new, no join needed
        return {"new": len(report.records)} if len(report.records) else {}
    counted = con.execute(
        f"SELECT change, count(*) FROM ({_changes_sql()}) GROUP BY change", {"quarter": report.quarter}
    )
    return dict(counted.fetchall())


def _insert_batch(con, report: Report, data: bytes, digest: str, uploader: str, valid_only: bool) -> LoadResult:
    batch = con.execute("SELECT coalesce(max(batch_id), 0) + 1 FROM batches").fetchall()[0][0]
    params = {"batch": batch, "quarter": report.quarter}
    _register_incoming(con, report.records)
    changes = _change_counts(con, report)
    con.execute(sql("insert_organizations"), {"batch": batch})
    if changes.get("new", 0) < len(report.records):  # else no current row of the quarter to replace
        con.execute(sql("replace_current"), params)
    names = value_columns()
    # Straight from incoming JOIN organizations: a copy into a temp table first cost 0.1 s per 100k rows (bench/)
    con.execute(
        f"INSERT INTO records (batch_id, quarter, org_id, source_sheet, source_row, {', '.join(names)}) "
        f"SELECT $batch, $quarter, o.org_id, i.source_sheet, i.source_row, {', '.join('i.' + c for c in names)} "
        "FROM incoming i JOIN organizations o USING (system_key, unit_key, name_key) ORDER BY i.seq",
        params,
    )
    problems = json.dumps([p.as_dict() for p in report.problems], ensure_ascii=False)
    con.execute(
        "INSERT INTO batches VALUES ($batch, $quarter, $file, $sha, $uploader, $at, $rows, $new, $changed,"
        " $unchanged, $skipped, $valid_only, 'active', NULL, NULL, $problems)",
        params
        | {
            "file": report.file,
            "sha": digest,
            "uploader": uploader,
            "at": dt.datetime.now(),
            "rows": report.row_count,
            "new": int(changes.get("new", 0)),
            "changed": int(changes.get("changed", 0)),
            "unchanged": int(changes.get("unchanged", 0)),
            "skipped": report.rejected_rows,
            "valid_only": valid_only,
            "problems": problems,
        },
    )
    con.execute("INSERT INTO batch_files VALUES ($batch, $content)", {"batch": batch, "content": data})
    bump_data_version(con)
    counts = (int(changes.get(kind, 0)) for kind in ("new", "changed", "unchanged"))
    return LoadResult(batch, report.quarter, report.row_count, *counts, report.rejected_rows)


@dataclass(frozen=True)
class RollbackResult:
    """Outcome of a rollback: rows withdrawn, rows restored, later batches that kept their rows."""

    batch_id: int
    withdrawn: int
    restored: int
    kept_by_later: tuple[int, ...]


def rollback(
    con: duckdb.DuckDBPyConnection,
    batch_id: int,
    user: str,
    inside: Callable[[duckdb.DuckDBPyConnection, RollbackResult], None] | None = None,
) -> RollbackResult:
    """Withdraw a batch and restore exactly what it replaced; later batches keep their rows.

    `inside` runs in the same transaction (the audit record), so both land or neither.
    """
    rows = con.execute("SELECT status FROM batches WHERE batch_id = $b", {"b": batch_id}).fetchall()
    if not rows:
        raise StoreError(f"批次 {batch_id} 不存在。")
    if rows[0][0] != "active":
        raise StoreError(f"批次 {batch_id} 已经回退过，无需再次回退。")
    params = {"batch": batch_id}
    try:
        with _WRITE_LOCK, transaction(con):
            later = tuple(r[0] for r in con.execute(sql("later_batches"), params).fetchall())
            restored = con.execute(
                "SELECT count(*) FROM records WHERE replaced_by = $batch AND batch_id <> $batch", params
            ).fetchall()[0][0]
            withdrawn = con.execute(
                "SELECT count(*) FROM records WHERE batch_id = $batch AND replaced_by IS NULL", params
            ).fetchall()[0][0]
            con.execute(sql("rollback_restore"), params)
            con.execute(sql("rollback_withdraw"), params)
            con.execute(
                "UPDATE batches SET status = 'rolled_back', rolled_back_at = $at, rolled_back_by = $user WHERE batch_id = $batch",
                params | {"at": dt.datetime.now(), "user": user},
            )
            bump_data_version(con)
            result = RollbackResult(batch_id, withdrawn, restored, later)
            if inside is not None:
                inside(con, result)
    except duckdb.TransactionException as exc:
        raise StoreError("另一个上传或回退正在同时进行，本次回退未执行，请稍后重试。") from exc
    return result


def batches(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every batch, oldest first (id, quarter, file, rows, status, created_at, …)."""
    return con.execute(sql("list_batches")).df()


def quarter_records(con: duckdb.DuckDBPyConnection, quarter: str) -> pd.DataFrame:
    """Current records of a quarter: the template's columns in SPEC order, sorted by system, unit, name."""
    names = ", ".join(load_template().names)
    return con.execute(
        f"SELECT {names} FROM current_records WHERE quarter = $q ORDER BY system, unit, org_name", {"q": quarter}
    ).df()


def quarters(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Quarters that have current records, oldest first."""
    return [r[0] for r in con.execute("SELECT DISTINCT quarter FROM current_records ORDER BY 1").fetchall()]


def known_units(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every (system, unit) ever loaded, with their normalized keys."""
    return con.execute("SELECT DISTINCT system, unit, system_key, unit_key FROM organizations").df()


def overview(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Per quarter: organizations, units, systems, batches and last upload time."""
    return con.execute(sql("overview")).df()
