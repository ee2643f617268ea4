"""The one look of every chart: CJK font, projector-sized type, fixed colours, Chinese labels and titles.

Quadrant and grade colours are fixed so that 两张皮 is the same orange on every page and slide.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from analytics.scoring.imbalance import PASS_MARK  # noqa: F401  (charts draw the line where SPEC §5 puts it)

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
SCORE_RANGE = [0, 102]  # 0–100 with room for a marker sitting on 100
# Red (0) through amber to green (1): low indicator scores stand out on a projector.
SCORE_SCALE = [[0.0, "#C0392B"], [0.5, "#F5C342"], [1.0, "#2E9D5B"]]
# Light to mid grey: the density stays background, the coloured dots on it stay visible.
DENSITY_SCALE = [[0.0, "#ECEFF3"], [1.0, "#8A96A3"]]


def SYSTEM_COLORS(systems: Iterable[str]) -> dict[str, str]:  # capitals: named in the brief next to QUADRANT_COLORS
    """System name -> palette colour, assigned in sorted name order so a system keeps its colour."""
    distinct = systems.unique() if isinstance(systems, pd.Series | pd.Index) else systems  # 200,000 rows, 50 names
    names = sorted({str(s) for s in distinct if not pd.isna(s)})
    return {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(names)}


def styled(fig: go.Figure, title: str, height: int | None = None) -> go.Figure:
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
    return inert(fig)


DATA_FIELDS = ("x", "y", "text", "customdata", "name", "hovertext", "labels")
_ENTITIES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})


def _escaped(value):
    """Strings with &, < and > written as character references, inside lists, tuples and numpy arrays too."""
    if isinstance(value, str):
        return value.translate(_ENTITIES)
    if isinstance(value, list | tuple):
        return type(value)(_escaped(v) for v in value)
    if isinstance(value, np.ndarray) and value.dtype.kind in ("O", "U"):  # names (customdata rows, categories)
        return np.array([_escaped(v) for v in value.ravel()], dtype=object).reshape(value.shape)
    return value


def inert(fig: go.Figure) -> go.Figure:
    """Names from the data drawn as text, never as plotly's HTML: '<a href=…>' in a unit name would otherwise be a
    live link on the page and in exported SVGs, '<b>' bold. Only the traces' data are escaped; titles and hover
    templates are the charts' own markup."""
    for trace in fig.data:
        for key in DATA_FIELDS:
            if key in trace and trace[key] is not None:
                trace[key] = _escaped(trace[key])
    return fig


def noted(title: str, note: str) -> str:
    """The title with a smaller second line saying what the chart leaves out or how it is drawn."""
    return f'{title}<br><span style="font-size:{BASE_FONT_SIZE}px">{note}</span>'


def rows_height(rows: int, per_row: int = 36, base: int = 220) -> int:
    """Figure height in pixels that keeps one row of labels readable."""
    return max(base + per_row * rows, 420)


def indicator_label(ind_id: object, name: object) -> str:
    """'S8 主题党日' from the id and the name."""
    return f"{ind_id} {name}"


def group_word(by: str) -> str:
    """Chinese word for a grouping column (单位, 系统)."""
    return GROUP_LABELS.get(by, by)


def score_label(score: str) -> str:
    """Chinese name of a composite score."""
    return SCORE_LABELS.get(score, score)


def quarter_axis(fig: go.Figure) -> None:
    """Quarters as categories in the given order, never parsed as dates."""
    fig.update_xaxes(type="category", title_text="季度")
