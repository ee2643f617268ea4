"""整改督办 in the app (AppTest) and the CLI, on the demo district: its 2024Q3 warnings opened items (analytics/demo.py),
its 2024Q4 data fix two of them (data/demo/district.py) and not the others."""

from __future__ import annotations

import json
from pathlib import Path

from streamlit.testing.v1 import AppTest

from analytics.rectify import items
from analytics.store import database as store
from tests.helpers import cli
from tests.sessions import as_user

ROOT = Path(__file__).resolve().parent.parent
TRUTH = json.loads((ROOT / "data" / "demo" / "truth.json").read_text(encoding="utf-8"))
# What the generator made happen in 2024Q4 (truth.json, written from the generator's own records)
FIXED = {n for n, e in TRUTH["re_elected"].items() if e["quarter"] == "2024Q4"}
FIXED |= {n for n, q in TRUTH["secretary_filled"].items() if q == "2024Q4"}
STILL = [*TRUTH["overdue_2024Q4"], *TRUTH["under_3_full_2024Q4"], *TRUTH["no_secretary_2024Q4"]]


def page(name: str, role: str, **state) -> AppTest:
    at = as_user(AppTest.from_file(str(ROOT / "app.py"), default_timeout=120), role)
    at.run()
    at.switch_page(f"pages/{name}.py")
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    assert not at.exception, at.exception
    return at


def test_the_page_counts_what_the_next_quarters_data_showed(demo_db: Path):
    assert {"区人民医院护理党支部", "区城市管理局城管执法大队党支部"} == FIXED
    at = page("rectify", "leader")
    shown = {m.label: m.value for m in at.metric}
    assert shown == {"待整改": "0", "整改中": "0", "待核验": str(len(FIXED)), "已销号": "0", "逾期": str(len(STILL))}
    [listing] = [d.value for d in at.dataframe if "核验依据" in d.value.columns]
    waiting = listing[listing["状态"] == "待核验"]
    assert set(waiting["党组织名称"]) == FIXED
    nursing = waiting.set_index("党组织名称").loc["区人民医院护理党支部", "核验依据"]
    assert nursing.startswith("2024Q4 本届选举日期 2021-09-08 → 2024-11-20")  # truth.json's old and new dates
    assert sorted(listing.loc[listing["状态"] == "逾期", "党组织名称"]) == sorted(STILL)
    assert not at.radio  # a leader views; only analysts and admins act


def test_an_admin_creates_an_item_from_a_warning_and_a_duplicate_is_refused(demo_db: Path):
    at = page("alerts", "admin", pick_election_due_soon={"selection": {"rows": [0], "columns": [], "cells": []}})
    due_soon = next(d.value for d in at.dataframe if "距到期天数" in d.value.columns)
    at.button(key="warn_election_due_soon_create").click().run()
    assert not at.exception and "已创建整改事项 1 项" in at.success[0].value
    with store.connect(demo_db) as con:
        made = items.items(con, "open")
    assert list(made["org_name"]) == [due_soon["党组织名称"].iloc[0]] and list(made["quarter"]) == ["2024Q4"]
    at.button(key="warn_election_due_soon_create").click().run()  # the same row again
    assert "未重复创建" in at.warning[-1].value and due_soon["党组织名称"].iloc[0] in at.warning[-1].value
    with store.connect(demo_db) as con:
        assert len(items.items(con)) == len(FIXED) + len(STILL) + 1


def test_a_leader_sees_the_warnings_without_selection(demo_db: Path):
    at = page("alerts", "leader")
    assert not [b for b in at.button if "创建整改事项" in b.label]


def test_an_analyst_closes_a_verified_item_with_a_note(demo_db: Path):
    with store.connect(demo_db) as con:
        frame = items.items(con)
    waiting = frame.index[frame["status"] == "to_verify"].tolist()
    at = page("rectify", "analyst", rectify_items={"selection": {"rows": waiting[:1], "columns": [], "cells": []}})
    at.radio(key="move").set_value("closed")
    at.text_input(key="rectify_note").input("已核对换届选举结果批复")
    at.button(key="rectify_apply").click().run()
    assert not at.exception
    shown = {m.label: m.value for m in at.metric}
    assert shown["已销号"] == "1" and shown["待核验"] == str(len(FIXED) - 1)


def test_the_cli_lists_the_items_and_their_evidence_as_json(demo_db: Path):
    result = cli("rectify", "list", "--json", "--status", "to_verify", db=demo_db)
    assert result.returncode == 0, result.stderr
    listed = json.loads(result.stdout)
    assert {i["org_name"] for i in listed} == FIXED
    secretary = next(i for i in listed if i["problem"] == "no_secretary")
    assert secretary["evidence"]["before"] == "否" and secretary["evidence"]["after"] == "是"
    assert (
        cli("rectify", "verify", db=demo_db).stdout.strip()
        == "核验完成：转为待核验 0 项，转为逾期 0 项，重新打开 0 项。"
    )


def test_the_ledger_and_a_units_notice_reopen_with_the_right_items(demo_db: Path):
    import datetime as dt
    import io

    import docx
    import openpyxl

    from analytics.meeting import notices
    from analytics.scoring import rubric_versions

    with store.connect(demo_db) as con:
        frame = items.items(con)
        names = {i.id: i.name for i in rubric_versions.active(con).indicators}
    book = openpyxl.load_workbook(io.BytesIO(notices.ledger_xlsx(frame, names)))
    ledger = list(book["整改台账"].iter_rows(values_only=True))
    assert ledger[0][0] == "编号" and len(ledger) - 1 == len(FIXED) + len(STILL)
    assert sorted(r[3] for r in ledger[1:] if r[9] == "逾期") == sorted(STILL)
    by_unit = list(book["按单位统计"].iter_rows(values_only=True))
    assert sum(r[-1] for r in by_unit[1:]) == len(FIXED) + len(STILL)
    # 区信访局: its 接待中心 branch is on both the 书记空缺 and the 正式党员不足3人 lists (truth.json)
    unit = "区信访局"
    expected = [n for n in STILL if n.startswith(unit)]
    document = docx.Document(io.BytesIO(notices.notice_bytes(frame, unit, names, dt.date(2025, 1, 10))))
    [grid] = document.tables
    assert [c.text for c in grid.rows[0].cells] == notices.NOTICE_COLUMNS
    assert sorted(r.cells[0].text for r in grid.rows[1:]) == sorted(expected) and len(expected) == 2
    text = "\n".join(p.text for p in document.paragraphs)
    assert f"{unit}党组织：" in text and f"有{len(expected)}项问题尚未完成整改销号，其中2项已超过整改时限" in text
    assert "2025年1月10日" in text and "【待补充：联系人】" in text


def test_the_branch_profile_opens_items_for_the_indicators_it_lost_most_on(demo_db: Path):
    from analytics.scoring import rubric_versions, scores

    at = page("branch", "admin")
    org_id = at.session_state["branch_org_id"]
    with store.connect(demo_db) as con:
        rubric = rubric_versions.active(con)
        row = scores.for_quarter(con, "2024Q4", rubric).set_index("org_id").loc[org_id]
    lost = {i.id: row[f"lost_{i.id}"] for i in rubric.indicators if row[f"lost_{i.id}"] > 1e-9}
    third = sorted(lost.values(), reverse=True)[2]  # the three largest losses (ties at the third may go either way)
    at.button(key="branch_create").click().run()
    assert not at.exception and any("已创建整改事项 3 项" in s.value for s in at.success)
    with store.connect(demo_db) as con:
        made = items.items(con, "open")
    chosen = {p.removeprefix("indicator:") for p in made["problem"]}
    assert len(chosen) == 3 and {i for i in lost if lost[i] > third + 1e-9} <= chosen
    assert all(lost[i] >= third - 1e-9 for i in chosen)
    assert set(made["org_id"]) == {org_id} and set(made["quarter"]) == {"2024Q4"}


def test_a_scoped_analyst_is_refused_on_another_systems_item_and_nothing_changes(demo_db: Path):
    with store.connect(demo_db) as con:
        frame = items.items(con)
    other = frame.index[(frame["status"] == "to_verify") & (frame["system"] != "经济系统")].tolist()[:1]
    at = as_user(AppTest.from_file(str(ROOT / "app.py"), default_timeout=120), "analyst", "经济分析员", ("经济系统",))
    at.run()
    at.switch_page("pages/rectify.py")
    at.session_state["rectify_items"] = {"selection": {"rows": other, "columns": [], "cells": []}}
    at.run()
    at.radio(key="move").set_value("closed")
    at.text_input(key="rectify_note").input("越权销号")
    at.button(key="rectify_apply").click().run()
    assert not at.exception and "不在你负责范围内的系统" in at.error[0].value
    with store.connect(demo_db) as con:
        after = items.items(con)
    assert after.loc[other[0], "status"] == "to_verify" and (after["status"] == "closed").sum() == 0


def test_the_unit_ranking_opens_items_for_the_worst_units_weakest_indicators(demo_db: Path):
    from analytics.scoring import rubric_versions, scores

    at = page("imbalance", "admin")
    unit = at.selectbox(key="unit_rectify_unit").value  # the last-ranked unit comes first
    at.button(key="unit_create").click().run()
    assert not at.exception and any("已创建整改事项 3 项" in s.value for s in at.success)
    with store.connect(demo_db) as con:
        made = items.items(con, "open")
        rubric = rubric_versions.active(con)
        scored = scores.for_quarter(con, "2024Q4", rubric)
    system = scored.loc[scored["unit"] == unit, "system"].iloc[0]
    # the unit's mean loss per indicator computed here from the organizations' own lost_ columns
    mine = scored[scored["unit"] == unit]
    means = sorted(((mine[f"lost_{i.id}"].mean(), i.id) for i in rubric.indicators), reverse=True)
    third = [m for m, _ in means if m == m][2]
    chosen = {p.removeprefix("indicator:") for p in made["problem"]}
    assert set(made["unit"]) == {unit} and set(made["system"]) == {system} and made["org_id"].isna().all()
    assert len(chosen) == 3 and all(mine[f"lost_{i}"].mean() >= third - 1e-9 for i in chosen)
