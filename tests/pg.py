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


class Cluster:
    """A throwaway cluster in a temp directory: initdb once, then start and stop (a server restart) at will."""

    def __init__(self, standby_of: Cluster | None = None) -> None:
        """A new cluster; with standby_of, a streaming standby of that running cluster (pg_basebackup -R)."""
        bin_dir = binaries()
        if bin_dir is None:
            raise FileNotFoundError(MISSING)
        self.bin, self.root, self.port = bin_dir, Path(tempfile.mkdtemp(prefix="dangjian-pg-")), free_port()
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres")
        self.data = self.root / "data"
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        if standby_of is None:
            self._run(
                "initdb", "-D", str(self.data), "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8", "-U", "postgres"
            )
        else:  # a copy of the primary that follows it, read-only
            self._run("pg_basebackup", "-h", "127.0.0.1", "-p", str(standby_of.port), "-U", "postgres",
                      "-D", str(self.data), "-R", "-X", "stream", "-c", "fast")  # fmt: skip

    def _run(self, program: str, *args: str) -> None:
        subprocess.run(_as_owner([str(self.bin / program), *args]), check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.root / "server.log"), "-w", "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def remove(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError, subprocess.TimeoutExpired):
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "stop")
        shutil.rmtree(self.root, ignore_errors=True)


def own_cluster() -> Cluster:
    """A new cluster, initialized and not started; skips the test without PostgreSQL installed, or fails it where
    DANGJIAN_REQUIRE_POSTGRES=1 (CI: the PostgreSQL store must be tested there)."""
    import pytest

    try:
        return Cluster()
    except (OSError, subprocess.CalledProcessError) as exc:
        if os.environ.get("DANGJIAN_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL 测试必须运行，但无法初始化测试用的 PostgreSQL：{exc}")
        pytest.skip(MISSING)


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
