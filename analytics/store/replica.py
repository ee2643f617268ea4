"""The in-memory DuckDB copy of a PostgreSQL store, where every query of the product runs unchanged (issue 17).

Reads: each connect() asks the server, in one REPEATABLE READ transaction, which tables changed since this process
last read them (store_versions) and reads only those, whole, as Arrow; so one process's copy is always one
consistent state of the database, and a quiet database costs one small query per connect.

Writes: a write runs on the copy exactly as on a DuckDB file, inside a PostgreSQL transaction that holds one
advisory lock for the whole database (one writer at a time across every process and server). The lock taken, the
copy is brought up to date, the write runs, and the rows it added, changed or removed (found by hashing each table
before and after) go to the server in the same transaction: COPY for new rows, DELETE by key for old ones. The
server commits first; if it fails, the copy rolls back too, so nothing half-written remains anywhere.

BLOB columns (an upload's bytes, a kept page result) are written once with their row and never updated in place:
rows are compared without them.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import threading
from collections.abc import Callable, Iterator

import duckdb
import numpy as np
import pyarrow as pa

from analytics.store.errors import StoreError
from analytics.store.locks import WRITE_LOCK
from analytics.store.postgres import (
    APPEND_ONLY,
    KEYS,
    LAYOUT,
    ROW_VERSION,
    VERSIONS,
    WRITE_LOCK_KEY,
    Pool,
    create_statements,
    gone_table,
    quoted,
    table_columns,
    unreachable,
    where,
)

READ = "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY"
BUMP = "INSERT INTO store_versions VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET version = EXCLUDED.version"


class Replica:
    """One process's copy of one PostgreSQL database."""

    def __init__(self, url: str, migrate: Callable[[duckdb.DuckDBPyConnection], None], version: int) -> None:
        self.url, self.version = url, version
        self.pool = Pool(url)
        self.db = duckdb.connect(":memory:")
        migrate(self.db)  # the tables, views and sequence of the current schema (database.migrate), empty
        self.columns = table_columns(self.db)
        self.versions: dict[str, int] = {}  # the store_versions each table was last read or written at
        self.prints = {t: fingerprint(self.db, self.compared(t)[1], t) for t in self.columns}
        self.ready = False

    def column_list(self, table: str) -> str:
        """Every column of a table, quoted, in schema order."""
        return names([c for c, _ in self.columns[table]])

    def compared(self, table: str) -> tuple[list[str], list[str]]:
        """(key columns, columns compared): the declared key, else every column but BLOBs; all but BLOBs."""
        cols = [c for c, kind in self.columns[table] if kind != "BLOB"]
        return list(KEYS.get(table, cols)), cols

    def ensure_schema(self) -> None:
        """Create or extend the server's tables to this version's schema, once per process. A database already at
        this version is only read (a read-only standby serves reads too)."""
        if self.ready:
            return
        with self._server(READ) as cur:
            cur.execute("SELECT to_regclass('store_versions') IS NOT NULL AND to_regclass('meta') IS NOT NULL")
            found = {}
            if cur.fetchall()[0][0]:
                cur.execute("SELECT key, value FROM meta WHERE key IN ('schema_version', 'pg_layout')")
                found = {key: int(value) for key, value in cur.fetchall()}
            cur.execute("COMMIT")
        if found.get("schema_version", 0) > self.version:
            raise StoreError(f"数据库版本（{found['schema_version']}）比本程序（{self.version}）新，请升级程序。")
        if found.get("schema_version", 0) < self.version or found.get("pg_layout", 0) < LAYOUT:
            self._create_schema()
        self.ready = True

    def _create_schema(self) -> None:
        with WRITE_LOCK, self._server("BEGIN") as cur:
            cur.execute("SELECT pg_advisory_xact_lock($1)", (WRITE_LOCK_KEY,))
            for statement in [*VERSIONS, *create_statements(self.columns), *APPEND_ONLY]:
                cur.execute(statement)
            cur.execute("INSERT INTO meta VALUES ('schema_version', '0'), ('data_version', '0') ON CONFLICT DO NOTHING")
            cur.execute("SELECT value FROM meta WHERE key = 'schema_version'")
            found = int(cur.fetchall()[0][0])
            if found > self.version:
                raise StoreError(f"数据库版本（{found}）比本程序（{self.version}）新，请升级程序。")
            version = next_version(cur)
            cur.execute(
                "INSERT INTO meta VALUES ('schema_version', $1, $3), ('pg_layout', $2, $3) "
                "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, _v = EXCLUDED._v",
                (str(self.version), str(LAYOUT), version),
            )
            bump(cur, ["meta"], version)
            cur.execute("COMMIT")

    def sync(self) -> None:
        """Bring the copy to the server's latest state (only the tables that changed are read)."""
        with self._server(READ) as cur:
            self._pull(cur)
            cur.execute("COMMIT")

    def _pull(self, cur) -> None:
        cur.execute("SELECT name, version FROM store_versions")
        remote = {name: int(version) for name, version in cur.fetchall()}
        stale = [t for t in self.columns if remote.get(t, 0) > self.versions.get(t, -1)]
        if not stale:
            return
        whole, changes = {}, {}
        for table in stale:
            seen = self.versions.get(table, -1)
            if table in KEYS and seen >= 0:  # only the rows written, and the keys removed, since this copy's version
                key_list = names(list(KEYS[table]))
                cur.execute(f"SELECT {self.column_list(table)} FROM {quoted(table)} WHERE _v > $1", (seen,))
                rows = cur.fetch_arrow_table()
                cur.execute(f"SELECT {key_list} FROM {quoted(gone_table(table))} WHERE _v > $1", (seen,))
                changes[table] = (rows, cur.fetch_arrow_table())
            else:
                cur.execute(f"SELECT {self.column_list(table)} FROM {quoted(table)}")
                whole[table] = cur.fetch_arrow_table()
        with WRITE_LOCK:
            if any(remote.get(t, 0) < v for t, v in self.versions.items()):
                return  # another thread of this process has already read or written a newer state
            self._replace(whole, changes)
            for table in stale:
                self.versions[table] = remote.get(table, 0)

    def _replace(self, whole: dict[str, pa.Table], changes: dict[str, tuple[pa.Table, pa.Table]]) -> None:
        """Tables read whole replace the copy's; changed rows replace theirs by key, removed keys go."""
        db = self.db.cursor()
        try:
            db.execute("BEGIN TRANSACTION")
            for table, frame in whole.items():
                db.register("_pg_rows", frame)
                db.execute(f"DELETE FROM {quoted(table)}")
                db.execute(f"INSERT INTO {quoted(table)} BY NAME SELECT * FROM _pg_rows")
                db.unregister("_pg_rows")
            for table, (rows, gone) in changes.items():
                db.register("_pg_rows", rows)
                db.register("_pg_gone", gone)
                key_list = names(list(KEYS[table]))
                key_match = " AND ".join(f"t.{quoted(k)} = d.{quoted(k)}" for k in KEYS[table])
                db.execute(
                    f"DELETE FROM {quoted(table)} t USING (SELECT {key_list} FROM _pg_gone "
                    f"UNION ALL SELECT {key_list} FROM _pg_rows) d WHERE {key_match}"
                )
                db.execute(f"INSERT INTO {quoted(table)} BY NAME SELECT * FROM _pg_rows")
                db.unregister("_pg_rows")
                db.unregister("_pg_gone")
            db.execute("COMMIT")
            for table in [*whole, *changes]:
                self.prints[table] = fingerprint(db, self.compared(table)[1], table)
            if "audit_log" in whole or "audit_log" in changes:
                advance_audit_sequence(db)
        finally:
            db.close()

    def check_untouched(self) -> None:
        """AssertionError when the copy differs from what was last read or written: a write outside
        transaction() changed the copy only, and would never reach the server."""
        with WRITE_LOCK:
            moved = [t for t in self.columns if fingerprint(self.db, self.compared(t)[1], t) != self.prints[t]]
        assert not moved, f"written outside store.transaction(), lost on PostgreSQL: {moved}"

    @contextlib.contextmanager
    def writing(self, con: duckdb.DuckDBPyConnection) -> Iterator[None]:
        """database.transaction() of a copy: the write on the copy and its rows on the server, both or neither."""
        with WRITE_LOCK, self._server("BEGIN") as cur:
            cur.execute("SELECT pg_advisory_xact_lock($1)", (WRITE_LOCK_KEY,))
            self._pull(cur)
            con.execute("BEGIN TRANSACTION")
            try:
                yield
                prints = {t: fingerprint(con, self.compared(t)[1], t) for t in self.columns}
                changed = [t for t in self.columns if prints[t] != self.prints[t]]
                version = self._push(con, cur, changed) if changed else None
                cur.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(duckdb.Error):
                    con.execute("ROLLBACK")
                raise
            try:
                con.execute("COMMIT")
            except duckdb.Error:  # the server has the write; the copy is read again whole at the next connect
                self.versions.clear()
                raise
            for table in changed:
                self.prints[table], self.versions[table] = prints[table], version

    def _push(self, con: duckdb.DuckDBPyConnection, cur, changed: list[str]) -> int:
        """Send the rows the write added, changed and removed in `changed` tables; the new store version."""
        before = self.db.cursor()  # outside the write's transaction: it sees the copy as it was
        version = next_version(cur)
        try:
            for table in changed:
                keys, cols = self.compared(table)
                digest = row_hash(cols)
                con.register(
                    "_pg_before",
                    before.sql(f"SELECT {names(keys)}, {digest} AS _h FROM {quoted(table)}").to_arrow_table(),
                )
                gone = con.sql(
                    f"SELECT {names(keys)} FROM _pg_before ANTI JOIN (SELECT {digest} AS _h FROM {quoted(table)}) USING (_h)"
                ).to_arrow_table()
                new = con.sql(
                    f"SELECT * EXCLUDE (_h) FROM (SELECT *, {digest} AS _h FROM {quoted(table)}) ANTI JOIN _pg_before USING (_h)"
                ).to_arrow_table()
                con.unregister("_pg_before")
                if gone.num_rows:
                    delete_rows(cur, table, gone, exact=table in KEYS)
                    if table in KEYS:  # readers holding an older copy remove these keys (replica._pull)
                        cur.adbc_ingest(gone_table(table), versioned(gone, version), mode="append")
                if new.num_rows:
                    cur.adbc_ingest(table, versioned(new, version) if table in KEYS else new, mode="append")
        finally:
            before.close()
        return bump(cur, changed, version)

    @contextlib.contextmanager
    def _server(self, begin: str) -> Iterator:
        """A server transaction; the driver's failures become the Chinese StoreError, nothing committed."""
        from adbc_driver_manager import Error as DriverError

        try:
            with self.pool.session(begin) as cur:
                yield cur
        except DriverError as exc:
            if "append-only" in str(exc):
                raise StoreError("审计日志只能追加，不能修改或删除：本次操作未做任何更改。") from exc
            if "SQLSTATE: 25006" in str(exc) or "during recovery" in str(exc):  # read_only_sql_transaction
                raise StoreError(
                    f"PostgreSQL 数据库 {where(self.url)} 是只读的备用服务器：只能查看，不能上传、回退或修改。"
                    "本次操作未做任何更改；请在主服务器上操作。"
                ) from exc
            raise StoreError(
                f"PostgreSQL 数据库 {where(self.url)} 未能完成本次操作（{exc.__class__.__name__}），"
                "本次操作未做任何更改；如连接中断，请确认数据库服务器正在运行后重试。"
            ) from exc
        except OSError as exc:
            raise unreachable(self.url, exc) from exc


def copy_store(source: duckdb.DuckDBPyConnection, url: str, migrate: Callable, version: int) -> dict[str, int]:
    """Copy every table of an open DuckDB store (at this schema version) into the empty PostgreSQL database at
    `url`, in one transaction; the rows copied per table. StoreError when the server's database holds data."""
    replica = _replica(url, migrate, version)
    replica.ensure_schema()
    counts = {}
    with WRITE_LOCK, replica._server("BEGIN") as cur:
        cur.execute("SELECT pg_advisory_xact_lock($1)", (WRITE_LOCK_KEY,))
        cur.execute(
            "SELECT (SELECT count(*) FROM batches) + (SELECT count(*) FROM users) + (SELECT count(*) FROM audit_log)"
        )
        if cur.fetchall()[0][0]:
            raise StoreError(
                f"目标数据库 {where(url)} 已有数据（批次、账号或审计记录），未复制任何内容：请指定一个新建的空数据库。"
            )
        version = next_version(cur)
        # the new database's own schema_version and data_version rows make way for the file's
        cur.execute("INSERT INTO _gone_meta SELECT key, $1 FROM meta WHERE key <> 'pg_layout'", (version,))
        cur.execute("DELETE FROM meta WHERE key <> 'pg_layout'")
        for table in replica.columns:
            frame = source.sql(f"SELECT {replica.column_list(table)} FROM {quoted(table)}").to_arrow_table()
            if frame.num_rows:
                cur.adbc_ingest(table, versioned(frame, version) if table in KEYS else frame, mode="append")
            counts[table] = frame.num_rows
        bump(cur, list(replica.columns), version)
        cur.execute("COMMIT")
    return counts


def row_hash(cols: list[str]) -> str:
    """SQL of a 64-bit hash of a row's compared columns."""
    return f"hash({', '.join(map(quoted, cols))})"


def names(cols: list[str]) -> str:
    """A quoted column list."""
    return ", ".join(map(quoted, cols))


def fingerprint(con: duckdb.DuckDBPyConnection, cols: list[str], table: str) -> tuple[int, int]:
    """(rows, xor of the row hashes) of a table: equal before and after means the write did not touch it."""
    rows = con.execute(f"SELECT count(*), coalesce(bit_xor({row_hash(cols)}), 0) FROM {quoted(table)}").fetchall()
    return int(rows[0][0]), int(rows[0][1])


def delete_rows(cur, table: str, keys: pa.Table, *, exact: bool) -> None:
    """DELETE the server's rows whose key columns equal a row of `keys` (NULL matching NULL where not `exact`)."""
    cur.execute("DROP TABLE IF EXISTS pg_temp._pg_gone")
    cur.adbc_ingest("_pg_gone", keys, mode="create", temporary=True)
    # `=` on a declared key lets the server use its primary key index; whole rows may hold NULLs
    match = " = " if exact else " IS NOT DISTINCT FROM "
    where_sql = " AND ".join(f"t.{quoted(c)}{match}g.{quoted(c)}" for c in keys.column_names)
    cur.execute(f"DELETE FROM {quoted(table)} t USING pg_temp._pg_gone g WHERE {where_sql}")
    cur.execute("DROP TABLE pg_temp._pg_gone")


def next_version(cur) -> int:
    """A new store version (inside the caller's transaction, under the write lock: versions follow commit order)."""
    cur.execute("SELECT nextval('store_version_seq')")
    return int(cur.fetchall()[0][0])


def bump(cur, tables: list[str], version: int | None = None) -> int:
    """Mark `tables` changed on the server at `version` (a new one if None); the version."""
    version = next_version(cur) if version is None else version
    for table in tables:
        cur.execute(BUMP, (table, version))
    return version


def versioned(frame: pa.Table, version: int) -> pa.Table:
    """The rows with ROW_VERSION set to `version`."""
    return frame.append_column(ROW_VERSION, pa.array(np.full(frame.num_rows, version, dtype=np.int64)))


def advance_audit_sequence(db: duckdb.DuckDBPyConnection) -> None:
    """Move audit_seq past the copied rows, so the next audit row takes the next event_id."""
    top = db.execute("SELECT coalesce(max(event_id), 0) FROM audit_log").fetchall()[0][0]
    last = db.execute("SELECT coalesce(last_value, 0) FROM duckdb_sequences() WHERE sequence_name = 'audit_seq'")
    behind = int(top) - int(last.fetchall()[0][0])
    if behind > 0:
        db.execute("SELECT max(nextval('audit_seq')) FROM range($n)", {"n": behind}).fetchall()


_REPLICAS: dict[str, Replica] = {}
_CURSORS: dict[int, Replica] = {}
_LOCK = threading.Lock()


@contextlib.contextmanager
def connect(url: str, migrate: Callable, version: int, sync: bool = True) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to this process's copy of the database at `url`, brought up to date unless `sync` is False;
    the copy is made with `migrate` (database.migrate) at schema `version` on first use."""
    replica = _replica(url, migrate, version)
    replica.ensure_schema()
    if sync or not replica.versions:
        replica.sync()
    con = replica.db.cursor()
    _CURSORS[id(con)] = replica
    try:
        yield con
        if os.environ.get("DANGJIAN_CHECK_COPY") == "1":  # the tests: no write may bypass transaction()
            replica.check_untouched()
    finally:
        _CURSORS.pop(id(con), None)
        con.close()


def _replica(url: str, migrate: Callable, version: int) -> Replica:
    with _LOCK:
        if not _REPLICAS:
            atexit.register(forget_all)  # close the server connections before the interpreter tears down the driver
        return _REPLICAS.get(url) or _REPLICAS.setdefault(url, Replica(url, migrate, version))


def of(con: duckdb.DuckDBPyConnection) -> Replica | None:
    """The copy a connection belongs to; None for a DuckDB file's connection."""
    return _CURSORS.get(id(con))


def forget_all() -> None:
    """Close every copy and its connections (at exit)."""
    for url in list(_REPLICAS):
        forget(url)


def forget(url: str) -> None:
    """Drop this process's copy of `url` and its connections (the tests, after dropping the database)."""
    with _LOCK:
        replica = _REPLICAS.pop(url, None)
    if replica is not None:
        replica.pool.close()
        replica.db.close()
