"""总览: where the district stands this quarter, the 两张皮 picture, and the trend."""

import streamlit as st

from analytics.charts import charts
from analytics.scoring import alerts
from analytics.scoring import views as dashboard
from analytics.scoring.rubric import NOT_RATED, QUADRANTS
from pages._cache import current_rubric, per_state, scores_or_stop, stability, trend
from pages._filters import change, open_branch, quarter_or_stop, sidebar_filters, warning_lists
from pages._session import ensure_app_frame
from pages._ui import show_chart

ensure_app_frame()
rubric = current_rubric()
scored = scores_or_stop()
filters = sidebar_filters(scored)
frame = quarter_or_stop(scored, filters)
# The same figures for every leader with the same filters: computed once per data state (issue 20)
previous = per_state("overview.previous", lambda: dashboard.previous_of(scored, filters.quarter), filters.quarter)
k = per_state(
    "overview.kpis", lambda: dashboard.kpis(frame, filters.apply(previous) if previous is not None else None),
    filters.selection,
)  # fmt: skip

st.title(f"{filters.quarter} 总览")
if k["organizations_change"] is None:
    st.caption("上一季度没有数据，暂无环比变化。")
# Reporting is measured against the organizations expected: this quarter's and last quarter's that sent nothing
missing = warning_lists(filters)["missing_report"]
expected, reported_share = alerts.reporting(len(frame), len(missing))
row = st.columns(5)
row[0].metric("标准化建设平均分", f"{k['standardization']:.1f}", **change(k["standardization_change"]))
row[1].metric("党建业务融合平均分", f"{k['integration']:.1f}", **change(k["integration_change"]))
row[2].metric("参评党组织", f"{k['organizations']} 个", **change(k["organizations_change"], 0))
row[3].metric(
    "报送率", f"{reported_share * 100:.1f}%",
    help=f"应报 {expected} 个党组织（本季度已报的，加上上季度报送、本季度未报的），实报 {len(frame)} 个。",
)  # fmt: skip
row[4].metric(
    "已报数据完整率", f"{k['completeness'] * 100:.1f}%", **change(k["completeness_change"], 1, 100, " 个百分点"),
    help="已报送的党组织中，适用指标填了数的比例（不含未报送的党组织）。",
)  # fmt: skip
if len(missing):
    st.warning(
        f"本季度有 {len(missing)} 个党组织未报送（上季度报送过），涉及 {missing['unit'].nunique()} 个单位，"
        "无法评价；名单见“预警”页。"
    )
row = st.columns(4)
below = k[f"{filters.score}_below_60"]
row[0].metric(
    f"{filters.score_name}低于60分",
    f"{below * 100:.1f}%",
    **change(k[f"{filters.score}_below_60_change"], 1, 100, " 个百分点", color="inverse"),
)
for col, quadrant in zip(row[1:], QUADRANTS[1:], strict=True):
    col.metric(f"{quadrant}党组织", f"{k[quadrant]} 个", **change(k[f"{quadrant}_change"], 0, color="inverse"))

# Who lags, first (issue: the leader's five seconds): units below 良好 and below the others, and what costs them most
lagging = per_state("overview.lagging", lambda: alerts.lagging_overview(frame, rubric), filters.selection)
bar = alerts.good_threshold(rubric)
st.subheader("后进单位")
if lagging.empty:
    st.success(f"没有后进单位：没有哪个单位的平均分既低于 {bar:g} 分又低于整体平均。")
else:
    st.caption(
        f"任一项平均分低于 {bar:g} 分且低于整体平均的单位，最低的在前；“失分最多的指标”是该项得分中平均失分最多的一项。"
    )
    st.dataframe(
        lagging.assign(weak=lagging["weak"].map(rubric.composite_name)).rename(
            columns={"unit": "单位", "system": "所属系统", "organizations": "党组织数", "weak": "偏低的得分",
                     "weak_score": "平均分", "item": "失分最多的指标", "item_lost": "平均失分"}
        ),
        hide_index=True, width="stretch",
        column_config={"平均分": st.column_config.NumberColumn(format="%.1f"),
                       "平均失分": st.column_config.NumberColumn(format="%.1f")},
    )  # fmt: skip

st.subheader("标准化建设 × 党建业务融合")
st.caption(
    f"横轴为支部标准化建设得分，纵轴为党建与业务融合得分，{rubric.quadrant_threshold:g} 分线划出四个象限："
    "右上“融合型”，右下“两张皮”（党建按部就班、与业务脱节），左上“业务化”（业务挤占党建），左下“边缘化”。点击某个点可查看该支部画像。"
)
if k["not_rated"]:
    st.caption(f"另有 {k['not_rated']} 个离退休党组织{NOT_RATED}，不在图中，也不计入各象限。")
event = show_chart(
    per_state("overview.scatter", lambda: charts.quadrant_scatter(frame, rubric.quadrant_threshold), filters.selection),
    on_select="rerun",
    selection_mode="points",
    key="scatter",
    width="stretch",
)
points = event.selection.points if event and event.selection else []
if points and points[0].get("customdata") is not None:
    chosen = points[0]["customdata"]
    open_branch(int(chosen[0] if isinstance(chosen, list) else chosen))


def borderline_rows():
    steady = stability(frame, filters.quarter)
    return steady[steady["borderline"]]


borderline = per_state("overview.borderline", borderline_rows, filters.selection)
if len(borderline):
    with st.expander(f"临界党组织 {len(borderline)} 个：象限取决于权重的设定"):
        st.caption("把各指标权重在 ±25% 内随机调整 1,000 次，保持当前象限的比例低于 90% 的党组织，结论宜谨慎使用。")
        st.dataframe(
            borderline.rename(columns={"system": "所属系统", "unit": "单位名称", "org_name": "党组织名称",
                                       "quadrant": "象限", "stability": "保持比例", "borderline": "临界"}).drop(columns="临界"),
            hide_index=True, width="stretch", column_config={"保持比例": st.column_config.NumberColumn(format="percent")},
        )  # fmt: skip

left, right = st.columns(2)
with left:
    st.subheader("象限分布")
    show_chart(
        per_state(
            "overview.counts", lambda: charts.quadrant_counts(frame["quadrant"].value_counts()), filters.selection
        )
    )
with right:
    st.subheader("各季度平均分")
    show_chart(per_state("overview.trend", lambda: charts.trend_lines(trend())))
    st.caption("全区所有党组织的平均分（不受左侧筛选影响）。")
