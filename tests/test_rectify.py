"""整改督办 (SPEC §8) on real DuckDB files: items from warnings and lost indicators, checked by later uploads,
reopened by rollbacks, overdue after their deadline, never duplicated, scoped by role, every change audited."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest

from analytics import uploads
from analytics.accounts import access, audit
from analytics.accounts.auth import User
from analytics.ingest.records import ingest_bytes
from analytics.rectify import items, sources
from analytics.scoring import alerts, rubric_versions, scores
from analytics.store import database as store
from tests.records import csv_bytes, org

ADMIN = User("管理员", "admin")
CHINESE_NUMBERS = "一二三四"


def title(quarter: str) -> str:
    year, q = scores.quarter_parts(quarter)
    return f"{year}年第{CHINESE_NUMBERS[q - 1]}季度"


def upload(con, rows: list[dict], quarter: str, user: User = ADMIN) -> int:
    """Load rows as one CSV of the quarter through the app's path (the data check included); the batch id."""
    data = csv_bytes(rows, title(quarter))
    report = ingest_bytes(data, f"{quarter}.csv")
    assert not report.errors, report.errors
    return uploads.load_as(con, user, [(report, data)])[0].batch_id


def status_of(con) -> dict[tuple[str, str], str]:
    """(organization, problem) -> status code."""
    frame = items.items(con)
    return {(o, p): s for o, p, s in zip(frame["org_name"], frame["problem"], frame["status"], strict=True)}


def warned(con, quarter: str, kind: str) -> list[items.NewItem]:
    rubric = rubric_versions.active(con)
    lists = {
        "no_secretary": lambda: alerts.no_secretary(con, quarter),
        "few_full_members": lambda: alerts.few_full_members(con, quarter),
        "election_overdue": lambda: alerts.election_overdue(con, quarter, rubric),
        "missing_report": lambda: alerts.missing_report(con, quarter),
    }
    return sources.from_warning(con, quarter, kind, lists[kind]())


# 2024Q1: 第1 has no secretary, 第2 has 2 full members, 第3 was elected 2020-03-15 (3-year term: overdue),
# 第4 and 第5 are in order. Q2 fixes 第1 (secretary) and 第3 (elected 2024-05-10), not 第2; 第4 does not report.
Q1 = [
    org(1, has_secretary="否"),
    org(2, members_total=4, members_full=2, members_probationary=2),
    org(3, last_election_date="2020-03-15"),
    org(4),
    org(5),
]
Q2 = [
    org(1, has_secretary="是"),
    org(2, members_total=4, members_full=2, members_probationary=2),
    org(3, last_election_date="2024-05-10"),
    org(5),
]


@pytest.fixture
def con(tmp_path: Path):
    with store.connect(tmp_path / "rectify.duckdb") as connection:
        yield connection


def test_items_from_each_warning_are_checked_by_the_next_quarter(con):
    upload(con, Q1, "2024Q1")
    new = [i for kind in ("no_secretary", "few_full_members", "election_overdue") for i in warned(con, "2024Q1", kind)]
    assert sorted((i.org_name, i.problem) for i in new) == [
        ("第1党支部", "no_secretary"), ("第2党支部", "few_full_members"), ("第3党支部", "election_overdue"),
    ]  # fmt: skip
    created = items.create(con, ADMIN, new, responsible="张三")
    assert len(created.item_ids) == 3 and created.duplicates == []
    frame = items.items(con)
    assert set(frame["deadline"].dt.date) == {dt.date(2024, 6, 30)}  # the end of the next quarter
    assert set(frame["status_name"]) == {"待整改"}

    q2 = upload(con, Q2, "2024Q2")
    assert status_of(con) == {
        ("第1党支部", "no_secretary"): "to_verify",
        ("第2党支部", "few_full_members"): "overdue",  # Q2 ends on the deadline with 2 full members
        ("第3党支部", "election_overdue"): "to_verify",
    }
    frame = items.items(con).set_index("org_name")
    evidence = json.loads(frame.loc["第1党支部", "evidence"])
    assert (evidence["quarter"], evidence["before"], evidence["after"], evidence["batch"]) == ("2024Q2", "否", "是", q2)
    evidence = json.loads(frame.loc["第3党支部", "evidence"])
    assert (evidence["before"], evidence["after"]) == ("2020-03-15", "2024-05-10")
    assert pd.isna(frame.loc["第2党支部", "evidence"])


def test_a_missing_report_is_fixed_by_the_report_and_reopened_by_its_rollback(con):
    upload(con, Q1, "2024Q1")
    upload(con, Q2, "2024Q2")
    [missing] = warned(con, "2024Q2", "missing_report")
    assert (missing.org_name, missing.seen["last_reported"]) == ("第4党支部", "2024Q1")
    items.create(con, ADMIN, [missing])
    late = upload(con, [org(4)], "2024Q2")  # the 补报
    assert status_of(con)[("第4党支部", "missing_report")] == "to_verify"
    result = uploads.rollback_as(con, ADMIN, late)
    assert result.withdrawn == 1
    assert status_of(con)[("第4党支部", "missing_report")] == "open"  # the status it had before the check
    history = items.history(con, items.items(con)["item_id"].iloc[0])
    assert list(history["status_to"]) == ["open", "to_verify", "open"]
    assert list(history["by_data"]) == [False, True, True] and "回退" in history["note"].iloc[-1]
    # the data check's moves are audited as the user whose upload or rollback made them
    moved = audit.events(con, action="rectify_change")
    assert len(moved) == 2 and set(moved["user_name"]) == {ADMIN.name}
    assert [json.loads(d)["after"] for d in moved["detail"][::-1]] == ["to_verify", "open"]


def test_a_closed_item_reopens_when_the_batch_that_showed_the_fix_is_rolled_back(con):
    upload(con, Q1, "2024Q1")
    items.create(con, ADMIN, warned(con, "2024Q1", "no_secretary"))
    q2 = upload(con, Q2, "2024Q2")
    [item_id] = items.items(con)["item_id"]
    with pytest.raises(store.StoreError, match="核验意见"):
        items.change(con, ADMIN, [item_id], "closed", " ")
    items.change(con, ADMIN, [item_id], "closed", "已核对任命文件")
    assert status_of(con)[("第1党支部", "no_secretary")] == "closed"
    uploads.rollback_as(con, ADMIN, q2)
    assert status_of(con)[("第1党支部", "no_secretary")] == "open"
    upload(con, Q2, "2024Q2")  # loaded again: the data show the fix again
    assert status_of(con)[("第1党支部", "no_secretary")] == "to_verify"


def test_a_problem_still_open_is_never_given_a_second_item(con):
    upload(con, Q1, "2024Q1")
    first = items.create(con, ADMIN, warned(con, "2024Q1", "no_secretary"))
    again = items.create(con, ADMIN, warned(con, "2024Q1", "no_secretary") * 2)
    assert len(first.item_ids) == 1 and again.item_ids == [] and len(again.duplicates) == 2
    assert "第1党支部" in again.duplicates[0] and "书记空缺" in again.duplicates[0]
    assert len(items.items(con)) == 1
    # once 销号, the same problem seen again is a new item
    upload(con, Q2, "2024Q2")
    items.change(con, ADMIN, first.item_ids, "closed", "已核实")
    assert len(items.create(con, ADMIN, warned(con, "2024Q1", "no_secretary")).item_ids) == 1


def test_an_indicator_item_is_fixed_when_the_indicator_no_longer_loses_points(con):
    upload(con, Q1, "2024Q1")
    rubric = rubric_versions.active(con)
    scored = scores.for_quarter(con, "2024Q1", rubric)
    new = sources.from_indicators(con, "2024Q1", scored, rubric, ["S3"])
    # only 第3 was elected more than 3 years before the quarter's end: S3 (按期换届, weight 8 of the 83 that
    # apply to a 党支部 in Q1, tests/records.py) lost in full, 100 · 8 / 83 points of the composite
    assert [(i.org_name, i.problem, i.seen["lost"]) for i in new] == [("第3党支部", "indicator:S3", round(800 / 83, 2))]
    items.create(con, ADMIN, new)
    upload(con, Q2, "2024Q2")
    frame = items.items(con)
    assert list(frame["status"]) == ["to_verify"]
    evidence = json.loads(frame["evidence"].iloc[0])
    assert (evidence["before"], evidence["after"]) == (round(800 / 83, 2), 0.0)


def test_a_scoped_analyst_cannot_act_on_another_systems_items_and_changes_are_audited(con):
    upload(con, [*Q1, org(9, unit=1, has_secretary="否")], "2024Q1")  # 第9 is in 单位1, 系统1
    new = warned(con, "2024Q1", "no_secretary")
    mine = [i for i in new if i.system == "系统0"]
    analyst = User("分析员甲", "analyst", ("系统0",))
    with pytest.raises(access.AccessDenied, match="系统1"):
        items.create(con, analyst, new)
    assert items.items(con).empty
    created = items.create(con, analyst, mine)
    admin_made = items.create(con, ADMIN, [i for i in new if i.system == "系统1"])
    with pytest.raises(access.AccessDenied):
        items.change(con, analyst, admin_made.item_ids, "in_progress", "开始整改")
    with pytest.raises(access.AccessDenied):
        items.change(con, User("领导", "leader"), created.item_ids, "in_progress", "")
    items.change(con, analyst, created.item_ids, "in_progress", "已约谈")
    assert items.items(con).set_index("item_id").loc[created.item_ids[0], "status"] == "in_progress"
    events = audit.events(con)
    made = events[events["action"] == "rectify_create"]
    changed = events[events["action"] == "rectify_change"]
    assert sorted(made["user_name"]) == ["分析员甲", "管理员"] and list(changed["user_name"]) == ["分析员甲"]
    assert len(events[events["action"] == "denied"]) == 3


def test_a_move_from_the_wrong_status_is_refused_in_chinese(con):
    upload(con, Q1, "2024Q1")
    created = items.create(con, ADMIN, warned(con, "2024Q1", "no_secretary"))
    with pytest.raises(store.StoreError, match=r"待整改.*不能"):
        items.change(con, ADMIN, created.item_ids, "closed", "没有证据")
    assert status_of(con)[("第1党支部", "no_secretary")] == "open"


def test_a_units_indicator_item_is_fixed_when_its_mean_loss_falls_below_the_rubrics_threshold(con):
    # 单位0: 第1 and 第2 elected 2020-03-15 (S3 lost in full: 800/83 points each, tests/records.py), 第3 on time
    q1 = [org(1, last_election_date="2020-03-15"), org(2, last_election_date="2020-03-15"), org(3)]
    upload(con, q1, "2024Q1")
    rubric = rubric_versions.active(con)
    scored = scores.for_quarter(con, "2024Q1", rubric)
    assert sources.unit_losses(scored, rubric, "系统0", "单位0")["S3"] == round(2 * 800 / 83 / 3, 2)
    new = sources.from_unit_indicators(con, "2024Q1", scored, rubric, "系统0", "单位0", ["S3", "S99"])
    assert [(i.problem, i.org_id, i.unit) for i in new] == [("indicator:S3", None, "单位0")]  # S99 lost nothing
    items.create(con, ADMIN, new)
    # 2024Q2: 第1 re-elected, 第2 not: mean loss 800/83/3 = 3.2 points, above the default threshold of 1
    upload(con, [org(1, last_election_date="2024-05-01"), org(2, last_election_date="2020-03-15"), org(3)], "2024Q2")
    assert rubric.unit_lost_below == 1.0 and list(items.items(con)["status"]) == ["overdue"]
    upload(con, [org(1, last_election_date="2024-05-01"), org(2, last_election_date="2024-08-01"), org(3)], "2024Q3")
    frame = items.items(con)
    assert list(frame["status"]) == ["to_verify"]
    evidence = json.loads(frame["evidence"].iloc[0])
    assert (evidence["quarter"], evidence["before"], evidence["after"]) == ("2024Q3", round(2 * 800 / 83 / 3, 2), 0.0)
