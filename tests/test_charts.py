"""Charts: the figures carry the input values, fixed colours, Chinese labels and a CJK font that really renders."""

from __future__ import annotations

import asyncio
import io
import math
import re
from pathlib import Path

import kaleido
import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
from PIL import Image, ImageChops

from analytics.charts import charts, images
from analytics.charts.charts import GRADE_COLORS, PALETTE, QUADRANT_COLORS, SYSTEM_COLORS
from analytics.scoring import views as dashboard
from analytics.scoring.rubric import load_rubric

CJK = re.compile(r"[\u4e00-\u9fff]")
QUARTERS = ["2024Q1", "2024Q2", "2024Q3", "2024Q4"]


def orgs() -> pd.DataFrame:
    """Five organizations, one in each quadrant of threshold 80 and one exactly on both lines."""
    return pd.DataFrame(
        {
            "org_id": [11, 12, 13, 14, 15],
            "system": ["教育", "卫生", "教育", "机关", "卫生"],
            "unit": ["一中", "人民医院", "二中", "区委办", "中医院"],
            "org_name": ["一中支部", "医院一支部", "二中支部", "区委办支部", "中医院支部"],
            "standardization": [92.5, 85.0, 40.25, 30.0, 80.0],
            "integration": [88.0, 55.5, 95.0, 20.0, 80.0],
            "quadrant": ["融合型", "两张皮", "业务化", "边缘化", "融合型"],
        }
    )


def indicator_summary() -> pd.DataFrame:
    """Mean points lost per indicator, deliberately not in loss order."""
    return pd.DataFrame(
        {
            "id": ["S8", "S4", "I1", "S11"],
            "name": ["主题党日", "支委会", "党建业务同谋划同部署", "三会一课线上录入"],
            "lost": [3.25, 5.04, 0.0, 2.5],
            "mean_score": [0.675, 0.37, 1.0, 0.75],
        }
    )


def all_figures() -> dict[str, go.Figure]:
    """One figure from every chart function, built from small hand-made frames."""
    trend = pd.DataFrame(
        {"quarter": QUARTERS, "standardization": [70.0, 74, 78, 81], "integration": [65.0, 66, 72, 75]}
    )
    imbalance = pd.DataFrame(
        {"quarter": QUARTERS, "gini": [0.1, 0.09, 0.08, 0.085], "cv": [0.2, 0.18, 0.15, 0.16],
         "theil_total": [0.02, 0.018, 0.015, 0.016], "between_share": [0.4, 0.35, 0.3, 0.32]}
    )  # fmt: skip
    ranks = pd.DataFrame(
        {"unit": ["一中", "二中"], "mean": [90.0, 80.0], "rank": [1.0, 2.0], "rank_p05": [1, 1], "rank_p95": [2, 2]}
    )
    matrix = pd.DataFrame(
        [[0.5, np.nan], [1.0, 0.0]], index=["一中", "二中"], columns=["S1 正式党员3人以上", "S8 主题党日"]
    )
    return {
        "quadrant_scatter": charts.quadrant_scatter(orgs()),
        "trend_lines": charts.trend_lines(trend),
        "indicator_bars": charts.indicator_bars(indicator_summary()),
        "heatmap": charts.heatmap(matrix),
        "score_distribution": charts.score_distribution(orgs(), "system", "standardization"),
        "rank_dots": charts.rank_dots(ranks, "unit"),
        "imbalance_trend": charts.imbalance_trend(imbalance),
        "lorenz_curve": charts.lorenz_curve([0, 0.5, 1], [0, 0.25, 1], gini=0.25),
        "waterfall": charts.waterfall(indicator_summary(), 100 - 10.79),
        "branch_history": charts.branch_history(trend.assign(quadrant=["边缘化", "业务化", "两张皮", "融合型"])),
        "quadrant_counts": charts.quadrant_counts({"融合型": 2, "边缘化": 1}),
    }


def axis_titles(fig: go.Figure) -> dict[str, str | None]:
    """Every x/y axis of the layout -> its title text."""
    layout = fig.layout.to_plotly_json()
    return {k: (v.get("title") or {}).get("text") for k, v in layout.items() if re.fullmatch(r"[xy]axis\d*", k)}


@pytest.fixture(scope="module")
def figures() -> dict[str, go.Figure]:
    """all_figures(), built once for the per-figure checks."""
    return all_figures()


FIGURE_NAMES = [
    "quadrant_scatter", "trend_lines", "indicator_bars", "heatmap", "score_distribution", "rank_dots",
    "imbalance_trend", "lorenz_curve", "waterfall", "branch_history", "quadrant_counts",
]  # fmt: skip


def test_every_chart_function_is_checked(figures):
    assert sorted(figures) == sorted(FIGURE_NAMES)


@pytest.mark.parametrize("name", FIGURE_NAMES)
def test_every_figure_has_chinese_title_and_axis_titles(name, figures):
    fig = figures[name]
    assert CJK.search(fig.layout.title.text)
    titles = axis_titles(fig)
    assert {"xaxis", "yaxis"} <= set(titles)
    for axis, text in titles.items():
        assert text and CJK.search(text), f"{name}: {axis} title {text!r}"


@pytest.mark.parametrize("name", FIGURE_NAMES)
def test_every_figure_uses_the_cjk_font_at_projector_sizes(name, figures):
    layout = figures[name].layout
    assert layout.font.family.startswith('"Noto Sans CJK SC"')
    assert layout.title.font.family == layout.font.family
    assert layout.font.size >= 16
    assert layout.title.font.size >= 20
    assert layout.template.layout.paper_bgcolor == "white"


def test_scatter_points_are_the_input_scores_with_org_id_for_click_through():
    frame = orgs()
    fig = charts.quadrant_scatter(frame, color_by="system")
    points = {
        int(cd[0]): (x, y) for trace in fig.data for x, y, cd in zip(trace.x, trace.y, trace.customdata, strict=True)
    }
    expected = {r.org_id: (r.standardization, r.integration) for r in frame.itertuples()}
    assert points == expected


def test_scatter_hover_names_the_organization_and_both_scores_to_one_decimal():
    template = charts.quadrant_scatter(orgs()).data[0].hovertemplate
    for part in ("%{customdata[1]}", "%{customdata[2]}", "%{x:.1f}", "%{y:.1f}", "%{customdata[3]}"):
        assert part in template


def test_scatter_without_org_id_still_draws_every_point():
    fig = charts.quadrant_scatter(orgs().drop(columns="org_id"))
    assert sum(len(t.x) for t in fig.data) == 5
    assert all(cd[0] is None for t in fig.data for cd in t.customdata)


@pytest.mark.parametrize("threshold", [80, 70])
def test_threshold_lines_are_at_the_threshold_on_both_axes(threshold):
    shapes = charts.quadrant_scatter(orgs(), threshold=threshold).layout.shapes
    vertical = [s for s in shapes if s.x0 == s.x1 == threshold]
    horizontal = [s for s in shapes if s.y0 == s.y1 == threshold]
    assert len(vertical) == 1 and vertical[0].xref == "x"
    assert len(horizontal) == 1 and horizontal[0].yref == "y"


def test_quadrant_names_are_written_in_their_corners():
    annotations = {a.text: (a.x, a.y) for a in charts.quadrant_scatter(orgs()).layout.annotations}
    # (right of the x threshold, above the y threshold)
    corners = {"融合型": (True, True), "两张皮": (True, False), "业务化": (False, True), "边缘化": (False, False)}
    for name, side in corners.items():
        x, y = annotations[name]
        assert (x > 80, y > 80) == side, f"{name} at {(x, y)}"


def test_no_quadrant_name_can_cover_a_point():
    # a name's box reaches at most ~8 score points from its anchor (≈ 40 px of an 800 px chart's 124-point axis);
    # anchored in the band beyond 100 or 0 and growing away from the data, it never reaches a score in [0, 100]
    fig = charts.quadrant_scatter(orgs())
    low, high = fig.layout.yaxis.range
    assert low <= -10 and high >= 110
    for a in fig.layout.annotations:
        if a.y > 100:
            assert a.yanchor == "top" and a.y - 8 > 100, (a.text, a.y)
        else:
            assert a.y < 0 and a.yanchor == "bottom" and a.y + 8 < 0, (a.text, a.y)
    assert list(fig.layout.yaxis.tickvals) == [0, 20, 40, 60, 80, 100]


def test_quadrant_colors_are_the_fixed_ones_in_scatter_and_counts():
    scatter = charts.quadrant_scatter(orgs(), color_by="quadrant")
    assert {t.name: t.marker.color for t in scatter.data} == QUADRANT_COLORS
    assert [t.name for t in scatter.data] == ["融合型", "两张皮", "业务化", "边缘化"]
    bars = charts.quadrant_counts(pd.Series({"边缘化": 4, "融合型": 7, "两张皮": 1}))
    assert list(bars.data[0].x) == ["融合型", "两张皮", "业务化", "边缘化"]
    assert list(bars.data[0].marker.color) == [QUADRANT_COLORS[q] for q in bars.data[0].x]
    assert list(bars.data[0].y) == [7, 1, 0, 4]


def test_fixed_colours_are_distinct():
    assert len(set(QUADRANT_COLORS.values())) == 4
    assert list(GRADE_COLORS) == ["优秀", "良好", "一般", "较差"]
    assert len(set(GRADE_COLORS.values())) == 4


def test_system_colours_follow_sorted_names_whatever_the_input_order():
    assert SYSTEM_COLORS(["卫生", "教育", "卫生", "机关"]) == SYSTEM_COLORS(["机关", "教育", "卫生"])
    colors = SYSTEM_COLORS(["b", "a", "c"])
    assert colors == {"a": PALETTE[0], "b": PALETTE[1], "c": PALETTE[2]}
    scatter = charts.quadrant_scatter(orgs(), color_by="system")
    assert {t.name: t.marker.color for t in scatter.data} == SYSTEM_COLORS(orgs()["system"])


def test_indicator_bars_put_the_biggest_loss_on_top():
    bar = charts.indicator_bars(indicator_summary())
    assert list(bar.data[0].y) == ["S4 支委会", "S8 主题党日", "S11 三会一课线上录入", "I1 党建业务同谋划同部署"]
    assert list(bar.data[0].x) == [5.04, 3.25, 2.5, 0.0]
    assert list(bar.data[0].text) == ["5.0", "3.2", "2.5", "0.0"]  # 3.25 -> 3.2: round half to even
    assert bar.data[0].orientation == "h"
    assert bar.layout.yaxis.autorange == "reversed"  # first category drawn at the top


def test_waterfall_steps_down_from_100_to_the_total():
    lost = indicator_summary()
    total = 100 - (5.04 + 3.25 + 2.5)
    fig = charts.waterfall(lost, total)
    trace = fig.data[0]
    assert list(trace.measure) == ["absolute", "relative", "relative", "relative", "total"]
    assert list(trace.x) == ["满分", "S4 支委会", "S8 主题党日", "S11 三会一课线上录入", "得分"]  # I1 lost 0
    assert trace.y[0] == 100
    steps = list(trace.y[1:-1])
    assert steps == [-5.04, -3.25, -2.5]
    assert math.isclose(100 + sum(steps), total, abs_tol=1e-9)
    assert math.isclose(trace.y[-1], total, abs_tol=1e-9)


def test_heatmap_has_a_fixed_0_to_1_scale_red_to_green_and_keeps_missing_cells_missing():
    matrix = pd.DataFrame([[0.5, np.nan], [1.0, 0.0]], index=["一中", "二中"], columns=["S1 甲", "S8 乙"])
    trace = charts.heatmap(matrix).data[0]
    assert (trace.zmin, trace.zmax) == (0, 1)
    assert math.isnan(trace.z[0][1])
    assert [trace.z[0][0], trace.z[1][0], trace.z[1][1]] == [0.5, 1.0, 0.0]
    assert [list(r) for r in trace.text] == [["0.50", ""], ["1.00", "0.00"]]
    assert trace.colorscale[0][1] == "#C0392B" and trace.colorscale[-1][1] == "#2E9D5B"
    assert list(trace.y) == ["一中", "二中"] and list(trace.x) == ["S1 甲", "S8 乙"]


def test_heatmap_grows_with_the_number_of_units():
    small = pd.DataFrame(np.full((3, 4), 0.5), index=[f"单位{i}" for i in range(3)])
    large = pd.DataFrame(np.full((30, 4), 0.5), index=[f"单位{i}" for i in range(30)])
    assert charts.heatmap(large).layout.height > charts.heatmap(small).layout.height


def test_rank_dots_error_bars_span_the_5_to_95_percent_ranks_best_on_top():
    ranks = pd.DataFrame(
        {"unit": ["乙", "甲", "丙"], "mean": [80.0, 90.0, 70.0], "rank": [2.0, 1.0, 3.0],
         "rank_p05": [1.0, 1.0, 2.0], "rank_p95": [3.0, 2.0, 3.0]}
    )  # fmt: skip
    fig = charts.rank_dots(ranks, "unit")
    trace = fig.data[0]
    assert list(trace.y) == ["甲", "乙", "丙"]
    assert list(trace.x) == [1.0, 2.0, 3.0]
    assert list(trace.error_x.array) == [1.0, 1.0, 0.0]  # p95 − rank
    assert list(trace.error_x.arrayminus) == [0.0, 1.0, 1.0]  # rank − p05
    assert fig.layout.yaxis.autorange == "reversed"
    assert fig.layout.xaxis.title.text == "名次（1 = 最好）"


def test_score_distribution_orders_groups_by_median_and_dashes_the_60_line():
    frame = pd.DataFrame({"unit": ["甲", "甲", "甲", "乙", "乙", "丙"], "integration": [50.0, 55, 99, 70, 72, np.nan]})
    fig = charts.score_distribution(frame, "unit", "integration")
    assert [t.name for t in fig.data] == ["乙", "甲"]  # medians 71 and 55; 丙 has no score
    assert all(t.boxpoints == "all" for t in fig.data)
    assert list(fig.data[1].y) == [50.0, 55.0, 99.0]
    line = [s for s in fig.layout.shapes if s.y0 == s.y1 == 60]
    assert len(line) == 1 and line[0].line.dash == "dash"
    assert list(fig.layout.yaxis.range) == [0, 102]


def test_trend_lines_draw_both_means_over_categorical_quarters():
    trend = pd.DataFrame({"quarter": QUARTERS[:2], "standardization": [70.0, 74.5], "integration": [65.0, 66.0]})
    fig = charts.trend_lines(trend)
    assert [t.name for t in fig.data] == ["支部标准化建设", "党建与业务融合"]
    assert list(fig.data[0].y) == [70.0, 74.5] and list(fig.data[1].y) == [65.0, 66.0]
    assert all("markers" in t.mode for t in fig.data)
    assert fig.layout.xaxis.type == "category"
    # zoomed to the data: the lowest mean (65) rounded down to 60, minus 10; 100 stays visible
    assert fig.layout.yaxis.range[0] == 50 and fig.layout.yaxis.range[1] >= 100


def test_imbalance_trend_labels_each_measure_and_puts_the_between_share_on_its_own_axis(figures):
    fig = figures["imbalance_trend"]
    assert [t.name for t in fig.data] == ["基尼系数", "变异系数", "泰尔指数", "单位间差异占比"]
    assert fig.data[3].yaxis == "y2" and fig.data[0].yaxis == "y"
    assert list(fig.data[0].y) == [0.1, 0.09, 0.08, 0.085]
    assert fig.layout.yaxis2.title.text == "单位间差异占比"


def test_lorenz_curve_has_the_equality_diagonal_and_the_gini_in_the_title():
    fig = charts.lorenz_curve([0, 0.5, 1], [0, 0.2, 1], gini=0.3)
    assert "0.300" in fig.layout.title.text
    diagonal = next(t for t in fig.data if t.name == "绝对平均线")
    assert list(diagonal.x) == list(diagonal.y) == [0, 1]
    curve = next(t for t in fig.data if t.name == "洛伦兹曲线")
    assert list(curve.y) == [0, 0.2, 1]
    assert "基尼" not in charts.lorenz_curve([0, 1], [0, 1]).layout.title.text


def test_branch_history_colours_each_quarter_by_its_quadrant_with_the_threshold_line():
    history = pd.DataFrame(
        {"quarter": QUARTERS[:3], "standardization": [70.0, 85, 90], "integration": [60.0, 70, 88],
         "quadrant": ["边缘化", "两张皮", "融合型"]}
    )  # fmt: skip
    fig = charts.branch_history(history)
    markers = [t for t in fig.data if t.mode == "markers" and t.x[0] is not None]
    assert [list(t.y) for t in markers] == [[70.0, 85, 90], [60.0, 70, 88]]
    expected = [QUADRANT_COLORS["边缘化"], QUADRANT_COLORS["两张皮"], QUADRANT_COLORS["融合型"]]
    assert all(list(t.marker.color) == expected for t in markers)
    assert [s.y0 for s in fig.layout.shapes] == [80]


# --- province size: 200,000 organizations in 10,000 units; what is drawn is bounded and stated in the title --------

UNITS, PER_UNIT, SYSTEMS = 10_000, 20, 50


@pytest.fixture(scope="module")
def province() -> pd.DataFrame:
    """200,000 organizations, 20 per unit, units spread over 50 systems; scores = a unit level plus noise."""
    rng = np.random.default_rng(8)
    n = UNITS * PER_UNIT
    unit_no = np.repeat(np.arange(UNITS), PER_UNIT)
    level = rng.uniform(40, 97, UNITS)[unit_no]
    std = np.clip(level + rng.normal(0, 8, n), 0, 100)
    integ = np.clip(level + rng.normal(-5, 15, n), 0, 100)
    quadrant = np.select(
        [(std >= 80) & (integ >= 80), std >= 80, integ >= 80], ["融合型", "两张皮", "业务化"], "边缘化"
    )
    return pd.DataFrame(
        {
            "org_id": np.arange(1, n + 1),
            "system": np.array([f"系统{s:02d}" for s in range(SYSTEMS)])[unit_no % SYSTEMS],
            "unit": np.array([f"单位{u:05d}" for u in range(UNITS)])[unit_no],
            "org_name": [f"第{i}支部" for i in range(n)],
            "standardization": std,
            "integration": integ,
            "quadrant": quadrant,
        }
    )


def test_distribution_of_10000_units_draws_only_the_30_lowest_medians_and_says_so(province):
    fig = charts.score_distribution(province, "unit", "standardization")
    lowest = province.groupby("unit")["standardization"].median().nsmallest(30)
    assert [t.name for t in fig.data] == list(lowest.sort_values(ascending=False).index)  # highest first, as before
    assert "中位数最低的 30 个单位" in fig.layout.title.text and "共 10,000 个" in fig.layout.title.text
    # 30 × 20 points are few enough to show every one, as a district's chart does
    values = dict(iter(province.groupby("unit")["standardization"]))
    for trace in fig.data:
        assert trace.boxpoints == "all"
        assert list(trace.y) == list(values[trace.name])


def test_distribution_with_thousands_of_points_per_box_draws_quartiles_not_points(province):
    fig = charts.score_distribution(province, "system", "integration")
    assert len(fig.data) == SYSTEMS  # 50 systems: every one is drawn
    for trace in fig.data:
        values = province.loc[province["system"] == trace.name, "integration"].to_numpy()
        assert trace.y is None and trace.boxpoints is False
        assert [trace.q1[0], trace.median[0], trace.q3[0]] == pytest.approx(np.percentile(values, [25, 50, 75]))
        assert [trace.lowerfence[0], trace.upperfence[0]] == [values.min(), values.max()]
        assert trace.mean[0] == pytest.approx(values.mean())
    assert "四分位数" in fig.layout.title.text and "共" not in fig.layout.title.text
    assert len(fig.to_json()) < 100_000  # what Streamlit sends: statistics, not 200,000 numbers


@pytest.mark.parametrize(("units", "drawn"), [(60, 60), (61, 30)])
def test_distribution_draws_every_unit_of_a_district_and_the_30_lowest_past_60(units, drawn):
    rng = np.random.default_rng(units)
    frame = pd.DataFrame(
        {
            "unit": np.repeat([f"单位{i:02d}" for i in range(units)], 5),
            "standardization": rng.uniform(30, 100, 5 * units),
        }
    )
    fig = charts.score_distribution(frame, "unit", "standardization")
    assert len(fig.data) == drawn
    assert all(t.boxpoints == "all" for t in fig.data)
    assert sum(len(t.y) for t in fig.data) == 5 * drawn
    whole = fig.layout.title.text == "各单位支部标准化建设得分分布"  # no note: the title as it always was
    assert whole == (units <= 60)


def test_heatmap_of_10000_units_shows_the_30_with_the_lowest_composite_and_says_so(province):
    rubric = load_rubric()
    ids = [i.id for i in rubric.of("standardization")]
    rng = np.random.default_rng(3)
    frame = province.assign(**{i: rng.uniform(0, 1, len(province)) for i in ids})
    fig = charts.heatmap(dashboard.unit_indicator_matrix(frame, rubric, "standardization"))
    lowest = province.groupby("unit")["standardization"].mean().nsmallest(30)
    assert list(fig.data[0].y) == list(lowest.index)  # lowest on top
    assert np.asarray(fig.data[0].z).shape == (30, len(ids))
    assert "综合得分最低的 30 个单位，共 10,000 个" in fig.layout.title.text
    assert fig.data[0].text is not None  # 30 rows: the values stay printed


def test_heatmap_prints_values_only_while_the_cells_are_few_enough_to_read():
    units = [f"单位{i}" for i in range(60)]
    readable = charts.heatmap(pd.DataFrame(np.full((60, 14), 0.5), index=units)).data[0]
    crowded = charts.heatmap(pd.DataFrame(np.full((60, 20), 0.5), index=units)).data[0]
    assert len(readable.y) == len(crowded.y) == 60  # a district's 60 units are all shown
    assert readable.text is not None and readable.texttemplate == "%{text}"
    assert crowded.text is None and crowded.texttemplate is None


def _drawn_points(fig: go.Figure) -> pd.DataFrame:
    """org_id, x, y and quadrant of every marker of a scatter (from its customdata)."""
    rows = [
        (int(cd[0]), x, y, cd[3])
        for t in fig.data
        if t.type != "heatmap"
        for x, y, cd in zip(t.x, t.y, t.customdata, strict=True)
    ]
    return pd.DataFrame(rows, columns=["org_id", "x", "y", "quadrant"])


def test_scatter_of_200000_organizations_is_a_density_with_the_starkest_mismatches_as_webgl_dots(province):
    fig = charts.quadrant_scatter(province, 80)
    density = [t for t in fig.data if t.type == "heatmap"]
    assert len(density) == 1 and np.asarray(density[0].text).sum() == len(province)
    cell = np.asarray(density[0].text)[list(density[0].y).index(91), list(density[0].x).index(85)]
    in_cell = province["standardization"].between(84, 86, inclusive="left") & province["integration"].between(
        90, 92, inclusive="left"
    )
    assert cell == in_cell.sum()
    assert all(t.type == "scattergl" for t in fig.data if t.type != "heatmap")
    drawn = _drawn_points(fig)
    truth = province.set_index("org_id").loc[drawn["org_id"]]
    assert list(drawn["x"]) == list(truth["standardization"]) and list(drawn["y"]) == list(truth["integration"])
    assert list(drawn["quadrant"]) == list(truth["quadrant"])  # customdata: the click opens the right branch
    gap = (province["standardization"] - province["integration"]).abs()
    for quadrant in ("两张皮", "业务化"):
        mine = province["quadrant"] == quadrant
        assert mine.sum() > 1_000  # the fixture has enough of both, so each gets half of the 2,000 dots
        shown = province["org_id"].isin(drawn["org_id"]) & mine
        assert shown.sum() == 1_000
        assert gap[shown].min() >= gap[mine & ~shown].max()
    assert "200,000 个党组织" in fig.layout.title.text and "2,000 个" in fig.layout.title.text
    assert {a.text for a in fig.layout.annotations} >= {"融合型", "两张皮", "业务化", "边缘化"}
    assert [s.x0 for s in fig.layout.shapes if s.x0 == s.x1] == [80]
    assert [s.y0 for s in fig.layout.shapes if s.y0 == s.y1] == [80]
    assert len(fig.to_json()) < 1_000_000


def test_scatter_of_a_city_draws_every_point_with_webgl_and_click_through(province):
    city = province.head(10_000)
    fig = charts.quadrant_scatter(city)
    assert fig.data and all(t.type == "scattergl" for t in fig.data)
    assert sorted(_drawn_points(fig)["org_id"]) == sorted(city["org_id"])
    assert fig.layout.title.text == "支部标准化建设 × 党建与业务融合"


def test_scatter_of_a_district_stays_svg():
    assert {t.type for t in charts.quadrant_scatter(orgs()).data} == {"scatter"}


def test_rank_dots_of_10000_units_show_the_best_15_and_the_worst_15_and_say_so():
    rng = np.random.default_rng(5)
    mean = rng.uniform(50, 95, UNITS)
    ranks = pd.DataFrame({"unit": [f"单位{u:05d}" for u in range(UNITS)], "mean": mean})
    ranks["rank"] = ranks["mean"].rank(ascending=False, method="min")
    ranks = ranks.assign(rank_p05=ranks["rank"] - 3, rank_p95=ranks["rank"] + 3).sample(frac=1, random_state=1)
    fig = charts.rank_dots(ranks, "unit")
    by_rank = ranks.sort_values("rank")["unit"]
    assert list(fig.data[0].y) == list(by_rank.head(15)) + list(by_rank.tail(15))
    assert list(fig.data[0].x) == [*range(1, 16), *range(UNITS - 14, UNITS + 1)]
    assert "前 15 名与后 15 名，共 10,000 个单位" in fig.layout.title.text
    assert "中间 9,970 个单位未列出" in {a.text for a in fig.layout.annotations}


def test_rank_dots_list_every_unit_of_a_district():
    ranks = pd.DataFrame({"unit": [f"单位{u:02d}" for u in range(60)], "mean": np.linspace(90, 60, 60)})
    ranks = ranks.assign(rank=np.arange(1.0, 61), rank_p05=np.arange(1.0, 61), rank_p95=np.arange(1.0, 61))
    fig = charts.rank_dots(ranks, "unit")
    assert len(fig.data[0].y) == 60 and not fig.layout.annotations
    assert fig.layout.title.text == "各单位名次及其区间（权重扰动 5%–95%）"


# --- rendering: Chinese must come out as glyphs, not tofu boxes ---------------------------------------------------

TITLE = "党建质量看板"
# U+E000 is private use: no installed font has a glyph for it, so it always renders as the missing-glyph box.
TOFU = "\ue000" * len(TITLE)
TITLE_BAND = (0, 0, 1600, 90)  # the top margin, where the title is drawn
PNG = dict(format="png", width=1600, height=900)


def _title_band(png: bytes) -> Image.Image:
    """The title strip of a rendered PNG."""
    return Image.open(io.BytesIO(png)).convert("RGB").crop(TITLE_BAND)


def _titled_scatters() -> list[go.Figure]:
    """The same scatter three times: Chinese title, the same again, and the title as missing-glyph boxes."""
    return [charts.quadrant_scatter(orgs(), title=t) for t in (TITLE, TITLE, TOFU)]


def _differs(a: bytes, b: bytes) -> bool:
    """True when the title strips of two renders differ in any pixel."""
    return ImageChops.difference(_title_band(a), _title_band(b)).getbbox() is not None


@pytest.mark.chromium
def test_chinese_title_renders_as_glyphs_not_tofu():
    kaleido.start_sync_server(mathjax=False, silence_warnings=True)
    try:
        chinese, again, tofu = (kaleido.calc_fig_sync(fig, opts=PNG) for fig in _titled_scatters())
    finally:
        kaleido.stop_sync_server(silence_warnings=True)
    assert not _differs(chinese, again)  # rendering is deterministic, so a difference means something
    assert _differs(chinese, tofu)  # with no CJK font both titles are the same row of boxes


async def _render_fresh(figs: list[go.Figure]) -> list[bytes]:
    """PNGs from a newly started Chromium, so it sees the current environment."""
    async with kaleido.Kaleido(mathjax=False) as k:
        out = []
        for fig in figs:
            try:
                out.append(await k.calc_fig(fig, opts=PNG))
            except Exception as exc:  # retried as images.render retries it
                if not images.tab_not_loaded(exc):
                    raise
                await asyncio.sleep(0.5)
                out.append(await k.calc_fig(fig, opts=PNG))
        return out


@pytest.mark.skipif(not Path("/usr/share/fonts/truetype/dejavu").is_dir(), reason="needs the DejaVu fonts")
def test_tofu_check_fails_when_chromium_cannot_see_a_cjk_font(tmp_path, monkeypatch):
    # The check above must be able to fail: hide every font but DejaVu (no CJK glyphs) from fontconfig.
    conf = tmp_path / "fonts.conf"
    conf.write_text(
        '<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd"><fontconfig>'
        f"<dir>/usr/share/fonts/truetype/dejavu</dir><cachedir>{tmp_path / 'cache'}</cachedir></fontconfig>"
    )
    monkeypatch.setenv("FONTCONFIG_FILE", str(conf))
    chinese, _, tofu = asyncio.run(_render_fresh(_titled_scatters()))
    assert not _differs(chinese, tofu)


def test_a_chart_browser_that_fails_is_retried_with_a_fresh_browser_then_reported_in_chinese(monkeypatch):
    """Fault injection on kaleido's call (the real renderer under load is tests/test_export_load.py): a tab used
    before its page loaded is tried again, the last time in a restarted browser; a figure error is not retried;
    a browser that keeps failing is an ImageError in Chinese, never a JavascriptError on the page."""
    from analytics.charts import images

    class JavascriptError(RuntimeError):  # kaleido's class name and message, as tab_not_loaded recognises them
        pass

    calls, restarts = [], []
    monkeypatch.setattr(images, "browser_path", lambda: "/usr/bin/chromium")
    monkeypatch.setattr(images, "_restart", lambda: restarts.append(len(calls)))
    monkeypatch.setattr(images.time, "sleep", lambda s: None)

    def flaky(fails: int):
        def calc(fig, opts):
            calls.append(opts["format"])
            if len(calls) <= fails:
                raise JavascriptError("ReferenceError: kaleido_scopes is not defined")
            return b"\x89PNG"

        return calc

    monkeypatch.setattr(images.kaleido, "calc_fig_sync", flaky(2))
    assert images.render(go.Figure()) == b"\x89PNG"
    assert len(calls) == 3 and restarts == [2]  # the third try ran in a fresh browser
    calls.clear(), restarts.clear()
    monkeypatch.setattr(images.kaleido, "calc_fig_sync", flaky(99))
    with pytest.raises(images.ImageError, match="绘图用的浏览器繁忙或异常"):
        images.render(go.Figure())
    assert len(calls) == images.ATTEMPTS
    calls.clear()

    def broken_figure(fig, opts):
        calls.append(1)
        raise ValueError("not a figure")

    monkeypatch.setattr(images.kaleido, "calc_fig_sync", broken_figure)
    with pytest.raises(ValueError):
        images.render(go.Figure())
    assert calls == [1]
