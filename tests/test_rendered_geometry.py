"""The meeting files as rendered (LibreOffice to PDF, word boxes read back): no text over a table or other text,
nothing off a slide, no half-empty page in the 通报 but the last; and the table-fitting rule's arithmetic."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from analytics.meeting import bulletin, meeting, slides, table_fit
from analytics.meeting.table_fit import LINE, MIN_SIZE, PAD_PT
from analytics.scoring.rubric import load_rubric
from analytics.store import database as store
from tests.exports_demo import demo_meeting
from tests.rendered import document_problems, slide_problems, to_pdf
from tests.stores import OPTIONAL, Quarter, Shape, fill, shapes

ALL = tuple(c for group in OPTIONAL for c in group)

TOP_CM, BOTTOM_CM = 3.7, 3.5  # the 通报's page margins (GB/T 9704)


def test_lines_of_counts_a_cjk_character_as_one_em_and_wraps_at_the_column_edge():
    # a 100 pt column less 8.64 pt of side margins holds 91.36 / (10 × 0.55) = 16.6 units: 8 CJK characters a line
    assert table_fit.lines_of("区职业技术学校", 10, 100) == 1  # 14 units
    assert table_fit.lines_of("区职业技术学校党支部", 10, 100) == 2  # 20 units
    assert table_fit.lines_of("甲\n乙", 10, 100) == 2


def test_cut_keeps_what_the_lines_hold_and_marks_the_cut():
    text = "很长的党组织名称" * 10
    shown = table_fit.cut(text, 10, 100, 2)
    assert shown.endswith("…") and text.startswith(shown[:-1])
    assert table_fit.lines_of(shown, 10, 100) <= 2
    assert table_fit.cut("短名", 10, 100, 2) == "短名"


@given(
    st.lists(st.lists(st.text("区局党支部ab1 ", max_size=60), min_size=3, max_size=3), min_size=1, max_size=40),
    st.floats(10, 18),
    st.floats(60, 500),
)
def test_a_fitted_table_fits_its_height_whenever_its_smallest_rows_can(cells, size, height):
    widths = [60.0, 150.0, 70.0]
    fit = table_fit.fit(cells, widths, size, height)
    assert MIN_SIZE <= fit.size <= size
    # every row has at least the height its text needs at the chosen size
    for row, h in zip(fit.cells, fit.rows, strict=True):
        lines = max(table_fit.lines_of(t, fit.size, w) for t, w in zip(row, widths, strict=True))
        assert h >= lines * fit.size * LINE + PAD_PT - 1e-6
    if fit.size > MIN_SIZE:
        assert sum(fit.rows) <= height + 1e-6
    else:  # at the smallest size no cell takes more than two lines, and only one when two do not fit
        lines = [table_fit.lines_of(t, MIN_SIZE, w) for r in fit.cells for t, w in zip(r, widths, strict=True)]
        assert max(lines) <= 2
        assert max(lines) == 1 or sum(fit.rows) <= height + 1e-6


@pytest.mark.slow
@pytest.mark.chromium
def test_the_demo_deck_and_bulletin_render_with_nothing_overlapping_and_no_half_empty_page(tmp_path):
    files = []
    for system in (None, "经济系统"):
        tag = system or "全区"
        (deck := tmp_path / f"deck_{tag}.pptx").write_bytes(slides.deck_bytes(demo_meeting(system)))
        (doc := tmp_path / f"bulletin_{tag}.docx").write_bytes(bulletin.bulletin_bytes(demo_meeting(system)))
        files += [deck, doc]
    pdfs = to_pdf(files, tmp_path)
    for pdf in pdfs:
        found = slide_problems(pdf) if pdf.stem.startswith("deck") else document_problems(pdf, TOP_CM, BOTTOM_CM)
        assert found == [], (pdf.name, found)


LONG_NAMES = Shape(
    units=60, systems=1, orgs=300, quarters=(Quarter("2024Q3", ALL), Quarter("2024Q4", ALL)), names="long"
)


@pytest.mark.slow
@pytest.mark.chromium
@settings(max_examples=1, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@example(shape=LONG_NAMES)
@given(shape=shapes())
def test_the_deck_and_bulletin_of_a_generated_store_render_with_nothing_overlapping(shape):
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        quarter = fill(folder / "g.duckdb", shape)[-1]
        with store.connect(folder / "g.duckdb") as con:
            m = meeting.build(con, quarter, load_rubric())
        (folder / "deck.pptx").write_bytes(slides.deck_bytes(m))
        (folder / "bulletin.docx").write_bytes(bulletin.bulletin_bytes(m))
        deck, doc = to_pdf([folder / "deck.pptx", folder / "bulletin.docx"], folder)
        assert slide_problems(deck) == []
        assert document_problems(doc, TOP_CM, BOTTOM_CM) == []
