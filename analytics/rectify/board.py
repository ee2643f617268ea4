"""What the 整改督办 page, the 台账 and the 通报 show of the items: counts by status, unit and system, the list in
Chinese with its evidence, and the open items over the quarters."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pandas as pd

from analytics.rectify.items import STATUS, problem_name

COLUMNS = {
    "item_id": "编号",
    "system": "所属系统",
    "unit": "单位名称",
    "org_name": "党组织名称",
    "problem_name": "问题",
    "quarter": "发现季度",
    "requirement": "整改要求",
    "deadline": "整改时限",
    "responsible": "责任人",
    "status_name": "状态",
    "evidence_text": "核验依据",
}


MOVE_NAMES = {
    "in_progress": "开始整改",
    "to_verify": "报告已整改（待核验）",
    "closed": "核验通过，销号",
    "reopened": "核验未通过，退回",
}
HISTORY = {
    "changed_at": "时间",
    "actor": "办理人",
    "from_name": "原状态",
    "to_name": "新状态",
    "note": "说明",
    "by": "方式",
}


def history_listing(history: pd.DataFrame) -> pd.DataFrame:
    """An item's history (items.history) in Chinese."""
    out = history.assign(
        from_name=history["status_from"].map(STATUS).fillna("（创建）"),
        to_name=history["status_to"].map(STATUS),
        by=history["by_data"].map({True: "数据核验", False: "人工办理"}),
    )
    return out[list(HISTORY)].rename(columns=HISTORY)


def evidence_text(evidence: object) -> str:
    """The data's evidence of a fix in one line: 2024Q4 正式党员数 2 → 3（批次 12）; empty where there is none."""
    if not isinstance(evidence, str) or not evidence:
        return ""
    e = json.loads(evidence)
    return f"{e['quarter']} {e['column']} {_shown(e['before'])} → {_shown(e['after'])}（批次 {e['batch']}）"


def _shown(value: object) -> str:
    if value is None:
        return "—"
    return f"{value:g}" if isinstance(value, float) else str(value)


def listing(frame: pd.DataFrame, indicator_names: dict[str, str]) -> pd.DataFrame:
    """The items (items.items) with the problem and evidence in Chinese, in the columns of COLUMNS."""
    out = frame.assign(
        problem_name=[problem_name(p, indicator_names) for p in frame["problem"]],
        evidence_text=[evidence_text(e) for e in frame["evidence"]],
        org_name=frame["org_name"].astype(object).where(frame["org_name"].notna(), "（全单位）"),
    )
    return out[list(COLUMNS)].rename(columns=COLUMNS)


def status_counts(frame: pd.DataFrame) -> dict[str, int]:
    """Items per status, in the order of STATUS, by their Chinese names (zeros kept)."""
    counts = frame["status"].value_counts()
    return {name: int(counts.get(code, 0)) for code, name in STATUS.items()}


def by_group(frame: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Items per status for each group (["system"] or ["system", "unit"]), the most overdue and open first."""
    if frame.empty:
        return pd.DataFrame(columns=[*by, *STATUS.values(), "合计"])
    table = pd.crosstab([frame[c] for c in by], frame["status"]).reindex(columns=list(STATUS), fill_value=0)
    table = table.rename(columns=STATUS)
    table["合计"] = table.sum(axis=1)
    order = table.sort_values(["逾期", "待整改", "整改中", "合计"], ascending=False)
    return order.reset_index().rename(columns={"system": "所属系统", "unit": "单位名称"})


def fixed_quarter(frame: pd.DataFrame) -> pd.Series:
    """The quarter whose data showed each item fixed (None where the data have not)."""
    return frame["evidence"].map(lambda e: json.loads(e)["quarter"] if isinstance(e, str) and e else None)


def trend(frame: pd.DataFrame, quarters: list[str]) -> pd.DataFrame:
    """Per quarter: items found in it, items its data showed fixed, and items still open at its end (found by
    then, not yet shown fixed by then, not closed by a person without data)."""
    fixed = fixed_quarter(frame)
    closed_by_person = frame["status"].eq("closed") & fixed.isna()
    rows = []
    for q in quarters:  # a handful of quarters; each a whole-column comparison
        found = frame["quarter"] <= q
        done = fixed.notna() & (fixed <= q)
        rows.append(
            {
                "季度": q,
                "新发现": int((frame["quarter"] == q).sum()),
                "数据显示已整改": int((fixed == q).sum()),
                "期末未整改": int((found & ~done & ~closed_by_person).sum()),
            }
        )
    return pd.DataFrame(rows, columns=["季度", "新发现", "数据显示已整改", "期末未整改"])


@dataclass(frozen=True)
class FollowUp:
    """The items found in one quarter and where they stand now (the 通报's 上季度整改落实情况, the deck's slide)."""

    quarter: str
    counts: dict[str, int]  # by status name, STATUS order
    overdue: pd.DataFrame  # 单位名称, 党组织名称, 问题, 整改时限 of the items past their deadline
    fixed: pd.DataFrame  # the same columns, of the items the data show fixed (待核验 or 已销号 on the data)

    @property
    def total(self) -> int:
        """Items found in the quarter."""
        return sum(self.counts.values())


def follow_up(frame: pd.DataFrame, quarter: str, indicator_names: dict[str, str]) -> FollowUp:
    """The items (items.items) found in `quarter`, counted by status, with the overdue and the fixed ones listed."""
    found = frame[frame["quarter"] == quarter]
    shown = listing(found, indicator_names)[["单位名称", "党组织名称", "问题", "整改时限"]]
    shown = shown.assign(整改时限=shown["整改时限"].dt.strftime("%Y-%m-%d"))
    fixed = fixed_quarter(found).notna() & found["status"].isin(["to_verify", "closed"])
    return FollowUp(
        quarter, status_counts(found), shown[found["status"].eq("overdue").to_numpy()], shown[fixed.to_numpy()]
    )


def follow_up_lines(follow: FollowUp, now_quarter: str) -> list[str]:
    """The paragraph of 上季度整改落实情况, every number from `follow` (no sentence without its figure)."""
    if not follow.total:
        return [f"{follow.quarter}未建立整改事项。"]
    c = follow.counts
    lines = [
        f"针对{follow.quarter}评价和预警发现的问题，共建立整改事项{follow.total}项：已销号{c['已销号']}项，"
        f"待核验{c['待核验']}项，整改中{c['整改中']}项，待整改{c['待整改']}项，逾期未整改{c['逾期']}项；"
        f"其中{now_quarter}数据显示已经整改的{len(follow.fixed)}项。"
    ]
    if len(follow.overdue):
        named = "、".join(f"{r.单位名称}{'' if r.党组织名称 == '（全单位）' else r.党组织名称}（{r.问题}）"
                         for r in follow.overdue.head(10).itertuples())  # fmt: skip
        more = f"等{len(follow.overdue)}项" if len(follow.overdue) > 10 else ""
        lines.append(f"逾期未整改的有：{named}{more}，请相关单位党组织说明原因，限期完成整改，工委将跟踪督办。")
    return lines
