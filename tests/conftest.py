"""Shared fixtures: a fresh store per test (a DuckDB file, or a PostgreSQL database) and a clean Streamlit cache."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests import pg

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def db_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A path for a new DuckDB file, also exported as DANGJIAN_DB for pages and the CLI."""
    path = tmp_path / "test.duckdb"
    monkeypatch.setenv("DANGJIAN_DB", str(path))
    return path


@pytest.fixture(scope="session")
def pg_server():
    """A throwaway PostgreSQL cluster for this test process (tests/pg.py); skips without PostgreSQL installed,
    fails instead where DANGJIAN_REQUIRE_POSTGRES=1 (CI: the PostgreSQL store must be tested there)."""
    server = pg.own_cluster()
    try:
        server.start()
        yield server.url
    finally:
        server.remove()


@pytest.fixture
def pg_db(pg_server: str, monkeypatch: pytest.MonkeyPatch):
    """A new, empty PostgreSQL database, also exported as DANGJIAN_DB; dropped after the test."""
    url = pg.new_database(pg_server)
    monkeypatch.setenv("DANGJIAN_DB", url)
    yield url
    pg.drop_database(pg_server, url)


@pytest.fixture(params=["duckdb", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path | str:
    """A new store on each backend in turn: a DuckDB file path, then a postgresql:// URL (also $DANGJIAN_DB)."""
    if request.param == "postgresql":
        return request.getfixturevalue("pg_db")
    path = tmp_path / "test.duckdb"
    monkeypatch.setenv("DANGJIAN_DB", str(path))
    return path


@pytest.fixture(scope="session")
def pg_demo_template(pg_server: str) -> str:
    """A PostgreSQL database holding the demo district, loaded once per test process: the template of pg_demo."""
    from analytics.demo import load_demo
    from analytics.store import database as store
    from analytics.store import replica

    url = pg.new_database(pg_server)
    with store.connect(url) as con:
        load_demo(con, uploader="tester")
    replica.forget(url)  # a template database must have no open connection
    return url.rsplit("/", 1)[1]


@pytest.fixture(params=["duckdb", pytest.param("postgresql", marks=pytest.mark.postgres)])
def demo_store(request: pytest.FixtureRequest, demo_template: Path, tmp_path: Path, monkeypatch) -> Path | str:
    """The demo district on each backend in turn (a copy per test), also $DANGJIAN_DB."""
    if request.param == "postgresql":
        server = request.getfixturevalue("pg_server")
        url = pg.new_database(server, template=request.getfixturevalue("pg_demo_template"))
        request.addfinalizer(lambda: pg.drop_database(server, url))
        target: Path | str = url
    else:
        target = tmp_path / "test.duckdb"
        shutil.copy(demo_template, target)
    monkeypatch.setenv("DANGJIAN_DB", str(target))
    return target


@pytest.fixture(autouse=True)
def _no_background_warm_up(monkeypatch: pytest.MonkeyPatch):
    """Pages compute what they show themselves: no warm-up thread outliving a test and its temp database; and the
    file is closed as each page run ends (no lingering instance while a test replaces or reopens it; the linger
    has its own test in tests/test_concurrency.py)."""
    monkeypatch.setenv("DANGJIAN_WARM_UP", "0")
    monkeypatch.setenv("DANGJIAN_CHECK_COPY", "1")  # a PostgreSQL store's copy is checked at every close
    monkeypatch.setenv("DANGJIAN_LINGER_SECONDS", "0")


@pytest.fixture(autouse=True)
def _clear_streamlit_cache():
    """st.cache_data and st.cache_resource are process-global under pytest; every test starts empty."""
    import streamlit as st

    st.cache_data.clear()
    st.cache_resource.clear()
    yield


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo district loaded once per test run (copied by demo_db for each test that changes it)."""
    from analytics.demo import load_demo
    from analytics.store import database as store

    path = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    with store.connect(path) as con:
        load_demo(con, uploader="tester")
    return path


@pytest.fixture
def demo_db(demo_template: Path, db_path: Path) -> Path:
    """A fresh copy of the demo district at db_path (also $DANGJIAN_DB)."""
    shutil.copy(demo_template, db_path)
    return db_path


RENDERING_MODULES = {"test_images.py", "test_deck.py", "test_bulletin.py"}  # every test there renders charts


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests of modules that render chart images in the system Chromium are marked chromium (others carry the
    mark themselves), so `make test-fast` can leave them out."""
    if "long" not in (config.getoption("-m") or ""):  # the long run only when asked for (make test-long)
        long = [item for item in items if item.get_closest_marker("long")]
        config.hook.pytest_deselected(items=long)
        items[:] = [item for item in items if not item.get_closest_marker("long")]
    for item in items:
        if item.path.name in RENDERING_MODULES:
            item.add_marker(pytest.mark.chromium)
