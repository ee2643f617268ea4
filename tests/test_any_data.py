"""Every page, export and command holds on any data a district can have (the any-data issue): stores drawn by
tests/stores.py (1–60 units, 1–500 organizations, 1–8 quarters, any optional columns, blanks, ties, all-zero
quarters, odd names), filled through the real upload path.

`make test` runs 25 stores through the commands, the workbook, the 通报, the narrative and every admin page,
and 8 through the deck and the leader's pages (a deck with its pictures costs ≈ 7 s). The long run,
`make test-long` (pytest -m long), runs every check on 200 stores."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
import streamlit as st
from hypothesis import HealthCheck, given, settings

from tests.anydata import check_cli, check_narrative, check_pages, check_rollback
from tests.stores import fill, organizations, shapes


def examples(n: int):
    return settings(max_examples=n, deadline=None, suppress_health_check=list(HealthCheck), database=None)


def every_check(shape, monkeypatch: pytest.MonkeyPatch, deck: bool, roles: tuple[str, ...]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "g.duckdb"
        quarters = fill(db, shape)
        check_narrative(db, quarters[-1], {o["unit"] for o in organizations(shape)})
        monkeypatch.setenv("DANGJIAN_DB", str(db))
        for role in roles:
            st.cache_data.clear()
            check_pages(role)
        check_cli(db, quarters[-1], Path(folder), deck=deck)
        check_rollback(db)


@pytest.mark.slow
@examples(25)
@given(shape=shapes())
def test_commands_workbook_bulletin_narrative_and_admin_pages_hold_on_a_generated_store(shape, monkeypatch):
    every_check(shape, monkeypatch, deck=False, roles=("admin",))


@pytest.mark.slow
@pytest.mark.chromium
@examples(8)
@given(shape=shapes())
def test_the_deck_chart_images_and_leader_pages_hold_on_a_generated_store(shape, monkeypatch):
    every_check(shape, monkeypatch, deck=True, roles=("leader",))


@pytest.mark.long
@examples(200)
@given(shape=shapes())
def test_every_output_holds_on_two_hundred_generated_stores(shape, monkeypatch):
    every_check(shape, monkeypatch, deck=True, roles=("leader", "admin"))
