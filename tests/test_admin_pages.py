"""Admin pages under AppTest: accounts, rubric editor, audit log — and what they write to the database."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from analytics.accounts import audit, auth
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
