"""DataFrame -> plotly Figure in the look of analytics.chart_style; past a district's size, what chart_limits keeps.

No I/O and no Streamlit: pages draw the figures, analytics.exports turns them into images.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from analytics.charts import limits
from analytics.charts.style import (
    BASE_FONT_SIZE,
    DENSITY_SCALE,
    GRADE_COLORS,
    GROUP_LABELS,
    MISSING_COLOR,
    PALETTE,
    PASS_MARK,
    QUADRANT_COLORS,
    SCORE_COLORS,
    SCORE_RANGE,
    SCORE_SCALE,
    SYSTEM_COLORS,
    TITLE_FONT_SIZE,
    group_word,
    indicator_label,
    noted,
    quarter_axis,
    rows_height,
    score_label,
    styled,
)
from analytics.scoring.rubric import COMPOSITES, QUADRANTS

# The API the pages and exports use; the colours come from chart_style and are re-exported here.
__all__ = [
    "GRADE_COLORS", "PALETTE", "QUADRANT_COLORS", "SYSTEM_COLORS",
    "branch_history", "heatmap", "imbalance_trend", "indicator_bars", "lorenz_curve", "quadrant_counts",
    "quadrant_scatter", "rank_dots", "score_distribution", "trend_lines", "waterfall",
]  # fmt: skip


def _scatter_customdata(frame: pd.DataFrame) -> np.ndarray:
    """Per point: org_id (None when absent, for click-through), org_name, unit, quadrant."""
    org_id = frame["org_id"] if "org_id" in frame else pd.Series([None] * len(frame), index=frame.index)
    cols = [org_id, frame["org_name"], frame["unit"], frame["quadrant"]]
    return np.column_stack([c.astype(object).to_numpy() for c in cols]) if len(frame) else np.empty((0, 4))


_SCATTER_HOVER = (
    "<b>%{customdata[1]}</b><br>单位：%{customdata[2]}<br>标准化建设：%{x:.1f}<br>"
    "业务融合：%{y:.1f}<br>象限：%{customdata[3]}<extra></extra>"
)


LABEL_BAND = 12  # score points of empty band above 100 and below 0 where the quadrant names sit


def _quadrant_labels(fig: go.Figure, low: float, high: float) -> None:
    """The four quadrant names in their corners (融合型 top-right … 边缘化 bottom-left), in bands above 100 and
    below 0 that no score reaches, so a name never covers a point (most points sit near 100 × 100)."""
    top, bottom = high + LABEL_BAND - 1, low - LABEL_BAND + 1
    corners = {"融合型": (high, top), "两张皮": (high, bottom), "业务化": (low, top), "边缘化": (low, bottom)}
    for name, (x, y) in corners.items():
        fig.add_annotation(
            x=x, y=y, text=name, showarrow=False, opacity=0.85,
            xanchor="right" if x == high else "left", yanchor="top" if y == top else "bottom",
            font=dict(size=TITLE_FONT_SIZE - 2, color=QUADRANT_COLORS[name]),
            bgcolor="rgba(255,255,255,0.85)", bordercolor=QUADRANT_COLORS[name], borderpad=4,
        )  # fmt: skip


def _markers(trace: type, part: pd.DataFrame, name: str, color: str, size: int) -> go.Scatter | go.Scattergl:
    """Markers of one colour group, with org_id first in customdata for click-through to 支部画像."""
    return trace(
        x=part["standardization"].to_numpy(float), y=part["integration"].to_numpy(float), mode="markers",
        name=name, customdata=_scatter_customdata(part), hovertemplate=_SCATTER_HOVER,
        marker=dict(color=color, size=size, opacity=0.85, line=dict(width=1, color="white")),
    )  # fmt: skip


def _marker_traces(data: pd.DataFrame, color_by: str, groups: list, colors: Mapping, webgl: bool) -> list:
    """One marker trace per colour group in the given order (one groupby, not a filter per group)."""
    parts = dict(iter(data.groupby(data[color_by].astype(object), sort=False)))
    trace, size = (go.Scattergl, 8) if webgl else (go.Scatter, 13)  # WebGL: thousands of points stay fluid
    return [_markers(trace, parts[g], str(g), colors[g], size) for g in groups if g in parts]


def _density_trace(data: pd.DataFrame) -> go.Heatmap:
    """Organizations per 2 × 2-point cell as a grey background: log shading, so sparse cells still show."""
    centres, counts = limits.density(data["standardization"].to_numpy(float), data["integration"].to_numpy(float))
    shade = np.log10(np.where(counts > 0, counts, np.nan))
    return go.Heatmap(
        x=centres, y=centres, z=shade, text=counts, zmin=0, colorscale=DENSITY_SCALE, showscale=False,
        hoverongaps=False, name="党组织分布",
        hovertemplate="标准化建设约 %{x:.0f} 分，业务融合约 %{y:.0f} 分：%{text} 个党组织<extra></extra>",
    )  # fmt: skip


def quadrant_scatter(
    frame: pd.DataFrame, threshold: float = 80, color_by: str = "system", title: str = "支部标准化建设 × 党建与业务融合"
) -> go.Figure:
    """Organizations (x 标准化建设, y 业务融合) with threshold lines and quadrants named; a density past a city's size."""
    data = frame.dropna(subset=list(COMPOSITES))
    if color_by == "quadrant":
        groups, colors = list(QUADRANTS), QUADRANT_COLORS
    else:
        colors = SYSTEM_COLORS(data[color_by])  # from every organization, so a system keeps its colour
        groups = list(colors)
    fig, total = go.Figure(), len(data)
    if total > limits.DENSITY_POINTS:
        # 200,000 SVG points are unreadable and slow: the mass as a density, the starkest mismatches as dots.
        fig.add_trace(_density_trace(data))
        mismatched = int(data["quadrant"].isin(limits.MISMATCHES).sum())
        data = limits.starkest_mismatches(data)
        title = noted(title, limits.density_note(total, mismatched, len(data)))
    fig.add_traces(_marker_traces(data, color_by, groups, colors, webgl=total > limits.WEBGL_POINTS))
    dash = dict(color="#555555", width=2, dash="dash")
    fig.add_vline(x=threshold, line=dash)
    fig.add_hline(y=threshold, line=dash)
    _quadrant_labels(fig, 0, 100)
    fig.update_xaxes(title_text="支部标准化建设得分", range=[-3, 103])
    ticks = dict(tickvals=list(range(0, 101, 20)))  # no tick in the label bands
    fig.update_yaxes(title_text="党建与业务融合得分", range=[-LABEL_BAND, 100 + LABEL_BAND], **ticks)
    return styled(fig, title, height=800)


def trend_lines(trend: pd.DataFrame, title: str = "全区平均得分趋势") -> go.Figure:
    """Two lines with markers: district mean standardization and integration per quarter."""
    fig = go.Figure()
    for score in COMPOSITES:
        values = trend[score].to_numpy(float)
        fig.add_trace(
            go.Scatter(
                x=trend["quarter"].astype(str).to_numpy(), y=values, name=score_label(score),
                mode="lines+markers", line=dict(color=SCORE_COLORS[score], width=3), marker=dict(size=10),
                hovertemplate="%{x}：%{y:.1f}<extra>" + score_label(score) + "</extra>",
            )
        )  # fmt: skip
    quarter_axis(fig)
    # Quarter-to-quarter moves of a few points are what leaders ask about: zoom to the data, keep 100 on top.
    lowest = np.nanmin(trend[list(COMPOSITES)].to_numpy(float)) if len(trend) else 0.0
    fig.update_yaxes(title_text="平均得分", range=[max(0.0, np.floor(lowest / 10) * 10 - 10), 101])
    return styled(fig, title)


def indicator_bars(summary: pd.DataFrame, title: str = "各指标平均失分") -> go.Figure:
    """Horizontal bars of mean points lost per indicator, the biggest loss on top."""
    data = summary.sort_values("lost", ascending=False, kind="stable")
    labels = [indicator_label(i, n) for i, n in zip(data["id"], data["name"], strict=True)]
    fig = go.Figure(
        go.Bar(
            x=data["lost"].to_numpy(float), y=labels, orientation="h", marker_color=PALETTE[0],
            text=[f"{v:.1f}" for v in data["lost"]], textposition="outside",
            customdata=data["mean_score"].to_numpy(float),
            hovertemplate="%{y}<br>平均失分：%{x:.1f}<br>平均得分率：%{customdata:.0%}<extra></extra>",
        )
    )  # fmt: skip
    fig.update_yaxes(autorange="reversed", title_text="指标")
    fig.update_xaxes(title_text="平均失分（分）")
    return styled(fig, title, height=rows_height(len(data)))


def heatmap(matrix: pd.DataFrame, title: str = "各单位指标得分率") -> go.Figure:
    """Mean 0–1 indicator scores, rows in the given order (lowest first from unit_indicator_matrix), red 0 to green 1."""
    total, word = len(matrix), GROUP_LABELS.get(matrix.index.name, "单位")
    if total > limits.MAX_GROUPS:
        matrix = matrix.head(limits.SHOWN_GROUPS)
        title = noted(title, f"（综合得分最低的 {len(matrix)} 个{word}，共 {limits.count_text(total)} 个）")
    z = matrix.to_numpy(dtype=float, na_value=np.nan)
    labels = {}
    if z.size <= limits.TEXT_CELLS:
        text = [["" if np.isnan(v) else f"{v:.2f}" for v in row] for row in z]
        labels = dict(text=text, texttemplate="%{text}", textfont=dict(size=BASE_FONT_SIZE - 4))
    fig = go.Figure(
        go.Heatmap(
            z=z, x=[str(c) for c in matrix.columns], y=[str(i) for i in matrix.index], zmin=0, zmax=1,
            colorscale=SCORE_SCALE, colorbar=dict(title=dict(text="得分率")), xgap=1, ygap=1,
            hovertemplate="%{y} · %{x}<br>得分率：%{z:.2f}<extra></extra>", **labels,
        )
    )  # fmt: skip
    fig.update_yaxes(autorange="reversed", title_text="单位")
    fig.update_xaxes(title_text="指标", tickangle=-40, side="bottom")
    return styled(fig, title, height=rows_height(len(matrix), per_row=40, base=300))


def _point_boxes(data: pd.DataFrame, by: str, score: str, groups: pd.Index, colors: Mapping) -> list[go.Box]:
    """A box with every point per group, in the given group order (one groupby, not a filter per group)."""
    values = dict(iter(data.groupby(by, observed=True)[score]))
    return [
        go.Box(
            y=values[group].to_numpy(float), name=str(group), boxpoints="all",
            jitter=0.3, pointpos=0, marker=dict(size=6, opacity=0.6),
            line=dict(color=colors.get(group, PALETTE[0])), showlegend=False,
        )
        for group in groups
    ]  # fmt: skip


def _stat_boxes(data: pd.DataFrame, by: str, score: str, groups: pd.Index, colors: Mapping) -> list[go.Box]:
    """A box per group drawn from its quartiles, mean and lowest/highest score, without the points."""
    stats = limits.box_stats(data, by, score).loc[groups].to_dict("index")
    return [
        go.Box(
            x=[str(group)], q1=[s["q1"]], median=[s["median"]], q3=[s["q3"]], mean=[s["mean"]],
            lowerfence=[s["lowest"]], upperfence=[s["highest"]], boxmean=True, boxpoints=False,
            orientation="v", name=str(group), line=dict(color=colors.get(group, PALETTE[0])), showlegend=False,
        )
        for group, s in stats.items()
    ]  # fmt: skip


def score_distribution(frame: pd.DataFrame, by: str, score: str, title: str | None = None) -> go.Figure:
    """A box per group ordered by median (highest first), 60 line dashed; past a district, the lowest medians only."""
    data = frame.dropna(subset=[score])
    medians = data.groupby(by, observed=True)[score].median().sort_values(ascending=False, kind="stable")
    colors = SYSTEM_COLORS(medians.index) if by == "system" else {}
    shown = limits.lowest_medians(medians) if len(medians) > limits.MAX_GROUPS else medians
    if len(shown) < len(medians):
        data = data[data[by].isin(shown.index).to_numpy(dtype=bool, na_value=False)]
    summarized = len(data) > limits.MAX_BOX_POINTS  # every point of a province is megabytes and unreadable
    boxes = (_stat_boxes if summarized else _point_boxes)(data, by, score, shown.index, colors)
    fig = go.Figure(boxes)
    fig.add_hline(y=PASS_MARK, line=dict(color="#C0392B", dash="dash", width=2))
    fig.update_xaxes(title_text=group_word(by), type="category")
    fig.update_yaxes(title_text=f"{score_label(score)}得分", range=SCORE_RANGE)
    title = title or f"各{group_word(by)}{score_label(score)}得分分布"
    note = limits.distribution_note(group_word(by), len(shown), len(medians), summarized)
    return line_label(styled(fig, noted(title, note) if note else title, height=600), PASS_MARK, f"{PASS_MARK:g} 分")


def line_label(fig: go.Figure, y: float, text: str) -> go.Figure:
    """A horizontal line's label in the right margin, level with the line: never over a box, a point or a bar."""
    fig.add_annotation(
        x=1, xref="paper", xanchor="left", xshift=6, y=y, yref="y", text=text, showarrow=False,
        font=dict(size=BASE_FONT_SIZE - 2, color="#555555"),
    )  # fmt: skip
    return fig.update_layout(margin=dict(r=90))


def _rank_gap(fig: go.Figure, left_out: int, word: str) -> None:
    """A dotted line and a note between the best and the worst rows: how many groups are not listed."""
    gap = limits.EDGE_GROUPS - 0.5  # between the last best row and the first worst row (category positions)
    fig.add_hline(y=gap, line=dict(color=MISSING_COLOR, dash="dot", width=2))
    fig.add_annotation(
        x=0.5, xref="paper", y=gap, text=f"中间 {limits.count_text(left_out)} 个{word}未列出", showarrow=False,
        font=dict(size=BASE_FONT_SIZE - 2, color="#555555"), bgcolor="white",
    )  # fmt: skip


def rank_dots(ranks: pd.DataFrame, by: str, title: str | None = None) -> go.Figure:
    """Dot at each group's rank with a bar from its 5 % to its 95 % rank, best on top; past a district, both ends."""
    data = ranks.sort_values("rank", kind="stable")
    total = len(data)
    if total > limits.MAX_GROUPS:
        data = limits.rank_ends(data)
    rank = data["rank"].to_numpy(float)
    fig = go.Figure(
        go.Scatter(
            x=rank, y=data[by].astype(str).to_numpy(), mode="markers", marker=dict(size=14, color=PALETTE[0]),
            error_x=dict(
                type="data", symmetric=False, thickness=3, width=6, color=PALETTE[0],
                # A nominal rank outside its draw interval would give a negative bar; show none instead.
                array=np.maximum(data["rank_p95"].to_numpy(float) - rank, 0),
                arrayminus=np.maximum(rank - data["rank_p05"].to_numpy(float), 0),
            ),
            customdata=data[["mean", "rank_p05", "rank_p95"]].to_numpy(float),
            hovertemplate="%{y}<br>名次：%{x:.0f}（%{customdata[1]:.0f}–%{customdata[2]:.0f}）<br>"
            "平均分：%{customdata[0]:.1f}<extra></extra>",
        )
    )  # fmt: skip
    fig.update_yaxes(autorange="reversed", title_text=group_word(by), type="category")
    fig.update_xaxes(title_text="名次（1 = 最好）", rangemode="tozero", dtick=1 if len(data) <= 20 else None)
    title = title or f"各{group_word(by)}名次及其区间（权重扰动 5%–95%）"
    if len(data) < total:
        word, edge = group_word(by), limits.EDGE_GROUPS
        _rank_gap(fig, total - len(data), word)
        title = noted(title, f"（前 {edge} 名与后 {edge} 名，共 {limits.count_text(total)} 个{word}）")
    return styled(fig, title, height=rows_height(len(data)))


_IMBALANCE_LINES = {"gini": "基尼系数", "cv": "变异系数", "theil_total": "泰尔指数"}


def imbalance_trend(trend: pd.DataFrame, group_label: str = "单位", title: str = "不均衡程度趋势") -> go.Figure:
    """Lines over quarters: Gini, CV and Theil on the left axis, the between-group share (%) on the right."""
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    quarters = trend["quarter"].astype(str).to_numpy()
    for i, (column, label) in enumerate(_IMBALANCE_LINES.items()):
        line = dict(color=PALETTE[i], width=3)
        fig.add_trace(go.Scatter(x=quarters, y=trend[column].to_numpy(float), name=label, line=line), secondary_y=False)
    share = f"{group_label}间差异占比"
    fig.add_trace(
        go.Scatter(
            x=quarters, y=trend["between_share"].to_numpy(float), name=share,
            line=dict(color=PALETTE[4], width=3, dash="dash"), hovertemplate="%{x}：%{y:.0%}<extra>" + share + "</extra>",
        ),
        secondary_y=True,
    )  # fmt: skip
    fig.update_traces(mode="lines+markers", marker=dict(size=9))
    quarter_axis(fig)
    fig.update_yaxes(title_text="系数值", rangemode="tozero", secondary_y=False)
    fig.update_yaxes(
        title_text=share, range=[0, 1], tickformat=".0%", dtick=0.2, tickmode="linear", showgrid=False, secondary_y=True
    )
    # the legend below the plot: on the right it would sit on the right axis's title
    legend = dict(orientation="h", yanchor="top", y=-0.2, x=0)
    return styled(fig, title).update_layout(legend=legend, margin=dict(b=130))


def lorenz_curve(
    x: Iterable[float], y: Iterable[float], gini: float | None = None, title: str = "洛伦兹曲线"
) -> go.Figure:
    """Lorenz curve of the scores over the line of equality, the Gini in the title when given."""
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="绝对平均线", line=dict(color=MISSING_COLOR, dash="dash"))
    )
    fig.add_trace(
        go.Scatter(
            x=np.asarray(list(x), float), y=np.asarray(list(y), float), mode="lines", name="洛伦兹曲线",
            line=dict(color=PALETTE[3], width=3), fill="tonexty", fillcolor="rgba(192, 57, 43, 0.12)",
        )
    )  # fmt: skip
    fig.update_xaxes(title_text="组织累计占比（按得分从低到高）", range=[0, 1], tickformat=".0%", constrain="domain")
    fig.update_yaxes(title_text="得分累计占比", range=[0, 1], tickformat=".0%", scaleanchor="x", constrain="domain")
    if gini is not None:
        title = f"{title}（基尼系数 {gini:.3f}）"
    return styled(fig, title, height=700)


def waterfall(lost: pd.DataFrame, total: float, title: str = "得分构成：从满分 100 到实际得分") -> go.Figure:
    """Waterfall from 100 down one step per indicator that lost points (biggest first) to the score."""
    data = lost[lost["lost"] > 0].sort_values("lost", ascending=False, kind="stable")
    steps = data["lost"].to_numpy(float)
    labels = [indicator_label(i, n) for i, n in zip(data["id"], data["name"], strict=True)]
    fig = go.Figure(
        go.Waterfall(
            x=["满分", *labels, "得分"], y=[100.0, *(-steps), float(total)],
            measure=["absolute", *["relative"] * len(steps), "total"],
            text=["100", *(f"−{v:.1f}" for v in steps), f"{total:.1f}"], textposition="outside",
            decreasing=dict(marker=dict(color=QUADRANT_COLORS["边缘化"])),
            totals=dict(marker=dict(color=PALETTE[0])), connector=dict(line=dict(color=MISSING_COLOR, dash="dot")),
            hovertemplate="%{x}：%{text}<extra></extra>",
        )
    )  # fmt: skip
    fig.update_xaxes(title_text="指标", tickangle=-35)
    fig.update_yaxes(title_text="分数", range=[0, 110])
    return styled(fig, title, height=650)


def _history_traces(history: pd.DataFrame, score: str, symbol: str, dash: str) -> list[go.Scatter]:
    """A score's line (named in the legend) and its markers coloured by that quarter's quadrant."""
    quarters, values, label = (
        history["quarter"].astype(str).to_numpy(),
        history[score].to_numpy(float),
        score_label(score),
    )
    line = go.Scatter(
        x=quarters, y=values, name=label, mode="lines", legendgroup=score, hoverinfo="skip",
        line=dict(color=SCORE_COLORS[score], width=3, dash=dash),
    )  # fmt: skip
    markers = go.Scatter(
        x=quarters, y=values, name=label, mode="markers", legendgroup=score, showlegend=False,
        customdata=history["quadrant"].to_numpy(), hovertemplate="%{x}：%{y:.1f}（%{customdata}）<extra>" + label + "</extra>",
        marker=dict(
            size=16, symbol=symbol, line=dict(width=1.5, color="white"),
            color=[QUADRANT_COLORS.get(q, MISSING_COLOR) for q in history["quadrant"]],
        ),
    )  # fmt: skip
    return [line, markers]


def branch_history(history: pd.DataFrame, threshold: float = 80, title: str = "本支部历季得分") -> go.Figure:
    """Both scores of one organization over quarters, markers coloured by quadrant, threshold line dashed."""
    fig = go.Figure()
    fig.add_traces(_history_traces(history, "standardization", "circle", "solid"))
    fig.add_traces(_history_traces(history, "integration", "diamond", "dot"))
    for name in (q for q in QUADRANTS if q in set(history["quadrant"])):
        # Legend-only entries: which marker colour means which quadrant.
        legend_only = go.Scatter(
            x=[None], y=[None], mode="markers", name=name, marker=dict(size=14, color=QUADRANT_COLORS[name])
        )
        fig.add_trace(legend_only)
    fig.add_hline(y=threshold, line=dict(color="#555555", dash="dash", width=2))
    quarter_axis(fig)
    fig.update_yaxes(title_text="得分", range=SCORE_RANGE)
    # the legend below the plot: on the right it would take the room of the line's label
    fig = styled(fig, title).update_layout(legend=dict(orientation="h", yanchor="top", y=-0.2, x=0), margin=dict(b=130))
    return line_label(fig, threshold, f"阈值 {threshold:g}")


def quadrant_counts(counts: Mapping[str, int] | pd.Series, title: str = "四象限组织数") -> go.Figure:
    """Bars of organizations per quadrant in the fixed order 融合型, 两张皮, 业务化, 边缘化 and their colours."""
    values = [int(counts.get(q, 0) or 0) for q in QUADRANTS]
    fig = go.Figure(
        go.Bar(
            x=list(QUADRANTS), y=values, text=[str(v) for v in values], textposition="outside",
            marker_color=[QUADRANT_COLORS[q] for q in QUADRANTS], hovertemplate="%{x}：%{y} 个<extra></extra>",
        )
    )  # fmt: skip
    fig.update_xaxes(title_text="象限", type="category")
    fig.update_yaxes(title_text="组织数", rangemode="tozero")
    return styled(fig, title)
