"""Signing a test's AppTest session in as a real account of the test database."""

from __future__ import annotations

import time

from streamlit.testing.v1 import AppTest

from analytics.accounts import auth
from analytics.store import database as store

PASSWORD = "correct-horse-1"


def ensure_user(role: str = "admin", name: str | None = None, systems: tuple[str, ...] = ()) -> auth.User:
    """The account NAME (default: the role's name) in $DANGJIAN_DB, created if missing."""
    name = name or role
    with store.connect(store.db_path()) as con:
        existing = auth.current(con, name)
        return existing or auth.add_user(con, name, PASSWORD, role, systems, actor="tests")


def as_user(at: AppTest, role: str = "admin", name: str | None = None, systems: tuple[str, ...] = ()) -> AppTest:
    """Put a signed-in account into the session before the first run (the login form is tested on its own)."""
    at.session_state["user"] = ensure_user(role, name, systems)
    at.session_state["last_seen"] = time.time()
    return at


def browser_sign_in(playwright, url: str, name: str, password: str):
    """A headless system Chromium page at url, signed in as name; returns (browser, page)."""
    browser = playwright.chromium.launch(
        executable_path="/usr/bin/chromium", headless=True, args=["--no-sandbox", "--disable-gpu"]
    )
    page = browser.new_page()
    page.goto(url, wait_until="domcontentloaded")
    page.get_by_label("用户名").fill(name)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    return browser, page
