"""方法说明: the rubric in force as a table, how scores, quadrants and imbalance measures are read."""

import streamlit as st

from analytics.scoring import robustness
from analytics.scoring.rubric import indicator_rows, kind_rules
from pages._cache import current_rubric
from pages._session import ensure_app_frame

ensure_app_frame()
rubric = current_rubric()
st.title("方法说明")
st.caption(f"当前评分细则：{rubric.name}（版本 {rubric.version}）")

for composite in rubric.composite_ids:
    st.subheader(rubric.composite_name(composite))
    st.dataframe(
        indicator_rows(rubric, composite),
        hide_index=True,
        width="stretch",
        column_config={"占比": st.column_config.NumberColumn(format="percent")},
    )

terms = "；".join(
    f"{i.name}：" + "、".join(f"{kind} {years} 年" for kind, years in i.years)
    for i in rubric.indicators
    if i.kind == "term"
)
kinds = "；".join(kind_rules(rubric)) or "所有党组织适用同样的指标。"
st.subheader("得分怎么算")
st.markdown(
    f"""
- 每项指标先换算成 0 到 1 的得分率：次数和比率为“实际值 ÷ 目标值”，超过目标按 1 计；是否类“是”得 1；
  等次类按表取分；按期换届以本届选举日期加任期（{terms or "细则未设换届指标"}）与季度末比较，超期得 0；
  经批准延期换届的（由管理员登记批准的日期和批准单位），到期日推迟到批准的日期，换届预警同样按此计算。
- 综合得分 = 100 × Σ（权重 × 得分率）÷ Σ（适用指标的权重）。不适用的指标（如不足 7 名正式党员的支部不考核支委会）
  既不加分也不占权重；适用但没有填报的指标按 0 分计，并标为“未填报”。
- 每项指标的“失分” = 100 × 权重 × (1 − 得分率) ÷ Σ适用权重，各项失分相加正好等于 100 减去综合得分，
  所以支部画像中的失分图说明了“差在哪里”。
- 两项综合得分不合并：以 {rubric.quadrant_threshold:g} 分为线分为融合型、两张皮、业务化、边缘化四个象限。
- 按党组织的类型和类别取用指标（见下表“适用条件”）：{kinds}
- 等级：{"、".join(f"{name} ≥ {bound:g}" for name, bound in rubric.grades[:-1])}，其余为{rubric.grades[-1][0]}
  （即“{rubric.grade_name}”）。
"""
)
st.subheader("不平衡程度怎么看")
st.markdown(
    """
- **基尼系数**：0 表示所有党组织得分相同，越大差距越大；一般 0.1 以下算比较均衡。
- **变异系数**：标准差除以平均分，表示得分围绕平均分的离散程度。
- **泰尔指数及单位间占比**：泰尔指数可以拆成“单位之间的差距”和“单位内部的差距”两部分。单位间占比高，
  说明差距主要是少数单位整体落后；占比低，说明各单位内部都有落后支部。
- **最高/最低单位均分之比**：最好的单位与最差的单位平均分相差几倍。
"""
)
st.subheader("名次可信吗：权重扰动")
st.markdown(
    f"评分细则的权重是人定的。为检验“某单位落后”这个结论是否取决于权重，系统把每项指标的权重在 ±{robustness.SPREAD:.0%} "
    f"内独立随机调整，重算 {robustness.DRAWS:,} 次，给出每个单位名次的 5%–95% 区间；某个支部在不足 "
    f"{robustness.BORDERLINE_SHARE:.0%} 的情况下保持原象限时，标为“临界”。区间窄、不临界的结论可以放心使用。"
)
st.subheader("年度考核与全年数据")
missing_rule = "按 0 分计入（标为未报送）" if rubric.annual_missing == "zero" else "不计入（只平均已报送的季度）"
st.markdown(
    f"""
- **年度得分**：党组织各季度得分的平均；全区已载入、而该党组织未报送的季度{missing_rule}。这一规则在评分细则文件的“年度”一节设定。年度象限、等级按季度的同一规则评定；单位年度得分是其党组织年度得分的平均，
  名次区间按上述权重扰动、每次重算各季度与年度得分求得。
- **全年合计**：接收预备党员、预备党员转正、检视问题、已整改问题（各季度报表填的是本季度数，全年相加）。
- **年末数**：发展对象、入党积极分子（每个党组织取其当年最后一次报送的数）；示范/样板党支部按年末的创建等级计。
- **年内完成换届**：当年最后一次报送的本届选举日期在该年内的党组织。**年内解决**：年初（上年第四季度）或年内
  任一季度在换届超期、正式党员不足3人、书记空缺名单上，而年末已报送且不在名单上的党组织。
- **三会一课**：党支部、联合党支部全年合计次数与《中国共产党支部工作条例（试行）》要求相比：支委会、党小组会
  每月一次（全年 12 次），党员大会、党课每季度一次（全年 4 次）；只载入部分季度时按比例折算。
"""
)
