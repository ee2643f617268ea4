"""The 季度通报 reopened with python-docx: the committee's four parts, named units and branches, fonts, figures."""

from __future__ import annotations

import functools
import io
import re
import shutil
import subprocess

import docx
import pytest
from docx.oxml.ns import qn

from analytics.charts import images
from analytics.meeting import bulletin
from analytics.meeting.bulletin_text import delta, names
from tests.exports_demo import SYSTEM, TRUTH, demo_meeting, other_units, scores, warm

# 四: the demo opened 整改事项 from its 2024Q3 warnings (analytics/demo.py)
PARTS = ["一、基本情况", "二、主要成效", "三、存在问题", "四、上季度整改落实情况", "五、下步工作建议"]


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


def title(document) -> str:
    return next(p.text for p in document.paragraphs if p.style.name == "Title")


def test_bulletin_has_the_title_and_the_four_parts_of_the_committee_report_in_order():
    document = opened()
    assert title(document) == "关于2024年第四季度区直机关基层党组织建设质量情况的通报"
    assert [p.text for p in document.paragraphs if p.style.name == "Heading 1"] == PARTS
    texts = [p.text for p in document.paragraphs]
    assert texts.index("中共区直机关工作委员会", 1) > texts.index(PARTS[-1])  # signed after the last part


def test_the_bulletin_has_the_official_masthead_number_signing_date_and_colophon():
    # GB/T 9704: issuer in red, 文号 under it, the body, the issuer and date signed, 版记 (抄送, 印发)
    texts = [p.text for p in opened().paragraphs]
    head = opened().paragraphs[0]
    assert head.text == "中共区直机关工作委员会" and head.runs[0].font.color.rgb == docx.shared.RGBColor(0xFF, 0, 0)
    assert "区直工委〔2025〕  号" in texts[:4]  # the number left blank for the office, the year of signing
    # signed 15 days after the quarter (2024-12-31): the default when the export chose no date
    assert texts[-4:] == [
        "2025年1月15日",
        "",
        "抄送：【待补充：抄送单位】。",
        "中共区直机关工作委员会办公室\u3000\u30002025年1月15日印发",
    ]
    assert any(t.startswith("【待补充：") for t in texts[texts.index(PARTS[1]) :])  # the committee's own 主要做法
    title_fonts = opened().styles["Title"].element.rPr.find(qn("w:rFonts"))
    assert title_fonts.get(qn("w:eastAsia")) == "方正小标宋简体"


def test_every_page_has_a_page_number_field_in_its_footer():
    footer = opened().sections[0].footer
    xml = footer._element.xml
    assert "PAGE" in xml and "fldChar" in xml
    assert footer.paragraphs[0].text.replace(" ", "").startswith("—") and footer.paragraphs[0].text.endswith("—")


def test_number_signing_date_and_copies_chosen_at_export_are_printed():
    import dataclasses
    import datetime as dt

    chosen = dataclasses.replace(demo_meeting(), number="7", signed=dt.date(2025, 2, 3), copies_to="区委组织部")
    texts = [p.text for p in docx.Document(io.BytesIO(bulletin.bulletin_bytes(chosen))).paragraphs]
    assert "区直工委〔2025〕7号" in texts[:4]
    assert texts[-4:] == [
        "2025年2月3日",
        "",
        "抄送：区委组织部。",
        "中共区直机关工作委员会办公室\u3000\u30002025年2月3日印发",
    ]


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
    text = part(opened(), PARTS[4])
    assert text.startswith("1.聚焦后进单位，开展精准帮扶。")
    assert TRUTH["two_skins_unit"] in text and "联合党支部" in text


def test_last_quarters_rectification_counts_equal_the_items_and_name_every_overdue_one():
    # the demo's 2024Q3 lists (truth.json): the 2024Q4 file fixes one election and one secretary, not the rest
    fixed = [n for n, e in TRUTH["re_elected"].items() if e["quarter"] == "2024Q4"]
    fixed += [n for n, q in TRUTH["secretary_filled"].items() if q == "2024Q4"]
    still = [*TRUTH["overdue_2024Q4"], *TRUTH["under_3_full_2024Q4"], *TRUTH["no_secretary_2024Q4"]]
    text = part(opened(), PARTS[3])
    assert f"共建立整改事项{len(fixed) + len(still)}项：已销号0项，待核验{len(fixed)}项" in text
    assert f"逾期未整改{len(still)}项；其中2024Q4数据显示已经整改的{len(fixed)}项" in text
    assert sum(name in text for name in set(still)) >= 9 and not any(name in text for name in fixed)
    assert f"等{len(still)}项" in text  # the sentence names ten; the table lists every one
    overdue = next(t for t in opened().tables if t.rows[0].cells[2].text == "问题")
    assert sorted(r.cells[1].text for r in overdue.rows[1:]) == sorted(still)


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
        # the title in 小标宋 (GB/T 9704); Word and LibreOffice substitute a 宋体-family face where it is absent
        assert fonts.get(qn("w:eastAsia")) in ("仿宋", "黑体", "楷体", "宋体", "方正小标宋简体"), name
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
    assert title(document) == "关于2024年第四季度区直机关经济系统基层党组织建设质量情况的通报"
    assert [u for u in other_units(SYSTEM) if u in text] == []
    assert TRUTH["two_skins_unit"] in part(document, PARTS[2])


def test_templated_phrases_read_like_the_report():
    assert delta(0.62) == "比上季度提高0.6分"
    assert delta(-3.0, "个") == "比上季度减少3个"
    assert delta(0.01) == "与上季度基本持平"
    assert delta(None) == ""
    assert names(["甲", "乙", "丙"], 2) == "甲、乙等3个"


SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")


@pytest.mark.slow
def test_the_rendered_bulletin_shows_its_page_number_on_every_page_and_no_header_wraps(tmp_path):
    # rendered as a person sees it: LibreOffice Writer to PDF, then the text of each page (poppler's pdftotext)
    if SOFFICE is None or shutil.which("pdftotext") is None:
        pytest.fail("LibreOffice Writer and poppler-utils are installed by .ci/run")
    source = tmp_path / "通报.docx"
    source.write_bytes(bulletin.bulletin_bytes(demo_meeting()))
    command = [SOFFICE, f"-env:UserInstallation=file://{tmp_path / 'profile'}", "--headless", "--convert-to", "pdf"]
    subprocess.run([*command, "--outdir", str(tmp_path), str(source)], capture_output=True, timeout=300, check=True)
    pdf = str(source.with_suffix(".pdf"))
    info = subprocess.run(["pdfinfo", pdf], capture_output=True, text=True, check=True).stdout
    pages = int(re.search(r"Pages:\s+(\d+)", info)[1])
    assert pages >= 3
    for n in range(1, pages + 1):
        text = subprocess.run(["pdftotext", "-f", str(n), "-l", str(n), "-layout", pdf, "-"], capture_output=True,
                              text=True, check=True).stdout  # fmt: skip
        assert re.search(rf"—\s*{n}\s*—", text), (n, text[-200:])
        if "表 1" in text or "表1" in text:
            header = text.split("表")[1].splitlines()[1]
            assert all(word in header for word in ("标准化建设", "业务融合", "融合型", "两张皮", "业务化", "边缘化"))
