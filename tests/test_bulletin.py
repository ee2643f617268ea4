"""The 季度通报 reopened with python-docx: the committee's four parts, named units and branches, fonts, figures."""

from __future__ import annotations

import functools
import io

import docx
from docx.oxml.ns import qn

from analytics.charts import images
from analytics.meeting import bulletin
from analytics.meeting.bulletin_text import delta, names
from tests.exports_demo import SYSTEM, TRUTH, demo_meeting, other_units, scores, warm

PARTS = ["一、基本情况", "二、主要成效", "三、存在问题", "四、下步工作建议"]


@functools.cache
def opened(system: str | None = None) -> docx.document.Document:
    warm()
    return docx.Document(io.BytesIO(bulletin.bulletin_bytes(demo_meeting(system))))


def part(document, heading: str) -> str:
    """The text between one level-one heading and the next."""
    out, inside = [], False
    for para in document.paragraphs:
        if para.style.name == "Heading 1":
            inside = para.text == heading
        elif inside:
            out.append(para.text)
    return "\n".join(out)


def all_text(document) -> str:
    cells = [c.text for t in document.tables for row in t.rows for c in row.cells]
    return "\n".join([*(p.text for p in document.paragraphs), *cells])


def test_bulletin_has_the_title_and_the_four_parts_of_the_committee_report_in_order():
    document = opened()
    assert document.paragraphs[0].text == "关于2024年第四季度区直机关基层党组织建设质量情况的通报"
    assert [p.text for p in document.paragraphs if p.style.name == "Heading 1"] == PARTS
    assert document.paragraphs[-2].text == "中共区直机关工作委员会"


def test_basic_facts_are_the_demo_counts_and_the_mean_scores():
    frame, text = scores(), part(opened(), PARTS[0])
    assert f"共有{TRUTH['units']}个单位的{TRUTH['organizations']}个基层党组织参加评价" in text
    assert f"支部标准化建设平均得分{frame['standardization'].mean():.1f}分" in text
    assert f"党建与业务融合平均得分{frame['integration'].mean():.1f}分" in text
    assert f"“两张皮”{(frame['quadrant'] == '两张皮').sum()}个" in text


def test_problems_name_the_lagging_units_two_skins_branches_and_overdue_elections():
    text = part(opened(), PARTS[2])
    for unit in demo_meeting().lagging["unit"]:
        assert unit in text
    assert TRUTH["two_skins_unit"] in text and TRUTH["declining_unit"] in text
    worst_two_skins = scores().query("quadrant == '两张皮'").sort_values("integration").iloc[0]
    assert f"{worst_two_skins['org_name']}标准化建设得分{worst_two_skins['standardization']:.1f}分" in text
    assert all(f"{name}（应于" in text for name in TRUTH["overdue_2024Q4"])
    assert all(name in text for name in TRUTH["no_secretary_2024Q4"])


def test_suggestions_follow_from_the_problems():
    text = part(opened(), PARTS[3])
    assert text.startswith("1.聚焦后进单位，开展精准帮扶。")
    assert TRUTH["two_skins_unit"] in text and "联合党支部" in text


def test_lagging_table_numbers_equal_the_unit_means():
    frame = scores()
    table = next(
        t for t in opened().tables if t.rows[0].cells[0].text == "单位" and t.rows[0].cells[4].text == "主要短板"
    )
    for row in table.rows[1:]:
        unit, _, standardization, integration, _ = (c.text for c in row.cells)
        mine = frame[frame["unit"] == unit]
        assert standardization.startswith(f"{mine['standardization'].mean():.1f}（")
        assert integration.startswith(f"{mine['integration'].mean():.1f}（")


def test_normal_style_and_every_heading_set_a_chinese_east_asian_font():
    document = opened()
    for name in ("Normal", "Heading 1", "Heading 2", "Title"):
        fonts = document.styles[name].element.rPr.find(qn("w:rFonts"))
        assert fonts.get(qn("w:eastAsia")) in ("仿宋", "黑体", "楷体", "宋体"), name
        assert fonts.get(qn("w:eastAsiaTheme")) is None  # a theme font would override the name
    assert round(document.sections[0].page_width.cm, 2) == 21.0  # A4


def test_key_charts_are_embedded_as_sharp_pngs():
    document = opened()
    blobs = [r.target_part.blob for r in document.part.rels.values() if "image" in r.reltype]
    assert len(blobs) == 2
    assert all(images.png_size(b)[0] >= 1600 for b in blobs)
    captions = [p.text for p in document.paragraphs if p.style.name == "Caption"]
    assert any(c.startswith("图1") for c in captions) and any(c.startswith("表2") for c in captions)


def test_a_system_bulletin_names_only_that_system():
    document = opened(SYSTEM)
    text = all_text(document)
    assert document.paragraphs[0].text == "关于2024年第四季度区直机关经济系统基层党组织建设质量情况的通报"
    assert [u for u in other_units(SYSTEM) if u in text] == []
    assert TRUTH["two_skins_unit"] in part(document, PARTS[2])


def test_templated_phrases_read_like_the_report():
    assert delta(0.62) == "比上季度提高0.6分"
    assert delta(-3.0, "个") == "比上季度减少3个"
    assert delta(0.01) == "与上季度基本持平"
    assert delta(None) == ""
    assert names(["甲", "乙", "丙"], 2) == "甲、乙等3个"
