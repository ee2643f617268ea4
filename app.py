"""党建质量看板: the frame around the pages (page config, sign-in, role-based navigation)."""

from pathlib import Path

import streamlit as st

from analytics.store import database as store
from pages._cache import warm_up
from pages._session import NAVIGATION, keep_signed_in, login_page, navigation_for, sign_out, signed_in

st.set_page_config(page_title="党建质量看板", page_icon="🚩", layout="wide")


def run() -> None:
    """Sign-in, then the navigation of the user's role, and the page they chose."""
    user = signed_in()
    if user is None:
        # Every page's address leads to the sign-in form (no English "Page not found"); once signed in, the
        # same address is that page: a link opened signed out lands where it points after the sign-in.
        # ("app": where a page of a fresh server's first session sends the browser, see ensure_app_frame)
        addresses = ["app", *(Path(path).stem for entries in NAVIGATION.values() for path, *_ in entries)]
        forms = [st.Page(login_page, title="登录", icon=":material/login:", default=True)]
        forms += [st.Page(login_page, title="登录", url_path=address) for address in addresses]
        asked = st.navigation(forms, position="hidden")
        if asked.url_path not in ("", "app"):  # where to go once signed in (or ensure_app_frame said so)
            st.session_state["after_login"] = asked.url_path
        asked.run()
        st.stop()
    overview = "pages/overview.py"
    pages = {
        group: [
            # 总览 is served at "/"; its own name is left free for the /overview alias below
            st.Page(
                path, title=title, icon=icon, default=path == overview, url_path="start" if path == overview else None
            )
            for path, title, icon in entries
        ]
        for group, entries in navigation_for(user).items()
    }
    # 总览 also answers, unlisted, to its file name (an old link or bookmark) and to the address ensure_app_frame
    # sends a fresh server's first session to: never an English "Page not found"
    pages["看板"] += [
        st.Page(overview, title="总览", url_path=alias, visibility="hidden") for alias in ("overview", "app")
    ]
    with st.sidebar:
        st.caption(f"当前用户：{user.name}（{user.role_name}）")
        if st.button("退出登录", icon=":material/logout:", key="logout"):
            sign_out()
            st.rerun()
    try:
        # expanded: every page the role may use stays listed (no English "View more" folding the admin pages away)
        chosen = st.navigation(pages, expanded=True)
        if asked := st.session_state.pop("after_login", None):  # signed in from a page's link: go to that page
            wanted = [page for entries in pages.values() for page in entries if page.url_path == asked]
            if wanted and wanted[0].url_path != chosen.url_path:
                st.switch_page(wanted[0])
        keep_signed_in()  # after any switch: the ticket's script must reach the page that stays
        chosen.run()
    finally:
        warm_up()  # signed in only: an anonymous visitor never makes the server compute


# The database instance stays open for this run only: a page connects a dozen times, each then a lookup
with store.held():
    run()
