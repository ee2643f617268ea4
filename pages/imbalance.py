"""单位不平衡: units and systems ranked with their robustness band, and how uneven the district is."""

import streamlit as st

from analytics.charts import charts
from analytics.scoring import imbalance
from analytics.scoring import views as dashboard
from pages._cache import current_rubric, per_state, scores_or_stop, trend
from pages._filters import open_branch, quarter_or_stop, rank_intervals, sidebar_filters
from pages._rectify_controls import create_for_unit
from pages._session import ensure_app_frame
from pages._ui import show_chart

ensure_app_frame()
rubric = current_rubric()
scored = scores_or_stop()
filters = sidebar_filters(scored)
frame = quarter_or_stop(scored, filters)
score = filters.score
st.title(f"{filters.quarter} {filters.score_name}：不平衡分析")
by = st.segmented_control(
    "比较对象", ["unit", "system"], default="unit", format_func={"unit": "单位", "system": "系统"}.get
)
by = by or "unit"
label = "单位" if by == "unit" else "系统"

st.subheader(f"{label}排名与稳健性")
st.caption(
    "圆点是按现行评分细则的名次，横线是把每项指标的权重在 ±25% 内随机调整 1,000 次后名次的 5%–95% 区间。"
    f"横线很短，说明无论权重怎么定，这个{label}的位置都站得住；横线很长，说明名次取决于权重的设定，不宜据此下结论。"
)
ranks = rank_intervals(filters, by)
# worst first: the leader looks for who lags, not for who leads
ranks = ranks.sort_values("rank", ascending=False, kind="stable").reset_index(drop=True)
table = ranks.rename(
    columns={
        by: label,
        "count": "党组织数",
        "mean": "平均分",
        "rank": "名次",
        "rank_p05": "名次下限(5%)",
        "rank_p95": "名次上限(95%)",
    }
)
picked = st.dataframe(
    table, hide_index=True, width="stretch", on_select="rerun", selection_mode=["single-row", "single-cell"],
    key="rank_table", column_config={"平均分": st.column_config.NumberColumn(format="%.1f")},
)  # fmt: skip
chosen = (picked.selection.rows or [cell[0] for cell in picked.selection.cells]) if picked else []
if by == "unit" and chosen:
    unit = ranks.iloc[chosen[0]]["unit"]
    lowest = frame[frame["unit"] == unit].sort_values(score).iloc[0]
    open_branch(int(lowest["org_id"]))
if by == "unit":
    st.caption("排名靠后的单位在前。点击某个单位（名称或整行），可进入该单位得分最低的支部画像；左侧筛选不受影响。")
show_chart(per_state("imbalance.ranks", lambda: charts.rank_dots(ranks, by), filters.selection, by))
if by == "unit":  # analysts and admins: follow a lagging unit's weakest indicators up in 整改督办
    create_for_unit(filters.quarter, frame, list(ranks["unit"]), rubric)


st.subheader("不平衡程度")
report = per_state("imbalance.report", lambda: imbalance.imbalance_report(frame, by, score), filters.selection, by)
row = st.columns(4)
row[0].metric("基尼系数", "—" if report["gini"] is None else f"{report['gini']:.3f}")
row[1].metric("变异系数", "—" if report["cv"] is None else f"{report['cv']:.3f}")
row[2].metric(f"{label}间差异占比", "—" if report["between_share"] is None else f"{report['between_share'] * 100:.0f}%")
row[3].metric(f"最高/最低{label}均分之比", "—" if report["max_min_ratio"] is None else f"{report['max_min_ratio']:.2f}")
st.caption(
    "基尼系数和变异系数越大，党组织之间得分越不均衡（0 表示完全相同）。"
    f"“{label}间差异占比”是泰尔指数中来自{label}之间差距的部分：占比高，说明问题集中在少数{label}，应点名督促；"
    f"占比低，说明差距主要在各{label}内部的支部之间，应由各{label}自己补短板。"
)

left, right = st.columns(2)
with left:
    st.subheader("各季度不平衡程度")
    show_chart(
        per_state("imbalance.trend", lambda: charts.imbalance_trend(dashboard.imbalance_series(trend(), score)), score)
    )
    st.caption("全区、按单位分组计算。曲线下降说明单位之间、支部之间的差距在缩小。")
with right:
    st.subheader("洛伦兹曲线")
    show_chart(
        per_state(
            "imbalance.lorenz",
            lambda: charts.lorenz_curve(*imbalance.lorenz(frame[score]), report["gini"]),
            filters.selection,
        )
    )
    st.caption("曲线越贴近对角线，得分分布越均衡；曲线与对角线之间的面积越大，差距越大。")
