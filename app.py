"""党建质量看板: the frame around the pages (page config, sign-in, role-based navigation)."""

import streamlit as st

from analytics.store import database as store
from pages._cache import warm_up
from pages._session import login_page, navigation_for, sign_out, signed_in

st.set_page_config(page_title="党建质量看板", page_icon=":material/flag:", layout="wide")


def run() -> None:
    """Sign-in, then the navigation of the user's role, and the page they chose."""
    user = signed_in()
    if user is None:
        st.navigation([st.Page(login_page, title="登录", icon=":material/login:")]).run()
        st.stop()

    pages = {
        group: [
            st.Page(path, title=title, icon=icon, default=path == "pages/overview.py") for path, title, icon in entries
        ]
        for group, entries in navigation_for(user).items()
    }
    with st.sidebar:
        st.caption(f"当前用户：{user.name}（{user.role_name}）")
        if st.button("退出登录", icon=":material/logout:", key="logout"):
            sign_out()
            st.rerun()
    try:
        # expanded: every page the role may use stays listed (no English "View more" folding the admin pages away)
        st.navigation(pages, expanded=True).run()
    finally:
        warm_up()  # signed in only: an anonymous visitor never makes the server compute


# The database instance stays open for this run only: a page connects a dozen times, each then a lookup
with store.held():
    run()
