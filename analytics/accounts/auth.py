"""Accounts (SPEC §7): argon2 password hashes, roles, lockout after repeated failures."""

from __future__ import annotations

import datetime as dt
import hashlib
import unicodedata
from dataclasses import dataclass

import duckdb
import pandas as pd
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from analytics.accounts import audit, sessions
from analytics.store import database as store

ROLES = {"admin": "管理员", "analyst": "分析员", "leader": "领导"}
MAX_FAILURES = 5
LOCKOUT = dt.timedelta(minutes=15)
MIN_PASSWORD = 8
MAX_NAME = 64  # characters of a user name (an e-mail address from the identity provider fits)
UNKNOWN_NAME = "（未知用户名）"  # who the audit log says tried a name that has no account
# argon2id at OWASP's first recommended setting (19 MiB, 2 passes, 1 lane): about 25 ms of one core per check.
# argon2-cffi's default (RFC 9106 low-memory: 64 MiB, 3 passes, 4 lanes) cost 0.19 s of CPU per sign-in, more
# than everything else a leader's sign-in and 总览 cost the server together (bench/load.md), and made each
# throttled guess a CPU lever. A stored hash keeps its own parameters; the next sign-in rehashes it to these.
_HASHER = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
# Verifying against this keeps the time of an unknown-name login close to a wrong-password one.
_DUMMY_HASH = _HASHER.hash("not-a-real-password")


class AuthError(store.StoreError):
    """An account operation the user asked for cannot be done; the message says why, in Chinese."""


@dataclass(frozen=True)
class User:
    """A signed-in person: name, role and (for analysts) the systems they may change; empty = all."""

    name: str
    role: str
    systems: tuple[str, ...] = ()

    @property
    def role_name(self) -> str:
        """Chinese name of the role."""
        return ROLES[self.role]


CLI_OPERATOR = User("cli", "admin")


def canonical(name: str) -> str:
    """The one spelling of a user name that every lookup, update, session and audit row uses: Unicode NFKC
    (full-width letters and digits become ordinary ones), with every space and invisible format character
    removed. " 甲", "甲　" and "ｊｉａ" are the accounts "甲", "甲" and "jia". Letter case is kept for display but
    does not make another account: "Jia" finds "jia" (_row), and cannot be created beside it."""
    folded = unicodedata.normalize("NFKC", name)
    return "".join(c for c in folded if not c.isspace() and unicodedata.category(c) not in ("Cf", "Cc"))


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AuthError(f"密码至少需要 {MIN_PASSWORD} 个字符。")
    if password.strip() != password or not password.strip():
        raise AuthError("密码首尾不能是空格。")


def has_users(con: duckdb.DuckDBPyConnection) -> bool:
    """True once any account exists (before that the app asks to create the first admin)."""
    return con.execute("SELECT count(*) FROM users").fetchall()[0][0] > 0


def _row(con: duckdb.DuckDBPyConnection, name: str) -> tuple | None:
    """The stored account of a canonical name, letter case aside: (name as stored, hash, role, systems, disabled,
    failed_logins, locked_until). Every later update names the account by the stored name (row[0])."""
    rows = con.execute(
        "SELECT name, password_hash, role, systems, disabled, failed_logins, locked_until FROM users "
        "WHERE lower(name) = lower($n) ORDER BY name = $n DESC, name LIMIT 1",
        {"n": name},
    ).fetchall()
    return rows[0] if rows else None


def add_user(
    con: duckdb.DuckDBPyConnection,
    name: str,
    password: str,
    role: str,
    systems: tuple[str, ...] = (),
    actor: str = "cli",
    first: bool = False,
) -> User:
    """Create an account (argon2 hash stored, never the password) under the canonical name; AuthError if that
    name is taken (also when spelled another way: full-width, with spaces). first=True: only while no account
    exists at all (the first-run form), decided inside the same transaction as the insert, so two browsers
    submitting at once create one admin."""
    name = canonical(name)
    if not name:
        raise AuthError("用户名不能为空。")
    if len(name) > MAX_NAME:
        raise AuthError(f"用户名最多 {MAX_NAME} 个字符。")
    if role not in ROLES:
        raise AuthError(f"角色应为 {'、'.join(ROLES)} 之一，收到「{role}」。")
    _check_password(password)
    scope = tuple(s.strip() for s in systems if s.strip()) if role == "analyst" else ()
    digest = _HASHER.hash(password)  # slow on purpose: outside the write lock
    with store.transaction(con):
        if first and has_users(con):
            raise AuthError("管理员账户已经创建，请直接登录。")
        if (taken := _row(con, name)) is not None:
            same = "" if taken[0] == name else f"（与已有的「{taken[0]}」只差大小写、全角半角或空格）"
            raise AuthError(f"用户名「{name}」已存在{same}。")
        con.execute(
            "INSERT INTO users VALUES ($n, $h, $r, $s, false, 0, NULL, $at, $by)",
            {"n": name, "h": digest, "r": role, "s": list(scope), "at": dt.datetime.now(), "by": actor},
        )
        audit.record(con, actor, "user_add", name=name, role=role, systems=list(scope))
    return User(name, role, scope)


def authenticate(con: duckdb.DuckDBPyConnection, name: str, password: str, now: dt.datetime | None = None) -> User:
    """The user for a correct name and password; AuthError (Chinese, not saying which was wrong) otherwise.

    The name is looked up, counted and audited in its canonical spelling, so no other spelling of an account
    escapes its lockout; a failure is counted by one atomic increment, so parallel guesses count one by one."""
    now = now or dt.datetime.now()
    key = canonical(name)
    row = _row(con, key) if 0 < len(key) <= MAX_NAME else None
    if row is None:
        _verify(_DUMMY_HASH, password)
        # never the typed text: it may be a password typed into the wrong box, or megabytes of junk
        digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:12]
        _log(con, UNKNOWN_NAME, "login_failed", reason="unknown_user", attempt=digest)
        raise AuthError(f"用户名或密码不正确。连续 {MAX_FAILURES} 次错误将锁定账户 {LOCKOUT.seconds // 60} 分钟。")
    name, hashed, role, systems, disabled, _, locked_until = row
    if disabled:
        _log(con, name, "login_failed", reason="disabled")
        raise AuthError("该账户已停用，请联系管理员。")
    if locked_until is not None and locked_until > now:
        _refuse_locked(con, name, locked_until, now)
    if not _verify(hashed, password):
        _failed(con, name, now)
    rehashed = _HASHER.hash(password) if _HASHER.check_needs_rehash(hashed) else None
    with store.transaction(con):
        if rehashed:  # the same password, under the parameters in force (stored hashes follow the policy)
            con.execute("UPDATE users SET password_hash = $h WHERE name = $n", {"h": rehashed, "n": name})
        # a lock set by a parallel guess while this password was checked still holds
        unlocked = con.execute(
            "UPDATE users SET failed_logins = 0, locked_until = NULL WHERE name = $n "
            "AND (locked_until IS NULL OR locked_until <= $now) RETURNING name",
            {"n": name, "now": now},
        ).fetchall()
        if unlocked:
            audit.record(con, name, "login_ok")
    if not unlocked:
        _refuse_locked(con, name, _row(con, name)[6], now)
    return User(name, role, tuple(systems or ()))


def external_user(con: duckdb.DuckDBPyConnection, email: str | None) -> User:
    """The account of a person the organization's identity provider signed in (OIDC through st.login): the e-mail
    in the same canonical spelling as a typed name, so " Zhang@Example.cn" is the account "zhang@example.cn".
    AuthError when no enabled account has it; both outcomes audited with method oidc."""
    key = canonical(email or "")
    row = _row(con, key) if 0 < len(key) <= MAX_NAME else None
    if row is None:
        digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:12]
        _log(con, UNKNOWN_NAME, "login_failed", reason="unknown_user", attempt=digest, method="oidc")
        raise AuthError("统一身份认证的账户尚未在本系统开户，请联系管理员以该邮箱开设账户。")
    if row[4]:
        _log(con, row[0], "login_failed", reason="disabled", method="oidc")
        raise AuthError("该账户已停用，请联系管理员。")
    _log(con, row[0], "login_ok", method="oidc")
    return User(row[0], row[2], tuple(row[3] or ()))


def _refuse_locked(con: duckdb.DuckDBPyConnection, name: str, locked_until: dt.datetime, now: dt.datetime) -> None:
    minutes = max(1, int((locked_until - now).total_seconds() // 60) + 1)
    _log(con, name, "login_failed", reason="locked")
    raise AuthError(f"连续输错密码次数过多，账户已锁定，请 {minutes} 分钟后再试。")


def _verify(hashed: str, password: str) -> bool:
    try:
        return _HASHER.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


def _log(con: duckdb.DuckDBPyConnection, name: str, action: str, **detail: object) -> None:
    with store.transaction(con):
        audit.record(con, name, action, **detail)


def _failed(con: duckdb.DuckDBPyConnection, name: str, now: dt.datetime) -> None:
    with store.transaction(con):
        # one increment in the database: the count of parallel guesses is exact, and the lock follows from it
        (failures,) = con.execute(
            "UPDATE users SET failed_logins = failed_logins + 1 WHERE name = $n RETURNING failed_logins", {"n": name}
        ).fetchone()
        locked = now + LOCKOUT if failures >= MAX_FAILURES else None
        if locked:
            con.execute(
                "UPDATE users SET failed_logins = 0, locked_until = $l WHERE name = $n", {"l": locked, "n": name}
            )
        audit.record(con, name, "login_failed", reason="wrong_password", locked=locked is not None)
    if locked:
        raise AuthError(f"连续 {MAX_FAILURES} 次密码错误，账户已锁定 {LOCKOUT.seconds // 60} 分钟。")
    # The same words as for an unknown name: the message must not tell which names exist.
    raise AuthError(f"用户名或密码不正确。连续 {MAX_FAILURES} 次错误将锁定账户 {LOCKOUT.seconds // 60} 分钟。")


def current(con: duckdb.DuckDBPyConnection, name: str) -> User | None:
    """The account as stored now (None if deleted or disabled): roles changed by the admin apply at once."""
    row = _row(con, canonical(name))
    if row is None or row[4]:
        return None
    return User(row[0], row[2], tuple(row[3] or ()))


def change_password(con: duckdb.DuckDBPyConnection, name: str, old: str, new: str) -> None:
    """A user's own password change; the old password must be right."""
    row = _row(con, canonical(name))
    if row is None or not _verify(row[1], old):
        raise AuthError("原密码不正确。")
    _set_password(con, row[0], new, row[0], "password_change")


def reset_password(con: duckdb.DuckDBPyConnection, actor: User, name: str, new: str) -> None:
    """Admin sets another user's password (and lifts a lockout)."""
    name = canonical(name)
    _require_admin(con, actor, "password_reset")
    if (row := _row(con, name)) is None:
        raise AuthError(f"用户「{name}」不存在。")
    name = row[0]
    _set_password(con, name, new, actor.name, "password_reset")
    sessions.revoke_user(con, name)  # whoever had the old password is signed out in every browser


def _set_password(con: duckdb.DuckDBPyConnection, name: str, new: str, actor: str, action: str) -> None:
    _check_password(new)
    with store.transaction(con):
        con.execute(
            "UPDATE users SET password_hash = $h, failed_logins = 0, locked_until = NULL WHERE name = $n",
            {"h": _HASHER.hash(new), "n": name},
        )
        audit.record(con, actor, action, name=name)


def set_disabled(con: duckdb.DuckDBPyConnection, actor: User, name: str, disabled: bool) -> None:
    """Admin disables or re-enables an account (never their own)."""
    name = canonical(name)
    _require_admin(con, actor, "user_disable" if disabled else "user_enable")
    if (row := _row(con, name)) is None:
        raise AuthError(f"用户「{name}」不存在。")
    name = row[0]
    if name == actor.name and disabled:
        raise AuthError("不能停用自己的账户。")
    with store.transaction(con):
        con.execute("UPDATE users SET disabled = $d WHERE name = $n", {"d": disabled, "n": name})
        audit.record(con, actor.name, "user_disable" if disabled else "user_enable", name=name)
    if disabled:
        sessions.revoke_user(con, name)


def _require_admin(con: duckdb.DuckDBPyConnection, actor: User, action: str) -> None:
    if actor.role != "admin":
        _log(con, actor.name, "denied", attempted=action)
        raise AuthError("只有管理员可以管理账户。")


def status_text(disabled: bool, locked_until: object, now: dt.datetime | None = None) -> str:
    """已停用, 已锁定（至 2026-12-05 09:15）while a lockout lasts, else 正常."""
    if disabled:
        return "已停用"
    if (
        locked_until is not None
        and not pd.isna(locked_until)
        and pd.Timestamp(locked_until) > (now or dt.datetime.now())
    ):
        return f"已锁定（至 {pd.Timestamp(locked_until):%Y-%m-%d %H:%M}）"
    return "正常"


def users(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Accounts without their hashes: name, role, systems, disabled, locked_until, created_at."""
    return con.execute(
        "SELECT name, role, systems, disabled, locked_until, created_at, created_by FROM users ORDER BY created_at"
    ).df()
