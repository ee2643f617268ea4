"""账户管理 (admin): create accounts, assign roles and systems, disable, reset passwords."""

import streamlit as st

from analytics.accounts import auth
from pages._session import ensure_app_frame
from pages._ui import connection, show_table

user = ensure_app_frame("admin")
st.title("账户管理")
for message in st.session_state.pop("users_flash", []):  # the confirmation of the last change, after the rerun
    st.success(message)
with connection() as con:
    accounts = auth.users(con)
table = accounts.assign(
    role=accounts["role"].map(auth.ROLES),
    systems=accounts["systems"].map(lambda s: "、".join(s) if len(s) else "全部"),
    disabled=[auth.status_text(d, until) for d, until in zip(accounts["disabled"], accounts["locked_until"], strict=True)],
).drop(columns="locked_until").rename(
    columns={"name": "用户名", "role": "角色", "systems": "负责系统", "disabled": "状态", "created_at": "创建时间",
             "created_by": "创建人"}
)  # fmt: skip
show_table(table)

with st.form("add_user", clear_on_submit=True):
    st.subheader("新增账户")
    name = st.text_input("用户名", key="new_name")
    role = st.selectbox(
        "角色", list(auth.ROLES), format_func=auth.ROLES.get, key="new_role", index=None, placeholder="请选择角色"
    )
    scope = st.text_input("负责的系统（仅分析员；多个用顿号或逗号分隔，留空表示全部系统）", key="new_systems")
    password = st.text_input(f"初始密码（至少 {auth.MIN_PASSWORD} 个字符）", type="password", key="new_password")
    if st.form_submit_button("新增", type="primary"):
        try:
            if role is None:
                raise auth.AuthError("请选择角色（管理员、分析员或领导）。")
            with connection() as con:
                parts = tuple(p for p in scope.replace("，", "、").replace(",", "、").split("、") if p.strip())
                auth.add_user(con, name, password, role, parts, actor=user.name)
            st.session_state["users_flash"] = [f"已新增账户「{name.strip()}」（{auth.ROLES[role]}）。"]
            st.rerun()
        except auth.AuthError as exc:
            st.error(str(exc))

st.subheader("停用、启用与重置密码")
others = [n for n in accounts["name"] if n != user.name]
if not others:
    st.caption("还没有其他账户。")
    st.stop()
target = st.selectbox("账户", others, key="target")
disabled = bool(accounts.set_index("name").loc[target, "disabled"])
cols = st.columns(2)
if cols[0].button("启用此账户" if disabled else "停用此账户", key="toggle"):
    with connection() as con:
        auth.set_disabled(con, user, target, not disabled)
    st.rerun()
with cols[1].form("reset", clear_on_submit=True):
    new = st.text_input("新密码", type="password", key="reset_password")
    if st.form_submit_button("重置密码"):
        try:
            with connection() as con:
                auth.reset_password(con, user, target, new)
            st.success(f"已重置「{target}」的密码，并解除锁定。")
        except auth.AuthError as exc:
            st.error(str(exc))
