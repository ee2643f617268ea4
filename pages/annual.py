"""年度考核: the year's standing of units and organizations, what persisted, the year's counts (SPEC §9)."""

import streamlit as st

from analytics.scoring import annual
from pages._cache import all_scores, current_rubric, scores_or_stop, year_report
from pages._session import ensure_app_frame
from pages._ui import show_table

ensure_app_frame()
rubric = current_rubric()
scored = scores_or_stop()
years = sorted({int(q[:4]) for q in scored["quarter"].unique()}, reverse=True)
year = st.sidebar.selectbox("年度", years, key="annual_year")
report = year_report(year)
units, orgs, counts = report["units"], report["organizations"], report["counts"]
st.title(f"{year}年度考核")
rule = "未报送的季度按 0 分计" if report["rule"] == "zero" else "只计已报送的季度"
st.caption(f"年度得分为各季度得分的平均（{rule}）；已载入：{'、'.join(report['quarters'])}。")

row = st.columns(4)
row[0].metric("参评党组织", f"{len(orgs)} 个")
district = report["district"]
for column, score in zip(row[1:3], ("standardization", "integration"), strict=True):
    now, before = district[score], district[f"{score}_previous"]
    column.metric(f"{rubric.composite_name(score)}年度平均分", "—" if now is None else f"{now:.1f}",
                  delta=None if now is None or before is None else f"{now - before:+.1f}（同比）")  # fmt: skip
row[3].metric("有季度未报送的党组织", f"{int((orgs['missing_quarters'] != '').sum())} 个")

st.subheader("单位年度排名")
st.caption(
    "排名靠后的单位在前；同比为与上一年度年度得分之差。名次区间：把各指标权重在 ±25% 内随机调整 1,000 次、"
    "每次重算各季度得分和年度得分后名次的 5%–95% 区间，区间短说明名次站得住。"
)
show_table(annual.units_table(units, rubric))

st.subheader("全年持续存在的问题")
stuck = annual.persistent(all_scores(), year)
if stuck.empty:
    st.success("没有党组织全年三个及以上季度处于“两张皮”象限。")
else:
    st.caption("全年三个及以上季度处于“两张皮”象限（标准化建设达标、业务融合不达标）的党组织：")
    show_table(stuck.rename(columns={"system": "所属系统", "unit": "单位名称", "org_name": "党组织名称",
                                     "quarters": "季度数", "which": "季度"}))  # fmt: skip

st.subheader("全年数据")
left, right = st.columns(2)
with left:
    st.caption("发展党员与检视整改（接收预备党员、转正、检视与整改为全年合计；发展对象、积极分子为年末数）：")
    show_table(annual.counts_table(counts))
with right:
    st.caption("三会一课（党支部、联合党支部，按《支部工作条例》要求的次数）与预警名单变化：")
    show_table(annual.meetings_table(counts))
    show_table(annual.lists_table(counts))
