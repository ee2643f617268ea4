"""Sign-in and roles under AppTest: what each role sees, and the forms a person uses."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from analytics.accounts import audit, auth
from analytics.ingest.records import ingest_bytes
from analytics.store import batches
from analytics.store import database as store
from pages._session import navigation_for
from tests.records import csv_bytes, org
from tests.sessions import PASSWORD, as_user, ensure_user

ROOT = Path(__file__).resolve().parent.parent
VIEWS = {
    "overview", "standardization", "integration", "imbalance", "branch", "alerts", "rectify", "annual", "home", "method",
    "account",
}  # fmt: skip
EXPECTED = {
    "leader": VIEWS,
    "analyst": VIEWS | {"upload", "batches"},
    "admin": VIEWS | {"upload", "batches", "users", "rubric_editor", "header_mappings", "audit"},
}
ALL_PAGES = sorted(p.stem for p in (ROOT / "pages").glob("*.py") if not p.stem.startswith("_"))


def app() -> AppTest:
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)


def seed() -> None:
    data = csv_bytes([org(1, unit=0), org(2, unit=1)])
    with store.connect(store.db_path()) as con:
        batches.load_batch(con, ingest_bytes(data, "seed.csv"), data, "tester")


def test_before_sign_in_only_the_login_form_is_shown(db):
    ensure_user("admin")
    seed()
    at = app().run()
    assert not at.exception
    assert [b.label for b in at.button] == ["登录"]
    assert not at.metric and not at.dataframe  # nothing of the data leaks before sign-in


def test_first_run_asks_for_the_admin_and_signs_them_in(db):
    at = app().run()
    assert any("第一次使用" in i.value for i in at.info)
    at.text_input(key="admin_name").input("主任")
    at.text_input(key="admin_password").input("first-admin-1")
    at.text_input(key="admin_again").input("first-admin-1")
    at.button[0].click().run()
    assert not at.exception
    assert at.session_state["user"].role == "admin"
    with store.connect(db) as con:
        assert auth.users(con)["name"].tolist() == ["主任"]


def test_the_login_form_signs_in_and_a_wrong_password_is_refused_and_audited(db):
    ensure_user("leader", "李领导")
    at = app().run()
    at.text_input(key="login_name").input("李领导")
    at.text_input(key="login_password").input("wrong-password")
    at.button[0].click().run()
    assert any("用户名或密码不正确" in e.value for e in at.error)
    assert "user" not in at.session_state
    at.text_input(key="login_password").input(PASSWORD)
    at.button[0].click().run()
    assert at.session_state["user"].name == "李领导"
    with store.connect(db) as con:
        logged = audit.events(con, user="李领导")["action"].tolist()
    assert logged == ["login_ok", "login_failed"]  # newest first


@pytest.mark.parametrize("role", ["leader", "analyst", "admin"])
def test_each_role_is_offered_exactly_its_pages(role: str):
    offered = {Path(path).stem for entries in navigation_for(auth.User("x", role)).values() for path, _, _ in entries}
    assert offered == EXPECTED[role] | ({"export"} & set(ALL_PAGES))


@pytest.mark.parametrize("role", ["leader", "analyst", "admin"])
def test_every_page_refuses_what_the_role_may_not_do(db, role: str):
    seed()
    at = as_user(app(), role).run()
    for name in ALL_PAGES:
        at.switch_page(f"pages/{name}.py").run()
        assert not at.exception, (role, name, at.exception)
        refused = any("权限" in e.value for e in at.error)
        assert refused == (name not in EXPECTED[role] | {"export"}), (role, name)


def test_a_page_script_refuses_a_role_even_if_reached_directly(db):
    ensure_user("leader")
    at = AppTest.from_file(str(ROOT / "pages" / "upload.py"), default_timeout=60)
    at.session_state["user"] = auth.User("leader", "leader")
    at.session_state["last_seen"] = time.time()
    at.run()
    assert any("没有“上传数据”的权限" in e.value for e in at.error)
    assert not at.file_uploader


def test_an_idle_session_is_signed_out(db, monkeypatch: pytest.MonkeyPatch):
    at = as_user(app(), "leader")
    at.session_state["last_seen"] = time.time() - 31 * 60
    at.run()
    assert "user" not in at.session_state
    assert any("长时间未操作" in i.value for i in at.info)
    with store.connect(db) as con:  # the app's own sign-out is audited, with its reason
        event = audit.events(con, action="logout").iloc[0]
    assert event["user_name"] == "leader" and json.loads(event["detail"]) == {"reason": "idle_timeout"}


def test_a_disabled_account_is_signed_out_on_its_next_click(db):
    at = as_user(app(), "leader").run()
    with store.connect(db) as con:
        auth.set_disabled(con, auth.User("admin", "admin"), "leader", True)
    at.run()
    assert "user" not in at.session_state
    with store.connect(db) as con:
        event = audit.events(con, action="logout").iloc[0]
    assert event["user_name"] == "leader" and json.loads(event["detail"]) == {"reason": "session_ended"}


def test_an_analyst_upload_of_another_system_is_refused_on_the_page(db):
    at = as_user(app(), "analyst", "经济分析员", ("系统0",)).run()
    at.switch_page("pages/upload.py").run()
    at.file_uploader(key="files").upload("q.csv", csv_bytes([org(1, unit=0), org(2, unit=1)]), "text/csv").run()
    at.button(key="load").click().run()
    assert any("系统1" in e.value and "不在你负责范围内" in e.value for e in at.error)
    with store.connect(db) as con:
        assert batches.history(con).empty


OIDC = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "s", "client_id": "c",
        "client_secret": "x", "server_metadata_url": "http://idp.example/.well-known/openid-configuration"}  # fmt: skip


@pytest.mark.parametrize(
    ("email", "signed_in"),
    [
        (" Zhang.San@District.example.cn", True),
        ("ｚｈａｎｇ.ｓａｎ@district.example.cn", True),
        ("li.si@example.cn", False),
    ],
)
def test_the_identity_provider_sign_in_finds_the_account_by_the_canonical_email(db, email, signed_in):
    """With [auth] configured the login page offers 统一身份认证登录; the e-mail st.user carries after st.login is
    looked up by the canonical rule: any spelling of an opened account signs in as it, another is refused."""
    with store.connect(db) as con:
        auth.add_user(con, "管理员", PASSWORD, "admin")
        auth.add_user(con, "zhang.san@district.example.cn", PASSWORD, "leader")
    at = app()
    at.secrets["auth"] = OIDC
    at.user = {"is_logged_in": False}
    at.run()
    assert [b.label for b in at.button if b.key == "oidc_login"] == ["统一身份认证登录"]
    assert "user" not in at.session_state
    at.user = {"is_logged_in": True, "email": email}
    at.run()
    if signed_in:
        assert at.session_state["user"] == auth.User("zhang.san@district.example.cn", "leader")
    else:
        assert "user" not in at.session_state
        assert any("尚未在本系统开户" in e.value for e in at.error)
