"""A throwaway PostgreSQL cluster for the tests: initdb in a temp directory, pg_ctl start on a free port, stop after.

Debian's `postgresql` package puts its programs under /usr/lib/postgresql/<version>/bin. initdb refuses to run as
root, so as root the cluster belongs to the `postgres` user the package creates. Without the package the tests
of the PostgreSQL store skip (or fail, when DANGJIAN_REQUIRE_POSTGRES=1 says they must run: CI).
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

MISSING = "未安装 PostgreSQL，跳过 PostgreSQL 存储的测试：sudo apt-get install -y postgresql（Debian/Ubuntu）后重跑 make test。"


def binaries() -> Path | None:
    """The newest installed PostgreSQL's bin directory, or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parent.parent.name))
    return Path(found[-1]).parent if found else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_owner(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


@contextlib.contextmanager
def cluster() -> Iterator[str]:
    """A running cluster for this process; yields the URL of its `postgres` database (trust auth, 127.0.0.1)."""
    bin_dir = binaries()
    if bin_dir is None:
        raise FileNotFoundError(MISSING)
    root = Path(tempfile.mkdtemp(prefix="dangjian-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
    data, port = root / "data", free_port()
    log = root / "server.log"
    user = "postgres"
    subprocess.run(
        _as_owner([str(bin_dir / "initdb"), "-D", str(data), "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8",
                   "-U", user]),
        check=True, capture_output=True,
    )  # fmt: skip
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
    subprocess.run(
        _as_owner([str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(log), "-w", "start"]),
        check=True, capture_output=True,
    )  # fmt: skip
    try:
        yield f"postgresql://{user}@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(_as_owner([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
                       capture_output=True)  # fmt: skip
        shutil.rmtree(root, ignore_errors=True)


def admin(server: str, statement: str) -> None:
    """Run one statement on the cluster's `postgres` database, outside a transaction (CREATE/DROP DATABASE)."""
    from adbc_driver_postgresql import dbapi

    with dbapi.connect(server, autocommit=True) as conn, conn.cursor() as cur:
        cur.execute(statement)


def rows(url: str, query: str) -> list[tuple]:
    """The rows of a query, read straight from the server (not through the store's copy)."""
    from adbc_driver_postgresql import dbapi

    with dbapi.connect(url, autocommit=True) as conn, conn.cursor() as cur:
        cur.execute(query)
        return cur.fetchall()


def database_url(server: str, name: str) -> str:
    return server.rsplit("/", 1)[0] + "/" + name


def new_database(server: str, template: str | None = None) -> str:
    """A new, empty database (or a copy of `template`) on the cluster; its URL."""
    name = "t_" + uuid.uuid4().hex[:12]
    admin(server, f"CREATE DATABASE {name}" + (f" TEMPLATE {template}" if template else ""))
    return database_url(server, name)


def drop_database(server: str, url: str) -> None:
    """Forget this process's copy of the database and drop it."""
    from analytics.store import replica

    replica.forget(url)
    admin(server, f"DROP DATABASE IF EXISTS {url.rsplit('/', 1)[1]} WITH (FORCE)")
