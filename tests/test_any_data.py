"""Every page, export and command holds on any data a district can have (the any-data issue): stores drawn by
tests/stores.py (1–60 units, 1–500 organizations, 1–8 quarters, any optional columns, blanks, ties, all-zero
quarters, odd names), filled through the real upload path.

`make test` runs 3 stores through the commands, the workbook, the 通报 and its narrative, and 1 through every
page (leader and admin) and the deck with its chart images (≈ 25–50 s a store: pages and pictures are what cost).
The long run, `make test-long` (pytest -m long), runs every check on 200 stores."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
import streamlit as st
from hypothesis import HealthCheck, given, settings

from tests.anydata import check_cli, check_narrative, check_pages, check_rollback
from tests.stores import OPTIONAL, Quarter, Shape, fill, organizations, shapes


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
@examples(3)  # 20–30 s each on two cores (CI has 15 minutes): the long run (make test-long) gives the 200
@given(shape=shapes())
def test_commands_workbook_bulletin_and_narrative_hold_on_a_generated_store(shape, monkeypatch):
    every_check(shape, monkeypatch, deck=False, roles=())


@pytest.mark.slow
@pytest.mark.chromium
@examples(1)  # about 50 s a store; the four regression stores below and the long run cover more
@given(shape=shapes())
def test_every_page_and_the_deck_with_its_images_hold_on_a_generated_store(shape, monkeypatch):
    every_check(shape, monkeypatch, deck=True, roles=("leader", "admin"))


@pytest.mark.long
@examples(200)
@given(shape=shapes())
def test_every_output_holds_on_two_hundred_generated_stores(shape, monkeypatch):
    every_check(shape, monkeypatch, deck=True, roles=("leader", "admin"))


ALL = tuple(c for group in OPTIONAL for c in group)
# Stores that once failed, kept small: Hypothesis found the first two on 200- and 29-unit stores and could not
# shrink them within its time limit (each example costs seconds); these are the same cases at their smallest,
# each with the outputs it broke: (store, deck and images, page roles).
REGRESSIONS = {
    # a unit whose only branch is 离退休 has no integration mean: the rubric preview, the deck's ranking and the
    # workbook's unit sheet cast its missing rank to int
    "retiree_unit": (Shape(units=2, orgs=2, quarters=(Quarter("2024Q1", ALL),), retirees=1), True, ("admin",)),
    # 单位2 was read inside 单位27 by the narrative check (a test bug, kept so the check stays exact)
    "prefix_names": (Shape(units=28, orgs=28, quarters=(Quarter("2024Q1", ALL),)), None, ()),
    # a lagging unit of 离退休 branches only: no integration rank in the 通报's lagging table or on its deck slide
    "retiree_lagging": (
        Shape(
            units=43,
            systems=3,
            orgs=315,
            seed=11220272,
            retirees=1,
            quarters=(Quarter("2023Q1", ALL, "zero", 0.5), Quarter("2023Q2", ALL), Quarter("2023Q3", ALL)),
        ),
        True,
        (),
    ),
    # every score 0: the inequality measures are null and must read 无法计算 (the first report)
    "all_zero": (Shape(units=2, orgs=3, quarters=(Quarter("2024Q1", ALL, mode="zero"),)), True, ()),
}


# The two retiree stores render every page and the deck (45-50 s each): in the long run only, since the PostgreSQL
# tests joined CI's 15 minutes; the generated store above still takes every page and the deck in make test
LONG_REGRESSIONS = {"retiree_unit", "retiree_lagging"}


@pytest.mark.slow
@pytest.mark.chromium
@pytest.mark.parametrize(
    "case", [pytest.param(c, marks=pytest.mark.long) if c in LONG_REGRESSIONS else c for c in REGRESSIONS]
)
def test_stores_that_once_failed_hold_every_output(case, monkeypatch):
    shape, deck, roles = REGRESSIONS[case]  # the outputs each case broke (deck None: the narrative alone)
    if deck is None:
        with tempfile.TemporaryDirectory() as folder:
            quarter = fill(Path(folder) / "g.duckdb", shape)[-1]
            check_narrative(Path(folder) / "g.duckdb", quarter, {o["unit"] for o in organizations(shape)})
        return
    every_check(shape, monkeypatch, deck=deck, roles=roles)
