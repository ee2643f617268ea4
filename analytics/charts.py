"""DataFrame -> plotly Figure, one look for every chart: Chinese labels, projector-sized type, fixed colours.

No I/O and no Streamlit: pages draw the figures, analytics.exports turns them into images.
Quadrant and grade colours are fixed so that 两张皮 is the same orange on every page and slide.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from analytics.rubric import QUADRANTS

# Noto first: it is the font installed on the server and inside kaleido's Chromium.
FONT_FAMILY = '"Noto Sans CJK SC", "Microsoft YaHei", "PingFang SC", sans-serif'
BASE_FONT_SIZE = 18
TITLE_FONT_SIZE = 24
TEXT_COLOR = "#222222"
GRID_COLOR = "#DDDDDD"

PALETTE = (
    "#2F6DB5", "#E07B28", "#3A9C5B", "#C0392B", "#7B5EA7",
    "#8C6D3F", "#D36BA6", "#5F6B78", "#B5A42E", "#2BA5B5",
)  # fmt: skip
QUADRANT_COLORS = {"融合型": "#2E9D5B", "两张皮": "#F08C2E", "业务化": "#2F6DB5", "边缘化": "#C0392B"}
GRADE_COLORS = {"优秀": "#1B7F3B", "良好": "#7CB342", "一般": "#F2A93B", "较差": "#C0392B"}
SCORE_COLORS = {"standardization": "#34495E", "integration": "#8E44AD"}
MISSING_COLOR = "#9E9E9E"

SCORE_LABELS = {"standardization": "支部标准化建设", "integration": "党建与业务融合"}
GROUP_LABELS = {"unit": "单位", "system": "系统", "org_name": "组织", "quadrant": "象限", "grade": "等级"}
PASS_MARK = 60.0
SCORE_RANGE = [0, 102]  # 0–100 with room for a marker sitting on 100
# Red (0) through amber to green (1): low indicator scores stand out on a projector.
SCORE_SCALE = [[0.0, "#C0392B"], [0.5, "#F5C342"], [1.0, "#2E9D5B"]]


def SYSTEM_COLORS(systems: Iterable[str]) -> dict[str, str]:  # capitals: named in the brief next to QUADRANT_COLORS
    """System name -> palette colour, assigned in sorted name order so a system keeps its colour."""
    names = sorted({str(s) for s in systems if not pd.isna(s)})
    return {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(names)}


def _styled(fig: go.Figure, title: str, height: int | None = None) -> go.Figure:
    """The figure with the shared look: white template, CJK font, projector sizes, Chinese title."""
    fig.update_layout(
        template="plotly_white",
        colorway=list(PALETTE),
        font=dict(family=FONT_FAMILY, size=BASE_FONT_SIZE, color=TEXT_COLOR),
        title=dict(text=title, font=dict(family=FONT_FAMILY, size=TITLE_FONT_SIZE), x=0.02, xanchor="left"),
        hoverlabel=dict(font=dict(family=FONT_FAMILY, size=BASE_FONT_SIZE)),
        legend=dict(font=dict(size=BASE_FONT_SIZE - 2)),
        margin=dict(l=80, r=40, t=90, b=70),
    )
    fig.update_xaxes(gridcolor=GRID_COLOR, zeroline=False, title_font=dict(size=BASE_FONT_SIZE))
    fig.update_yaxes(gridcolor=GRID_COLOR, zeroline=False, title_font=dict(size=BASE_FONT_SIZE))
    if height is not None:
        fig.update_layout(height=height)
    return fig


def _rows_height(rows: int, per_row: int = 36, base: int = 220) -> int:
    """Figure height in pixels that keeps one row of labels readable."""
    return max(base + per_row * rows, 420)


def _indicator_label(ind_id: object, name: object) -> str:
    """'S8 主题党日' from the id and the name."""
    return f"{ind_id} {name}"


def _group_label(by: str) -> str:
    """Chinese word for a grouping column (单位, 系统)."""
    return GROUP_LABELS.get(by, by)


def _score_label(score: str) -> str:
    """Chinese name of a composite score."""
    return SCORE_LABELS.get(score, score)


def _quarter_axis(fig: go.Figure) -> None:
    """Quarters as categories in the given order, never parsed as dates."""
    fig.update_xaxes(type="category", title_text="季度")


def _scatter_customdata(frame: pd.DataFrame) -> np.ndarray:
    """Per point: org_id (None when absent, for click-through), org_name, unit, quadrant."""
    org_id = frame["org_id"] if "org_id" in frame else pd.Series([None] * len(frame), index=frame.index)
    cols = [org_id, frame["org_name"], frame["unit"], frame["quadrant"]]
    return np.column_stack([c.astype(object).to_numpy() for c in cols]) if len(frame) else np.empty((0, 4))


_SCATTER_HOVER = (
    "<b>%{customdata[1]}</b><br>单位：%{customdata[2]}<br>标准化建设：%{x:.1f}<br>"
    "业务融合：%{y:.1f}<br>象限：%{customdata[3]}<extra></extra>"
)


def _quadrant_labels(fig: go.Figure, low: float, high: float) -> None:
    """The four quadrant names in their corners: 融合型 top-right … 边缘化 bottom-left."""
    corners = {"融合型": (high, high), "两张皮": (high, low), "业务化": (low, high), "边缘化": (low, low)}
    for name, (x, y) in corners.items():
        fig.add_annotation(
            x=x, y=y, text=name, showarrow=False, opacity=0.85,
            xanchor="right" if x == high else "left", yanchor="top" if y == high else "bottom",
            font=dict(size=TITLE_FONT_SIZE - 2, color=QUADRANT_COLORS[name]),
            bgcolor="rgba(255,255,255,0.85)", bordercolor=QUADRANT_COLORS[name], borderpad=4,
        )  # fmt: skip


def quadrant_scatter(
    frame: pd.DataFrame, threshold: float = 80, color_by: str = "system", title: str = "支部标准化建设 × 党建与业务融合"
) -> go.Figure:
    """Scatter of organizations (x 标准化建设, y 业务融合) with threshold lines and the four quadrants named."""
    data = frame.dropna(subset=["standardization", "integration"])
    if color_by == "quadrant":
        groups, colors = list(QUADRANTS), QUADRANT_COLORS
    else:
        colors = SYSTEM_COLORS(data[color_by])
        groups = list(colors)
    fig = go.Figure()
    for group in groups:
        part = data[data[color_by].astype(object) == group]
        if part.empty:
            continue
        fig.add_trace(
            go.Scatter(
                x=part["standardization"].to_numpy(float), y=part["integration"].to_numpy(float), mode="markers",
                name=str(group), customdata=_scatter_customdata(part), hovertemplate=_SCATTER_HOVER,
                marker=dict(color=colors[group], size=13, opacity=0.85, line=dict(width=1, color="white")),
            )
        )  # fmt: skip
    dash = dict(color="#555555", width=2, dash="dash")
    fig.add_vline(x=threshold, line=dash)
    fig.add_hline(y=threshold, line=dash)
    _quadrant_labels(fig, 0, 100)
    fig.update_xaxes(title_text="支部标准化建设得分", range=[-3, 103])
    fig.update_yaxes(title_text="党建与业务融合得分", range=[-3, 103])
    return _styled(fig, title, height=800)


def trend_lines(trend: pd.DataFrame, title: str = "全区平均得分趋势") -> go.Figure:
    """Two lines with markers: district mean standardization and integration per quarter."""
    fig = go.Figure()
    for score in ("standardization", "integration"):
        values = trend[score].to_numpy(float)
        fig.add_trace(
            go.Scatter(
                x=trend["quarter"].astype(str).to_numpy(), y=values, name=_score_label(score),
                mode="lines+markers", line=dict(color=SCORE_COLORS[score], width=3), marker=dict(size=10),
                hovertemplate="%{x}：%{y:.1f}<extra>" + _score_label(score) + "</extra>",
            )
        )  # fmt: skip
    _quarter_axis(fig)
    # Quarter-to-quarter moves of a few points are what leaders ask about: zoom to the data, keep 100 on top.
    lowest = np.nanmin(trend[["standardization", "integration"]].to_numpy(float)) if len(trend) else 0.0
    fig.update_yaxes(title_text="平均得分", range=[max(0.0, np.floor(lowest / 10) * 10 - 10), 101])
    return _styled(fig, title)


def indicator_bars(summary: pd.DataFrame, title: str = "各指标平均失分") -> go.Figure:
    """Horizontal bars of mean points lost per indicator, the biggest loss on top."""
    data = summary.sort_values("lost", ascending=False, kind="stable")
    labels = [_indicator_label(i, n) for i, n in zip(data["id"], data["name"], strict=True)]
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
    return _styled(fig, title, height=_rows_height(len(data)))


def heatmap(matrix: pd.DataFrame, title: str = "各单位指标得分率") -> go.Figure:
    """Heatmap of mean 0–1 indicator scores, units down and indicators across, red 0 to green 1."""
    z = matrix.to_numpy(dtype=float, na_value=np.nan)
    text = [["" if np.isnan(v) else f"{v:.2f}" for v in row] for row in z]
    fig = go.Figure(
        go.Heatmap(
            z=z, x=[str(c) for c in matrix.columns], y=[str(i) for i in matrix.index], zmin=0, zmax=1,
            colorscale=SCORE_SCALE, text=text, texttemplate="%{text}", textfont=dict(size=BASE_FONT_SIZE - 4),
            colorbar=dict(title=dict(text="得分率")), xgap=1, ygap=1,
            hovertemplate="%{y} · %{x}<br>得分率：%{z:.2f}<extra></extra>",
        )
    )  # fmt: skip
    fig.update_yaxes(autorange="reversed", title_text="单位")
    fig.update_xaxes(title_text="指标", tickangle=-40, side="bottom")
    return _styled(fig, title, height=_rows_height(len(matrix), per_row=40, base=300))


def score_distribution(frame: pd.DataFrame, by: str, score: str, title: str | None = None) -> go.Figure:
    """One box with points per group, ordered by median (highest first), with the 60 line dashed."""
    data = frame.dropna(subset=[score])
    medians = data.groupby(by, observed=True)[score].median().sort_values(ascending=False, kind="stable")
    colors = SYSTEM_COLORS(medians.index) if by == "system" else {}
    fig = go.Figure()
    for group in medians.index:
        fig.add_trace(
            go.Box(
                y=data.loc[data[by] == group, score].to_numpy(float), name=str(group), boxpoints="all",
                jitter=0.3, pointpos=0, marker=dict(size=6, opacity=0.6),
                line=dict(color=colors.get(group, PALETTE[0])), showlegend=False,
            )
        )  # fmt: skip
    fig.add_hline(y=PASS_MARK, line=dict(color="#C0392B", dash="dash", width=2), annotation_text="60 分")
    fig.update_xaxes(title_text=_group_label(by), type="category")
    fig.update_yaxes(title_text=f"{_score_label(score)}得分", range=SCORE_RANGE)
    title = title or f"各{_group_label(by)}{_score_label(score)}得分分布"
    return _styled(fig, title, height=600)


def rank_dots(ranks: pd.DataFrame, by: str, title: str | None = None) -> go.Figure:
    """Dot at each group's rank with a bar from its 5 % to its 95 % rank under weight perturbation, best on top."""
    data = ranks.sort_values("rank", kind="stable")
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
    fig.update_yaxes(autorange="reversed", title_text=_group_label(by), type="category")
    fig.update_xaxes(title_text="名次（1 = 最好）", rangemode="tozero", dtick=1 if len(data) <= 20 else None)
    title = title or f"各{_group_label(by)}名次及其区间（权重扰动 5%–95%）"
    return _styled(fig, title, height=_rows_height(len(data)))


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
    _quarter_axis(fig)
    fig.update_yaxes(title_text="系数值", rangemode="tozero", secondary_y=False)
    fig.update_yaxes(
        title_text=share, range=[0, 1], tickformat=".0%", dtick=0.2, tickmode="linear", showgrid=False, secondary_y=True
    )
    return _styled(fig, title)


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
    return _styled(fig, title, height=700)


def waterfall(lost: pd.DataFrame, total: float, title: str = "得分构成：从满分 100 到实际得分") -> go.Figure:
    """Waterfall from 100 down one step per indicator that lost points (biggest first) to the score."""
    data = lost[lost["lost"] > 0].sort_values("lost", ascending=False, kind="stable")
    steps = data["lost"].to_numpy(float)
    labels = [_indicator_label(i, n) for i, n in zip(data["id"], data["name"], strict=True)]
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
    return _styled(fig, title, height=650)


def _history_traces(history: pd.DataFrame, score: str, symbol: str, dash: str) -> list[go.Scatter]:
    """A score's line (named in the legend) and its markers coloured by that quarter's quadrant."""
    quarters, values, label = (
        history["quarter"].astype(str).to_numpy(),
        history[score].to_numpy(float),
        _score_label(score),
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
    fig.add_hline(
        y=threshold,
        line=dict(color="#555555", dash="dash", width=2),
        annotation_text=f"阈值 {threshold:g}",
        annotation_position="top left",
    )
    _quarter_axis(fig)
    fig.update_yaxes(title_text="得分", range=SCORE_RANGE)
    return _styled(fig, title)


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
    return _styled(fig, title)
