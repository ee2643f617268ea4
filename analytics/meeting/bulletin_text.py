"""The sentences of the 季度通报, filled in from the numbers (templated, no language model).

Each part returns only what the data supports: a 成效 needs a rise or a high full-marks share, a 问题 a
named unit, branch or item; so a quarter with no overdue election simply has no sentence about one.
"""

from __future__ import annotations

import pandas as pd

from analytics.meeting import stories
from analytics.meeting.meeting import Meeting, quarter_text
from analytics.meeting.wording import score_text
from analytics.scoring import trends
from analytics.scoring.alerts import MODEL_LEVELS, good_threshold, reporting
from analytics.scoring.imbalance import PASS_MARK
from analytics.scoring.rubric import COMPOSITES, NOT_RATED, QUADRANTS

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
        f"{_reporting(m)}。"
    )
    scores = "；".join(
        f"{m.rubric.composite_name(s)}平均得分{score_text(k[s])}分"
        + (f"，{d}" if (d := delta(k[f"{s}_change"])) else "")
        for s in _scored(m)
    )
    second = f"{scores}。按{m.rubric.grade_name}，{graded}。"
    if k["not_rated"] == len(frame):
        return [first, second, f"参评的{len(frame)}个党组织均为离退休党组织，{NOT_RATED}，不划分象限。"]
    rated = max(len(frame) - k["not_rated"], 1)
    quads = "，".join(f"“{q}”{k[q]}个（占{pct(k[q] / rated)}）" for q in QUADRANTS)
    aside = f"另有{k['not_rated']}个离退休党组织{NOT_RATED}" if k["not_rated"] else ""
    third = f"以{m.rubric.quadrant_threshold:g}分为界，从“标准化建设×业务融合”四象限看，{quads}{'；' + aside if aside else ''}。"
    return [first, second, third]


def _reporting(m: Meeting) -> str:
    """How many organizations reported of those expected (this quarter's and last quarter's that did not report)."""
    missing = len(m.warnings["missing_report"])
    expected, share = reporting(len(m.frame), missing)
    said = f"应报{expected}个党组织，实报{len(m.frame)}个（报送率{pct(share)}）"
    if missing:
        said += f"，{names(list(m.warnings['missing_report']['org_name']), 4)}未报送"
    return f"{said}，已报数据的填报项目完整率{pct(m.kpis['completeness'])}"


def achievements(m: Meeting) -> list[Part]:
    """主要成效: overall level, solid basic items, leading units, units that improved, model branches."""
    parts = [_overall(m)]
    parts += [p for p in (_solid_items(m), _leaders(m), _risers(m), _models(m)) if p]
    return [(f"（{'一二三四五'[i]}）{h}", t) for i, (h, t) in enumerate(parts)]


def _overall(m: Meeting) -> Part:
    k = m.kpis
    changes = [k[f"{s}_change"] for s in COMPOSITES]
    excellent = int((m.frame["grade"] == m.rubric.grades[0][0]).sum())
    means = "，".join(f"{m.rubric.composite_name(s)}平均得分{score_text(k[s])}分" for s in _scored(m))
    best = m.rubric.grades[0][0]
    text = (
        f"{_place(m)}{means}，{excellent}个党组织{m.rubric.grade_name}为“{best}”，占{pct(excellent / len(m.frame))}。"
    )
    if any(c is None or pd.isna(c) for c in changes):
        return "评价工作全面开展。", text
    rises = [m.rubric.composite_name(s) + delta(c) for s, c in zip(COMPOSITES, changes, strict=True)]
    # the heading follows every headline measure (stories.direction): 稳中有升 only when nothing got worse
    return stories.DIRECTION_WORDS[stories.direction(k)] + "。", f"{text}{'，'.join(rises)}。"


def _solid_items(m: Meeting) -> Part | None:
    summary = m.indicators("standardization").sort_values("full_marks_share", ascending=False, kind="stable")
    solid = summary[(summary["full_marks_share"] >= SOLID) & (summary["missing"] < summary["applicable"] / 2)]
    # 扎实 only when items are done by nearly all and the standardization mean passes
    if solid.empty or not m.frame["standardization"].mean() >= PASS_MARK:
        return None
    listed = "、".join(solid.head(4)["name"])
    return (
        "基础工作较为扎实。",
        f"{listed}等基础性指标满分比例均在{SOLID * 100:.0f}%以上，支部建设的基本制度总体得到落实。",
    )


def _leaders(m: Meeting) -> Part | None:
    best = stories.praised(m)
    if best.empty:
        return None
    said = "；".join(
        f"{r.unit}{m.rubric.composite_name('standardization')}平均{score_text(r.standardization)}分、"
        f"{m.rubric.composite_name('integration')}平均{score_text(r.integration)}分"
        for r in best.itertuples()
    )
    k, fused = m.kpis, QUADRANTS[0]
    text = f"{said}，两项均高于{_place(m)}平均水平。“{fused}”党组织{k[fused]}个"
    text += f"，{d}" if (d := delta(k[f"{fused}_change"], "个")) else ""
    if (k[f"{fused}_change"] or 0) > 0 and (k["两张皮_change"] or 0) <= 0:  # only when the counts show it
        text += "，党建与业务融合的党组织在增多"
    return "先进单位示范带动。", text + "。"


def _streak_text(m: Meeting, runs: list[trends.Streak]) -> list[str]:
    """One clause per unit: each of its scores from where the run started to where it stands."""
    by_unit: dict[str, list[str]] = {}
    for run in runs:
        verb = "连续提升至" if run.rising else "连续下降至"
        by_unit.setdefault(run.unit, []).append(
            f"{m.rubric.composite_name(run.score)}平均分从{quarter_text(run.start)}的{score_text(run.first)}分"
            f"{verb}{quarter_text(run.end)}的{score_text(run.last)}分"
        )
    return [unit + "，".join(clauses) for unit, clauses in by_unit.items()]


def _risers(m: Meeting) -> Part | None:
    # a unit listed as 后进 or as 连续下滑 (on the other score) in the same 通报 is not praised here: its rise is
    # told beside its low score (_lagging), and one document does not both praise and warn a unit
    blamed = set(m.lagging["unit"]) | {s.unit for s in m.streaks if not s.rising}
    runs = [s for s in m.streaks if s.rising and s.unit not in blamed]
    said = _streak_text(m, runs)[:3]
    named = {s.unit for s in runs}
    units = m.units.assign(best=m.units[[f"{s}_change" for s in COMPOSITES]].max(axis=1))
    fresh = ~units["unit"].isin(named) & ~units["unit"].isin(blamed)
    risen = units[(units["best"] >= RISE) & fresh].sort_values("best", ascending=False)
    for row in risen.head(max(3 - len(said), 0)).itertuples():
        s = max(COMPOSITES, key=lambda c: getattr(row, f"{c}_change"))
        said.append(f"{row.unit}{m.rubric.composite_name(s)}平均分{delta(getattr(row, f'{s}_change'))}")
    if not said:
        return None
    return "部分单位进步明显。", "；".join(said) + "。"


def _decliners(m: Meeting) -> Part | None:
    runs = [s for s in m.streaks if not s.rising]
    if not runs:
        return None
    return "个别单位连续下滑。", "；".join(_streak_text(m, runs)[:4]) + "，需查明原因、及时扭转。"


def _models(m: Meeting) -> Part | None:
    models = m.frame[m.frame["model_level"].isin(MODEL_LEVELS)]
    if models.empty:
        return None
    counts = "、".join(f"{level}党组织{n}个" for level, n in models["model_level"].value_counts().items())
    above = all(models[c].mean() > m.frame[c].mean() for c in COMPOSITES)
    below = models[(models[list(COMPOSITES)] < good_threshold(m.rubric)).any(axis=1)]
    # the praise only when the models' means are above the district's on both scores
    verdict = "，高于全区平均水平，较好发挥了示范引领作用" if above else "，示范引领作用还不够突出"
    if len(below):
        verdict += (
            f"；{names(list(below['org_name']), 3)}有一项得分低于{good_threshold(m.rubric):g}分，与创建等级不相称"
        )
    return "示范创建持续推进。" if above else "示范创建有待提质。", (
        f"现有{counts}，平均支部标准化建设得分{score_text(models['standardization'].mean())}分，"
        f"党建与业务融合得分{score_text(models['integration'].mean())}分{verdict}。"
    )


def problems(m: Meeting) -> list[Part]:
    """存在问题: lagging units, items losing points, 两张皮, organization-building gaps."""
    parts = [_lagging(m)]
    parts += [p for p in (_decliners(m),) if p]
    parts += [p for p in (_items(m), _two_skins(m), _organization(m)) if p]
    return [(f"（{'一二三四五六'[i]}）{h}", t) for i, (h, t) in enumerate(parts)]


def _scored(m: Meeting) -> list[str]:
    """The composites some organization of the scope is scored on (none on integration when all are 离退休)."""
    return [s for s in COMPOSITES if m.frame[s].notna().any()]


def _spread(m: Meeting) -> str:
    report = m.imbalance("standardization")
    share = report["between_share"]
    if report["gini"] is None or share is None:
        return ""
    where = "差距主要来自单位之间" if share >= 0.5 else "差距主要在各单位内部的支部之间"
    name = m.rubric.composite_name("standardization")
    return f"从均衡程度看，{name}基尼系数为{report['gini']:.3f}，单位间差异占{pct(share)}，{where}。"


def _lagging(m: Meeting) -> Part:
    bar = good_threshold(m.rubric)
    if m.lagging.empty:
        lows = m.units.set_index("unit")[list(COMPOSITES)].min(axis=1)
        low = lows[lows < bar]
        if low.empty:
            return "单位之间进展还不平衡。", f"各单位两项平均分均在{bar:g}分以上。{_spread(m)}"
        # low, but none below the others: no unit lags behind the rest
        return "建设质量普遍偏低。", (
            f"{names(list(low.index))}的平均分低于{bar:g}分（最低{score_text(low.min())}分），"
            f"{'单位之间差别不大，' if len(m.units) > 1 else ''}需整体加强。{_spread(m)}"
        )
    total = len(m.units)
    rising = {(r.unit, r.score): r for r in m.streaks if r.rising}
    said = []
    for r in m.lagging.itertuples():
        rank = int(getattr(r, f"{r.weak}_rank"))
        place = "并列第" if (m.units[f"{r.weak}_rank"] == rank).sum() > 1 else "列第"
        text = (
            f"{r.unit}{m.rubric.composite_name(r.weak)}平均分仅{score_text(r.weak_score)}分，"
            f"在{total}个单位中{place}{rank}位"
        )
        if run := rising.get((r.unit, r.weak)):
            text += f"，但较{quarter_text(run.start)}已连续提升{run.last - run.first:.1f}分"
        said.append(text)
    return "部分单位建设质量偏低。", "；".join(said) + f"。{_spread(m)}"


def _items(m: Meeting) -> Part:
    said = []
    for s in _scored(m):
        top = m.indicators(s).head(3)
        listed = "、".join(
            f"{r.name}（平均失{r.lost:.1f}分，满分比例{r.full_marks_share * 100:.0f}%）" for r in top.itertuples()
        )
        said.append(f"{m.rubric.composite_name(s)}中，{listed}失分较多")
    tail = "，“三会一课”等制度执行还有“形式上到位、质量上不高”的问题" if _form_over_substance(m) else ""
    unreported = [
        r.name for s in _scored(m) for r in m.indicators(s).head(3).itertuples() if r.missing >= r.applicable / 2
    ]
    if unreported:  # a loss from a blank column is a reporting gap, not a weak practice
        tail += f"；其中{'、'.join(unreported)}多数党组织未填报"
    return "部分指标失分较多。", "；".join(said) + tail + "。"


def _form_over_substance(m: Meeting) -> bool:
    """True when a reported 三会一课 item is among the three standardization items that lose most: the stock
    phrase 形式上到位、质量上不高 then has data behind it."""
    top = m.indicators("standardization").head(3)
    reported = top[top["missing"] < top["applicable"] / 2]
    return bool(reported["id"].map(lambda i: m.rubric.indicator(i).column in MEETING_COLUMNS).any())


# Columns of the 三会一课 and 主题党日 items: the 形式上到位 phrase needs one of them among the biggest losses
MEETING_COLUMNS = {
    "committee_meetings", "general_meetings", "group_meetings", "party_lectures", "theme_days", "online_record_rate",
}  # fmt: skip


def _by_unit(frame: pd.DataFrame, quadrant: str) -> list[str]:
    counts = frame[frame["quadrant"] == quadrant]["unit"].value_counts()
    return [f"{u}（{n}个）" for u, n in counts.head(3).items()]


def _two_skins(m: Meeting) -> Part | None:
    k, frame = m.kpis, m.frame
    if k["业务化"] + k["两张皮"] + k["边缘化"] == 0:  # all 融合型, or nobody rated (离退休 only): nothing to say
        return None
    near = m.stability["borderline"].to_numpy()  # 临界: the quadrant changes under other weights
    skins = (frame["quadrant"] == "两张皮").to_numpy()
    two = frame[skins & ~near].sort_values("integration").head(3)
    near_two = int((skins & near).sum())
    others = "，".join(
        f"“{q}”{k[q]}个" + (f"（主要在{'、'.join(_by_unit(frame, q))}）" if k[q] else "") for q in ("业务化", "边缘化")
    )
    if two.empty:
        return "党建与业务融合仍需深化。", f"本季度没有“两张皮”党组织，但{others}，党建与业务互促互进还不够。"
    change = delta(k["两张皮_change"], "个")
    examples = "；".join(
        f"{r.org_name}标准化建设得分{score_text(r.standardization)}分，业务融合得分仅{score_text(r.integration)}分"
        for r in two.itertuples()
    )
    text = (
        f"“两张皮”党组织{k['两张皮']}个{('，' + change) if change else ''}，主要集中在{'、'.join(_by_unit(frame, '两张皮'))}"
        + (
            f"，其中{near_two}个接近{m.rubric.quadrant_threshold:g}分分界线（换一种合理权重即可能归入其他象限）"
            if near_two
            else ""
        )
        + "。"
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
    top = [r.name for s in _scored(m) for r in m.indicators(s).head(2).itertuples()]
    tail = "，切实解决“形式上到位、质量上不高”的问题" if _form_over_substance(m) else ""
    return "严格对标对表，补齐短板弱项。", (
        f"针对{'、'.join(top)}等失分较多的指标，各党组织要严格落实“三会一课”、主题党日等制度，"
        f"规范党内组织生活，及时完成线上录入{tail}。"
    )


def _fuse(m: Meeting) -> Part | None:
    if m.kpis["业务化"] + m.kpis["两张皮"] + m.kpis["边缘化"] == 0:
        return None
    units = [u.split("（")[0] for u in _by_unit(m.frame, "两张皮")]
    who = f"{names(units)}等“两张皮”问题较集中的单位" if units else "各党组织"
    text = (
        f"{who}要找准党建与业务工作的结合点，积极探索“党建＋”模式，做到党建业务同谋划、同部署、同推进、同考核，"
        "把党员先锋岗、问题整改落到业务一线，逐步解决党建、业务“两张皮”的问题。"
    )
    busy = [u.split("（")[0] for u in _by_unit(m.frame, "业务化")]
    if busy:  # the other half of the picture: business crowding out party work
        text += (
            f"{names(busy)}等“业务化”党组织较多的单位，要防止以业务工作代替党的建设，"
            "严格落实“三会一课”、主题党日等制度，把支部建设的基础打牢。"
        )
    return "坚持问题导向，推进互促融合。", text


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
        f"{extra}各单位要按时、完整、准确报送季度报表（本季度已报数据的填报项目完整率{pct(complete)}），"
        "工委将持续开展量化评价，定期通报结果，纳入年度党建工作目标责任考核。"
    )
