"""Shared fixtures: a fresh DuckDB file per test and a clean Streamlit cache."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def db_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A path for a new DuckDB file, also exported as DANGJIAN_DB for pages and the CLI."""
    path = tmp_path / "test.duckdb"
    monkeypatch.setenv("DANGJIAN_DB", str(path))
    return path


@pytest.fixture(autouse=True)
def _no_background_warm_up(monkeypatch: pytest.MonkeyPatch):
    """Pages compute what they show themselves: no warm-up thread outliving a test and its temp database; and the
    file is closed as each page run ends (no lingering instance while a test replaces or reopens it; the linger
    has its own test in tests/test_concurrency.py)."""
    monkeypatch.setenv("DANGJIAN_WARM_UP", "0")
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
