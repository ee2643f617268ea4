"""The sentences of the 季度通报, filled in from the numbers (templated, no language model).

Each part returns only what the data supports: a 成效 needs a rise or a high full-marks share, a 问题 a
named unit, branch or item; so a quarter with no overdue election simply has no sentence about one.
"""

from __future__ import annotations

import pandas as pd

from analytics.meeting.meeting import Meeting, quarter_text
from analytics.meeting.wording import score_text
from analytics.scoring.alerts import MODEL_LEVELS, good_threshold
from analytics.scoring.rubric import COMPOSITES, QUADRANTS

RISE = 3.0  # a unit whose mean rose this much is named as 进步明显
SOLID = 0.9  # full-marks share of a 基础 item named as done well
Part = tuple[str, str]


def delta(value: float | None, unit: str = "分") -> str:
    """'比上季度提高0.6分', '比上季度增加6个' (counts), '与上季度基本持平', or '' without a last quarter."""
    if value is None or pd.isna(value):
        return ""
    if abs(value) < 0.05:
        return "与上季度基本持平"
    if unit == "个":
        return f"比上季度{'增加' if value > 0 else '减少'}{abs(value):.0f}个"
    return f"比上季度{'提高' if value > 0 else '下降'}{abs(value):.1f}{unit}"


def names(items: list[str], limit: int = 5, counter: str = "个") -> str:
    """'甲、乙、丙' or '甲、乙、丙等7个'."""
    shown = "、".join(items[:limit])
    return f"{shown}等{len(items)}{counter}" if len(items) > limit else shown


def pct(share: float) -> str:
    """A 0–1 share as '54.7%'."""
    return f"{share * 100:.1f}%"


def _place(m: Meeting) -> str:
    return "全区" if not m.filters else m.scope.replace(m.district, "").strip()


def intro(m: Meeting) -> str:
    """The opening paragraph: why and how the evaluation was done."""
    return (
        "为深入贯彻新时代党的建设总要求，持续推进基层党组织标准化规范化建设，推动党建与业务深度融合，"
        f"{m.district}工委依据《{m.rubric.name.removesuffix('（默认）')}》，对{_place(m)}{len(m.frame)}个基层党组织{quarter_text(m.quarter)}"
        "报送的党建工作数据进行了量化评价。现将有关情况通报如下："
    )


def basics(m: Meeting) -> list[str]:
    """基本情况: who was evaluated, both means with change, grades, quadrants."""
    k, frame = m.kpis, m.frame
    types = frame["org_type"].value_counts()
    kinds = "、".join(f"{t}{n}个" for t, n in types.items())
    grades = frame["grade"].value_counts()
    graded = "、".join(f"{g}{int(grades.get(g, 0))}个" for g, _ in m.rubric.grades)
    first = (
        f"本季度{_place(m)}共有{frame['unit'].nunique()}个单位的{len(frame)}个基层党组织参加评价，其中{kinds}，"
        f"数据完整率{pct(k['completeness'])}。"
    )
    scores = "；".join(
        f"{m.rubric.composite_name(s)}平均得分{score_text(k[s])}分"
        + (f"，{d}" if (d := delta(k[f"{s}_change"])) else "")
        for s in COMPOSITES
    )
    second = f"{scores}。按{m.rubric.grade_name}，{graded}。"
    quads = "，".join(f"“{q}”{k[q]}个（占{pct(k[q] / max(len(frame), 1))}）" for q in QUADRANTS)
    third = f"以{m.rubric.quadrant_threshold:g}分为界，从“标准化建设×业务融合”四象限看，{quads}。"
    return [first, second, third]


def achievements(m: Meeting) -> list[Part]:
    """主要成效: overall level, solid basic items, leading units, units that improved, model branches."""
    parts = [_overall(m), _solid_items(m), _leaders(m)]
    parts += [p for p in (_risers(m), _models(m)) if p]
    return [(f"（{'一二三四五'[i]}）{h}", t) for i, (h, t) in enumerate(parts)]


def _overall(m: Meeting) -> Part:
    k = m.kpis
    changes = [k[f"{s}_change"] for s in COMPOSITES]
    excellent = int((m.frame["grade"] == m.rubric.grades[0][0]).sum())
    means = "，".join(f"{m.rubric.composite_name(s)}平均得分{score_text(k[s])}分" for s in COMPOSITES)
    best = m.rubric.grades[0][0]
    text = (
        f"{_place(m)}{means}，{excellent}个党组织{m.rubric.grade_name}为“{best}”，占{pct(excellent / len(m.frame))}。"
    )
    if any(c is None or pd.isna(c) for c in changes):
        return "评价工作全面开展。", text
    rises = [m.rubric.composite_name(s) + delta(c) for s, c in zip(COMPOSITES, changes, strict=True)]
    heading = "整体质量稳中有升。" if max(changes) > 0.05 and min(changes) > -1 else "整体质量保持稳定。"
    if max(changes) < -0.05:
        heading = "整体质量有所波动。"
    return heading, f"{text}{'，'.join(rises)}。"


def _solid_items(m: Meeting) -> Part:
    summary = m.indicators("standardization").sort_values("full_marks_share", ascending=False, kind="stable")
    solid = summary[summary["full_marks_share"] >= SOLID]
    picked = solid.head(4) if len(solid) else summary.head(3)
    listed = "、".join(picked["name"])
    shares = "、".join(f"{s * 100:.0f}%" for s in picked["full_marks_share"])
    floor = f"均在{SOLID * 100:.0f}%以上" if len(solid) else f"分别为{shares}"
    return "基础工作较为扎实。", f"{listed}等基础性指标满分比例{floor}，支部建设的基本制度总体得到落实。"


def _leaders(m: Meeting) -> Part:
    tops = []
    for s in COMPOSITES:
        best = m.units.sort_values(f"{s}_rank", kind="stable").head(3)
        tops.append(f"{names(list(best['unit']))}{m.rubric.composite_name(s)}平均分位居前列")
    k = m.kpis
    fused = f"“{QUADRANTS[0]}”党组织{k[QUADRANTS[0]]}个" + (
        f"，{d}" if (d := delta(k[f"{QUADRANTS[0]}_change"], "个")) else ""
    )
    return "先进单位示范带动。", f"{'；'.join(tops)}。{fused}，党建与业务同频共振的格局正在形成。"


def _risers(m: Meeting) -> Part | None:
    units = m.units.assign(best=m.units[[f"{s}_change" for s in COMPOSITES]].max(axis=1))
    risen = units[units["best"] >= RISE].sort_values("best", ascending=False).head(3)
    if risen.empty:
        return None
    said = []
    for row in risen.itertuples():
        s = max(COMPOSITES, key=lambda c: getattr(row, f"{c}_change"))
        said.append(f"{row.unit}{m.rubric.composite_name(s)}平均分{delta(getattr(row, f'{s}_change'))}")
    return "部分单位进步明显。", "；".join(said) + "，整改提升成效初步显现。"


def _models(m: Meeting) -> Part | None:
    models = m.frame[m.frame["model_level"].isin(MODEL_LEVELS)]
    if models.empty:
        return None
    counts = "、".join(f"{level}党组织{n}个" for level, n in models["model_level"].value_counts().items())
    return "示范创建持续推进。", (
        f"现有{counts}，平均支部标准化建设得分{score_text(models['standardization'].mean())}分，"
        f"党建与业务融合得分{score_text(models['integration'].mean())}分，较好发挥了示范引领作用。"
    )


def problems(m: Meeting) -> list[Part]:
    """存在问题: lagging units, items losing points, 两张皮, organization-building gaps."""
    parts = [_lagging(m), _items(m), _two_skins(m)]
    parts += [p for p in (_organization(m),) if p]
    return [(f"（{'一二三四'[i]}）{h}", t) for i, (h, t) in enumerate(parts)]


def _spread(m: Meeting) -> str:
    report = m.imbalance("standardization")
    share = report["between_share"]
    if report["gini"] is None or share is None:
        return ""
    where = "差距主要来自单位之间" if share >= 0.5 else "差距主要在各单位内部的支部之间"
    name = m.rubric.composite_name("standardization")
    return f"从均衡程度看，{name}基尼系数为{report['gini']:.3f}，单位间差异占{pct(share)}，{where}。"


def _lagging(m: Meeting) -> Part:
    if m.lagging.empty:
        return "单位之间进展还不平衡。", f"各单位两项平均分均在{good_threshold(m.rubric):g}分以上。{_spread(m)}"
    total = len(m.units)
    said = [
        f"{r.unit}{m.rubric.composite_name(r.weak)}平均分仅{score_text(r.weak_score)}分，"
        f"在{total}个单位中列第{int(getattr(r, f'{r.weak}_rank'))}位"
        for r in m.lagging.itertuples()
    ]
    return "部分单位建设质量偏低。", "；".join(said) + f"。{_spread(m)}"


def _items(m: Meeting) -> Part:
    said = []
    for s in COMPOSITES:
        top = m.indicators(s).head(3)
        listed = "、".join(
            f"{r.name}（平均失{r.lost:.1f}分，满分比例{r.full_marks_share * 100:.0f}%）" for r in top.itertuples()
        )
        said.append(f"{m.rubric.composite_name(s)}中，{listed}失分较多")
    return "部分指标失分较多。", "；".join(said) + "，“三会一课”等制度执行还有“形式上到位、质量上不高”的问题。"


def _by_unit(frame: pd.DataFrame, quadrant: str) -> list[str]:
    counts = frame[frame["quadrant"] == quadrant]["unit"].value_counts()
    return [f"{u}（{n}个）" for u, n in counts.head(3).items()]


def _two_skins(m: Meeting) -> Part:
    k, frame = m.kpis, m.frame
    two = frame[frame["quadrant"] == "两张皮"].sort_values("integration").head(3)
    others = "，".join(f"“{q}”{k[q]}个" for q in ("业务化", "边缘化"))
    if two.empty:
        return "党建与业务融合仍需深化。", f"本季度没有“两张皮”党组织，但{others}，党建与业务互促互进还不够。"
    change = delta(k["两张皮_change"], "个")
    examples = "；".join(
        f"{r.org_name}标准化建设得分{score_text(r.standardization)}分，业务融合得分仅{score_text(r.integration)}分"
        for r in two.itertuples()
    )
    text = (
        f"“两张皮”党组织{k['两张皮']}个{('，' + change) if change else ''}，主要集中在{'、'.join(_by_unit(frame, '两张皮'))}。"
        f"如{examples}。此外，{others}。"
    )
    return "党建与业务融合不紧密，“两张皮”现象依然存在。", text


def _organization(m: Meeting) -> Part | None:
    w, said = m.warnings, []
    overdue = w["election_overdue"]
    if len(overdue):
        listed = [f"{r.org_name}（应于{pd.Timestamp(r.due_date):%Y年%-m月}换届）" for r in overdue.itertuples()]
        said.append(f"{names(listed, 6)}任期届满未按期换届")
    phrases = {
        "no_secretary": "书记空缺", "few_full_members": "正式党员不足3人",
        "low_two_quarters": "连续两个季度得分较差", "model_slipping": "创建等级与实际得分不符",
        "missing_report": "本季度未报送数据",
    }  # fmt: skip
    for kind, phrase in phrases.items():
        if len(w[kind]):
            said.append(f"{names(list(w[kind]['org_name']), 4)}{phrase}")
    if not said:
        return None
    return "组织建设仍有短板。", "；".join(said) + "。"


def suggestions(m: Meeting) -> list[Part]:
    """下步工作建议, each tied to what 存在问题 found."""
    parts = [p for p in (_help_lagging(m), _fix_items(m), _fuse(m), _elections(m)) if p]
    parts.append(_data(m))
    return [(f"{i}.{h}", t) for i, (h, t) in enumerate(parts, start=1)]


def _help_lagging(m: Meeting) -> Part | None:
    if m.lagging.empty:
        return None
    units = names(list(m.lagging["unit"]), 5)
    return "聚焦后进单位，开展精准帮扶。", (
        f"对{units}，工委逐一反馈问题清单，由班子成员分片联系、跟踪指导，督促其党组织书记履行第一责任人职责，"
        "对照失分项目制定整改措施、明确完成时限，下季度评价时重点复核整改成效。"
    )


def _fix_items(m: Meeting) -> Part:
    top = [r.name for s in COMPOSITES for r in m.indicators(s).head(2).itertuples()]
    return "严格对标对表，补齐短板弱项。", (
        f"针对{'、'.join(top)}等失分较多的指标，各党组织要严格落实“三会一课”、主题党日等制度，"
        "规范党内组织生活，及时完成线上录入，切实解决“形式上到位、质量上不高”的问题。"
    )


def _fuse(m: Meeting) -> Part:
    units = [u.split("（")[0] for u in _by_unit(m.frame, "两张皮")]
    who = f"{names(units)}等“两张皮”问题较集中的单位" if units else "各党组织"
    return "坚持问题导向，推进互促融合。", (
        f"{who}要找准党建与业务工作的结合点，积极探索“党建＋”模式，做到党建业务同谋划、同部署、同推进、同考核，"
        "把党员先锋岗、问题整改落到业务一线，逐步解决党建、业务“两张皮”的问题。"
    )


def _elections(m: Meeting) -> Part | None:
    w, said = m.warnings, []
    if len(w["election_overdue"]):
        said.append(f"督促{names(list(w['election_overdue']['org_name']), 6)}按程序请示报批，于下季度完成换届选举")
    if len(w["election_due_soon"]):
        said.append(f"对半年内任期届满的{len(w['election_due_soon'])}个党组织提前谋划、按期换届")
    if len(w["no_secretary"]):
        said.append(f"尽快为{names(list(w['no_secretary']['org_name']), 4)}选配书记")
    if len(w["few_full_members"]):
        said.append(f"指导{names(list(w['few_full_members']['org_name']), 4)}与邻近单位组建联合党支部")
    if not said:
        return None
    return "严格按期换届，配齐配强班子。", "；".join(said) + "。"


def _data(m: Meeting) -> Part:
    w = m.warnings
    late = len(w["missing_report"]) + len(w["late_report"])
    extra = f"本季度有{late}个党组织未按时报送或补报数据，相关单位要查明原因。" if late else ""
    complete = m.kpis["completeness"]
    return "规范数据报送，提升评价质量。", (
        f"{extra}各单位要按时、完整、准确报送季度报表（本季度数据完整率{pct(complete)}），"
        "工委将持续开展量化评价，定期通报结果，纳入年度党建工作目标责任考核。"
    )
