"""What the exports say: figures as display text, small display tables, and the deck's speaker notes.

The deck, the bulletin and the workbook print numbers through these functions, so 86.9 on a slide is
86.9 in the bulletin; the speaker notes list the numbers behind every chart.
"""

from __future__ import annotations

import unicodedata

import pandas as pd

from analytics.charts import charts
from analytics.meeting.meeting import Meeting, quarter_text, ranked_units, unit_items
from analytics.scoring import alerts as warnings
from analytics.scoring.rubric import COMPOSITES, QUADRANTS
from analytics.scoring.views import imbalance_series


def display_width(text: str) -> int:
    """Columns a text needs in a monospace view: wide (CJK, full-width) characters count 2."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def score_text(value: float | None) -> str:
    """A score as every export prints it: one decimal, '—' when missing."""
    return "—" if value is None or pd.isna(value) else f"{value:.1f}"


def change_text(value: float | None, digits: int = 1, scale: float = 1.0, unit: str = "") -> str:
    """A change against last quarter ('+0.6', '−3 个'), '—' when there was no last quarter."""
    if value is None or pd.isna(value):
        return "—"
    shown = f"{value * scale:+.{digits}f}".replace("-", "−")
    return f"{shown}{unit}"


def share_text(value: float | None) -> str:
    """A 0–1 share as a percentage with one decimal."""
    return "—" if value is None or pd.isna(value) else f"{value * 100:.1f}%"


def rank_interval_text(low: float, high: float) -> str:
    """'5–6' for a 5–95 % rank interval, '5' when it is one rank, '—' when there is none (no score to rank)."""
    if pd.isna(low) or pd.isna(high):
        return "—"
    return f"{int(low)}" if int(low) == int(high) else f"{int(low)}–{int(high)}"


def kpi_cards(meeting: Meeting) -> list[tuple[str, str, str, str]]:
    """(label, value, change, tone) of the eight headline figures; tone is good / bad / flat for the change colour."""
    k = meeting.kpis

    def tone(change, higher_is_better: bool) -> str:
        """good / bad / flat: the colour of a change."""
        if change is None or pd.isna(change) or abs(change) < 1e-9:
            return "flat"
        return "good" if (change > 0) == higher_is_better else "bad"

    cards = [
        (
            f"{meeting.rubric.composite_name(s)}平均分",
            score_text(k[s]),
            change_text(k[f"{s}_change"]),
            tone(k[f"{s}_change"], True),
        )
        for s in COMPOSITES
    ]
    cards.append(
        ("参评党组织", f"{k['organizations']} 个", change_text(k["organizations_change"], 0, unit=" 个"), "flat")
    )
    completeness = k["completeness_change"]
    cards.append(
        (
            "数据完整率",
            share_text(k["completeness"]),
            change_text(completeness, 1, 100, " 个百分点"),
            tone(completeness, True),
        )
    )
    for q in QUADRANTS:
        change = k[f"{q}_change"]
        cards.append(
            (f"“{q}”党组织", f"{k[q]} 个", change_text(change, 0, unit=" 个"), tone(change, q == QUADRANTS[0]))
        )
    return [
        (label, value, f"比上季度 {change}" if change != "—" else "上季度无数据", t)
        for label, value, change, t in cards
    ]


def org_label(table: pd.DataFrame) -> pd.Series:
    """The name a warning row is known by: the organization, or the unit for unit-level warnings."""
    return table["org_name"] if "org_name" in table.columns else table["unit"]


def warning_rows(meeting: Meeting, width: int = 50) -> list[tuple[str, str, str]]:
    """(warning, count, names) for every warning kind; names fit one line of `width` characters ('…等 N 个')."""
    rows = []
    for kind, table in meeting.warnings.items():
        names = org_label(table).tolist() if len(table) else []
        shown: list[str] = []
        for name in names:
            if sum(len(n) + 1 for n in [*shown, name]) > width - 8 and shown:
                break
            shown.append(name)
        more = f" 等 {len(names)} 个" if len(shown) < len(names) else ""
        rows.append((warnings.WARNINGS[kind][0], str(len(table)), "、".join(shown) + more or "无"))
    return rows


def short_name(org_name: str, unit: str) -> str:
    """The organization's name without its unit's name in front (区财政局国库党支部 -> 国库党支部); a unit shown
    with its system (区财政局（经济系统）, a name shared by two systems) is matched by its name."""
    for name in (unit, unit.removesuffix("）").rpartition("（")[0]):
        rest = org_name.removeprefix(name) if name else org_name
        if rest and rest != org_name:
            return rest
    return org_name


def lowest_orgs(meeting: Meeting, unit: str, limit: int = 4) -> pd.DataFrame:
    """A unit's organizations with the lowest of their two scores first, as a display table."""
    frame = meeting.unit_frame(unit)
    order = frame[list(COMPOSITES)].min(axis=1).sort_values(kind="stable").index[:limit]
    picked = frame.loc[order]
    return pd.DataFrame(
        {
            "得分最低的党组织": [short_name(n, unit) for n in picked["org_name"]],
            "标准化": picked["standardization"].map(score_text).to_numpy(),
            "融合": picked["integration"].map(score_text).to_numpy(),
            "象限": picked["quadrant"].to_numpy(),
        }
    )


def lagging_lines(meeting: Meeting, row) -> list[str]:
    """Lines about one lagging unit: organizations by quadrant and the items losing most."""
    quads = "，".join(f"{q} {getattr(row, q)} 个" for q in QUADRANTS if getattr(row, q))
    items = unit_items(meeting, row.unit, row.weak).head(3)
    lost = "；".join(f"{r.id} {r.name}（{r.lost:.1f} 分）" for r in items.itertuples())
    return [f"参评党组织 {row.organizations} 个：{quads}。", f"失分最多：{lost}。"]


def rank_text(rank: float | None, total: int) -> str:
    """'3/30', or '—' for a unit without the score (离退休 branches only have no integration)."""
    return "—" if rank is None or pd.isna(rank) else f"{int(rank)}/{total}"


def unit_scores(meeting: Meeting, row) -> pd.DataFrame:
    """Both scores of one unit with rank among the units in scope that have the score, and change."""
    totals = {s: int(meeting.units[s].notna().sum()) for s in COMPOSITES}
    return pd.DataFrame(
        {
            "得分": [meeting.rubric.composite_name(s) for s in COMPOSITES],
            "平均分": [score_text(getattr(row, s)) for s in COMPOSITES],
            "名次": [rank_text(getattr(row, f"{s}_rank"), totals[s]) for s in COMPOSITES],
            "比上季度": [change_text(getattr(row, f"{s}_change")) for s in COMPOSITES],
        }
    )


def speaker_notes(meeting: Meeting, key: str, row=None) -> list[str]:
    """Speaker notes of one slide: the numbers behind what it shows."""
    if key.startswith(("ranking_", "items_")):
        kind, score = key.split("_", 1)
        return (_ranking_notes if kind == "ranking" else _items_notes)(meeting, score)
    if key == "lagging":
        return _lagging_notes(meeting, row)
    return {"title": _title_notes, "overview": _overview_notes, "quadrant": _quadrant_notes,
            "imbalance": _imbalance_notes, "warnings": _warnings_notes}[key](meeting)  # fmt: skip


def _title_notes(m: Meeting) -> list[str]:
    units = m.frame["unit"].nunique()
    return [
        f"分析范围：{m.scope}，{quarter_text(m.quarter)}，{len(m.frame)} 个党组织，{units} 个单位。",
        f"评分细则版本：{m.rubric.version}；四象限分界 {m.rubric.quadrant_threshold:g} 分。",
        f"对比季度：{m.previous['quarter'].iloc[0] if m.previous is not None else '无（上季度没有数据）'}。",
    ]


def _overview_notes(m: Meeting) -> list[str]:
    k = m.kpis
    lines = [f"{label}：{value}（{change}）" for label, value, change, _ in kpi_cards(m)]
    for s in COMPOSITES:
        change = change_text(k[f"{s}_below_60_change"], 1, 100, " 个百分点")
        lines.append(
            f"{m.rubric.composite_name(s)}低于60分的党组织占 {share_text(k[f'{s}_below_60'])}（比上季度 {change}）。"
        )
    return lines


def _quadrant_notes(m: Meeting) -> list[str]:
    k = m.kpis
    lines = [f"{q}：{k[q]} 个，比上季度 {change_text(k[f'{q}_change'], 0, unit=' 个')}" for q in charts.QUADRANT_COLORS]
    for q in ("两张皮", "业务化", "边缘化"):
        top = m.units[m.units[q] > 0].sort_values(q, ascending=False, kind="stable").head(3)
        if len(top):
            lines.append(
                f"“{q}”较多的单位：" + "、".join(f"{u}（{n} 个）" for u, n in zip(top["unit"], top[q], strict=True))
            )
    return lines


def _ranking_notes(m: Meeting, score: str) -> list[str]:
    ranks = ranked_units(m, score)
    lines = [f"{m.rubric.composite_name(score)}单位排名（平均分，5%–95% 名次区间）："]
    for r in ranks.itertuples():
        lines.append(
            f"第 {int(r.rank)} 名 {r.unit}：{r.mean:.1f} 分，区间 {rank_interval_text(r.rank_p05, r.rank_p95)}"
        )
    return lines


def measure_text(value: float | None, spec: str) -> str:
    """A measure formatted with spec, or why there is none: SPEC §5 measures are null when the mean is 0."""
    return "无法计算（平均分为 0）" if value is None or pd.isna(value) else format(value, spec)


def _items_notes(m: Meeting, score: str) -> list[str]:
    rows = m.indicators(score).itertuples()
    return [
        f"{r.id} {r.name}：权重 {r.weight:g}，平均失 {r.lost:.2f} 分，"
        f"平均得分率 {'—' if pd.isna(r.mean_score) else f'{r.mean_score * 100:.1f}%'}，"
        f"满分比例 {r.full_marks_share * 100:.1f}%，适用 {r.applicable} 个，未填报 {r.missing} 个"
        for r in rows
    ]


def _imbalance_notes(m: Meeting) -> list[str]:
    lines = []
    for s in COMPOSITES:
        series = imbalance_series(m.trend, s).set_index("quarter")
        now = series.loc[m.quarter]
        between = now["between_share"]
        share = measure_text(None, "") if pd.isna(between) else f"{between * 100:.0f}%"
        lines.append(
            f"{m.rubric.composite_name(s)}（{m.quarter}，按单位）：基尼系数 {measure_text(now['gini'], '.3f')}，"
            f"变异系数 {measure_text(now['cv'], '.3f')}，泰尔指数 {measure_text(now['theil_total'], '.4f')}，"
            f"单位间差异占比 {share}"
        )
        lines.append("基尼系数历季：" + "，".join(f"{q} {measure_text(v, '.3f')}" for q, v in series["gini"].items()))
    return lines


def _warnings_notes(m: Meeting) -> list[str]:
    lines = []
    for kind, table in m.warnings.items():
        title, why = warnings.WARNINGS[kind]
        names = "、".join(org_label(table).head(20)) if len(table) else "无"
        lines.append(f"{title}（{len(table)}）：{names}。{why if len(table) else ''}")
    return lines


def _lagging_notes(m: Meeting, row) -> list[str]:
    lines = lagging_lines(m, row)
    items = unit_items(m, row.unit, row.weak)
    lines += [f"{r.id} {r.name}：平均失 {r.lost:.2f} 分，得分率 {r.mean_score * 100:.1f}%" for r in items.itertuples()]
    frame = m.unit_frame(row.unit).sort_values("org_name")
    lines += [
        f"{r.org_name}：标准化 {r.standardization:.1f}，融合 {r.integration:.1f}，{r.quadrant}"
        for r in frame.itertuples()
    ]
    return lines
