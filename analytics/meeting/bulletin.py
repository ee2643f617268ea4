"""The 季度通报 (DOCX): the committee's own report form — 基本情况, 主要成效, 存在问题, 下步工作建议.

Written from the numbers with templated sentences (no language model), in the voice of the committee's
2023 report: numbered four-character headings, named units and branches, concrete counts.
The page follows GB/T 9704 for official documents: A4, 仿宋 三号 body, 黑体 / 楷体 headings, 28 pt lines.
"""

from __future__ import annotations

import io
from collections.abc import Callable

import pandas as pd
import plotly.graph_objects as go
from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor

from analytics.charts import charts, images
from analytics.meeting import official
from analytics.meeting.bulletin_text import achievements, basics, intro, problems, suggestions
from analytics.meeting.meeting import Meeting, quarter_text
from analytics.meeting.wording import rank_text, score_text
from analytics.rectify import board

BODY_FONT, HEADING_FONT, SUB_FONT, TITLE_FONT, TABLE_FONT = "仿宋", "黑体", "楷体", official.TITLE_FACE, "宋体"
LATIN = "Times New Roman"
Progress = Callable[[float, str], None] | None


def set_fonts(element, east_asia: str, latin: str = LATIN) -> None:
    """Latin and East-Asian typefaces on a style's or run's rPr; theme fonts removed so they cannot override."""
    r_pr = element.get_or_add_rPr()
    fonts = r_pr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        r_pr.insert(0, fonts)
    for key in ("asciiTheme", "hAnsiTheme", "eastAsiaTheme", "cstheme"):
        fonts.attrib.pop(qn(f"w:{key}"), None)
    for key, value in (("ascii", latin), ("hAnsi", latin), ("eastAsia", east_asia), ("cs", latin)):
        fonts.set(qn(f"w:{key}"), value)
    lang = r_pr.find(qn("w:lang"))
    if lang is None:
        lang = OxmlElement("w:lang")
        r_pr.append(lang)
    lang.set(qn("w:eastAsia"), "zh-CN")


def _style(document, name: str, east_asia: str, size: float, bold: bool = False) -> None:
    style = document.styles[name]
    set_fonts(style.element, east_asia)
    style.font.size, style.font.bold, style.font.italic = Pt(size), bold, False
    style.font.color.rgb = RGBColor(0, 0, 0)
    fmt = style.paragraph_format
    fmt.line_spacing_rule, fmt.line_spacing = WD_LINE_SPACING.EXACTLY, Pt(28)
    fmt.space_before = fmt.space_after = Pt(0)


def new_document() -> Document:
    """An A4 document with the official-document fonts, margins and line spacing."""
    document = Document()
    section = document.sections[0]
    section.page_width, section.page_height = Cm(21), Cm(29.7)
    section.top_margin, section.bottom_margin = Cm(3.7), Cm(3.5)
    section.left_margin, section.right_margin = Cm(2.8), Cm(2.6)
    _style(document, "Normal", BODY_FONT, 16)
    _style(document, "Title", TITLE_FONT, 22, bold=True)
    _style(document, "Heading 1", HEADING_FONT, 16)
    _style(document, "Heading 2", SUB_FONT, 16)
    _style(document, "Caption", HEADING_FONT, 12)
    document.styles["Title"].element.get_or_add_pPr().remove_all("w:pBdr")
    document.styles["Title"].paragraph_format.line_spacing = Pt(40)
    return document


def paragraph(document, text: str, indent: bool = True, align=None):
    """A body paragraph, first line indented two characters as official documents are."""
    para = document.add_paragraph(text)
    if indent:
        para.paragraph_format.first_line_indent = Pt(32)
    if align is not None:
        para.alignment = align
    return para


def lead(document, heading: str, text: str) -> None:
    """A paragraph that opens with a 楷体 sub-heading ('（一）整体水平稳中有升。') followed by the body text."""
    para = paragraph(document, "")
    run = para.add_run(heading)
    set_fonts(run._r, SUB_FONT)
    para.add_run(text)


FIGURE_CM = 9.0


def figure(document, fig: go.Figure, caption: str, layout: tuple[int, int] = (800, 560)) -> None:
    """A chart (no title of its own) with a centred caption under it, at most 15.5 cm wide and FIGURE_CM tall.

    The picture is kept with its caption, so one that does not fit moves to the next page and leaves the rest
    of this one blank: at FIGURE_CM (with the caption, under 45 % of the 22.5 cm text area) that blank never
    reaches half a page."""
    fig = go.Figure(fig).update_layout(title_text="", margin=dict(t=30), width=None, height=None)
    data = images.render(fig, "png", *layout, scale=max(images.SCALE, images.MIN_PNG_WIDTH / layout[0]))
    document.add_picture(io.BytesIO(data), width=Cm(min(15.5, FIGURE_CM * layout[0] / layout[1])))
    holder = document.paragraphs[-1]
    holder.alignment = WD_ALIGN_PARAGRAPH.CENTER
    holder.paragraph_format.line_spacing_rule = WD_LINE_SPACING.SINGLE  # an exact 28 pt line would crop the picture
    holder.paragraph_format.first_line_indent = Pt(0)
    holder.paragraph_format.keep_with_next = True
    document.add_paragraph(caption, style="Caption").alignment = WD_ALIGN_PARAGRAPH.CENTER


def table(document, frame: pd.DataFrame, caption: str, widths: list[float] | None = None) -> None:
    """A captioned grid table in 宋体 五号, header row bold and repeated on every page."""
    above = document.add_paragraph(caption, style="Caption")
    above.alignment = WD_ALIGN_PARAGRAPH.CENTER
    above.paragraph_format.keep_with_next = True
    grid = document.add_table(rows=len(frame) + 1, cols=len(frame.columns))
    grid.style, grid.alignment = "Table Grid", WD_TABLE_ALIGNMENT.CENTER
    for j, name in enumerate(frame.columns):
        _cell(grid.cell(0, j), str(name), bold=True)
    for i, row in enumerate(frame.itertuples(index=False), start=1):
        for j, value in enumerate(row):
            _cell(grid.cell(i, j), str(value))
    header = grid.rows[0]._tr.get_or_add_trPr()
    header.append(OxmlElement("w:tblHeader"))
    if widths:
        grid.autofit = False  # fixed widths: LibreOffice and Word both read the grid columns
    for j, width in enumerate(widths or []):
        grid.columns[j].width = Cm(width)
        for cell in grid.columns[j].cells:
            cell.width = Cm(width)
    document.add_paragraph()


def _cell(cell, text: str, bold: bool = False) -> None:
    para = cell.paragraphs[0]
    para.paragraph_format.line_spacing_rule = WD_LINE_SPACING.SINGLE
    para.paragraph_format.first_line_indent = Pt(0)
    para.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = para.add_run(text)
    set_fonts(run._r, TABLE_FONT)
    run.font.size, run.font.bold = Pt(10.5), bold


def title_block(document, meeting: Meeting) -> None:
    """The title: 关于2024年第四季度区直机关基层党组织建设质量情况的通报."""
    document.add_paragraph(
        f"关于{quarter_text(meeting.quarter)}{meeting.scope.replace(' ', '')}基层党组织建设质量情况的通报",
        style="Title",
    ).alignment = WD_ALIGN_PARAGRAPH.CENTER
    document.add_paragraph()
    paragraph(document, "各基层党组织：", indent=False)
    paragraph(document, intro(meeting))


def group_table(meeting: Meeting) -> tuple[pd.DataFrame, str]:
    """Both means per system (per unit when the meeting is one system), with the quadrant counts."""
    by = "unit" if meeting.system or meeting.filters.get("unit") else "system"
    frame = meeting.frame
    grouped = frame.groupby(by).agg(n=("org_name", "size"), s=("standardization", "mean"), i=("integration", "mean"))
    counts = pd.crosstab(frame[by], frame["quadrant"]).reindex(columns=list(charts.QUADRANT_COLORS), fill_value=0)
    grouped = grouped.join(counts).sort_values("s", ascending=False)
    label = "单位" if by == "unit" else "系统"
    shown = pd.DataFrame(
        {
            label: grouped.index,
            "党组织数": grouped["n"].to_numpy(),
            "标准化建设": grouped["s"].map(score_text).to_numpy(),
            "业务融合": grouped["i"].map(score_text).to_numpy(),
            **{q: grouped[q].to_numpy() for q in charts.QUADRANT_COLORS},
        }
    )
    return shown, label


def lagging_table(meeting: Meeting) -> pd.DataFrame:
    """The lagging units with both means and ranks ('—' for a score a unit does not have: 离退休 branches only)."""
    rows = meeting.lagging

    def ranked(score: str) -> list[str]:
        total = int(meeting.units[score].notna().sum())  # ranked among the units that have the score
        return [
            "—" if pd.isna(v) else f"{score_text(v)}（{rank_text(r, total)}）"
            for v, r in zip(rows[score], rows[f"{score}_rank"], strict=True)
        ]

    return pd.DataFrame(
        {
            "单位": rows["unit"],
            "党组织数": rows["organizations"],
            "标准化建设": ranked("standardization"),
            "业务融合": ranked("integration"),
            "主要短板": [meeting.rubric.composite_name(w) for w in rows["weak"]],
        }
    )


def section(document, number: str, title: str) -> None:
    """A level-one heading: '一、基本情况'."""
    document.add_heading(f"{number}、{title}", level=1)


def body(document, meeting: Meeting, progress: Progress) -> None:
    """The four parts (five with last quarter's 整改), with the quadrant chart, the trend, the group table, the lagging table and the item chart."""
    section(document, "一", "基本情况")
    for text in basics(meeting):
        paragraph(document, text)
    shown, label = group_table(meeting)
    # 15.6 cm of text width: wide enough that no header wraps inside a word (标准化建设 needs 2.4 cm at 五号)
    table(document, shown, f"表1  各{label}得分情况", [2.9, 1.9, 2.4, 1.9, 1.6, 1.6, 1.6, 1.6])
    by = "quadrant" if meeting.system else "system"
    figure(
        document,
        charts.quadrant_scatter(meeting.frame, meeting.rubric.quadrant_threshold, color_by=by),
        "图1  各党组织“标准化建设×业务融合”四象限分布",
        (800, 640),
    )
    if progress:
        progress(0.4, "季度通报：基本情况")
    section(document, "二", "主要成效")
    paragraph(document, official.TO_FILL.format("本季度工委和各单位推进基层党组织建设的主要做法，由工委补充"))
    for heading, text in achievements(meeting):
        lead(document, heading, text)
    section(document, "三", "存在问题")
    for heading, text in problems(meeting):
        lead(document, heading, text)
        if heading.startswith("（一）") and len(meeting.lagging):
            table(document, lagging_table(meeting), "表2  后进单位情况（平均分及名次）")
    figure(document, charts.indicator_bars(meeting.indicators("standardization")), "图2  支部标准化建设各指标平均失分")
    if progress:
        progress(0.8, "季度通报：存在问题")
    number = "四"
    if (follow := meeting.follow_up) is not None and follow.total:
        section(document, "四", "上季度整改落实情况")
        for text in board.follow_up_lines(follow, meeting.quarter):
            paragraph(document, text)
        if len(follow.overdue):
            table(document, follow.overdue, f"表{len(document.tables) + 1}  逾期未整改事项")  # only numbered tables
        number = "五"
    section(document, number, "下步工作建议")
    for heading, text in suggestions(meeting):
        lead(document, heading, text)


def issuer_of(meeting: Meeting) -> str:
    """中共区直机关工作委员会."""
    return f"中共{meeting.district}工作委员会"


def signature(document, meeting: Meeting) -> None:
    """The issuing body and date, right-aligned."""
    document.paragraphs[-1].paragraph_format.keep_with_next = True  # never a page with only the signature
    document.add_paragraph().paragraph_format.keep_with_next = True
    made = meeting.signing_date
    issuer, date = issuer_of(meeting), f"{made.year}年{made.month}月{made.day}日"
    for line, right in ((issuer, 40), (date, 64)):  # the issuer centred over the date
        fmt = paragraph(document, line, indent=False, align=WD_ALIGN_PARAGRAPH.RIGHT).paragraph_format
        fmt.right_indent, fmt.keep_with_next = Pt(right), True


def bulletin_bytes(meeting: Meeting, progress: Progress = None) -> bytes:
    """The 季度通报 as DOCX bytes."""
    document = new_document()
    document.core_properties.title = f"{meeting.title}通报"
    document.core_properties.author = meeting.user or meeting.district
    official.page_numbers(document, set_fonts)
    number = official.document_number(
        f"{meeting.district.removesuffix('机关')}工委", meeting.signing_date.year, meeting.number
    )
    official.masthead(document, issuer_of(meeting), number, set_fonts)
    with images.warm_browser():
        title_block(document, meeting)
        body(document, meeting, progress)
    signature(document, meeting)
    office = f"{issuer_of(meeting)}办公室"
    official.colophon(document, office, meeting.copies_to, meeting.signing_date, set_fonts)
    buffer = io.BytesIO()
    document.save(buffer)
    if progress:
        progress(1.0, "季度通报：完成")
    return buffer.getvalue()
