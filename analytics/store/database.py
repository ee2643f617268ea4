"""The DuckDB store: connect, migrate, transactions, the data version and stored records (SPEC §2)."""

from __future__ import annotations

import contextlib
import os
import re
import threading
import time
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import duckdb
import pandas as pd

from analytics import ROOT
from analytics.store import postgres, replica
from analytics.store.audit_chain import chain_existing
from analytics.store.errors import DIR_ERRORS, StoreError, read_only_refusal, write_failure
from analytics.store.locks import WRITE_LOCK
from analytics.template import load_template

SQL_DIR = Path(__file__).with_name("sql")
SCHEMA_VERSION = 9
LOCK_WAIT_SECONDS = 15.0


@cache
def sql(name: str) -> str:
    """A fixed query from analytics/sql/NAME.sql."""
    return (SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")


def value_columns() -> list[str]:
    """Per-quarter value columns of a record: the template minus the organization identity."""
    return [n for n in load_template().names if n not in ("system", "unit", "org_name")]


def db_path(explicit: str | os.PathLike | None = None) -> Path | str:
    """--db, else $DANGJIAN_DB, else data/dangjian.duckdb in the project; a postgresql:// address as it is."""
    raw = explicit or os.environ.get("DANGJIAN_DB")
    if raw and (url := postgres.url_of(raw)):
        return url
    return Path(raw or ROOT / "data" / "dangjian.duckdb")


# scheme:// (or scheme:/ once a Path has folded the slashes); two letters at least, so C:/ stays a path
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+:/")


def refuse_url(path: str | os.PathLike | None) -> None:
    """StoreError for a database address that is a URL but not postgresql:// (taken as a path, it would create a
    directory named after the scheme)."""
    raw = str(path or os.environ.get("DANGJIAN_DB") or "")
    if not _URL.match(raw) or postgres.url_of(raw):
        return
    scheme = raw.split(":", 1)[0]
    raise StoreError(
        f"不支持的数据库地址「{scheme}://…」：DANGJIAN_DB 或 --db 应为 DuckDB 文件路径（如 data/dangjian.duckdb），"
        "或 PostgreSQL 地址（postgresql://用户:密码@主机:5432/库名）。"
    )


@contextlib.contextmanager
def connect(path: str | os.PathLike | None = None, *, reading: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """An open, migrated connection; waits a little if another process holds the file.

    reading: the caller only reads (a read command of the CLI). An existing file that the system will not let us
    write (a read-only file, directory or file system: an archive copy, a backup mount) is then opened read-only
    instead of refused; writes through it fail, and the read-outs' audit rows are skipped (cli._read_out)."""
    refuse_url(path)
    target = db_path(path)
    if isinstance(target, str):  # a PostgreSQL store: this process's copy of it (replica.py)
        run = getattr(_RUN, "migrated", None)  # inside held(): brought up to date at the run's first connect only,
        fresh = run is not None and target in run  # so one page run reads one state of the server
        with replica.connect(target, migrate, SCHEMA_VERSION, sync=not fresh) as con:
            if run is not None:
                run.add(target)
            yield con
        return
    existing = reading and target.is_file()
    if not existing:
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"无法创建数据目录 {target.parent}：{DIR_ERRORS.get(exc.errno, exc.strerror)}。") from exc
    con = _open(target, read_only_fallback=existing)
    try:
        run = getattr(_RUN, "migrated", None)  # inside held(): the schema is checked at the run's first connect
        if run is None or str(target) not in run:
            migrate(con)
            if run is not None:
                run.add(str(target))
        yield con
    finally:
        con.close()


def copy_to_server(source: str | os.PathLike, target: str | os.PathLike | None = None) -> dict[str, int]:
    """Copy the DuckDB file `source` (migrated first) into the empty PostgreSQL database `target` (--db,
    $DANGJIAN_DB); the rows copied per table. StoreError when the target is not PostgreSQL or not empty."""
    url = db_path(target)
    if not isinstance(url, str):
        raise StoreError("复制的目标必须是 PostgreSQL 数据库：请用 --db 或 DANGJIAN_DB 指定 postgresql://… 地址。")
    if not Path(source).is_file():
        raise StoreError(f"源数据库文件不存在：{source}")
    with connect(source, reading=True) as con:
        return replica.copy_store(con, url, migrate, SCHEMA_VERSION)


@contextlib.contextmanager
def held(path: str | os.PathLike | None = None) -> Iterator[None]:
    """Keep an existing file's database instance open meanwhile: every connect() inside is a lookup, not a file open.

    Around one page run (app.py), which opens a connection a dozen times (15 ms each without this, 2 ms with it).
    The instance stays open LINGER seconds (linger_seconds) after the last run ends, so the several runs of one click and the
    leaders clicking at the same moment share one opening (opening and closing it cost about 20 ms of CPU a run,
    issue 20); after that quiet moment the file is closed, so the CLI can get in (docs/concurrency.md). Never waits
    and never reports: a locked, missing or broken file is left to the reads inside, which say what is wrong.
    """
    target = str(db_path(path))
    _ANCHORS.enter(target)
    _RUN.versions, _RUN.migrated = {}, set()  # read once for the block: data version (run_data_version), schema
    try:
        yield
    finally:
        _RUN.versions = _RUN.migrated = None
        _ANCHORS.leave(target)


LINGER = 2.0  # seconds an unused anchor stays open


def linger_seconds() -> float:
    """$DANGJIAN_LINGER_SECONDS or LINGER; 0 closes the file as each run ends (the tests, which replace files)."""
    try:
        return float(os.environ.get("DANGJIAN_LINGER_SECONDS", LINGER))
    except ValueError:
        return LINGER


class _Anchors:
    """One open connection per file while any page run holds it, closed LINGER seconds after the last one."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: dict[str, duckdb.DuckDBPyConnection] = {}
        self._users: dict[str, int] = {}
        self._idle_since: dict[str, float] = {}

    def enter(self, target: str) -> None:
        with self._lock:
            self._users[target] = self._users.get(target, 0) + 1
            if target not in self._open and Path(target).is_file():
                with contextlib.suppress(duckdb.Error, OSError):
                    self._open[target] = duckdb.connect(target)

    def leave(self, target: str) -> None:
        with self._lock:
            self._users[target] -= 1
            if self._users[target] or target not in self._open:
                return
            self._idle_since[target] = stamp = time.monotonic()
        if (linger := linger_seconds()) <= 0:
            self._close_if_idle(target, stamp)
            return
        timer = threading.Timer(linger, self._close_if_idle, args=(target, stamp))
        timer.daemon = True
        timer.start()

    def _close_if_idle(self, target: str, stamp: float) -> None:
        with self._lock:  # not if a run came and went since this timer was set: its own timer closes it
            if self._users.get(target) or self._idle_since.get(target) != stamp:
                return
            anchor = self._open.pop(target, None)
        if anchor is not None:
            anchor.close()


_ANCHORS = _Anchors()


_RUN = threading.local()


def run_data_version(path: str | os.PathLike | None = None) -> int:
    """data_version of the file, read once per held() block (a page run asks a dozen times: one cache key each)
    unless this thread committed meanwhile; outside held() read every time. StoreError as connect() gives it."""
    memo, key = getattr(_RUN, "versions", None), str(db_path(path))
    if memo is not None and key in memo:
        return memo[key]
    with connect(path) as con:
        version = data_version(con)
    if memo is not None:
        memo[key] = version
    return version


def lock_wait_seconds() -> float:
    """How long to wait for another process to release the file: $DANGJIAN_LOCK_WAIT_SECONDS or 15 s."""
    try:
        return float(os.environ.get("DANGJIAN_LOCK_WAIT_SECONDS", LOCK_WAIT_SECONDS))
    except ValueError:
        return LOCK_WAIT_SECONDS


def _open(target: Path, read_only_fallback: bool = False) -> duckdb.DuckDBPyConnection:
    deadline = time.monotonic() + lock_wait_seconds()
    while True:
        try:
            return duckdb.connect(str(target))
        except duckdb.IOException as exc:
            if read_only_fallback and read_only_refusal(exc):
                return _open_read_only(target)
            if failure := write_failure(exc, target):
                raise failure from exc
            if "Could not set lock" not in str(exc) or time.monotonic() > deadline:
                raise StoreError(f"无法打开数据库 {target}：文件被其他程序占用或不可写，请稍后再试。") from exc
            time.sleep(0.2)
        except duckdb.Error as exc:
            raise StoreError(f"无法打开数据库 {target}：文件已损坏或不是本系统的数据库。") from exc


def _open_read_only(target: Path) -> duckdb.DuckDBPyConnection:
    """The file opened read-only; StoreError when it cannot be read, or is too old to read without migrating it."""
    try:
        con = duckdb.connect(str(target), read_only=True)
    except duckdb.Error as exc:
        raise StoreError(f"无法打开数据库 {target}：文件是只读的，且无法以只读方式读取（{exc}）。") from exc
    if schema_version(con) != SCHEMA_VERSION:
        con.close()
        raise StoreError(
            f"无法读取数据库 {target}：文件是只读的，而它的版本与本程序不同，需要先在可写的位置打开一次以完成升级。"
        )
    return con


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    """The schema version of the open file (0 for a new file)."""
    # One lookup (every connect asks): a catalog scan of duckdb_tables() first cost as much again (issue 20)
    try:
        rows = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall()
    except duckdb.CatalogException:  # no meta table: a new file
        return 0
    return int(rows[0][0]) if rows else 0


def migrate(con: duckdb.DuckDBPyConnection) -> None:
    """Apply schema_vN.sql for every version above the file's, each in one transaction."""
    current = schema_version(con)
    if current > SCHEMA_VERSION:
        raise StoreError(f"数据库版本（{current}）比本程序（{SCHEMA_VERSION}）新，请升级程序。")
    if current == SCHEMA_VERSION:
        return
    # Several sessions can open a new or older file at once: one migrates, the others find it done.
    with WRITE_LOCK:
        for version in range(schema_version(con) + 1, SCHEMA_VERSION + 1):
            with transaction(con):
                con.execute(sql(f"schema_v{version}"))
                if version == 7:  # the audit rows written before the chain are chained in the same transaction
                    chain_existing(con)
                con.execute(
                    "INSERT OR REPLACE INTO meta VALUES ('schema_version', $v), ('data_version', coalesce("
                    "(SELECT value FROM meta WHERE key = 'data_version'), '0'))",
                    {"v": str(version)},
                )


@contextlib.contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """BEGIN … COMMIT, one writer per process at a time; on any failure nothing is kept (the file stays as before)."""
    if copy := replica.of(con):  # a PostgreSQL store: the same write, on the copy and on the server
        with copy.writing(con), _open_transaction(con):
            yield
        _forget_run_version()
        return
    # Writers of one process share one DuckDB instance: serialized, they never meet a write-write conflict.
    with WRITE_LOCK:
        con.execute("BEGIN TRANSACTION")
        try:
            with _open_transaction(con):
                yield
            con.execute("COMMIT")
            _forget_run_version()
        except BaseException as exc:
            with contextlib.suppress(duckdb.Error):  # a failed COMMIT has already rolled back
                con.execute("ROLLBACK")
            if isinstance(exc, duckdb.Error) and (failure := write_failure(exc)):
                raise failure from exc
            raise


_WRITING: set[int] = set()  # id() of the connections inside transaction(), changed only under WRITE_LOCK


@contextlib.contextmanager
def _open_transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    _WRITING.add(id(con))
    try:
        yield
    finally:
        _WRITING.discard(id(con))


def in_transaction(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the connection is inside transaction(): a write there lands with the rest, or not at all."""
    return id(con) in _WRITING


def _forget_run_version() -> None:
    if memo := getattr(_RUN, "versions", None):  # this run changed the data: read its version again
        memo.clear()


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


def changed_fields_sql(new: str, old: str) -> str:
    """SQL of the list of value columns (template names) in which row alias `new` differs from row alias `old`."""
    cases = ", ".join(f"CASE WHEN {new}.{c} IS DISTINCT FROM {old}.{c} THEN '{c}' END" for c in value_columns())
    return f"list_filter([{cases}], lambda x: x IS NOT NULL)"


def quarter_records(con: duckdb.DuckDBPyConnection, quarter: str) -> pd.DataFrame:
    """Current records of a quarter: the template's columns in SPEC order, sorted by system, unit, name."""
    # the template's names, in its order; the unit as typed (current_records.unit names the system when shared)
    names = ", ".join(["system", "unit_name AS unit", "org_name", *value_columns()])
    return con.execute(
        f"SELECT {names} FROM current_records WHERE quarter = $q ORDER BY system, unit_name, org_name", {"q": quarter}
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
