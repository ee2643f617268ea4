"""PostgreSQL as the store (issue 17): the server's address, its connections, its schema and its failures.

PostgreSQL holds every durable table; the product's SQL runs on DuckDB over an in-memory copy of them
(replica.py), so no query is written twice. This module only talks to the server: connections from a small pool
through the ADBC driver (Arrow in and out, COPY for bulk writes), the tables created or extended to match the
DuckDB schema, and a lost server told in Chinese.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
from collections.abc import Iterator
from urllib.parse import urlsplit

import duckdb

from analytics.store.errors import StoreError

_SCHEME = re.compile(r"^(postgresql|postgres)://", re.IGNORECASE)
WRITE_LOCK_KEY = 7_172_017  # pg_advisory_xact_lock: one writer at a time across every process and server
POOL_SIZE = 8
ROW_VERSION = "_v"  # the store version that wrote a row (tables with a declared key)
LAYOUT = 2  # meta 'pg_layout': the server-side tables beyond the DuckDB schema (2: row versions, removed keys)

# DuckDB column types of the schema (sql/schema_v*.sql) and the PostgreSQL type that holds the same values
PG_TYPES = {
    "VARCHAR": "text",
    "INTEGER": "integer",
    "BIGINT": "bigint",
    "DOUBLE": "double precision",
    "BOOLEAN": "boolean",
    "DATE": "date",
    "TIMESTAMP": "timestamp",
    "BLOB": "bytea",
    "VARCHAR[]": "text[]",
}

# Columns that identify a row of a table; a table not named here is identified by all its columns but BLOBs.
KEYS = {
    "meta": ("key",),
    "batches": ("batch_id",),
    "batch_files": ("batch_id",),
    "organizations": ("org_id",),
    "records": ("batch_id", "quarter", "org_id"),
    "users": ("name",),
    "audit_log": ("event_id",),
    "header_mappings": ("header_key",),
    "web_sessions": ("token_hash",),
    "rectifications": ("item_id",),
    "derived": ("data_version", "rubric_sha", "name", "arg"),  # one kept result per state, name and argument
}

# The audit log is append-only in the database itself: no role, the app's included, can change or remove a row.
APPEND_ONLY = (
    "CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$",
    "DROP TRIGGER IF EXISTS audit_log_no_change ON audit_log",
    "CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log "
    "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
    "DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log",
    "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()",
)

# Which version of each table the server holds: a write bumps the tables it changed, a reader reads only those
VERSIONS = (
    "CREATE TABLE IF NOT EXISTS store_versions (name text PRIMARY KEY, version bigint NOT NULL)",
    "CREATE SEQUENCE IF NOT EXISTS store_version_seq",
)


def url_of(path: str | os.PathLike | None) -> str | None:
    """The postgresql:// address in --db or $DANGJIAN_DB, or None for a DuckDB file."""
    raw = str(path) if path is not None else os.environ.get("DANGJIAN_DB") or ""
    return raw if _SCHEME.match(raw) else None


def where(url: str) -> str:
    """The server and database of an address as told to people: never the password."""
    parts = urlsplit(url)
    host = parts.hostname or "本机"
    return f"{host}:{parts.port or 5432}/{parts.path.lstrip('/') or '默认库'}"


def unreachable(url: str, exc: BaseException) -> StoreError:
    """The Chinese error for a server that refused, dropped or never answered the connection."""
    return StoreError(
        f"无法连接 PostgreSQL 数据库 {where(url)}（{_reason(exc)}）。本次操作未做任何更改；"
        "请确认数据库服务器正在运行、地址和密码正确，然后重试。"
    )


def _reason(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    text = re.sub(r"postgres(ql)?://\S+", "（地址）", text)  # never echo an address that may carry a password
    return text[:160]


class Pool:
    """Open connections to one server, reused across page runs; a broken one is dropped, the next is new."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._idle: list = []
        self._lock = threading.Lock()

    def _open(self):
        from adbc_driver_postgresql import dbapi  # only installations on PostgreSQL load the driver

        try:
            return dbapi.connect(self.url, autocommit=True)
        except Exception as exc:  # the driver's errors, and a malformed address
            raise unreachable(self.url, exc) from exc

    @contextlib.contextmanager
    def session(self, begin: str) -> Iterator:
        """A cursor inside a transaction opened by `begin`, committed by the caller; rolled back on any failure.

        A pooled connection the server dropped meanwhile (a restart) fails at `begin`: it is replaced once."""
        conn = self._take()
        try:
            cur = conn.cursor()
            cur.execute(begin)
        except Exception:
            _close(conn)
            conn = self._open()
            cur = conn.cursor()
            try:
                cur.execute(begin)
            except Exception as exc:
                _close(conn)
                raise unreachable(self.url, exc) from exc
        try:
            yield cur
        except BaseException:
            with contextlib.suppress(Exception):
                cur.execute("ROLLBACK")
            _close(conn)  # its state is unknown after a failure: never reused
            raise
        cur.close()
        with self._lock:
            if len(self._idle) < POOL_SIZE:
                self._idle.append(conn)
                return
        _close(conn)

    def _take(self):
        with self._lock:
            if self._idle:
                return self._idle.pop()
        return self._open()

    def close(self) -> None:
        """Close every idle connection (the tests, between servers)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            _close(conn)


def _close(conn) -> None:
    with contextlib.suppress(Exception):
        conn.close()


def quoted(name: str) -> str:
    """An identifier of our own schema, quoted for PostgreSQL."""
    return '"' + name.replace('"', '""') + '"'


def table_columns(db: duckdb.DuckDBPyConnection) -> dict[str, list[tuple[str, str]]]:
    """Every base table of the DuckDB schema with its (column, DuckDB type), in column order."""
    rows = db.execute(
        "SELECT table_name, column_name, data_type FROM duckdb_columns() "
        "WHERE schema_name = 'main' AND NOT internal AND table_name IN "
        "(SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main' AND NOT temporary) "
        "ORDER BY table_name, column_index"
    ).fetchall()
    tables: dict[str, list[tuple[str, str]]] = {}
    for table, column, kind in rows:
        tables.setdefault(table, []).append((column, kind))
    return tables


def gone_table(table: str) -> str:
    """The table of the keys removed from `table`, each with the version that removed it."""
    return f"_gone_{table}"


def create_statements(tables: dict[str, list[tuple[str, str]]]) -> list[str]:
    """CREATE TABLE IF NOT EXISTS for every table and ADD COLUMN IF NOT EXISTS for every column: run in order,
    they bring a database made by any earlier version to this schema (columns are only ever added).

    A table with a declared key also gets ROW_VERSION on every row (the store version that wrote it) and a table of
    the keys removed from it with theirs, so a reader reads only what changed since its copy (replica._pull)."""
    statements = []
    for table, columns in tables.items():
        cols = ", ".join(f"{quoted(c)} {PG_TYPES[kind]}" for c, kind in columns)
        key = f", PRIMARY KEY ({', '.join(map(quoted, KEYS[table]))})" if table in KEYS else ""
        statements.append(f"CREATE TABLE IF NOT EXISTS {quoted(table)} ({cols}{key})")
        statements.extend(
            f"ALTER TABLE {quoted(table)} ADD COLUMN IF NOT EXISTS {quoted(c)} {PG_TYPES[kind]}" for c, kind in columns
        )
        if table in KEYS:
            kinds = dict(columns)
            keys = ", ".join(f"{quoted(c)} {PG_TYPES[kinds[c]]}" for c in KEYS[table])
            version = quoted(ROW_VERSION)
            statements += [
                f"ALTER TABLE {quoted(table)} ADD COLUMN IF NOT EXISTS {version} bigint NOT NULL DEFAULT 0",
                f"CREATE INDEX IF NOT EXISTS {quoted(table + '_by_version')} ON {quoted(table)} ({version})",
                f"CREATE TABLE IF NOT EXISTS {quoted(gone_table(table))} ({keys}, {version} bigint NOT NULL)",
                f"CREATE INDEX IF NOT EXISTS {quoted(table + '_gone_by_version')} ON {quoted(gone_table(table))} ({version})",
            ]
    return statements
