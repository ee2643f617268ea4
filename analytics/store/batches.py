"""Batches (SPEC §2): load, compare, rollback, history, and what one batch holds."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from analytics.problems import Report
from analytics.store import database
from analytics.store.errors import StoreError


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


# Who loaded a batch, as the 批次管理 page says it: the bundled demo and the command line are not people
UPLOADER_NAMES = {"demo": "演示数据（内置）", "cli": "命令行"}


def uploader_name(name: str) -> str:
    """The uploader of a batch as shown to people (演示数据（内置）, 命令行, or the account name)."""
    return UPLOADER_NAMES.get(name, name)


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


def _changes_sql() -> str:
    """Per incoming row: new / changed / unchanged against the current row, and which fields differ."""
    differs = " OR ".join(f"i.{c} IS DISTINCT FROM c.{c}" for c in database.value_columns())
    fields = database.changed_fields_sql("i", "c")
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
        with database.WRITE_LOCK, _without_zstd(con, all(data.startswith(b"PK\x03\x04") for _, data in uploads)):
            results = _load_in_transaction(con, uploads, uploader, valid_rows_only, inside)
    except duckdb.TransactionException as exc:
        raise StoreError("另一个上传或回退正在同时进行，本次未载入任何数据，请稍后重试。") from exc
    return results


@contextlib.contextmanager
def _without_zstd(con: duckdb.DuckDBPyConnection, packaged: bool) -> Iterator[None]:
    """zstd off while these uploads commit, when every one is a zip package (xlsx, ods).

    Their bytes are deflated already: zstd saves about 7 % of them and costs 0.05-0.1 s per 14 MB in the
    checkpoint at COMMIT (bench/). The setting belongs to the database instance; under database.WRITE_LOCK no other
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
    with database.transaction(con):
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
    con.execute(database.sql("insert_organizations"), {"batch": batch})
    if changes.get("new", 0) < len(report.records):  # else no current row of the quarter to replace
        con.execute(database.sql("replace_current"), params)
    names = database.value_columns()
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
    database.bump_data_version(con)
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
        with database.WRITE_LOCK, database.transaction(con):
            later = tuple(r[0] for r in con.execute(database.sql("later_batches"), params).fetchall())
            restored = con.execute(
                "SELECT count(*) FROM records WHERE replaced_by = $batch AND batch_id <> $batch", params
            ).fetchall()[0][0]
            withdrawn = con.execute(
                "SELECT count(*) FROM records WHERE batch_id = $batch AND replaced_by IS NULL", params
            ).fetchall()[0][0]
            con.execute(database.sql("rollback_restore"), params)
            con.execute(database.sql("rollback_withdraw"), params)
            con.execute(
                "UPDATE batches SET status = 'rolled_back', rolled_back_at = $at, rolled_back_by = $user WHERE batch_id = $batch",
                params | {"at": dt.datetime.now(), "user": user},
            )
            database.bump_data_version(con)
            result = RollbackResult(batch_id, withdrawn, restored, later)
            if inside is not None:
                inside(con, result)
    except duckdb.TransactionException as exc:
        raise StoreError("另一个上传或回退正在同时进行，本次回退未执行，请稍后重试。") from exc
    return result


def history(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every batch, oldest first (id, quarter, file, rows, status, created_at, …)."""
    return con.execute(database.sql("list_batches")).df()


def batch_file(con: duckdb.DuckDBPyConnection, batch_id: int) -> tuple[str, bytes] | None:
    """The original file name and bytes of a batch."""
    rows = con.execute(
        "SELECT b.file_name, f.content FROM batches b JOIN batch_files f USING (batch_id) WHERE batch_id = $b",
        {"b": batch_id},
    ).fetchall()
    return (rows[0][0], bytes(rows[0][1])) if rows else None


def batch_changes(con: duckdb.DuckDBPyConnection, batch_id: int) -> pd.DataFrame:
    """Organizations of a batch with what each replaced: new or changed (and which fields)."""
    fields = database.changed_fields_sql("n", "p")
    return con.execute(
        f"""SELECT o.system, o.unit, o.org_name,
                   CASE WHEN p.org_id IS NULL THEN 'new'
                        WHEN len({fields}) > 0 THEN 'changed'
                        ELSE 'unchanged' END AS change,
                   CASE WHEN p.org_id IS NULL THEN [] ELSE {fields} END AS fields
            FROM records n JOIN organizations o USING (org_id)
            LEFT JOIN records p ON p.org_id = n.org_id AND p.quarter = n.quarter
                 AND p.replaced_by = n.batch_id AND p.batch_id <> n.batch_id
            WHERE n.batch_id = $b ORDER BY n.source_sheet, n.source_row""",
        {"b": batch_id},
    ).df()
