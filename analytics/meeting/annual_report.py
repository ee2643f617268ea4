"""The data draft of the committee's 年度述职 (SPEC §9), in the seed report's structure and the 通报's official form:
一、履职工作特色和亮点 / 二、存在的主要问题及原因 / 三、下一步工作打算. Every number comes from annual.year_report; the
passages only the committee can write say 【待补充：…】. A sentence whose figure is absent is left out, not guessed.
"""

from __future__ import annotations

import datetime as dt
import io

import pandas as pd
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Pt

from analytics.meeting import official
from analytics.meeting.bulletin import lead, new_document, paragraph, set_fonts, table
from analytics.meeting.bulletin_text import names
from analytics.meeting.exports import xlsx_bytes
from analytics.meeting.meeting import DISTRICT
from analytics.scoring import annual
from analytics.scoring.rubric import Rubric

TO_FILL = official.TO_FILL


def _change(value: float | None) -> str:
    """'比上年提高1.2分' / '比上年下降0.8分' / '与上年持平'; '' without a previous year."""
    if value is None or value != value:
        return ""
    if round(value, 1) == 0:
        return "，与上年持平"
    return f"，比上年{'提高' if value > 0 else '下降'}{abs(value):.1f}分"


def _mean_change(report: dict, score: str) -> float | None:
    """The district's annual mean against last year's (every organization of each year), None without last year."""
    district = report["district"]
    before = district[f"{score}_previous"]
    return None if before is None or district[score] is None else district[score] - before


def highlights(report: dict, rubric: Rubric) -> list[tuple[str, str]]:
    """一、履职工作特色和亮点: the seed's four headings, each with the year's figures."""
    orgs, c = report["organizations"], report["counts"]
    n, lists, meetings = c["counts"], c["lists"], c["meetings"]
    fixed = f"（整改率{n['已整改问题'] / n['检视问题'] * 100:.0f}%）" if n["检视问题"] else ""
    left = "，".join(f"{v['left']}个党组织解决了{k}问题" for k, v in lists.items() if v["left"])
    committee = meetings["支委会"]
    held = (
        f"全年按《条例》要求召开支委会的党支部{committee['met']}个（共{committee['branches']}个）。"
        if committee["branches"]
        else ""
    )
    s = rubric.composite_name("standardization")
    return [
        ("1.提高政治站位，落实主体责任。", TO_FILL.format("工委委员会议、书记办公会议次数，专题调研等主体责任落实情况")),
        ("2.强化教育培训，深化理论武装。",
         f"全年各党组织检视问题{n['检视问题']}个，已整改{n['已整改问题']}个{fixed}。"
         + TO_FILL.format("主题教育、研讨交流、主题党课、培训班情况")),
        ("3.严格对标对表，推进标准化建设。",
         f"全年{len(orgs)}个党组织参加季度质量评价，{s}年度平均{report['district']['standardization']:.1f}分"
         f"{_change(_mean_change(report, 'standardization'))}。年内{n['年内完成换届']}个党组织完成换届选举"
         + (f"，{left}" if left else "") + f"。{held}年内接收预备党员{n['接收预备党员']}名，预备党员转正"
         f"{n['预备党员转正']}名，年末有发展对象{n['发展对象']}名、入党积极分子{n['入党积极分子']}名。"),
        ("4.提升党建示范点，建设模范机关。",
         f"年末有市级样板党支部{n['市级样板']}个、区级示范党支部{n['区级示范']}个。"
         + TO_FILL.format("模范机关建设、机关文体活动等")),
    ]  # fmt: skip


UNEVEN_POINTS = 5.0  # a gap between the best and the worst unit's annual means that is called uneven
ORDINALS = "一二三四五"


def problems(report: dict, rubric: Rubric, stuck: pd.DataFrame) -> list[str]:
    """二、存在的主要问题及原因: uneven units, 两张皮, reporting and elections, each only where its figures show it."""
    units, orgs, c = report["units"], report["organizations"], report["counts"]
    found = []
    means = units.dropna(subset=["standardization"])
    if len(means) > 1:
        top, bottom = means.iloc[0], means.iloc[-1]
        gap = top["standardization"] - bottom["standardization"]
        if gap >= UNEVEN_POINTS:
            last = names(list(means["unit"].iloc[::-1].head(3)), 3)
            found.append(
                f"支部标准化建设进展不平衡。{len(means)}个单位中，年度平均分最高的{top['unit']}{top['standardization']:.1f}分，"
                f"最低的{bottom['unit']}{bottom['standardization']:.1f}分，相差{gap:.1f}分；排名靠后的有{last}。"
            )
    if len(stuck):
        listed = list(stuck["org_name"])
        named = names(listed, 5) if len(listed) > 5 else f"{len(listed)}个（{names(listed, 5)}）"
        mean = report["district"]["integration"]
        found.append(
            f"党建与业务融合不紧密，“两张皮”现象依然存在。{rubric.composite_name('integration')}年度平均{mean:.1f}分"
            f"{_change(_mean_change(report, 'integration'))}，全年三个及以上季度处于“两张皮”象限的党组织有{named}。"
        )
    missing = orgs[orgs["missing_quarters"] != ""]
    overdue = c["lists"]["换届超期"]["end"]
    gaps = []
    if len(missing):
        gaps.append(f"{len(missing)}个党组织有季度未报送数据（涉及{names(sorted(missing['unit'].unique()), 5)}）")
    if overdue:
        gaps.append(f"年末仍有{overdue}个党组织换届超期")
    if gaps:
        found.append(f"基础工作还有短板。{'，'.join(gaps)}。")
    out = [f"{ORDINALS[i]}是{text}" for i, text in enumerate(found)]
    return [*out, "剖析反思存在问题的原因：" + TO_FILL.format("由工委结合实际分析原因")]


def plans(report: dict) -> list[tuple[str, str]]:
    """三、下一步工作打算: what the figures point to, the committee's own words to be added."""
    units, c = report["units"].dropna(subset=["standardization"]), report["counts"]
    last = names(list(units["unit"].iloc[::-1].head(3)), 3)
    overdue = c["lists"]["换届超期"]["end"]
    out = []
    if len(units) > 1:
        out.append(("紧盯后进单位，推进均衡发展。", f"对{last}等年度排名靠后的单位，逐一反馈失分项目，跟踪整改成效。"))
    out.append(
        ("坚持问题导向，推进互促融合。", "探索“党建＋”模式，推进机关党建与业务工作深度融合，逐步解决“两张皮”问题。")
    )
    if overdue:
        out.append(("严格组织制度，按期完成换届。", f"督促年末仍换届超期的{overdue}个党组织按程序完成换届选举。"))
    out.append(("其他工作打算。", TO_FILL.format("由工委补充下一年度工作思路和重点")))
    return [(f"{i}.{heading}", text) for i, (heading, text) in enumerate(out, start=1)]


def report_bytes(report: dict, rubric: Rubric, stuck: pd.DataFrame, district: str = DISTRICT,
                 signed: dt.date | None = None) -> bytes:  # fmt: skip
    """The 年度述职 data draft as DOCX bytes."""
    year = report["year"]
    document = new_document()
    document.core_properties.title = f"{year}年度履行抓基层党建工作职责情况"
    official.page_numbers(document, set_fonts)
    document.add_paragraph(f"{year}年度履行抓基层党建工作职责情况", style="Title").alignment = WD_ALIGN_PARAGRAPH.CENTER
    document.add_paragraph(
        "（数据稿：数字由系统按全年数据生成，【待补充】处由工委填写）"
    ).alignment = WD_ALIGN_PARAGRAPH.CENTER
    paragraph(document, f"根据会议安排，现就{year}年度履行抓基层党建工作职责情况汇报如下：")
    document.add_heading("一、履职工作特色和亮点", level=1)
    for heading, text in highlights(report, rubric):
        lead(document, heading, text)
    document.add_heading("二、存在的主要问题及原因", level=1)
    for text in problems(report, rubric, stuck):
        paragraph(document, text)
    document.add_heading("三、下一步工作打算", level=1)
    for heading, text in plans(report):
        lead(document, heading, text)
    table(document, annual.counts_table(report["counts"]), f"附表  {year}年度党建工作数据")
    made = signed or dt.date.today()
    for line, right in ((f"中共{district}工作委员会", 40), (f"{made.year}年{made.month}月{made.day}日", 64)):
        paragraph(document, line, indent=False, align=WD_ALIGN_PARAGRAPH.RIGHT).paragraph_format.right_indent = Pt(
            right
        )
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def year_xlsx(report: dict, rubric: Rubric) -> bytes:
    """The year's workbook: organizations, units, counts, 三会一课, the warning lists over the year."""
    org_names = {"system": "所属系统", "unit": "单位名称", "org_name": "党组织名称", "org_type": "组织类型",
                 "standardization": "标准化建设年度得分", "integration": "党建业务融合年度得分", "quadrant": "年度象限",
                 "grade": "年度等级", "standardization_rank": "标准化建设名次", "integration_rank": "党建业务融合名次",
                 "quarters_reported": "报送季度数", "missing_quarters": "未报送季度",
                 "standardization_change": "标准化建设同比", "integration_change": "党建业务融合同比"}  # fmt: skip
    return xlsx_bytes(
        {
            "年度得分": report["organizations"][list(org_names)].rename(columns=org_names),
            "单位排名": annual.units_table(report["units"], rubric).iloc[::-1],  # best first, as ranked
            "全年数据": annual.counts_table(report["counts"]),
            "三会一课": annual.meetings_table(report["counts"]),
            "预警名单变化": annual.lists_table(report["counts"]),
        },
        title=f"{report['year']}年度考核",
    )
