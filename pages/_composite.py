"""The body shared by 标准化建设 and 党建业务融合: items losing points, unit × item heatmap, distribution."""

from __future__ import annotations

import streamlit as st

from analytics.charts import charts
from analytics.scoring import views as dashboard
from pages._cache import current_rubric, per_state, scores_or_stop
from pages._filters import quarter_or_stop, sidebar_filters
from pages._session import ensure_app_frame
from pages._ui import show_chart


def composite_page(composite: str) -> None:
    """Draw the page of one composite score."""
    ensure_app_frame()
    rubric = current_rubric()
    scored = scores_or_stop()
    filters = sidebar_filters(scored)
    frame = quarter_or_stop(scored, filters)
    name = rubric.composite_name(composite)
    st.title(f"{filters.quarter} {name}")
    key = (filters.selection, composite)
    summary = per_state("composite.summary", lambda: dashboard.indicator_summary(frame, rubric, composite), key)
    top = summary.head(3)
    st.markdown(
        f"平均分 **{frame[composite].mean():.1f}**（{len(frame)} 个党组织）。失分最多的三项："
        + "；".join(f"{r.id} {r.name}（平均失 {r.lost:.1f} 分）" for r in top.itertuples())
        + "。"
    )
    st.subheader("各项指标平均失分")
    show_chart(per_state("composite.bars", lambda: charts.indicator_bars(summary), key))
    table = summary.rename(
        columns={"id": "编号", "name": "指标", "weight": "权重", "applicable": "适用党组织数",
                 "mean_score": "平均得分率", "full_marks_share": "满分比例", "lost": "平均失分", "missing": "未填报数"}
    )  # fmt: skip
    st.dataframe(table, hide_index=True, width="stretch", column_config=_formats())
    st.subheader("各单位分项得分率")
    st.caption("每格为该单位适用党组织的平均得分率（1 为满分），按单位综合得分从低到高排列；空白表示不适用。")
    show_chart(
        per_state(
            "composite.heatmap", lambda: charts.heatmap(dashboard.unit_indicator_matrix(frame, rubric, composite)), key
        )
    )
    st.subheader("各单位得分分布")
    show_chart(per_state("composite.distribution", lambda: charts.score_distribution(frame, "unit", composite), key))


def _formats() -> dict:
    return {
        "平均得分率": st.column_config.NumberColumn(format="%.2f"),
        "满分比例": st.column_config.NumberColumn(format="percent"),
        "平均失分": st.column_config.NumberColumn(format="%.2f"),
        "权重": st.column_config.NumberColumn(format="%g"),
    }
