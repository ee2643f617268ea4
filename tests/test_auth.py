"""Accounts, lockout, audit log and guarded data changes, on real DuckDB files."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from analytics.accounts import access, audit, auth
from analytics.ingest.records import ingest_bytes
from analytics.scoring import rubric_versions
from analytics.scoring.rubric import RubricError
from analytics.store import batches
from analytics.store import database as store
from tests import pg
from tests.records import csv_bytes, org

PASSWORD = "s3cret-pass"


@pytest.fixture
def con(db):
    """An open store on each backend in turn (tests/conftest.py `db`)."""
    with store.connect(db) as connection:
        yield connection


def actions(con) -> list[tuple[str, str]]:
    events = audit.events(con)
    return list(zip(events["user_name"], events["action"], strict=True))[::-1]  # oldest first


def test_passwords_are_stored_only_as_argon2_hashes(con, db):
    auth.add_user(con, "甲", PASSWORD, "leader")
    stored = con.execute("SELECT password_hash FROM users").fetchall()[0][0]
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    if isinstance(db, str):  # PostgreSQL: every column of every row the server holds
        assert PASSWORD not in str(pg.rows(db, "SELECT * FROM users"))
        assert pg.rows(db, "SELECT password_hash FROM users") == [(stored,)]
    else:
        con.execute("CHECKPOINT")
        assert PASSWORD.encode() not in db.read_bytes()


def test_a_hash_made_under_other_parameters_still_signs_in_and_is_rehashed_to_the_policy(con):
    from argon2 import PasswordHasher

    auth.add_user(con, "丙", PASSWORD, "leader")
    old = PasswordHasher().hash(PASSWORD)  # argon2-cffi's default (64 MiB, 3 passes, 4 lanes): the earlier policy
    con.execute("UPDATE users SET password_hash = $h WHERE name = '丙'", {"h": old})
    assert auth.authenticate(con, "丙", PASSWORD).name == "丙"
    stored = con.execute("SELECT password_hash FROM users WHERE name = '丙'").fetchall()[0][0]
    assert stored != old and stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")  # OWASP's setting
    assert auth.authenticate(con, "丙", PASSWORD).name == "丙"  # the new hash checks the same password
    with pytest.raises(auth.AuthError):
        auth.authenticate(con, "丙", "wrong-password")


def test_login_with_the_right_password_returns_the_role_and_scope(con):
    auth.add_user(con, "乙", PASSWORD, "analyst", ("经济系统",))
    user = auth.authenticate(con, "乙", PASSWORD)
    assert (user.name, user.role, user.systems) == ("乙", "analyst", ("经济系统",))
    assert actions(con)[-1] == ("乙", "login_ok")


def test_five_wrong_passwords_lock_the_account_for_fifteen_minutes(con):
    auth.add_user(con, "丙", PASSWORD, "leader")
    start = dt.datetime(2024, 5, 1, 9, 0)
    for attempt in range(5):
        with pytest.raises(auth.AuthError):
            auth.authenticate(con, "丙", "wrong", now=start + dt.timedelta(seconds=attempt))
    with pytest.raises(auth.AuthError, match="锁定"):  # even the right password is refused while locked
        auth.authenticate(con, "丙", PASSWORD, now=start + dt.timedelta(minutes=14))
    assert auth.authenticate(con, "丙", PASSWORD, now=start + dt.timedelta(minutes=16)).name == "丙"
    assert actions(con).count(("丙", "login_failed")) == 6


def test_four_failures_then_a_success_reset_the_count(con):
    auth.add_user(con, "丁", PASSWORD, "leader")
    for _ in range(4):
        with pytest.raises(auth.AuthError, match="不正确"):
            auth.authenticate(con, "丁", "wrong")
    auth.authenticate(con, "丁", PASSWORD)
    for _ in range(4):  # would lock at the 5th since the reset, not at the 1st
        with pytest.raises(auth.AuthError, match="不正确"):
            auth.authenticate(con, "丁", "wrong")


def test_unknown_user_and_wrong_password_get_the_same_message(con):
    auth.add_user(con, "戊", PASSWORD, "leader")
    with pytest.raises(auth.AuthError) as unknown:
        auth.authenticate(con, "无此人", PASSWORD)
    with pytest.raises(auth.AuthError) as wrong:
        auth.authenticate(con, "戊", "wrong")
    assert str(unknown.value) == str(wrong.value)
    assert str(wrong.value).startswith("用户名或密码不正确。")


def test_disabled_accounts_cannot_sign_in_and_admins_reset_passwords(con):
    admin = auth.add_user(con, "管理员", PASSWORD, "admin")
    auth.add_user(con, "己", PASSWORD, "leader")
    auth.set_disabled(con, admin, "己", True)
    with pytest.raises(auth.AuthError, match="停用"):
        auth.authenticate(con, "己", PASSWORD)
    assert auth.current(con, "己") is None
    auth.set_disabled(con, admin, "己", False)
    auth.reset_password(con, admin, "己", "another-pass")
    assert auth.authenticate(con, "己", "another-pass").name == "己"
    with pytest.raises(auth.AuthError, match="只有管理员"):
        auth.reset_password(con, auth.User("己", "leader"), "管理员", "hijacked-pass")


def test_users_change_their_own_password_only_with_the_old_one(con):
    auth.add_user(con, "庚", PASSWORD, "leader")
    with pytest.raises(auth.AuthError, match="原密码"):
        auth.change_password(con, "庚", "wrong", "new-password-1")
    auth.change_password(con, "庚", PASSWORD, "new-password-1")
    assert auth.authenticate(con, "庚", "new-password-1").name == "庚"


@pytest.mark.parametrize(("name", "password", "role", "message"), [
    ("", PASSWORD, "leader", "用户名不能为空"),
    ("辛", "short", "leader", "至少需要 8 个字符"),
    ("辛", PASSWORD, "boss", "角色应为"),
])  # fmt: skip
def test_bad_accounts_are_refused_in_chinese(con, name, password, role, message):
    with pytest.raises(auth.AuthError, match=message):
        auth.add_user(con, name, password, role)
    assert not auth.has_users(con)


def test_a_name_cannot_be_taken_twice(con):
    auth.add_user(con, "壬", PASSWORD, "leader")
    with pytest.raises(auth.AuthError, match="已存在"):
        auth.add_user(con, "壬", PASSWORD, "admin")
    assert len(auth.users(con)) == 1


def upload(rows: list[dict]):
    data = csv_bytes(rows)
    return ingest_bytes(data, "q.csv"), data


def test_a_leader_cannot_upload_or_roll_back_even_through_the_library(con):
    leader = auth.User("领导", "leader")
    with pytest.raises(access.AccessDenied, match="上传数据"):
        access.load_as(con, leader, [upload([org(1)])])
    assert batches.history(con).empty
    assert actions(con)[-1] == ("领导", "denied")


def test_an_analyst_cannot_upload_rows_of_another_system_and_is_told_which(con):
    analyst = auth.User("分析员", "analyst", ("系统0",))
    with pytest.raises(access.AccessDenied, match="系统1、系统2"):
        access.load_as(con, analyst, [upload([org(1, unit=0), org(2, unit=1), org(3, unit=2)])])
    assert batches.history(con).empty
    results = access.load_as(con, analyst, [upload([org(1, unit=0), org(4, unit=3)])])  # units 0 and 3: 系统0
    assert results[0].rows == 2
    detail = json.loads(audit.events(con, action="upload")["detail"][0])
    assert (detail["batch"], detail["file"], len(detail["sha256"])) == (1, "q.csv", 64)


def test_an_analyst_cannot_roll_back_another_systems_batch(con):
    admin = auth.User("管理员", "admin")
    access.load_as(con, admin, [upload([org(1, unit=1)])])  # 系统1
    analyst = auth.User("分析员", "analyst", ("系统0",))
    with pytest.raises(access.AccessDenied, match="系统1"):
        access.rollback_as(con, analyst, 1)
    assert batches.history(con)["status"].tolist() == ["active"]
    access.rollback_as(con, auth.User("全部系统分析员", "analyst"), 1)  # no scope = all systems
    assert batches.history(con)["status"].tolist() == ["rolled_back"]
    assert ("全部系统分析员", "rollback") in actions(con)


def test_a_saved_rubric_is_in_force_and_audited_with_old_and_new_version(con):
    admin = auth.User("管理员", "admin")
    text = rubric_versions.edited_text(rubric_versions.active_text(con), {"S8": 20}, {}, {"version": "测试版"})
    old = rubric_versions.active(con).version
    rubric_versions.save(con, admin, text)
    assert rubric_versions.active(con).indicator("S8").weight == 20
    detail = json.loads(audit.events(con, action="rubric_change")["detail"][0])
    assert detail == {"old_version": old, "new_version": "测试版"}
    with pytest.raises(RubricError, match="已经用过"):
        rubric_versions.save(con, admin, text)
    with pytest.raises(access.AccessDenied):
        rubric_versions.save(con, auth.User("分析员", "analyst"), text.replace("测试版", "另一版"))


def test_the_audit_log_filters_by_user_action_and_day(con):
    auth.add_user(con, "癸", PASSWORD, "leader", actor="管理员")
    with pytest.raises(auth.AuthError):
        auth.authenticate(con, "癸", "wrong")
    assert audit.events(con, user="癸", action="login_failed").shape[0] == 1
    assert audit.events(con, user="管理员")["action"].tolist() == ["user_add"]
    tomorrow = dt.date.today() + dt.timedelta(days=1)
    assert audit.events(con, since=tomorrow).empty


# ---- issue 19: one identity per account, guesses counted one by one
@pytest.mark.parametrize("spelling", [" 甲", "甲　", "\u200b甲", "甲\t"])
def test_another_spelling_of_a_name_is_the_same_account_and_cannot_escape_its_lockout(con, spelling: str):
    auth.add_user(con, "甲", PASSWORD, "leader")
    for _ in range(auth.MAX_FAILURES - 1):
        with pytest.raises(auth.AuthError, match="用户名或密码不正确"):
            auth.authenticate(con, spelling, "wrong-password")
    with pytest.raises(auth.AuthError, match="已锁定"):
        auth.authenticate(con, spelling, "wrong-password")
    with pytest.raises(auth.AuthError, match="已锁定"):  # the right password, any spelling: still locked
        auth.authenticate(con, spelling, PASSWORD)
    with pytest.raises(auth.AuthError, match="已锁定"):
        auth.authenticate(con, "甲", PASSWORD)
    assert {u for u, a in actions(con) if a == "login_failed"} == {"甲"}  # audited under the account's name


def test_full_width_and_spaced_names_cannot_be_created_twice(con):
    auth.add_user(con, "li4", PASSWORD, "leader")
    for twin in ("ｌｉ４", " li4", "l i 4"):
        with pytest.raises(auth.AuthError, match="已存在"):
            auth.add_user(con, twin, PASSWORD, "admin")
    assert auth.authenticate(con, "ｌｉ４", PASSWORD).name == "li4"
    assert auth.users(con)["name"].tolist() == ["li4"]


def test_letter_case_does_not_make_another_account_nor_escape_the_lockout(con):
    auth.add_user(con, "ZhangSan", PASSWORD, "leader")
    for twin in ("zhangsan", "ZHANGSAN"):
        with pytest.raises(auth.AuthError, match="已存在（与已有的「ZhangSan」只差大小写"):
            auth.add_user(con, twin, PASSWORD, "admin")
    with pytest.raises(auth.AuthError, match="已存在"):
        auth.add_user(con, "Ｚｈａｎｇ Ｓａｎ", PASSWORD, "admin")  # the same canonical name as created
    for _ in range(auth.MAX_FAILURES):
        with pytest.raises(auth.AuthError):
            auth.authenticate(con, "zhangsan", "wrong-password")
    with pytest.raises(auth.AuthError, match="已锁定"):
        auth.authenticate(con, "ZhangSan", PASSWORD)
    admin = auth.add_user(con, "管理员", PASSWORD, "admin")
    auth.reset_password(con, admin, "ZHANGSAN", "another-horse-2")  # lifts the lock, on the stored account
    assert auth.authenticate(con, "zhangSAN", "another-horse-2").name == "ZhangSan"  # shown as created
    auth.set_disabled(con, admin, "zhangsan", True)
    assert auth.current(con, "ZhangSan") is None
    assert {u for u, a in actions(con) if a == "login_failed"} == {"ZhangSan"}
    assert auth.users(con)["name"].tolist().count("ZhangSan") == 1


def test_the_identity_providers_email_is_looked_up_by_the_same_rule(con):
    """The OIDC entry (st.login): the e-mail the provider vouches for, in any spelling, is the one account."""
    auth.add_user(con, "zhang.san@district.example.cn", PASSWORD, "leader")
    for spelling in (
        "zhang.san@district.example.cn",
        " Zhang.San@District.example.cn",
        "ｚｈａｎｇ.ｓａｎ@district.example.cn",
    ):
        assert auth.external_user(con, spelling) == auth.User("zhang.san@district.example.cn", "leader")
    for unknown in ("li.si@district.example.cn", "", None, "x" * 1_000_000):
        with pytest.raises(auth.AuthError, match="尚未在本系统开户"):
            auth.external_user(con, unknown)
    events = audit.events(con)
    assert set(events[events["action"] == "login_failed"]["user_name"]) == {auth.UNKNOWN_NAME}
    assert events["detail"].str.len().max() < 200  # the million-character name never reached the log
    ok = events[events["action"] == "login_ok"]
    assert len(ok) == 3 and {json.loads(d)["method"] for d in ok["detail"]} == {"oidc"}
    admin = auth.add_user(con, "管理员", PASSWORD, "admin")
    auth.set_disabled(con, admin, "zhang.san@district.example.cn", True)
    with pytest.raises(auth.AuthError, match="已停用"):
        auth.external_user(con, "zhang.san@district.example.cn")


def test_parallel_wrong_guesses_are_counted_one_by_one_and_lock_the_account(con, db):
    import threading

    auth.add_user(con, "乙", PASSWORD, "leader")
    refused: list[str] = []

    def guess() -> None:
        with store.connect(db) as own:
            try:
                auth.authenticate(own, "乙", "wrong-password")
            except auth.AuthError as exc:
                refused.append(str(exc))

    threads = [threading.Thread(target=guess) for _ in range(30)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(refused) == 30
    failed = [json.loads(d) for d in audit.events(con, user="乙", action="login_failed")["detail"]]
    counted = [d for d in failed if d["reason"] == "wrong_password"]
    # every wrong guess that reached the password check was counted; every fifth of them set the lock
    assert sum(d["locked"] for d in counted) == len(counted) // auth.MAX_FAILURES >= 1
    with pytest.raises(auth.AuthError, match="已锁定"):
        auth.authenticate(con, "乙", PASSWORD)


def test_a_name_without_an_account_is_never_written_to_the_audit_log(con):
    typed = "my-secret-password-typed-in-the-wrong-box" + "x" * 2_000_000
    with pytest.raises(auth.AuthError, match="用户名或密码不正确"):
        auth.authenticate(con, typed, "whatever-1")
    log = audit.events(con, action="login_failed")
    assert log["user_name"].tolist() == [auth.UNKNOWN_NAME]
    assert "secret" not in log["detail"].iloc[0] and len(log["detail"].iloc[0]) < 100
