"""The meeting deck reopened with python-pptx: slides and titles, numbers equal to the scores, fonts, pictures."""

from __future__ import annotations

import functools
import io

import pytest
from pptx import Presentation
from pptx.oxml.ns import qn
from pptx.util import Emu

from analytics.charts import images
from analytics.meeting import deck, slides
from tests.exports_demo import SYSTEM, TRUTH, demo_meeting, other_units, scores, warm

# Every title states a finding after its topic (findings.py); the topics, in deck order
TOPICS = [
    "总体情况：", "得分趋势：", "系统比较：", "四象限：", "单位排名：支部标准化建设", "单位排名：党建与业务融合",
    "指标：支部标准化建设", "指标：党建与业务融合", "单位进退：", "不平衡程度：", "预警事项：", "上季度整改：",
]  # fmt: skip


@functools.cache
def opened(system: str | None = None) -> Presentation:
    warm()
    return Presentation(io.BytesIO(slides.deck_bytes(demo_meeting(system))))


def title(slide) -> str:
    return slide.shapes.title.text_frame.text


def slide_text(slide) -> str:
    parts = []
    for shape in slide.shapes:
        if shape.has_text_frame:
            parts.append(shape.text_frame.text)
        if shape.has_table:
            parts += [cell.text for row in shape.table.rows for cell in row.cells]
    return "\n".join(parts)


def slide_of(prs, topic: str):
    """The one slide whose title starts with topic."""
    (found,) = [s for s in prs.slides if title(s).startswith(topic)]
    return found


def table_rows(slide, index: int = 0) -> list[list[str]]:
    tables = [s.table for s in slide.shapes if s.has_table]
    return [[cell.text for cell in row.cells] for row in tables[index].rows]


def test_deck_is_16_9_with_one_slide_per_topic_and_one_per_lagging_unit():
    prs, lagging = opened(), list(demo_meeting().lagging["unit"])
    assert (prs.slide_width, prs.slide_height) == (Emu(12192000), Emu(6858000))
    assert len(prs.slides) == 1 + len(TOPICS) + len(lagging) + 1
    titles = [title(s) for s in prs.slides]
    assert titles[0].replace("\n", "") == "2024年第四季度区直机关基层党组织建设质量分析"
    assert [t[: len(topic)] for t, topic in zip(titles[1:13], TOPICS, strict=True)] == TOPICS
    assert all(len(t) > len(topic) + 4 for t, topic in zip(titles[1:13], TOPICS, strict=True))  # a finding follows
    assert [t.split("：")[1].split("（")[0] for t in titles[13:-1]] == lagging
    assert titles[-1].startswith("下一步工作：")
    # the planted problems of the demo district are among the lagging units
    assert {TRUTH["two_skins_unit"], TRUTH["declining_unit"], TRUTH["business_heavy_unit"]} <= set(lagging)


def test_the_rectification_slide_counts_last_quarters_items_as_the_page_does():
    # the demo's 2024Q3 items (analytics/demo.py): 2 fixed by the 2024Q4 file, 11 still there past 2024-12-31
    still = [*TRUTH["overdue_2024Q4"], *TRUTH["under_3_full_2024Q4"], *TRUTH["no_secretary_2024Q4"]]
    slide = slide_of(opened(), "上季度整改：")
    assert title(slide) == f"上季度整改：{len(still) + 2}项中2项数据显示已整改，{len(still)}项逾期"
    counts = table_rows(slide, 0)
    assert counts[0] == ["待整改", "整改中", "待核验", "已销号", "逾期", "合计"]
    assert counts[1] == ["0", "0", "2", "0", str(len(still)), str(len(still) + 2)]
    overdue = table_rows(slide, 1)
    assert len(overdue) == 1 + 8 and {row[1] for row in overdue[1:]} <= set(still)


def test_title_slide_names_district_quarter_and_date():
    made = demo_meeting().made
    text = slide_text(opened().slides[0])
    assert "区直机关" in text and "2024年第四季度" in text
    assert f"{made.year}年{made.month}月{made.day}日" in text


def test_kpi_cards_show_the_mean_scores_and_the_quadrant_counts():
    frame, text = scores(), slide_text(slide_of(opened(), "总体情况："))
    assert f"{frame['standardization'].mean():.1f}" in text
    assert f"{frame['integration'].mean():.1f}" in text
    for quadrant, count in frame["quadrant"].value_counts().items():
        assert f"“{quadrant}”党组织\n{count} 个" in text


def test_quadrant_table_counts_equal_the_scores():
    counts = scores()["quadrant"].value_counts()
    rows = table_rows(slide_of(opened(), "四象限："))
    assert rows[0] == ["象限", "党组织数", "占比", "比上季度"]
    assert {r[0]: int(r[1]) for r in rows[1:]} == counts.to_dict()


@pytest.mark.parametrize(("topic", "score"), [("单位排名：支部", "standardization"), ("单位排名：党建", "integration")])
def test_ranking_tables_hold_every_unit_mean_in_rank_order(topic, score):
    means = scores().groupby("unit")[score].mean().sort_values(ascending=False)
    slide = slide_of(opened(), topic)
    # the title names the first and the last of this table
    assert f"{means.index[0]}最高，{means.index[-1]}最低（{means.iloc[-1]:.1f}分）" in title(slide)
    rows = [r for i in range(2) for r in table_rows(slide, i)[1:]]
    assert [r[1] for r in rows] == list(means.index)
    assert [r[2] for r in rows] == [f"{v:.1f}" for v in means]
    assert [int(r[0]) for r in rows] == list(range(1, len(means) + 1))  # no ties in the demo


def test_quadrant_picture_is_a_png_of_the_rendered_size():
    pictures = [s for s in slide_of(opened(), "四象限：").shapes if s.shape_type == 13]
    assert len(pictures) == 1
    image = pictures[0].image
    assert image.content_type == "image/png"
    assert images.png_size(image.blob) == (1600, 1280)  # 800 × 640 layout pixels at scale 2
    assert pictures[0].width / pictures[0].height == pytest.approx(1600 / 1280, rel=0.01)


def test_every_run_on_slides_and_in_notes_has_an_east_asian_font():
    prs, runs = opened(), 0
    for slide in prs.slides:
        for part in (slide, slide.notes_slide):
            for run in part._element.iter(qn("a:r")):
                runs += 1
                ea = run.find(qn("a:rPr")).find(qn("a:ea"))
                assert ea is not None and ea.get("typeface") in ("Microsoft YaHei", "Noto Sans CJK SC")
    assert runs > 300


def test_speaker_notes_carry_the_numbers_behind_the_charts():
    frame, prs = scores(), opened()
    item_notes = slide_of(prs, "指标：支部").notes_slide.notes_text_frame.text
    # per organization scored, an item that does not apply losing nothing (S8 does not apply to 党委 / 党总支)
    assert f"S8 主题党日：权重 10，平均失 {frame['lost_S8'].fillna(0).mean():.2f} 分" in item_notes
    ranking_notes = slide_of(prs, "单位排名：支部").notes_slide.notes_text_frame.text
    best = frame.groupby("unit")["standardization"].mean().sort_values(ascending=False)
    assert f"第 1 名 {best.index[0]}：{best.iloc[0]:.1f} 分" in ranking_notes
    warning_notes = slide_of(prs, "预警事项：").notes_slide.notes_text_frame.text
    assert all(name in warning_notes for name in TRUTH["overdue_2024Q4"])


def test_lagging_unit_slide_lists_its_lowest_organizations_with_their_scores():
    unit = TRUTH["two_skins_unit"]
    slide = next(s for s in opened().slides if title(s).startswith(f"后进单位：{unit}"))
    frame = scores()
    mine = frame[frame["unit"] == unit]
    rows = table_rows(slide, 1)[1:]
    for name, standardization, integration, quadrant in rows:
        row = mine[mine["org_name"].str.endswith(name)].iloc[0]
        assert (standardization, integration, quadrant) == (
            f"{row['standardization']:.1f}",
            f"{row['integration']:.1f}",
            row["quadrant"],
        )
    assert table_rows(slide, 0)[2][1] == f"{mine['integration'].mean():.1f}"


def test_a_system_deck_shows_only_that_system():
    prs = opened(SYSTEM)
    text = "\n".join(slide_text(s) + s.notes_slide.notes_text_frame.text for s in prs.slides)
    assert "区直机关 经济系统" in text
    assert [u for u in other_units(SYSTEM) if u in text] == []
    ranked = [r[1] for r in table_rows(slide_of(prs, "单位排名：支部"))[1:]]
    assert sorted(ranked) == sorted(scores().query("system == @SYSTEM")["unit"].unique())


def test_a_chart_that_shows_a_selection_keeps_saying_so_on_the_slide():
    import numpy as np
    import pandas as pd

    from analytics.charts import charts

    # 100 units (above the 60 drawn in full): the chart's title carries a note on what it shows
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(
        {"unit": [f"单位{k // 4:03d}" for k in range(400)], "standardization": rng.uniform(40, 100, 400)}
    )
    fig = charts.score_distribution(frame, "unit", "standardization")
    assert "<br>" in fig.layout.title.text
    shown = deck.slide_figure(fig).layout.title.text
    assert "共 100 个" in shown and "得分分布" not in shown  # the note stays, the title moves to the slide
    small = charts.score_distribution(frame[frame["unit"] < "单位010"], "unit", "standardization")
    assert deck.slide_figure(small).layout.title.text in ("", None)  # a district chart: no title on the image


def test_the_movers_slide_names_the_unit_that_rose_and_the_one_that_fell():
    slide = slide_of(opened(), "单位进退：")
    rows = table_rows(slide)[1:]
    directions = {(r[0], r[2]) for r in rows}
    assert (TRUTH["improving_unit"], "提升") in directions and (TRUTH["declining_unit"], "下滑") in directions
    assert title(slide) == "单位进退：1个单位持续提升，1个单位连续下滑"


def test_the_trend_slide_holds_every_quarter_mean():
    frame = scores()
    rows = table_rows(slide_of(opened(), "得分趋势："))
    assert rows[-1][:3] == ["2024Q4", f"{frame['standardization'].mean():.1f}", f"{frame['integration'].mean():.1f}"]
    assert [r[0] for r in rows[1:]] == [f"{y}Q{n}" for y in (2023, 2024) for n in range(1, 5)]


def test_chart_text_as_placed_on_the_slide_is_at_least_14_points():
    import re

    from analytics.charts import charts

    # independent of the scaling code: the SVG the renderer draws, its font sizes in layout pixels, times the
    # points per layout pixel of the picture as placed on the slide
    placed = next(s for s in slide_of(opened(), "四象限：").shapes if s.shape_type == 13)
    pt_per_px = placed.width / 12700 / 800
    m = demo_meeting()
    fig = charts.quadrant_scatter(m.frame, m.rubric.quadrant_threshold, color_by="system")
    svg = images.render(deck.legible(deck.slide_figure(fig), pt_per_px), "svg", 800, 640).decode()
    sizes = [float(x) for x in re.findall(r"font-size:\s*([0-9.]+)px", svg)]
    assert len(sizes) > 10
    assert min(sizes) * pt_per_px >= 14 - 1e-6
