"""支部画像: one branch's scores over the quarters, where it lost points, what it reported."""

import streamlit as st

from analytics.charts import charts
from analytics.scoring import views as dashboard
from analytics.scoring.rubric import NOT_RATED
from pages._cache import branch_stability, current_rubric, per_state, quarter_scores, scores_or_stop
from pages._filters import sidebar_filters
from pages._rectify_controls import create_for_indicators
from pages._session import ensure_app_frame
from pages._ui import connection, plain, show_chart

SHOWN = 2000

ensure_app_frame()
rubric = current_rubric()
scored = scores_or_stop()
filters = sidebar_filters(scored)
quarter = quarter_scores(filters.quarter)
st.title("支部画像")


# One selector: the organizations of the sidebar's selection (system, unit, type), the lowest-scoring first; it
# opens on the branch asked for (a click elsewhere, the last one seen) when it is in the selection
def choices():
    """The selection's organizations lowest first, their labels and positions: the same for every leader."""
    scope = filters.apply(quarter)
    scope = (scope if len(scope) else quarter).sort_values([filters.score, "unit", "org_name"], kind="stable")
    labels = dict(zip(scope["org_id"], scope["unit"] + " · " + scope["org_name"], strict=True))
    return scope.reset_index(drop=True), labels, list(labels), {org: i for i, org in enumerate(labels)}


# Sorting 200,000 rows and labelling them cost most of a run at a province's size (issue 20): once per selection
scope, labels, ids, position = per_state("branch.choices", choices, filters.selection)
wanted = st.session_state.get("branch_org_id")
# A list longer than SHOWN is cut to the lowest-scoring (plus the one asked for): nobody scrolls 200,000 names, and
# sending them cost half of every run at a province's size
shown = ids[:SHOWN] + ([wanted] if position.get(wanted, 0) >= SHOWN else [])
org_id = st.selectbox(
    "党组织（按得分从低到高；范围随左侧的系统、单位筛选）", shown,
    index=shown.index(wanted) if wanted in position else 0,  # in the selection: listed, or added at the end
    format_func=labels.get,
)  # fmt: skip
if len(ids) > SHOWN:
    st.caption(
        f"所选范围共 {len(ids):,} 个党组织，这里列出得分最低的 {SHOWN:,} 个；其他党组织请先在左侧选定系统或单位。"
    )
st.session_state["branch_org_id"] = org_id
branches = scope.iloc[[position[org_id]]]
row = branches.iloc[0]

st.subheader(f"{plain(row['org_name'])}（{row['org_type']}，{filters.quarter}）")
rated = isinstance(row["quadrant"], str)  # SPEC §4.5: a 离退休 organization has no integration score nor quadrant
held = branch_stability(branches) if rated else None
cols = st.columns(5)
cols[0].metric("支部标准化建设", f"{row['standardization']:.1f}")
cols[1].metric("党建与业务融合", f"{row['integration']:.1f}" if rated else "—")
cols[2].metric("象限", row["quadrant"] + ("（临界）" if held < 0.9 else "") if rated else NOT_RATED)
cols[3].metric(rubric.grade_name, row["grade"])
cols[4].metric(
    "象限稳定性",
    f"{held * 100:.0f}%" if rated else "—",
    help="把各指标权重在 ±25% 内随机调整 1,000 次，保持当前象限的比例；低于 90% 为“临界”。",
)
if row["missing"]:
    missing = "、".join(f"{i} {rubric.indicator(i).name}" for i in row["missing"].split(","))
    st.warning(f"未填报的项目（按 0 分计）：{missing}")

history = scored[scored["org_id"] == org_id].sort_values("quarter")
show_chart(charts.branch_history(history))
left, right = st.columns(2)
for column, composite in zip((left, right), rubric.composite_ids, strict=True):
    with column:
        st.markdown(f"**{rubric.composite_name(composite)}：失分项目**")
        lost = dashboard.lost_points(row, rubric, composite)
        if row[composite] != row[composite]:  # NaN: not scored on this composite
            st.info(f"{row['category']}党组织{NOT_RATED}。" if composite == "integration" else "本项不参与评价。")
        elif lost.empty:
            st.success("本项满分，没有失分。")
        else:
            show_chart(charts.waterfall(lost, row[composite]))
create_for_indicators(filters.quarter, branches, rubric)  # analysts and admins: follow them up in 整改督办

st.subheader("填报数据与目标")
with connection() as con:
    records = dashboard.branch_records(con, org_id)
detail = dashboard.reported_vs_target(records, filters.quarter, row, rubric)
detail["missing"] = detail["missing"].map({True: "未填报", False: ""})
detail["score"] = detail["score"].map(lambda v: "不适用" if v != v else f"{v:.2f}")  # NaN: the item does not apply
st.dataframe(
    detail.rename(columns={"id": "编号", "name": "指标", "column": "填报项目", "reported": "填报值", "target": "目标",
                           "score": "得分率", "missing": "备注"}),
    hide_index=True, width="stretch",
)  # fmt: skip
st.subheader("各季度象限")
st.dataframe(
    history[["quarter", "standardization", "integration", "quadrant", "grade"]]
    .assign(quadrant=history["quadrant"].astype(object).where(history["quadrant"].notna(), NOT_RATED))
    .rename(columns={"quarter": "季度", "standardization": "标准化建设", "integration": "党建业务融合",
                     "quadrant": "象限", "grade": rubric.grade_name}),
    hide_index=True, width="stretch",
    column_config={c: st.column_config.NumberColumn(format="%.1f") for c in ("标准化建设", "党建业务融合")},
)  # fmt: skip
