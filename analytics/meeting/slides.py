"""The meeting deck in order: what changed (trend, systems, units that rose or fell) and what to do next, around
the slides of deck.py; every title states a finding (findings.py)."""

from __future__ import annotations

import io
from collections.abc import Callable

import pandas as pd
from pptx import Presentation
from pptx.util import Inches

from analytics.charts import charts, images
from analytics.meeting import bulletin_text, findings
from analytics.meeting.bulletin import group_table
from analytics.meeting.deck import (
    BODY_BOTTOM,
    BODY_TOP,
    CAPTION_TOP,
    GREY,
    HEIGHT,
    MARGIN,
    WIDTH,
    imbalance_slide,
    items_slide,
    lagging_slide,
    new_slide,
    overview_slide,
    picture,
    quadrant_slide,
    ranking_slide,
    set_notes,
    table,
    text_box,
    title_slide,
    warnings_slide,
)
from analytics.meeting.meeting import Meeting, quarter_text
from analytics.meeting.wording import score_text
from analytics.rectify import board
from analytics.scoring.rubric import COMPOSITES

Progress = Callable[[float, str], None] | None


def trend_slide(prs, meeting: Meeting) -> None:
    """Both mean scores over every quarter so far, with the quarter-by-quarter figures beside them."""
    trend = meeting.trend
    first, last = trend.iloc[0], trend.iloc[-1]
    said = "、".join(f"{findings.SHORT[s]}{score_text(first[s])}→{score_text(last[s])}分" for s in COMPOSITES)
    slide = new_slide(prs, f"得分趋势：{quarter_text(first['quarter'])}以来{said}", meeting)
    picture(slide, charts.trend_lines(trend), (MARGIN, BODY_TOP, Inches(7.6), BODY_BOTTOM - BODY_TOP), (800, 600))
    shown = pd.DataFrame(
        {
            "季度": trend["quarter"],
            "标准化": trend["standardization"].map(score_text),
            "融合": trend["integration"].map(score_text),
            "党组织": trend["organizations"].astype(int).astype(str),
        }
    ).tail(8)
    table(slide, shown, (Inches(8.3), BODY_TOP + Inches(0.1), Inches(4.5), 0), [1.3, 1.05, 1.05, 1.1], 15)
    set_notes(slide, [f"{r.quarter}：标准化建设 {r.standardization:.1f} 分，党建与业务融合 {r.integration:.1f} 分。"
                      for r in trend.itertuples()])  # fmt: skip


def systems_slide(prs, meeting: Meeting) -> None:
    """Both means and the quadrant counts per system (per unit when the meeting is one system)."""
    shown, label = group_table(meeting)
    best, worst = shown.iloc[0], shown.iloc[-1]
    if best["标准化建设"] == worst["标准化建设"]:
        finding = f"{label}比较：各{label}标准化得分相同（{best['标准化建设']}分）"
    else:
        finding = f"{label}比较：{best[label]}标准化得分最高，{worst[label]}最低"
    slide = new_slide(prs, finding, meeting)
    widths = [2.6, 1.3, 1.5, 1.4, 1.3, 1.3, 1.3, 1.3]
    table(slide, shown.head(14).astype(str), (MARGIN, BODY_TOP + Inches(0.1), Inches(11.0), 0), widths, 15)
    set_notes(slide, [f"{r[label]}：{r['党组织数']} 个党组织，标准化建设 {r['标准化建设']} 分，业务融合 {r['业务融合']} 分。"
                      for _, r in shown.iterrows()])  # fmt: skip


def movers_slide(prs, meeting: Meeting) -> None:
    """Units whose mean rose or fell over three quarters or more, with where they started and stand now."""
    runs = meeting.streaks
    slide = new_slide(prs, findings.movers(meeting), meeting)
    if not runs:
        text_box(slide, MARGIN, BODY_TOP + Inches(0.3), WIDTH - 2 * MARGIN, Inches(1), "本期没有连续变化的单位。", 18)
        return
    rows = [
        (r.unit, meeting.rubric.composite_name(r.score), "提升" if r.rising else "下滑", quarter_text(r.start),
         score_text(r.first), score_text(r.last), f"{r.last - r.first:+.1f}".replace("-", "−"))
        for r in runs[:12]
    ]  # fmt: skip
    frame = pd.DataFrame(rows, columns=["单位", "得分", "方向", "起始季度", "起始分", "本季度", "变化"])
    shade = [i for i, r in enumerate(runs[:12]) if not r.rising]
    table(
        slide,
        frame,
        (MARGIN, BODY_TOP + Inches(0.1), WIDTH - 2 * MARGIN, CAPTION_TOP - BODY_TOP - Inches(0.15)),
        [2.6, 2.4, 1.0, 2.2, 1.2, 1.2, 1.3],
        15,
        shade,
    )
    note = "连续变化：单位平均分连续三个季度以上同向变化、累计变化 10 分以上；浅红底为下滑。"
    text_box(slide, MARGIN, CAPTION_TOP, WIDTH - 2 * MARGIN, Inches(0.4), note, 12, color=GREY)


def rectify_slide(prs, meeting: Meeting) -> None:
    """上季度整改: the counts of last quarter's items by status and the overdue ones (SPEC §8)."""
    follow = meeting.follow_up
    c = follow.counts
    title = f"上季度整改：{follow.total}项中{len(follow.fixed)}项数据显示已整改，{c['逾期']}项逾期"
    slide = new_slide(prs, title, meeting)
    counts = pd.DataFrame([{name: str(n) for name, n in c.items()} | {"合计": str(follow.total)}])
    table(slide, counts, (MARGIN, BODY_TOP + Inches(0.1), WIDTH - 2 * MARGIN, 0), [1.0] * 6, 18)
    shown = follow.overdue.head(8)
    if len(shown):
        box = (MARGIN, BODY_TOP + Inches(1.3), WIDTH - 2 * MARGIN, 0)
        table(slide, shown, box, [2.2, 4.0, 2.0, 1.6], 14)
        more = f"逾期事项共{len(follow.overdue)}项，此处列出前8项；全部见整改台账。" if len(follow.overdue) > 8 else ""
        text_box(
            slide,
            MARGIN,
            CAPTION_TOP,
            WIDTH - 2 * MARGIN,
            Inches(0.4),
            more or "逾期：整改时限已到，数据显示问题仍在。",
            12,
            color=GREY,
        )
    set_notes(slide, board.follow_up_lines(follow, meeting.quarter))


def next_steps_slide(prs, meeting: Meeting) -> None:
    """下一步工作: the 通报's suggestions, each heading with the units it names."""
    parts = bulletin_text.suggestions(meeting)
    slide = new_slide(prs, f"下一步工作：{len(parts)}项重点", meeting)
    lines = []
    for heading, text in parts:
        named = [u for u in meeting.units["unit"] if u in text]
        lines.append(heading)
        lines.append(f"    涉及：{'、'.join(named[:5])}{'等' if len(named) > 5 else ''}" if named else "    各党组织")
    text_box(slide, MARGIN, BODY_TOP + Inches(0.1), WIDTH - 2 * MARGIN, BODY_BOTTOM - BODY_TOP, lines, 18)
    set_notes(slide, [f"{h}{t}" for h, t in parts])


def deck_bytes(meeting: Meeting, progress: Progress = None) -> bytes:
    """The meeting deck: title, 总体情况, trend, systems, quadrants, rankings, items, movers, imbalance, warnings,
    last quarter's 整改 (when items exist), one slide per lagging unit, next steps."""
    prs = Presentation()
    prs.slide_width, prs.slide_height = WIDTH, HEIGHT
    prs.core_properties.title = meeting.title
    prs.core_properties.author = meeting.user or meeting.district
    names = {s: meeting.rubric.composite_name(s) for s in COMPOSITES}  # progress labels read in Chinese
    steps: list[tuple[str, Callable[[], None]]] = [
        ("封面", lambda: title_slide(prs, meeting)),
        ("总体情况", lambda: overview_slide(prs, meeting)),
        ("得分趋势", lambda: trend_slide(prs, meeting)),
        ("系统比较", lambda: systems_slide(prs, meeting)),
        ("四象限", lambda: quadrant_slide(prs, meeting)),
        *((f"单位排名（{names[s]}）", lambda s=s: ranking_slide(prs, meeting, s)) for s in COMPOSITES),
        *((f"指标（{names[s]}）", lambda s=s: items_slide(prs, meeting, s)) for s in COMPOSITES),
        ("单位进退", lambda: movers_slide(prs, meeting)),
        ("不平衡趋势", lambda: imbalance_slide(prs, meeting)),
        ("预警", lambda: warnings_slide(prs, meeting)),
        *(
            (("上季度整改", lambda: rectify_slide(prs, meeting)),)
            if meeting.follow_up and meeting.follow_up.total
            else ()
        ),
        *((f"后进单位 {r.unit}", lambda r=r: lagging_slide(prs, meeting, r)) for r in meeting.lagging.itertuples()),
        ("下一步工作", lambda: next_steps_slide(prs, meeting)),
    ]
    with images.warm_browser():
        for i, (label, step) in enumerate(steps, start=1):
            step()
            if progress:
                progress(i / len(steps), f"演示文稿：{label}（{i}/{len(steps)}）")
    buffer = io.BytesIO()
    prs.save(buffer)
    return buffer.getvalue()
