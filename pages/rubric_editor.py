"""评分细则 (admin): edit weights, targets and thresholds, preview the effect, save as a new version."""

import streamlit as st

from analytics.scoring import rubric_versions
from analytics.scoring.rubric import COMPOSITES, RubricError, parse_rubric
from analytics.store import database as store
from pages._session import ensure_app_frame
from pages._ui import connection

user = ensure_app_frame("admin")
st.title("评分细则")
with connection() as con:
    text = rubric_versions.active_text(con)
    rubric = rubric_versions.active(con)
    history = rubric_versions.versions(con)
    quarters = store.quarters(con)
st.caption(
    f"当前版本：{rubric.version}（{rubric.name}）。修改后先看对本季度得分和排名的影响，再保存为新版本；旧版本保留。"
)

table = rubric_versions.editable(rubric).rename(
    columns={"id": "编号", "name": "指标", "composite": "综合指数", "weight": "权重", "target": "目标值"}
)
table["综合指数"] = table["综合指数"].map(dict(rubric.composites))
edited = st.data_editor(
    table, hide_index=True, width="stretch", disabled=["编号", "指标", "综合指数"], key="rubric_table",
    column_config={"权重": st.column_config.NumberColumn(min_value=0.0, step=1.0),
                   "目标值": st.column_config.NumberColumn(min_value=0.0)},
)  # fmt: skip
cols = st.columns(5)
threshold = cols[0].number_input("象限阈值", 1.0, 100.0, float(rubric.quadrant_threshold))
bounds = {
    name: cols[i + 1].number_input(f"{name}分数线", 0.0, 100.0, float(b))
    for i, (name, b) in enumerate(rubric.grades[:-1])
}
version = cols[4].text_input("新版本号", key="new_version")

try:
    weights = dict(zip(edited["编号"], edited["权重"], strict=True))
    targets = {k: v for k, v in zip(edited["编号"], edited["目标值"], strict=True) if v == v}
    settings = {"quadrant_threshold": threshold, "grades": bounds, "version": version or rubric.version}
    new_text = rubric_versions.edited_text(text, weights, targets, settings)
    new = parse_rubric(new_text)
except (RubricError, ValueError) as exc:
    st.error(f"修改后的细则有误：{exc}")
    st.stop()

if quarters:
    quarter = quarters[-1]
    with connection() as con:
        effect = rubric_versions.preview(con, quarter, rubric, new)
    st.subheader(f"对 {quarter} 的影响")
    st.write(f"象限发生变化的党组织：{len(effect['quadrant_moves'])} 个。")
    tabs = st.tabs(["支部标准化建设", "党建与业务融合", "象限变化"])
    for tab, score in zip(tabs, COMPOSITES, strict=False):
        tab.dataframe(effect["units"][score].rename(columns={"unit": "单位", f"{score}_old": "现平均分", f"{score}_new": "新平均分",
                      "rank_old": "现名次", "rank_new": "新名次"}), hide_index=True, width="stretch",
                      column_config={c: st.column_config.NumberColumn(format="%.1f") for c in ("现平均分", "新平均分")})  # fmt: skip
    tabs[2].dataframe(effect["quadrant_moves"].rename(columns={"unit_old": "单位", "org_name_old": "党组织", "quadrant_old": "现象限",
                      "quadrant_new": "新象限"}), hide_index=True, width="stretch")  # fmt: skip

if st.button("保存为新版本", type="primary", disabled=not version, key="save_rubric"):
    try:
        with connection() as con:
            saved = rubric_versions.save(con, user, new_text)
        st.success(f"已保存评分细则版本 {saved.version}，所有页面即按新细则计分。")
    except (RubricError, store.StoreError) as exc:
        st.error(str(exc))
if not history.empty:
    st.subheader("历史版本")
    st.dataframe(
        history.rename(columns={"version": "版本", "saved_by": "保存人", "saved_at": "保存时间"}), hide_index=True
    )
