"""The data check of open rectification items (SPEC §8), run inside every load's and rollback's transaction.

Each problem with a data test is looked up in the latest later quarter in which the organization reported: fixed
→ 待核验 with the before/after values; still there once that quarter ends on or after the deadline → 逾期. An item the
data moved to 待核验 (or a person closed on that evidence) is reopened when the evidence is gone: the batch that held
it rolled back, or a later correction showing the problem again. Whole-frame steps per problem kind, no loop per item.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd

from analytics.accounts import audit
from analytics.rectify.items import INDICATOR, OPEN, add_history, set_status
from analytics.scoring import alerts, rubric_versions, scores
from analytics.scoring.rubric import Rubric

# problem -> (template column shown as evidence, its Chinese name); missing_report shows the quarter reported
EVIDENCE = {
    "no_secretary": ("has_secretary", "是否配备书记"),
    "few_full_members": ("members_full", "正式党员数"),
    "election_overdue": ("last_election_date", "本届选举日期"),
    "missing_report": ("quarter", "报送季度"),
    "low_two_quarters": ("standardization", "标准化建设得分"),
    "model_slipping": ("standardization", "标准化建设得分"),
}
TESTED = (*EVIDENCE, INDICATOR)
DATA_ACTOR = "数据核验"


@dataclass(frozen=True)
class Checked:
    """How many items the data check moved: to 待核验, to 逾期, and back open."""

    to_verify: int
    overdue: int
    reopened: int


def has_data_test(problem: str) -> bool:
    """Whether the data can show this problem fixed."""
    return problem in EVIDENCE or problem.startswith(INDICATOR)


def _candidates(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Items the check looks at: open ones, and those whose 待核验/已销号 rests on the data's evidence."""
    return con.execute(
        """SELECT r.*, (r.evidence_batch IS NOT NULL AND r.evidence_batch NOT IN
                        (SELECT batch_id FROM batches WHERE status = 'active')) AS evidence_gone,
                  (SELECT arg_max(h.status_from, h.changed_at) FROM rectification_history h
                   WHERE h.item_id = r.item_id AND h.by_data AND h.status_to = 'to_verify') AS before_check
           FROM rectifications r
           WHERE list_contains($open, r.status)
              OR (r.status IN ('to_verify', 'closed') AND r.evidence_batch IS NOT NULL)""",
        {"open": list(OPEN)},
    ).df()


def _later_records(con: duckdb.DuckDBPyConnection, items: pd.DataFrame) -> pd.DataFrame:
    """Each organization item's record in the latest quarter after the item's own in which it reported (for a
    missing report, its own quarter too)."""
    con.register("rectify_items", items[["item_id", "org_id", "quarter", "problem"]])
    try:
        return con.execute(
            """SELECT i.item_id, c.* FROM rectify_items i
               -- a report that was missing may come in its own quarter (补报)
               JOIN current_records c ON c.org_id = i.org_id
                AND (c.quarter > i.quarter OR (i.problem = 'missing_report' AND c.quarter = i.quarter))
               QUALIFY row_number() OVER (PARTITION BY i.item_id ORDER BY c.quarter DESC) = 1"""
        ).df()
    finally:
        con.unregister("rectify_items")


def _scored(con: duckdb.DuckDBPyConnection, rubric: Rubric, quarters: list[str]) -> pd.DataFrame:
    frames = [scores.for_quarter(con, q, rubric).assign(quarter=q) for q in quarters]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["org_id", "quarter"])


def _overdue_orgs(con: duckdb.DuckDBPyConnection, rubric: Rubric, quarters: list[str]) -> set[tuple[str, int]]:
    """(quarter, org_id) of the organizations whose election is overdue in each of these quarters."""
    return {(q, int(o)) for q in quarters for o in alerts.overdue_org_ids(con, q, rubric)}


def _scored_at(con: duckdb.DuckDBPyConnection, rubric: Rubric, found: pd.DataFrame) -> pd.DataFrame:
    """The scores of each found record's organization in its quarter (row for row); scored only where needed."""
    problem = found["problem"]
    needed = problem.isin(["low_two_quarters", "model_slipping"]) | problem.str.startswith(INDICATOR)
    if not needed.any():
        return pd.DataFrame(index=found.index)
    scored = _scored(con, rubric, sorted(found.loc[needed, "quarter"].unique())).set_index(["quarter", "org_id"])
    at = pd.MultiIndex.from_arrays([found["quarter"], found["org_id"]])
    return scored.reindex(at).set_axis(found.index)


def _test(passed: pd.Series, known: pd.Series) -> pd.Series:
    """True/False where the data answer, NaN where they do not (a blank cell shows neither problem nor fix)."""
    return passed.astype(object).where(known, np.nan)


def fixed_in_data(con: duckdb.DuckDBPyConnection, items: pd.DataFrame, rubric: Rubric) -> pd.DataFrame:
    """Per tested organization item: the quarter checked, fixed or not, the value then and now, and the batch."""
    later = _later_records(con, items[items["org_id"].notna()].astype({"org_id": "int64"}))
    found = items[["item_id", "problem", "seen"]].merge(later, on="item_id")
    if found.empty:
        return pd.DataFrame(columns=["item_id", "check_quarter", "fixed", "before", "after", "column", "batch_id"])
    scored, problem = _scored_at(con, rubric, found), found["problem"]
    overdue = _overdue_orgs(con, rubric, sorted(found.loc[problem == "election_overdue", "quarter"].unique()))
    fixed = pd.Series(np.nan, index=found.index, dtype="object")
    after = pd.Series(None, index=found.index, dtype="object")
    for kind, (column, _) in EVIDENCE.items():
        mask = problem == kind
        if not mask.any():
            continue
        value = scored[column] if column == "standardization" else found[column]
        after[mask] = value[mask]
        fixed[mask] = _test(_passes(kind, found, scored, overdue, rubric), value.notna())[mask]
    for ind in rubric.indicators:  # one whole-column step per indicator that has items
        mask = problem == f"{INDICATOR}{ind.id}"
        if mask.any():
            lost = scored[f"lost_{ind.id}"]
            fixed[mask], after[mask] = _test(lost.lt(1e-9), lost.notna())[mask], lost[mask].round(2)
    before = [_seen_value(s, p) for s, p in zip(found["seen"], problem, strict=True)]
    return pd.DataFrame(
        {
            "item_id": found["item_id"], "check_quarter": found["quarter"], "fixed": fixed, "before": before,
            "after": after, "column": [_evidence_column(p, rubric) for p in problem], "batch_id": found["batch_id"],
        }
    )  # fmt: skip


def _passes(kind: str, found: pd.DataFrame, scored: pd.DataFrame, overdue: set, rubric: Rubric) -> pd.Series:
    """Whether each found record passes the data test of problem `kind` (whole columns)."""
    if kind == "no_secretary":
        return found["has_secretary"].eq(True)
    if kind == "few_full_members":
        return found["members_full"].ge(alerts.MIN_FULL_MEMBERS)
    if kind == "missing_report":
        return pd.Series(True, index=found.index)  # a later record exists: the report came
    if kind == "election_overdue":
        pairs = zip(found["quarter"], found["org_id"], strict=True)
        return pd.Series([p not in overdue for p in pairs], index=found.index)
    if kind == "low_two_quarters":
        lowest = rubric.grades[-1][0]
        return scored["standardization_grade"].ne(lowest) & scored["integration_grade"].ne(lowest)
    return scored["standardization"].ge(alerts.good_threshold(rubric))  # model_slipping


# What the warning showed, where its row does not carry the evidence column itself
SEEN_KEYS = {"missing_report": "last_reported"}
BY_DEFINITION = {"no_secretary": False}  # the 书记空缺 list holds exactly the organizations without one


UNIT_LATER_SQL = """
    WITH later AS (
        SELECT u.item_id, c.quarter, c.batch_id, c.unit AS label FROM rectify_units u
        JOIN current_records c ON c.system = u.system AND c.unit_name = u.unit AND c.quarter > u.quarter
    ), last AS (SELECT item_id, max(quarter) AS quarter FROM later GROUP BY item_id)
    SELECT l.item_id, l.quarter AS check_quarter, max(x.batch_id) AS batch_id, any_value(x.label) AS label
    FROM last l JOIN later x ON x.item_id = l.item_id AND x.quarter = l.quarter GROUP BY l.item_id, l.quarter"""


def unit_fixed_in_data(con: duckdb.DuckDBPyConnection, items: pd.DataFrame, rubric: Rubric) -> pd.DataFrame:
    """fixed_in_data for the items of a whole unit on an indicator: its organizations' mean loss in the latest later
    quarter below rubric.unit_lost_below; the batch is the latest of the unit's records in that quarter."""
    units = items[items["org_id"].isna() & items["problem"].str.startswith(INDICATOR)]
    if units.empty:
        return pd.DataFrame(columns=["item_id", "check_quarter", "fixed", "before", "after", "column", "batch_id"])
    con.register("rectify_units", units[["item_id", "system", "unit", "quarter"]])
    try:
        later = con.execute(UNIT_LATER_SQL).df()
    finally:
        con.unregister("rectify_units")
    found = units[["item_id", "system", "problem", "seen"]].merge(later, on="item_id")
    scored = _scored(con, rubric, sorted(found["check_quarter"].unique()))
    lost_columns = [c for c in scored.columns if c.startswith("lost_")]
    means = scored.groupby(["quarter", "system", "unit"])[lost_columns].mean().stack().rename("lost").reset_index()
    means["problem"] = INDICATOR + means["level_3"].str.removeprefix("lost_")
    found = found.merge(
        means.rename(columns={"quarter": "check_quarter", "unit": "label"})[
            ["check_quarter", "system", "label", "problem", "lost"]
        ],
        on=["check_quarter", "system", "label", "problem"],
        how="left",
    )
    return pd.DataFrame(
        {
            "item_id": found["item_id"], "check_quarter": found["check_quarter"],
            "fixed": _test(found["lost"].lt(rubric.unit_lost_below), found["lost"].notna()),
            "before": [_seen_value(s, p) for s, p in zip(found["seen"], found["problem"], strict=True)],
            "after": found["lost"].round(2), "column": [f"单位平均{_evidence_column(p, rubric)}" for p in found["problem"]],
            "batch_id": found["batch_id"],
        }
    )  # fmt: skip


def _seen_value(seen: str, problem: str) -> object:
    values = json.loads(seen or "{}")
    if problem.startswith(INDICATOR):
        return values.get("lost")
    key = SEEN_KEYS.get(problem, EVIDENCE.get(problem, ("",))[0])
    return values.get(key, BY_DEFINITION.get(problem))


def _evidence_column(problem: str, rubric: Rubric) -> str:
    if problem.startswith(INDICATOR):
        ind = problem.removeprefix(INDICATOR)
        names = {i.id: i.name for i in rubric.indicators}
        return f"指标{ind}（{names.get(ind, ind)}）失分"
    return EVIDENCE[problem][1]


def _plain(value: object) -> object:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, (bool, np.bool_)):
        return "是" if value else "否"
    if isinstance(value, (dt.date, pd.Timestamp)):
        return str(value)[:10]
    return value.item() if isinstance(value, np.generic) else value


def check(con: duckdb.DuckDBPyConnection, rubric: Rubric, actor: str) -> Checked:
    """Move items by what the current data show (inside the caller's transaction); the counts moved."""
    items = _candidates(con)
    items = items[[has_data_test(p) for p in items["problem"]]]
    if items.empty:
        return Checked(0, 0, 0)
    tested = pd.concat([fixed_in_data(con, items, rubric), unit_fixed_in_data(con, items, rubric)], ignore_index=True)
    merged = items.merge(tested, on="item_id", how="left")
    now, counts = dt.datetime.now(), {"to_verify": 0, "overdue": 0, "reopened": 0}
    for row in merged.itertuples(index=False):  # one UPDATE per item that moves: few, and each with its history
        move = _move(row)
        if move is None:
            continue
        status, note, evidence, batch = move
        set_status(con, int(row.item_id), status, evidence, batch)
        add_history(con, int(row.item_id), actor, row.status, status, note, now, by_data=True)
        audit.record(con, actor, "rectify_change", item=int(row.item_id), before=row.status, after=status, by_data=True)
        if status != row.status:
            counts["reopened" if status in OPEN and row.status not in OPEN else status] += 1
    return Checked(**counts)


def _move(row) -> tuple[str, str, str | None, int | None] | None:
    """(new status, note, evidence JSON, batch) for one checked item, or None when it stays."""
    fixed = row.fixed is True or row.fixed is np.True_
    known = row.fixed is not None and not (isinstance(row.fixed, float) and np.isnan(row.fixed))
    if row.status in ("to_verify", "closed"):  # rests on the data's evidence
        if fixed and (row.evidence_gone or int(row.batch_id) != row.evidence_batch):
            # the evidence moved to another batch (a correction, or what a rollback restored) and still holds
            return row.status, "整改证据所在数据已更正，证据随之更新", _evidence(row), int(row.batch_id)
        if fixed or not (row.evidence_gone or known):
            return None
        back = row.before_check if row.before_check in OPEN else "in_progress"
        why = "证据所在批次已回退" if row.evidence_gone else f"{row.check_quarter} 数据显示问题仍在"
        return back, f"{why}，重新打开整改事项", None, None
    if fixed:
        text = f"{row.check_quarter} 数据显示已整改：{row.column} {_plain(row.before)} → {_plain(row.after)}"
        return "to_verify", text, _evidence(row), int(row.batch_id)
    past = known and scores.quarter_end(row.check_quarter) >= pd.Timestamp(row.deadline).date()
    if row.status in ("open", "in_progress") and past:
        return "overdue", f"已过整改时限 {str(row.deadline)[:10]}，{row.check_quarter} 数据显示问题仍在", None, None
    return None


def _evidence(row) -> str:
    evidence = {
        "quarter": row.check_quarter, "column": row.column, "before": _plain(row.before), "after": _plain(row.after),
        "batch": int(row.batch_id),
    }  # fmt: skip
    return json.dumps(evidence, ensure_ascii=False)


def check_in_force(con: duckdb.DuckDBPyConnection, actor: str) -> Checked:
    """check() under the rubric in force (inside the caller's transaction: a load's, a rollback's)."""
    return check(con, rubric_versions.active(con), actor)
