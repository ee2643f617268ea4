"""The meeting deck (PPTX, 16:9): one slide per question a leader asks, speaker notes with the numbers.

Every run gets an explicit East-Asian typeface (a:ea) and zh-CN language, because PowerPoint and WPS
otherwise draw Chinese in whatever default font the theme names, and LibreOffice may pick a Japanese
glyph variant. Charts are PNGs rendered by one warm Chromium (analytics.images).
"""

from __future__ import annotations

import io
from collections.abc import Callable

import pandas as pd
import plotly.graph_objects as go
from pptx.dml.color import RGBColor
from pptx.enum.shapes import MSO_SHAPE
from pptx.enum.text import MSO_ANCHOR, PP_ALIGN
from pptx.oxml.ns import qn
from pptx.util import Emu, Inches, Pt

from analytics.charts import charts, images
from analytics.meeting import findings, table_fit
from analytics.meeting.meeting import Meeting, quarter_text, ranked_units, unit_items
from analytics.meeting.wording import (
    display_width,
    kpi_cards,
    lagging_lines,
    lowest_orgs,
    speaker_notes,
    unit_scores,
    warning_rows,
)
from analytics.scoring import alerts as warnings
from analytics.scoring.rubric import COMPOSITES
from analytics.scoring.views import imbalance_series

FONT = "Microsoft YaHei"  # on every Windows PC in a meeting room; LibreOffice falls back to Noto Sans CJK
RED, DARK, GREY, LIGHT = (
    RGBColor(0xB7, 0x1C, 0x1C),
    RGBColor(0x22, 0x22, 0x22),
    RGBColor(0x66, 0x66, 0x66),
    RGBColor(0xF7, 0xF1, 0xF0),
)
WIDTH, HEIGHT = Emu(12192000), Emu(6858000)
MARGIN, BODY_TOP, BODY_BOTTOM = Inches(0.5), Inches(1.25), Inches(6.95)
FOOTER_TOP = Inches(6.95)  # the footer line (scope, page number) starts at 7.0 in
CAPTION_TOP = Inches(6.5)  # a note under a slide's table
RANK_ROWS = 15  # per table; two tables side by side show 30 units
Progress = Callable[[float, str], None] | None


def style_run(run, size: float, bold: bool = False, color: RGBColor = DARK) -> None:
    """Font size, weight, colour, and the Latin and East-Asian typefaces of one run."""
    run.font.size, run.font.bold, run.font.color.rgb = Pt(size), bold, color
    run.font.name = FONT
    r_pr = run._r.get_or_add_rPr()
    r_pr.set("lang", "zh-CN")
    r_pr.set("altLang", "en-US")
    for tag in ("a:ea", "a:cs"):
        node = r_pr.find(qn(tag))
        if node is None:
            node = r_pr.makeelement(qn(tag), {})
            r_pr.append(node)
        node.set("typeface", FONT)


def write(frame, lines: list[str] | str, size: float = 18, bold: bool = False, color=DARK, align=None) -> None:
    """Replace a text frame's text with one paragraph per line, every run styled."""
    lines = [lines] if isinstance(lines, str) else lines
    frame.clear()
    frame.word_wrap = True
    for i, line in enumerate(lines):
        paragraph = frame.paragraphs[0] if i == 0 else frame.add_paragraph()
        if align is not None:
            paragraph.alignment = align
        style_run(paragraph.add_run(), size, bold, color)
        paragraph.runs[0].text = line


def text_box(slide, left, top, width, height, lines, size: float = 18, **kw):
    """A text box with the given lines."""
    box = slide.shapes.add_textbox(left, top, width, height)
    write(box.text_frame, lines, size, **kw)
    return box


def new_slide(prs, title: str, meeting: Meeting):
    """A 'Title Only' slide: red title at the top, a rule under it, scope and page number in the footer."""
    slide = prs.slides.add_slide(prs.slide_layouts[5])
    head = slide.shapes.title
    head.left, head.top, head.width, head.height = MARGIN, Inches(0.3), WIDTH - 2 * MARGIN, Inches(0.8)
    write(head.text_frame, title, title_size(title), bold=True, color=RED, align=PP_ALIGN.LEFT)
    head.text_frame.vertical_anchor = MSO_ANCHOR.MIDDLE
    rule = slide.shapes.add_shape(MSO_SHAPE.RECTANGLE, MARGIN, Inches(1.1), WIDTH - 2 * MARGIN, Emu(25400))
    rule.fill.solid()
    rule.fill.fore_color.rgb = RED
    rule.line.fill.background()
    footer = f"{meeting.scope} · {quarter_text(meeting.quarter)}"
    text_box(slide, MARGIN, Inches(7.0), Inches(8), Inches(0.4), footer, 11, color=GREY)
    number = str(len(prs.slides))
    text_box(
        slide,
        WIDTH - MARGIN - Inches(1),
        Inches(7.0),
        Inches(1),
        Inches(0.4),
        number,
        11,
        color=GREY,
        align=PP_ALIGN.RIGHT,
    )
    return slide


def title_size(title: str) -> float:
    """28 pt, or less (not under 20) so that a finding fits one line of the 12.3-inch title box."""
    width_pt = (WIDTH - 2 * MARGIN) / 12700 * 0.85  # bold glyphs, CJK punctuation and spacing: room to spare
    return float(min(28, max(20, int(width_pt / (display_width(title) / 2)))))


def set_notes(slide, lines: list[str]) -> None:
    """Speaker notes, one paragraph per line, Chinese font set."""
    write(slide.notes_slide.notes_text_frame, lines, 12)


def picture(slide, fig: go.Figure, box: tuple[int, int, int, int], layout: tuple[int, int]) -> None:
    """The figure without its own title (the slide has one), rendered at `layout` px, at least 1600 px wide, fitted into the box."""
    left, top, width, height = box
    fit = min(width / layout[0], height / layout[1])
    w, h = int(layout[0] * fit), int(layout[1] * fit)
    data = images.render(
        legible(slide_figure(fig), Emu(w).pt / layout[0]), "png", *layout, scale=slide_scale(layout[0])
    )
    slide.shapes.add_picture(io.BytesIO(data), left + (width - w) // 2, top + (height - h) // 2, w, h)


MIN_CHART_PT = 14.0  # the smallest chart text as placed on a slide, readable from the back of a meeting room


def legible(fig: go.Figure, pt_per_px: float) -> go.Figure:
    """The figure with every font size scaled so that its smallest text is MIN_CHART_PT once placed."""
    spec = fig.to_plotly_json()
    base = spec["layout"].get("font", {}).get("size") or 12
    sizes = [base, *_font_sizes(spec)]
    factor = max(1.0, MIN_CHART_PT / (min(sizes) * pt_per_px))
    return go.Figure(_scaled(spec, factor)) if factor > 1.0 else fig


def _font_sizes(node, inside_font: bool = False) -> list[float]:
    """Every explicit font size in a plotly JSON tree."""
    if isinstance(node, dict):
        found = []
        for key, value in node.items():
            fontish = "font" in key.lower()
            if key == "size" and inside_font and isinstance(value, int | float):
                found.append(float(value))
            elif isinstance(value, dict | list | tuple):
                found += _font_sizes(value, fontish)
        return found
    return [x for item in node for x in _font_sizes(item, inside_font)] if isinstance(node, list | tuple) else []


def _scaled(node, factor: float, inside_font: bool = False):
    """The plotly JSON tree with every font size multiplied by factor (marker sizes untouched)."""
    if isinstance(node, dict):
        return {
            key: value * factor
            if key == "size" and inside_font and isinstance(value, int | float)
            else _scaled(value, factor, "font" in key.lower())
            for key, value in node.items()
        }
    if isinstance(node, list | tuple):
        return [_scaled(item, factor, inside_font) for item in node]
    return node


def slide_figure(fig: go.Figure) -> go.Figure:
    """The figure without its title (the slide has one), keeping the title's note line on what is drawn.

    At a province's size a chart shows a selection ("中位数最低的 30 个单位，共 10,000 个", charts/limits.py);
    the slide must say so too.
    """
    title = fig.layout.title.text or ""
    note = title.split("<br>", 1)[1] if "<br>" in title else ""
    return go.Figure(fig).update_layout(title_text=note, margin=dict(t=60 if note else 30), width=None, height=None)


def slide_scale(layout_width: int) -> float:
    """Pixels per layout pixel: 2, or more so that the image is at least 1600 px wide."""
    return max(images.SCALE, images.MIN_PNG_WIDTH / layout_width)


def bars(summary: pd.DataFrame) -> go.Figure:
    """Indicator bars with room on the right for the value labels."""
    fig = charts.indicator_bars(summary)
    top = float(summary["lost"].max()) if len(summary) else 1.0
    return fig.update_xaxes(range=[0, max(top, 0.1) * 1.18]).update_yaxes(title_text="")


def table(slide, frame: pd.DataFrame, box: tuple[int, int, int, int], widths: list[float], size: float = 14, shade=()):
    """A table with a red header row fitted into the box (height 0: down to the footer); `shade` lists row
    positions drawn on a light red ground."""
    left, top, width, height = box
    height = height or (FOOTER_TOP - top)
    cells = [[str(c) for c in frame.columns]] + [[str(v) for v in row] for row in frame.itertuples(index=False)]
    fitted = table_fit.fit(cells, [Inches(w).pt for w in widths], size, Emu(height).pt)
    shape = slide.shapes.add_table(len(cells), len(frame.columns), left, top, width, Pt(sum(fitted.rows))).table
    for j, w in enumerate(widths):
        shape.columns[j].width = Inches(w)
    for i, h in enumerate(fitted.rows):
        shape.rows[i].height = Pt(h)
    for j, name in enumerate(fitted.cells[0]):
        _cell(shape.cell(0, j), name, fitted.size, bold=True, color=RGBColor(0xFF, 0xFF, 0xFF), fill=RED)
    for i, row in enumerate(fitted.cells[1:], start=1):
        fill = RGBColor(0xF9, 0xDE, 0xDC) if i - 1 in shade else (LIGHT if i % 2 == 0 else RGBColor(0xFF, 0xFF, 0xFF))
        for j, value in enumerate(row):
            _cell(shape.cell(i, j), value, fitted.size, fill=fill)
    return shape


def _cell(cell, text: str, size: float, bold: bool = False, color=DARK, fill=None) -> None:
    cell.margin_left = cell.margin_right = Inches(0.06)
    cell.margin_top = cell.margin_bottom = Inches(0.02)
    cell.vertical_anchor = MSO_ANCHOR.MIDDLE
    write(cell.text_frame, text, size, bold=bold, color=color)
    if fill is not None:
        cell.fill.solid()
        cell.fill.fore_color.rgb = fill


def title_slide(prs, meeting: Meeting) -> None:
    """District, quarter and date on a red ground."""
    slide = prs.slides.add_slide(prs.slide_layouts[0])
    ground = slide.background.fill
    ground.solid()
    ground.fore_color.rgb = RED
    white = RGBColor(0xFF, 0xFF, 0xFF)
    head, sub = slide.shapes.title, slide.placeholders[1]
    head.left, head.top, head.width, head.height = Inches(0.8), Inches(2.0), WIDTH - Inches(1.6), Inches(1.8)
    write(
        head.text_frame,
        [quarter_text(meeting.quarter), f"{meeting.scope}基层党组织建设质量分析"],
        40,
        True,
        white,
        PP_ALIGN.CENTER,
    )
    sub.left, sub.top, sub.width, sub.height = Inches(0.8), Inches(4.3), WIDTH - Inches(1.6), Inches(1.2)
    made = f"{meeting.made.year}年{meeting.made.month}月{meeting.made.day}日"
    write(sub.text_frame, [f"{meeting.district}党建工作 · 季度分析会", made], 22, color=white, align=PP_ALIGN.CENTER)
    set_notes(slide, speaker_notes(meeting, "title"))


def overview_slide(prs, meeting: Meeting) -> None:
    """总体情况: eight KPI cards with the change since last quarter."""
    slide = new_slide(prs, findings.overview(meeting), meeting)
    card_w, card_h, gap = Inches(2.9), Inches(2.2), Inches(0.233)
    for i, (label, value, change, tone) in enumerate(kpi_cards(meeting)):
        left = MARGIN + (card_w + gap) * (i % 4)
        top = BODY_TOP + Inches(0.3) + (card_h + Inches(0.35)) * (i // 4)
        card = slide.shapes.add_shape(MSO_SHAPE.ROUNDED_RECTANGLE, left, top, card_w, card_h)
        card.fill.solid()
        card.fill.fore_color.rgb = LIGHT
        card.line.color.rgb = RGBColor(0xE3, 0xCF, 0xCC)
        color = {"good": RGBColor(0x1B, 0x7F, 0x3B), "bad": RED}.get(tone, GREY)
        frame = card.text_frame
        write(frame, [label, value, change], 16, align=PP_ALIGN.CENTER)
        style_run(frame.paragraphs[1].runs[0], 36, bold=True)
        style_run(frame.paragraphs[2].runs[0], 15, color=color)
    set_notes(slide, speaker_notes(meeting, "overview"))


def quadrant_slide(prs, meeting: Meeting) -> None:
    """The quadrant scatter with the counts per quadrant beside it."""
    slide = new_slide(prs, findings.quadrant(meeting), meeting)
    by = "quadrant" if meeting.system else "system"  # one system is one colour: show the quadrants instead
    fig = charts.quadrant_scatter(meeting.frame, meeting.rubric.quadrant_threshold, color_by=by)
    picture(slide, fig, (MARGIN, BODY_TOP, Inches(7.4), BODY_BOTTOM - BODY_TOP), (800, 640))
    k = meeting.kpis
    rows = [
        (q, k[q], f"{k[q] / max(k['organizations'] - k['not_rated'], 1) * 100:.1f}%", _signed(k[f"{q}_change"]))
        for q in charts.QUADRANT_COLORS
    ]
    frame = pd.DataFrame(rows, columns=["象限", "党组织数", "占比", "比上季度"])
    table(slide, frame, (Inches(8.2), Inches(1.6), Inches(4.6), Inches(2.1)), [1.2, 1.2, 1.1, 1.1], 16)
    threshold = f"{meeting.rubric.quadrant_threshold:g}"
    note = f"以 {threshold} 分为界：右下“两张皮”是党建按部就班、与业务脱节；左上“业务化”是业务挤占党建。"
    text_box(slide, Inches(8.2), Inches(3.8), Inches(4.6), Inches(2.6), note, 15, color=GREY)
    set_notes(slide, speaker_notes(meeting, "quadrant"))


def _signed(value) -> str:
    return "—" if value is None or pd.isna(value) else f"{int(value):+d}".replace("-", "−")


def ranking_slide(prs, meeting: Meeting, score: str) -> None:
    """Units by mean score with the 5–95 % rank interval under weight perturbation; lagging units shaded."""
    slide = new_slide(prs, findings.ranking(meeting, score), meeting)
    ranks = ranked_units(meeting, score)
    changes = meeting.units.set_index("unit")[f"{score}_change"]
    bar = warnings.good_threshold(meeting.rubric)
    shown = pd.DataFrame(
        {
            "名次": ranks["rank"].map(lambda r: f"{int(r)}"),
            "单位": ranks["unit"],
            "平均分": ranks["mean"].map(lambda v: f"{v:.1f}"),
            "名次区间": [
                f"{int(a)}–{int(b)}" if a != b else f"{int(a)}"
                for a, b in zip(ranks["rank_p05"], ranks["rank_p95"], strict=True)
            ],
            "比上季度": ranks["unit"].map(changes).map(lambda v: "—" if pd.isna(v) else f"{v:+.1f}".replace("-", "−")),
        }
    )
    size = 13 if len(shown) > 12 else 16
    # the 单位 column as wide as the longest name needs, the table as wide as its columns
    widths = [0.7, table_fit.name_column(list(shown["单位"]), size, 1.2, 2.25), 0.95, 1.0, 1.1]
    for i, start in enumerate(range(0, len(shown), RANK_ROWS)):
        part = shown.iloc[start : start + RANK_ROWS]
        shade = [k for k, mean in enumerate(ranks["mean"].iloc[start : start + RANK_ROWS]) if mean < bar]
        top = BODY_TOP + Inches(0.05)
        box = (MARGIN + Inches(6.25) * i, top, Inches(sum(widths)), CAPTION_TOP - top - Inches(0.05))
        table(slide, part, box, widths, size, shade)
    note = (
        "名次区间：各项权重在 ±25% 内随机调整 1,000 次后名次的 5%–95% 范围，区间窄说明名次站得住；"
        f"浅红底为平均分低于 {bar:g} 分（良好）的单位。"
    )
    text_box(slide, MARGIN, CAPTION_TOP, WIDTH - 2 * MARGIN, Inches(0.4), note, 12, color=GREY)
    set_notes(slide, speaker_notes(meeting, f"ranking_{score}"))


def items_slide(prs, meeting: Meeting, score: str) -> None:
    """Items of one composite by mean points lost: the bar chart, and the top five as a table."""
    slide = new_slide(prs, findings.items(meeting, score), meeting)
    summary = meeting.indicators(score)
    picture(slide, bars(summary), (MARGIN, BODY_TOP, Inches(7.0), BODY_BOTTOM - BODY_TOP), (800, 640))
    top = summary.head(5)
    frame = pd.DataFrame(
        {
            "指标": top["id"] + " " + top["name"],
            "平均失分": top["lost"].map(lambda v: f"{v:.2f}"),
            "满分比例": top["full_marks_share"].map(lambda v: f"{v * 100:.0f}%"),
        }
    )
    table(slide, frame, (Inches(7.8), Inches(1.6), Inches(5.0), Inches(2.5)), [2.8, 1.1, 1.1], 15)
    text_box(
        slide,
        Inches(7.8),
        Inches(4.2),
        Inches(5.0),
        Inches(2.2),
        "平均失分：该项指标让每个党组织平均少得的分数（满分 100）。",
        14,
        color=GREY,
    )
    set_notes(slide, speaker_notes(meeting, f"items_{score}"))


def imbalance_slide(prs, meeting: Meeting) -> None:
    """Gini, CV, Theil and the between-unit share over the quarters, both scores side by side."""
    slide = new_slide(prs, findings.imbalance(meeting), meeting)
    for i, score in enumerate(COMPOSITES):
        series = imbalance_series(meeting.trend, score)
        # the legend above the plot: below it, the enlarged tick labels and axis title would run into it
        fig = charts.imbalance_trend(series).update_layout(
            legend=dict(orientation="h", y=1.02, yanchor="bottom", x=0), margin=dict(t=80)
        )
        box = (MARGIN + Inches(6.2) * i, BODY_TOP + Inches(0.45), Inches(6.1), BODY_BOTTOM - BODY_TOP - Inches(0.45))
        picture(slide, fig, box, (640, 600))
        label = meeting.rubric.composite_name(score)
        text_box(slide, box[0], BODY_TOP, box[2], Inches(0.45), label, 18, bold=True, align=PP_ALIGN.CENTER)
    set_notes(slide, speaker_notes(meeting, "imbalance"))


def warnings_slide(prs, meeting: Meeting) -> None:
    """Every warning kind with its count and the first organizations named."""
    slide = new_slide(prs, findings.warnings(meeting, {k: v[0] for k, v in warnings.WARNINGS.items()}), meeting)
    frame = pd.DataFrame(warning_rows(meeting), columns=["预警事项", "数量", "涉及党组织（单位）"])
    shade = [i for i, n in enumerate(frame["数量"]) if n != "0"]
    table(slide, frame, (MARGIN, BODY_TOP + Inches(0.1), WIDTH - 2 * MARGIN, 0), [2.3, 0.9, 9.13], 16, shade)
    set_notes(slide, speaker_notes(meeting, "warnings"))


def lagging_slide(prs, meeting: Meeting, row) -> None:
    """One lagging unit: where its weaker score loses points, its ranks, and its lowest organizations."""
    name = meeting.rubric.composite_name(row.weak)
    slide = new_slide(prs, f"后进单位：{row.unit}（{name} {row.weak_score:.1f} 分）", meeting)
    items = unit_items(meeting, row.unit, row.weak)
    if len(items):
        picture(slide, bars(items), (MARGIN, BODY_TOP, Inches(6.9), BODY_BOTTOM - BODY_TOP), (760, 640))
    left, width = Inches(7.6), Inches(5.23)
    table(
        slide,
        unit_scores(meeting, row),
        (left, BODY_TOP + Inches(0.1), width, Inches(1.15)),
        [2.05, 1.0, 1.0, 1.18],
        14,
    )
    text_box(slide, left, Inches(2.55), width, Inches(1.5), lagging_lines(meeting, row), 14)
    table(slide, lowest_orgs(meeting, row.unit), (left, Inches(4.15), width, 0), [2.83, 0.8, 0.8, 0.8], 12)
    set_notes(slide, speaker_notes(meeting, "lagging", row))
