"""The demo district as data: its systems, units and organizations, and the facts planted in its reports.

Read by generate.py. Organization names are the unit name followed by one of the suffixes below; the
type follows from the suffix (…党委, …党总支, …联合党支部, else 党支部). The planted facts mirror the
committee's 2023 report: 两张皮 and 业务化 units, uneven 三会一课 across systems, branches
with fewer than 3 full members, overdue elections, vacant secretaries, 4 市级样板 and 13 区级示范 branches.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from functools import cache
from pathlib import Path

SEED = 2024
QUARTERS = tuple(f"{year}Q{q}" for year in (2023, 2024) for q in range(1, 5))
COMMITTEE = "区直机关工委"
TITLE = "区直机关基层党组织建设情况统计表"
TEMPLATE_PATH = Path(__file__).resolve().parents[2] / "analytics" / "template.toml"
QUARTER_CN = {1: "一", 2: "二", 3: "三", 4: "四"}

# system -> unit -> its organizations (suffixes of the unit name, separated by spaces)
DISTRICT: dict[str, dict[str, str]] = {
    "党群系统": {
        "区委办公室": "机关党总支 综合党支部 督查信息党支部 机要保密党支部 离退休干部党支部",
        "区委组织部": "机关党总支 干部党支部 组织党支部 党员教育中心党支部 老干部服务中心党支部",
        "区委宣传部": "机关党总支 理论宣传党支部 文明创建党支部 融媒体中心党支部 新时代文明实践中心党支部",
        "区总工会": "机关党支部 职工服务中心党支部 工人文化宫党支部",
        "团区委": "机关党支部 青少年宫党支部",
    },
    "政法系统": {
        "区人民法院": "机关党委 刑事审判党支部 民事审判第一党支部 民事审判第二党支部 立案庭党支部 执行局党支部 城关人民法庭党支部",
        "区人民检察院": "机关党总支 第一检察部党支部 第二检察部党支部 第三检察部党支部 综合业务党支部 检务保障党支部",
        "区公安分局": "党委 机关党支部 刑侦大队党支部 治安大队党支部 交警大队党支部 城关派出所党支部 城南派出所党支部 巡特警大队党支部",
        "区司法局": "机关党总支 机关党支部 公共法律服务中心党支部 社区矫正中心党支部 基层司法所联合党支部",
        "区信访局": "机关党支部 信访接待中心党支部",
    },
    "经济系统": {
        "区发展和改革委员会": "机关党总支 综合规划党支部 项目推进党支部 价格服务党支部 粮食和物资储备党支部",
        "区财政局": "机关党委 预算党支部 国库党支部 综合党支部 政府采购中心党支部 投资评审中心党支部 离退休干部党支部",
        "区商务局": "机关党支部 招商服务中心党支部 电子商务中心党支部 离退休干部党支部",
        "区统计局": "机关党支部 普查中心联合党支部",
        "区市场监督管理局": "机关党委 机关第一党支部 机关第二党支部 城关市场监管所党支部 城南市场监管所党支部 综合执法大队党支部 检验检测中心党支部",
    },
    "教育系统": {
        "区教育局": "机关党委 机关党支部 教研室党支部 教育督导室党支部 招生考试中心党支部 学生资助管理中心党支部",
        "区第一中学": "党委 高一年级党支部 高二年级党支部 高三年级党支部 艺体教研党支部 行政后勤党支部 退休教师党支部",
        "区实验小学": "党总支 低年级党支部 中年级党支部 高年级党支部 行政后勤党支部",
        "区职业技术学校": "党总支 机电专业部党支部 信息技术专业部党支部 行政后勤党支部",
        "区教师进修学校": "机关党支部 教研培训党支部",
    },
    "卫健系统": {
        "区卫生健康局": "机关党总支 机关第一党支部 机关第二党支部 综合监督执法大队党支部 乡镇卫生院联合党支部",
        "区人民医院": "党委 内科党支部 外科党支部 医技党支部 护理党支部 急诊重症党支部 行政后勤党支部 离退休党支部",
        "区中医医院": "党委 中医内科党支部 针灸康复党支部 医技药剂党支部 护理党支部 行政后勤党支部",
        "区疾病预防控制中心": "党总支 疾病防控党支部 检验检测党支部 健康教育党支部 综合党支部",
        "区妇幼保健院": "党总支 临床医技党支部 保健行政党支部",
    },
    "城建系统": {
        "区住房和城乡建设局": "机关党委 机关第一党支部 机关第二党支部 质量安全监督站党支部 房产服务中心党支部 人防办党支部",
        "区自然资源局": "机关党总支 机关党支部 不动产登记中心党支部 测绘地理信息党支部 基层自然资源所联合党支部",
        "区交通运输局": "机关党总支 机关党支部 公路养护中心党支部 运输服务中心党支部 交通执法大队党支部",
        "区城市管理局": "机关党总支 机关党支部 环境卫生管理所党支部 市政设施维护中心党支部 园林绿化中心党支部 城管执法大队党支部",
        "区水务局": "机关党总支 机关党支部 水利工程管理站党支部 河湖管护中心党支部",
    },
}
TERM_YEARS = {"党委": 5, "党总支": 3, "党支部": 3, "联合党支部": 3}

# 三会一课 is uneven across systems (the report's 进展不平衡): added to every org's standardization level.
SYSTEM_OFFSET = {
    "党群系统": 0.06,
    "政法系统": -0.04,
    "经济系统": 0.0,
    "教育系统": 0.03,
    "卫健系统": -0.10,
    "城建系统": -0.05,
}

# Unit patterns: ((standardization level 2023Q1, 2024Q4), (integration level 2023Q1, 2024Q4)), linear between.
TWO_SKINS_UNIT = "区财政局"  # 两张皮: meetings by the book, little joint work with the business
BUSINESS_HEAVY_UNIT = "区公安分局"  # 业务化: business first, few meetings, little recorded online
IMPROVING_UNIT = "区职业技术学校"
DECLINING_UNIT = "区城市管理局"
UNIT_TRENDS = {
    TWO_SKINS_UNIT: ((0.97, 0.97), (0.45, 0.45)),
    BUSINESS_HEAVY_UNIT: ((0.48, 0.48), (0.97, 0.97)),
    IMPROVING_UNIT: ((0.30, 1.00), (0.45, 0.92)),
    DECLINING_UNIT: ((1.00, 0.35), (0.92, 0.50)),
}
DEFAULT_TREND = ((0.87, 0.87), (0.85, 0.85))

# The report's 4 市级样板 and 13 区级示范 branches; one 示范 branch slips from 2024 on.
CITY_MODELS = ("区委组织部组织党支部", "区人民法院立案庭党支部", "区人民医院内科党支部", "区第一中学高三年级党支部")
DISTRICT_MODELS = (
    "区委办公室综合党支部",
    "区委宣传部融媒体中心党支部",
    "区人民检察院第一检察部党支部",
    "区司法局机关党支部",
    "区发展和改革委员会项目推进党支部",
    "区市场监督管理局城关市场监管所党支部",
    "区教育局教研室党支部",
    "区实验小学高年级党支部",
    "区中医医院针灸康复党支部",
    "区疾病预防控制中心疾病防控党支部",
    "区住房和城乡建设局质量安全监督站党支部",
    "区交通运输局机关党支部",
    "区水务局河湖管护中心党支部",
)
SLIPPING_MODEL = "区人民检察院第一检察部党支部"
SLIPPING_FROM = "2024Q1"

# Elections: (date of the term in force, date of the re-election that ends the overdue state or None).
OVERDUE_ELECTIONS = {
    "区公安分局交警大队党支部": (dt.date(2021, 3, 18), None),
    "区城市管理局环境卫生管理所党支部": (dt.date(2020, 11, 20), None),
    "区人民医院护理党支部": (dt.date(2021, 9, 8), dt.date(2024, 11, 20)),  # re-elected after 2024Q3's 整改督办
    "区商务局招商服务中心党支部": (dt.date(2021, 5, 12), None),
    "区交通运输局公路养护中心党支部": (dt.date(2020, 6, 30), None),
    "区第一中学党委": (dt.date(2019, 7, 5), None),
    "区司法局公共法律服务中心党支部": (dt.date(2019, 12, 10), dt.date(2024, 4, 16)),
    "区自然资源局不动产登记中心党支部": (dt.date(2020, 4, 22), dt.date(2023, 11, 28)),
}
# Branches below 3 full members: (full members in 2023Q1, quarter indexes when a probationary member joined).
SMALL_BRANCHES = {
    "团区委青少年宫党支部": (2, ()),
    "区信访局信访接待中心党支部": (2, (6,)),
    "区商务局电子商务中心党支部": (2, ()),
    "区教师进修学校教研培训党支部": (2, (1,)),  # converts in 2024Q2 and so reaches 3 full members
}
# Vacant secretaries: (first quarter index without one, first quarter index with one again or None).
NO_SECRETARY = {
    "区信访局信访接待中心党支部": (0, None),
    "区人民医院急诊重症党支部": (6, None),
    "区城市管理局城管执法大队党支部": (4, 7),  # a secretary appointed in 2024Q4, after 2024Q3's 整改督办
    "区妇幼保健院保健行政党支部": (2, None),
    "区总工会工人文化宫党支部": (0, 4),
}
# An intended warning: a total that counts a member whose transfer is still pending.
MEMBER_MISMATCH = ("区人民医院离退休党支部", "2023Q3")
MISSING_REPORT = ("区信访局", "2024Q2")  # never reported that quarter
LATE_REPORT = ("区水务局", "2024Q3")  # left out of the main file, sent later as 补报


def quarter_end(quarter: str) -> dt.date:
    """The last day of a quarter such as 2024Q1."""
    year, q = int(quarter[:4]), int(quarter[-1])
    return dt.date(year + (q == 4), 1 if q == 4 else 3 * q + 1, 1) - dt.timedelta(days=1)


def quarter_title(quarter: str) -> str:
    """2024Q1 -> 2024年第一季度."""
    return f"{quarter[:4]}年第{QUARTER_CN[int(quarter[-1])]}季度"


def filing_line(quarter: str, filer: str = COMMITTEE, days: int = 10) -> str:
    """The 填报单位 / 填报日期 line under a title."""
    day = quarter_end(quarter) + dt.timedelta(days=days)
    return f"填报单位：{filer}  填报日期：{day.year}年{day.month}月{day.day}日"


# Columns the template gained after the demo's 2023-2024 reports: its offices never typed them. Without
# 党组织类别 (SPEC §4.5) the demo's retiree branches are read as 离退休 from their names.
LATER_COLUMNS = ("org_category",)


@cache
def template_columns() -> tuple[tuple[str, str, str], ...]:
    """(internal name, canonical header, type) of the template columns the demo's reports have, in SPEC order."""
    template = tomllib.loads(TEMPLATE_PATH.read_text(encoding="utf-8"))
    return tuple((c["name"], c["header"], c["type"]) for c in template["column"] if c["name"] not in LATER_COLUMNS)


def is_summed(name: str) -> bool:
    """Whether a 合计 / 小计 row sums this column (the counts and money)."""
    return any(n == name and kind in ("int", "number") for n, _, kind in template_columns())
