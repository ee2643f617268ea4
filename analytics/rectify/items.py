"""Rectification items (整改事项, SPEC §8): created from a warning or a lost indicator, changed by people and by the
data, every change kept in the item's history and the audit log."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field

import duckdb
import pandas as pd

from analytics.accounts import access, audit
from analytics.accounts.auth import User
from analytics.scoring import alerts, scores
from analytics.store import database as store

STATUS = {"open": "待整改", "in_progress": "整改中", "to_verify": "待核验", "closed": "已销号", "overdue": "逾期"}
OPEN = ("open", "in_progress", "overdue")  # the problem is still there as far as anyone knows
ACTIVE = (*OPEN, "to_verify")  # not yet 销号: a second item for the same problem is refused
# What a person may do to an item; the data check moves items on its own (analytics/rectify/checks.py).
MOVES = {
    "in_progress": ("open", "overdue"),  # 开始整改
    "to_verify": ("open", "in_progress", "overdue"),  # 报告已整改, for a problem the data cannot show
    "closed": ("to_verify",),  # 销号, after the evidence was looked at
    "reopened": ("to_verify",),  # 退回: the evidence does not hold
}
DEFAULT_REQUIREMENTS = {kind: why for kind, (_, why) in alerts.WARNINGS.items()}
INDICATOR = "indicator:"  # problem code of an indicator that lost points: indicator:S3


@dataclass(frozen=True)
class NewItem:
    """A problem to follow up: where it was seen, and what the data showed."""

    problem: str
    quarter: str
    system: str
    unit: str  # as typed (organizations.unit), not the display label
    org_id: int | None = None
    org_name: str | None = None
    seen: dict = field(default_factory=dict)
    requirement: str = ""


@dataclass(frozen=True)
class Created:
    """Item ids created, and the problems left out because an item for them is still open (Chinese lines)."""

    item_ids: list[int]
    duplicates: list[str]


def problem_name(problem: str, indicator_names: dict[str, str] | None = None) -> str:
    """The problem in Chinese: a warning's title, or 「指标 S3 名称」失分."""
    if problem.startswith(INDICATOR):
        ind = problem.removeprefix(INDICATOR)
        return f"指标{ind}（{(indicator_names or {}).get(ind, ind)}）失分"
    return alerts.WARNINGS.get(problem, (problem, ""))[0]


def next_quarter(quarter: str) -> str:
    """The quarter after `quarter` (2024Q4 -> 2025Q1)."""
    year, q = scores.quarter_parts(quarter)
    return f"{year + q // 4}Q{q % 4 + 1}"


def default_deadline(quarter: str) -> dt.date:
    """The end of the quarter after the one whose data showed the problem (SPEC §8)."""
    return scores.quarter_end(next_quarter(quarter))


def create(
    con: duckdb.DuckDBPyConnection,
    user: User,
    new: list[NewItem],
    deadline: dt.date | None = None,
    responsible: str = "",
    note: str = "",
) -> Created:
    """Create items in one transaction (role and system scope checked, each audited); a problem of an organization
    (or unit) that already has an item not yet 销号 is left out and named in `duplicates`."""
    access.require(con, user, "rectify")
    access.check_scope(con, user, {item.system for item in new}, "整改事项")
    made, duplicates, now = [], [], dt.datetime.now()
    with store.transaction(con):
        next_id = con.execute("SELECT coalesce(max(item_id), 0) + 1 FROM rectifications").fetchall()[0][0]
        for item in new:
            if _open_item(con, item) is not None or any(_same(item, other) for other in new[: new.index(item)]):
                duplicates.append(f"{item.unit} {item.org_name or ''}：{problem_name(item.problem)}".replace("  ", " "))
                continue
            due = deadline or default_deadline(item.quarter)
            requirement = item.requirement or DEFAULT_REQUIREMENTS.get(item.problem, "对照失分项目制定整改措施。")
            row = {
                "id": next_id, "problem": item.problem, "quarter": item.quarter, "system": item.system,
                "unit": item.unit, "org_id": item.org_id, "org_name": item.org_name,
                "seen": json.dumps(item.seen, ensure_ascii=False, default=str), "requirement": requirement,
                "deadline": due, "responsible": responsible.strip(), "at": now, "by": user.name,
            }  # fmt: skip
            con.execute(
                "INSERT INTO rectifications VALUES ($id, $problem, $quarter, $system, $unit, $org_id, $org_name, "
                "$seen, $requirement, $deadline, $responsible, 'open', NULL, NULL, $at, $by)",
                row,
            )
            add_history(con, next_id, user.name, None, "open", note or "创建", now, by_data=False)
            audit.record(
                con, user.name, "rectify_create", item=next_id, problem=item.problem, quarter=item.quarter,
                system=item.system, unit=item.unit, org=item.org_name, deadline=due,
            )  # fmt: skip
            made.append(next_id)
            next_id += 1
    return Created(made, duplicates)


def _same(a: NewItem, b: NewItem) -> bool:
    return (a.problem, a.system, a.unit, a.org_id) == (b.problem, b.system, b.unit, b.org_id)


def _open_item(con: duckdb.DuckDBPyConnection, item: NewItem) -> int | None:
    """The id of an item not yet 销号 for the same problem of the same organization (or unit), if any."""
    rows = con.execute(
        "SELECT item_id FROM rectifications WHERE problem = $p AND system = $s AND unit = $u "
        "AND org_id IS NOT DISTINCT FROM $o AND list_contains($active, status)",
        {"p": item.problem, "s": item.system, "u": item.unit, "o": item.org_id, "active": list(ACTIVE)},
    ).fetchall()
    return rows[0][0] if rows else None


def add_history(
    con: duckdb.DuckDBPyConnection,
    item_id: int,
    actor: str,
    status_from: str | None,
    status_to: str,
    note: str,
    at: dt.datetime,
    by_data: bool,
) -> None:
    """One line of an item's history (inside the caller's transaction)."""
    con.execute(
        "INSERT INTO rectification_history VALUES ($i, $at, $a, $f, $t, $n, $d)",
        {"i": item_id, "at": at, "a": actor, "f": status_from, "t": status_to, "n": note, "d": by_data},
    )


def change(con: duckdb.DuckDBPyConnection, user: User, item_ids: list[int], move: str, note: str) -> list[int]:
    """A person's change of items' status (MOVES), with a note; returns the ids changed. AccessDenied outside the
    user's role or systems; an item in a status the move does not start from is refused in Chinese."""
    access.require(con, user, "rectify")
    if move not in MOVES:
        raise ValueError(f"unknown move {move!r}")
    rows = _rows(con, item_ids)
    access.check_scope(con, user, set(rows["system"]), "整改事项")
    wrong = rows[~rows["status"].isin(MOVES[move])]
    if len(rows) < len(set(item_ids)) or not wrong.empty:
        shown = "、".join(f"{i}（{STATUS[s]}）" for i, s in zip(wrong["item_id"], wrong["status"], strict=True))
        raise store.StoreError(f"整改事项 {shown or '不存在'} 当前状态不能进行这一操作，请刷新后重试。")
    if move == "closed" and not note.strip():
        raise store.StoreError("销号请填写核验意见。")
    status = "in_progress" if move == "reopened" else move
    now = dt.datetime.now()
    with store.transaction(con):
        for item_id, before in zip(rows["item_id"], rows["status"], strict=True):
            set_status(con, int(item_id), status)
            add_history(con, int(item_id), user.name, before, status, note.strip(), now, by_data=False)
            audit.record(con, user.name, "rectify_change", item=int(item_id), before=before, after=status, note=note)
    return [int(i) for i in rows["item_id"]]


def set_status(
    con: duckdb.DuckDBPyConnection, item_id: int, status: str, evidence: str | None = None, batch: int | None = None
) -> None:
    """Write an item's status (and the evidence of a fix, kept until a later check replaces it)."""
    con.execute(
        "UPDATE rectifications SET status = $s, evidence = coalesce($e, evidence), "
        "evidence_batch = coalesce($b, evidence_batch) WHERE item_id = $i",
        {"s": status, "e": evidence, "b": batch, "i": item_id},
    )


def _rows(con: duckdb.DuckDBPyConnection, item_ids: list[int]) -> pd.DataFrame:
    return con.execute(
        "SELECT item_id, system, status FROM rectifications WHERE list_contains($ids, item_id) ORDER BY item_id",
        {"ids": [int(i) for i in item_ids]},
    ).df()


def items(con: duckdb.DuckDBPyConnection, status: str | None = None) -> pd.DataFrame:
    """Every item, newest first, with its status in Chinese; only one status when given."""
    frame = con.execute(
        "SELECT * FROM rectifications WHERE $s IS NULL OR status = $s ORDER BY item_id DESC", {"s": status}
    ).df()
    frame["status_name"] = frame["status"].map(STATUS)
    return frame


def history(con: duckdb.DuckDBPyConnection, item_id: int) -> pd.DataFrame:
    """An item's changes, oldest first."""
    return con.execute(
        "SELECT * FROM rectification_history WHERE item_id = $i ORDER BY changed_at, status_from NULLS FIRST",
        {"i": int(item_id)},
    ).df()
