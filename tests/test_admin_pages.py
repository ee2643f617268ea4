"""Admin pages under AppTest: accounts, rubric editor, audit log — and what they write to the database."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from analytics.accounts import access, audit, auth
from analytics.ingest.records import ingest_bytes
from analytics.scoring import rubric_versions
from analytics.store import batches
from analytics.store import database as store
from tests.records import csv_bytes, org
from tests.sessions import as_user

ROOT = Path(__file__).resolve().parent.parent


def admin_on(page: str) -> AppTest:
    at = as_user(AppTest.from_file(str(ROOT / "app.py"), default_timeout=60), "admin").run()
    at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, at.exception
    return at


def test_admin_adds_an_analyst_with_systems(db_path: Path):
    at = admin_on("users")
    at.text_input(key="new_name").input("赵分析")
    at.selectbox(key="new_role").set_value("analyst")
    at.text_input(key="new_systems").input("经济系统、教育系统")
    at.text_input(key="new_password").input("analyst-pass-1")
    at.button[0].click().run()
    with store.connect(db_path) as con:
        user = auth.authenticate(con, "赵分析", "analyst-pass-1")
    assert (user.role, user.systems) == ("analyst", ("经济系统", "教育系统"))
    # the page confirms it after its rerun, and the new account is in the table
    assert [s.value for s in at.success] == ["已新增账户「赵分析」（分析员）。"]
    assert "赵分析" in set(at.dataframe[0].value["用户名"])


def test_a_new_account_needs_a_role_chosen_explicitly(db_path: Path):
    at = admin_on("users")
    assert at.selectbox(key="new_role").value is None  # no default, least of all 管理员
    at.text_input(key="new_name").input("钱某")
    at.text_input(key="new_password").input("some-pass-12")
    at.button[0].click().run()
    assert any("请选择角色" in e.value for e in at.error)
    with store.connect(db_path) as con:
        assert auth.current(con, "钱某") is None


def test_a_locked_account_shows_as_locked_with_the_time_it_unlocks(db_path: Path):
    with store.connect(db_path) as con:
        auth.add_user(con, "孙领导", "leader-pass-1", "leader", actor="tests")
        for _ in range(auth.MAX_FAILURES):
            with pytest.raises(auth.AuthError):
                auth.authenticate(con, "孙领导", "wrong-password")
        until = con.execute("SELECT locked_until FROM users WHERE name = '孙领导'").fetchall()[0][0]
    at = admin_on("users")
    table = at.dataframe[0].value.set_index("用户名")
    assert table.loc["孙领导", "状态"] == f"已锁定（至 {until:%Y-%m-%d %H:%M}）"
    assert table.loc["admin", "状态"] == "正常"


def test_a_rollback_shows_the_batch_as_rolled_back_at_once(db_path: Path):
    data = csv_bytes([org(1), org(2)])
    with store.connect(db_path) as con:
        batches.load_batch(con, ingest_bytes(data, "q.csv"), data, "tester")
    at = admin_on("batches")
    at.checkbox(key="confirm").check().run()
    at.button(key="rollback").click().run()
    assert any(s.value.startswith("批次 1 已回退") for s in at.success)
    assert list(at.dataframe[0].value["状态"]) == ["已回退"]
    assert "rollback" not in [b.key for b in at.button]  # no button left to roll it back again


def test_rubric_editor_previews_and_saves_a_new_version(db_path: Path):
    data = csv_bytes([org(1, unit=0), org(2, unit=1)])
    with store.connect(db_path) as con:
        batches.load_batch(con, ingest_bytes(data, "q.csv"), data, "tester")
    at = admin_on("rubric_editor")
    assert any("象限发生变化的党组织：0 个" in m.value for m in at.markdown)  # unchanged rubric moves nobody
    at.text_input(key="new_version").input("2025.1").run()
    at.button(key="save_rubric").click().run()
    assert not at.exception
    with store.connect(db_path) as con:
        assert rubric_versions.active(con).version == "2025.1"
        assert audit.events(con, action="rubric_change").shape[0] == 1


def test_audit_page_lists_the_days_events(db_path: Path):
    at = admin_on("audit")
    with store.connect(db_path) as con:
        expected = len(audit.events(con))
    assert expected >= 1  # at least the admin's creation
    assert any(f"共 {expected} 条记录" in c.value for c in at.caption)


def test_audit_details_read_as_chinese_fields_not_json(db_path: Path):
    data = csv_bytes([org(1), org(2)])
    with store.connect(db_path) as con:
        admin = auth.add_user(con, "管理员甲", "admin-pass-12", "admin", actor="tests")
        auth.add_user(con, "李分析", "analyst-pass-1", "analyst", ("经济系统",), actor=admin.name)
        with pytest.raises(auth.AuthError):
            auth.authenticate(con, "李分析", "wrong-password")
        access.load_as(con, admin, [(ingest_bytes(data, "一季度.csv"), data)])
    at = admin_on("audit")
    table = at.dataframe[0].value
    said = set(zip(table["操作"], table["详情"], strict=True))
    assert ("新增账户", "账户：李分析；角色：分析员；系统：经济系统") in said
    assert ("登录失败", "原因：密码错误；已锁定：否") in said
    (upload,) = table.loc[table["操作"] == "上传数据", "详情"]
    assert upload.startswith("文件：一季度.csv；文件摘要：")
    assert "批次：1；季度：2024Q1；党组织数：2；此前已载入：否" in upload
    assert not [d for d in table["详情"] if "{" in d or '"' in d]
