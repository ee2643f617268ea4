"""Shared fixtures: a fresh DuckDB file per test and a clean Streamlit cache."""

from __future__ import annotations

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
    """Pages compute what they show themselves: no warm-up thread outliving a test and its temp database."""
    monkeypatch.setenv("DANGJIAN_WARM_UP", "0")


@pytest.fixture(autouse=True)
def _clear_streamlit_cache():
    """st.cache_data and st.cache_resource are process-global under pytest; every test starts empty."""
    import streamlit as st

    st.cache_data.clear()
    st.cache_resource.clear()
    yield
