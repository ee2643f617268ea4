"""Slide titles that state the finding, not the topic: '总体情况：整体质量有升有降，融合平均分下降0.2分'.

Each title starts with its topic and a full-width colon, so a reader (and a test) can find the slide, and then
says what the numbers on the slide show, in words decided by the same rules as the 通报 (stories.py).
"""

from __future__ import annotations

from analytics.meeting import stories
from analytics.meeting.meeting import Meeting
from analytics.meeting.wording import score_text
from analytics.scoring.rubric import COMPOSITES, QUADRANTS

SHORT = {"standardization": "标准化", "integration": "融合"}


def _move(value: float | None) -> str:
    if value is None or value != value or abs(value) < stories.STEADY:
        return "持平"
    return f"{'升' if value > 0 else '降'}{abs(value):.1f}分"


def overview(m: Meeting) -> str:
    """总体情况: the direction of every headline measure, then both means and their moves."""
    k = m.kpis
    state = stories.DIRECTION_WORDS.get(stories.direction(k) or "", "首次评价")
    means = "、".join(f"{SHORT[s]}{score_text(k[s])}分（{_move(k[f'{s}_change'])}）" for s in COMPOSITES)
    return f"总体情况：{state}，{means}"


def quadrant(m: Meeting) -> str:
    """四象限: the share of 融合型 and the largest of the other three."""
    k = m.kpis
    rated = max(k["organizations"] - k["not_rated"], 1)
    worst = max(QUADRANTS[1:], key=lambda q: k[q])
    return f"四象限：融合型占{k[QUADRANTS[0]] / rated * 100:.0f}%，“{worst}”{k[worst]}个居其他象限之首"


def ranking(m: Meeting, score: str) -> str:
    """单位排名: who leads and who trails on this score."""
    units = m.units.dropna(subset=[score]).sort_values(f"{score}_rank", kind="stable")
    name = m.rubric.composite_name(score)
    if units.empty:
        return f"单位排名：{name}"
    first, last = units.iloc[0], units.iloc[-1]
    if first[f"{score}_rank"] == last[f"{score}_rank"]:
        return f"单位排名：{name}各单位平均分相同（{score_text(first[score])}分）"
    return f"单位排名：{name}{first['unit']}最高，{last['unit']}最低（{score_text(last[score])}分）"


def items(m: Meeting, score: str) -> str:
    """指标: the item that loses most points."""
    top = m.indicators(score).head(1)
    name = m.rubric.composite_name(score)
    if top.empty:
        return f"指标：{name}"
    row = top.iloc[0]
    return f"指标：{name}中“{row['name']}”失分最多，平均失{row['lost']:.1f}分"


def imbalance(m: Meeting) -> str:
    """不平衡: the Gini of standardization and where the gap lies."""
    report = m.imbalance("standardization")
    if report["gini"] is None or report["between_share"] is None:
        return "不平衡程度：单位之间差距无法计算"
    where = "主要在单位之间" if report["between_share"] >= 0.5 else "主要在单位内部"
    return f"不平衡程度：标准化基尼系数{report['gini']:.3f}，差距{where}"


def warnings(m: Meeting, labels: dict[str, str]) -> str:
    """预警: the two largest lists by count."""
    counts = sorted(((len(t), labels.get(kind, kind)) for kind, t in m.warnings.items() if len(t)), reverse=True)
    if not counts:
        return "预警事项：本季度没有预警"
    return "预警事项：" + "，".join(f"{label}{n}个" for n, label in counts[:2])


def movers(m: Meeting) -> str:
    """进退: how many units rose and fell over several quarters."""
    runs = m.streaks
    up = len({s.unit for s in runs if s.rising})
    down = len({s.unit for s in runs if not s.rising})
    if not runs:
        return "单位进退：没有连续三个季度同向变化的单位"
    return f"单位进退：{up}个单位持续提升，{down}个单位连续下滑"
