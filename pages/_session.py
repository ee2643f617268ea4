"""Sign-in for the app frame: first admin, login form, inactivity timeout, the signed-in user."""

from __future__ import annotations

import datetime as dt
import inspect
import json
import os
import secrets
import time
from pathlib import Path

import streamlit as st

from analytics.accounts import access, audit, auth, sessions, throttle
from analytics.accounts.auth import User
from analytics.store import database as store
from pages._ui import connection

USER_KEY = "user"
# ("token", the cookie's token) for a session restored from the cookie; ("ticket", the ticket) for one signed in
# here, whose cookie the page's script obtains (sessions.py): either finds the stored session again
TOKEN_KEY = "session_key"
TICKET_KEY = "session_ticket"  # a fresh sign-in's ticket, posted once by the page's script for the cookie
# (file, title, icon) per navigation group; the action a role needs decides who sees each entry.
NAVIGATION = {
    "看板": [
        ("pages/overview.py", "总览", ":material/dashboard:", "view"),
        ("pages/standardization.py", "标准化建设", ":material/rule:", "view"),
        ("pages/integration.py", "党建业务融合", ":material/join_inner:", "view"),
        ("pages/imbalance.py", "单位不平衡", ":material/balance:", "view"),
        ("pages/branch.py", "支部画像", ":material/account_tree:", "view"),
        ("pages/alerts.py", "预警", ":material/notifications:", "view"),
        ("pages/rectify.py", "整改督办", ":material/assignment_turned_in:", "view"),
        ("pages/annual.py", "年度考核", ":material/calendar_month:", "view"),
        ("pages/export.py", "导出", ":material/download:", "export"),
    ],
    "数据管理": [
        ("pages/home.py", "数据概况", ":material/database:", "view"),
        ("pages/upload.py", "数据上传", ":material/upload_file:", "upload"),
        ("pages/batches.py", "批次管理", ":material/inventory_2:", "rollback"),
    ],
    "管理": [
        ("pages/users.py", "账户管理", ":material/manage_accounts:", "admin"),
        ("pages/rubric_editor.py", "评分细则", ":material/tune:", "admin"),
        ("pages/header_mappings.py", "表头对应", ":material/table_edit:", "admin"),
        ("pages/audit.py", "审计日志", ":material/history:", "admin"),
    ],
    "说明": [
        ("pages/method.py", "方法说明", ":material/menu_book:", "view"),
        ("pages/account.py", "我的账户", ":material/person:", "view"),
    ],
}
# Minutes without any interaction after which a session has to sign in again.
DEFAULT_TIMEOUT_MINUTES = 30


def navigation_for(user: User) -> dict[str, list[tuple[str, str, str]]]:
    """The navigation this user gets: only the pages their role may use (empty groups left out)."""
    out = {}
    for group, entries in NAVIGATION.items():
        allowed = [(path, title, icon) for path, title, icon, action in entries if access.can(user, action)]
        if allowed:
            out[group] = allowed
    return out


def timeout_seconds() -> float:
    """Inactivity limit from $DANGJIAN_SESSION_MINUTES (default 30 minutes)."""
    try:
        return float(os.environ.get("DANGJIAN_SESSION_MINUTES", DEFAULT_TIMEOUT_MINUTES)) * 60
    except ValueError:
        return DEFAULT_TIMEOUT_MINUTES * 60


def _cookie_token() -> str | None:
    """The session cookie the browser sent with this connection (None in AppTest, which has no browser)."""
    try:
        token = st.context.cookies.get(sessions.COOKIE)
    except (AttributeError, RuntimeError):
        return None
    return token if isinstance(token, str) and token else None


def _idle() -> dt.timedelta:
    return dt.timedelta(seconds=timeout_seconds())


def _restore() -> User | None:
    """A browser that reloaded or opened a link: its cookie's valid token signs the new session in again."""
    token = _cookie_token()
    if not token or token == st.session_state.get("refused_token"):
        return None
    with connection() as con:
        name = sessions.user_of(con, token, _idle())
        user = auth.current(con, name) if name else None
    if user is None:
        st.session_state["refused_token"] = token  # looked up once: a stale cookie costs no query per click
        return None
    st.session_state[USER_KEY], st.session_state[TOKEN_KEY] = user, ("token", token)
    st.session_state["last_seen"] = time.time()
    return user


def signed_in() -> User | None:
    """The user of this session, re-read from the database (a disabled account is signed out at once)."""
    user = st.session_state.get(USER_KEY)
    if user is None:
        return _restore()  # just checked against the accounts and the session: no second lookup this run
    last = st.session_state.get("last_seen", time.time())
    if time.time() - last > timeout_seconds():
        sign_out("长时间未操作，已自动退出，请重新登录。", reason="idle_timeout")
        return None
    with connection() as con:
        fresh = auth.current(con, user.name)
        key = st.session_state.get(TOKEN_KEY)
        # signed out in another tab, or the session expired
        if fresh is not None and key and sessions.refused(con, key[1], _idle(), by_ticket=key[0] == "ticket"):
            fresh = None
    if fresh is None:
        sign_out("账户已停用、不存在或登录已失效，请重新登录。", reason="session_ended")
        return None
    st.session_state["last_seen"] = time.time()
    st.session_state[USER_KEY] = fresh
    return fresh


def sign_out(message: str | None = None, reason: str | None = None) -> None:
    """Forget the session's user and refuse its token; the next run shows the login form and drops the cookie.
    Every sign-out of a signed-in user is audited: 退出登录 clicked, or the reason the app signed them out."""
    user = st.session_state.pop(USER_KEY, None)
    st.session_state.pop(TICKET_KEY, None)
    if key := st.session_state.pop(TOKEN_KEY, None):
        with connection() as con:
            sessions.revoke(con, key[1], by_ticket=key[0] == "ticket")
        st.session_state["drop_cookie"] = True  # the login page's script asks serve.py to delete it
    if token := _cookie_token():
        st.session_state["refused_token"] = token
    if user is not None:
        with connection() as con, store.transaction(con):
            audit.record(con, user.name, "logout", **({"reason": reason} if reason else {}))
    if message:
        st.session_state["login_message"] = message


def _script(path: str, headers: dict[str, str]) -> None:
    """Post to one of serve.py's /auth routes from the page (same origin, the cookie rides along)."""
    call = json.dumps({"method": "POST", "credentials": "same-origin", "headers": headers})
    st.html(f"<script>fetch({json.dumps(path)}, {call});</script>", unsafe_allow_javascript=True)


def keep_signed_in() -> None:
    """After a sign-in, the page trades its single-use ticket for the HttpOnly session cookie (serve.py)."""
    if ticket := st.session_state.pop(TICKET_KEY, None):
        _script("/auth/session", {"X-Ticket": ticket})


def _signed_in_now(user: User) -> None:
    """The form's account becomes the session's, with a ticket for the browser's cookie."""
    with connection() as con:
        ticket = sessions.issue_ticket(con, user.name)
    st.session_state[TICKET_KEY], st.session_state[TOKEN_KEY] = ticket, ("ticket", ticket)
    st.session_state[USER_KEY] = user
    st.session_state["last_seen"] = time.time()
    st.session_state.pop("refused_token", None)


def login_page() -> None:
    """The only page before sign-in: create the first admin, or the login form."""
    st.title("党建质量看板")
    with connection() as con:
        first_run = not auth.has_users(con)
    if st.session_state.pop("drop_cookie", False):
        _script("/auth/logout", {})
    if message := st.session_state.pop("login_message", None):
        st.info(message)
    if first_run:
        _first_admin_form()
    else:
        _login_form()


def _oidc_configured() -> bool:
    """Whether .streamlit/secrets.toml has an [auth] section (the organization's identity provider, README)."""
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all: Streamlit raises rather than answer False
        return False


def _identity_provider_sign_in() -> None:
    """Sign-in through the organization's identity provider (st.login): the e-mail it vouches for must be an
    enabled account here, looked up by the same canonical rule as a typed name (auth.external_user)."""
    if not getattr(st.user, "is_logged_in", False):
        st.button("统一身份认证登录", on_click=st.login, key="oidc_login")
        return
    with connection() as con:
        try:
            user = auth.external_user(con, st.user.get("email"))
        except auth.AuthError as exc:
            st.error(str(exc))
            st.button("退出统一身份认证", on_click=st.logout, key="oidc_logout")
            return
    _signed_in_now(user)
    st.rerun()


def _login_form() -> None:
    if _oidc_configured():
        _identity_provider_sign_in()
    with st.form("login"):
        st.subheader("登录")
        name = st.text_input("用户名", key="login_name")
        password = st.text_input("密码", type="password", key="login_password")
        submitted = st.form_submit_button("登录", type="primary")
    if not submitted:
        return
    keys = _guess_keys()
    if (wait := throttle.GUESSES.wait(keys)) > 0:  # refused before the password is even looked at
        st.error(throttle.message(wait))
        return
    with connection() as con:  # AuthError is a StoreError: caught here, before connection() would show it
        try:
            user = auth.authenticate(con, name, password)
        except auth.AuthError as exc:
            throttle.GUESSES.failed(keys)
            st.error(str(exc))
            return
    throttle.GUESSES.succeeded(keys)
    _signed_in_now(user)
    st.rerun()


def _guess_keys() -> list[tuple[str, str]]:
    """What failed sign-ins are counted by: this browser session and, where Streamlit knows it, its address."""
    session = st.session_state.setdefault("guess_key", secrets.token_hex(8))
    keys = [("session", session)]
    address = st.context.ip_address
    if isinstance(address, str) and address:  # None for a local socket (and under AppTest)
        keys.append(("address", address))
    return keys


def _first_admin_form() -> None:
    st.info("这是第一次使用：请先创建管理员账户。之后由管理员在“账户管理”中为分析员和领导开设账户。")
    with st.form("first_admin"):
        name = st.text_input("管理员用户名", key="admin_name")
        password = st.text_input(f"密码（至少 {auth.MIN_PASSWORD} 个字符）", type="password", key="admin_password")
        again = st.text_input("再次输入密码", type="password", key="admin_again")
        submitted = st.form_submit_button("创建管理员", type="primary")
    if not submitted:
        return
    if password != again:
        st.error("两次输入的密码不一致。")
        return
    try:
        with connection() as con:  # first=True: refused when another browser created it meanwhile
            user = auth.add_user(con, name, password, "admin", actor=auth.canonical(name) or "first_run", first=True)
    except auth.AuthError as exc:
        st.error(str(exc))
        return
    _signed_in_now(user)
    st.rerun()


def require_page(action: str = "view") -> User:
    """The signed-in user if their role allows `action`; otherwise a Chinese message and the page stops."""
    user = signed_in()
    if user is None:
        st.warning("请先登录。")
        st.stop()
    if not access.can(user, action):
        st.error(f"当前账户（{user.role_name}）没有“{access.ACTION_NAMES[action]}”的权限。")
        st.stop()
    return user


def ensure_app_frame(action: str = "view"):
    """The signed-in user allowed to do `action`; else a Chinese message and the page stops.

    A session without an account goes to app.py (its sign-in form, or its frame for a browser whose cookie is
    still valid), which then opens this page: app.py runs pages only for signed-in sessions. A page runs alone
    when its address (/upload) is the first a fresh server is asked for, since Streamlit treats pages/ as a
    legacy page folder until some session calls st.navigation.
    """
    if st.session_state.get(USER_KEY) is None:
        caller = inspect.currentframe().f_back.f_globals.get("__file__", "")
        st.session_state["after_login"] = Path(caller).stem  # app.py comes back here once signed in
        st.switch_page("app.py")
    return require_page(action)
