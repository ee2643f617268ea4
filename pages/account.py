"""我的账户: who I am, and changing my own password."""

import streamlit as st

from analytics.accounts import auth
from pages._session import ensure_app_frame
from pages._ui import connection

user = ensure_app_frame()
st.title("我的账户")
st.write(f"用户名：{user.name}　角色：{user.role_name}")
if user.role == "analyst":
    st.write("负责的系统：" + ("、".join(user.systems) if user.systems else "全部系统"))

with st.form("change_password", clear_on_submit=True):
    st.subheader("修改密码")
    old = st.text_input("原密码", type="password", key="old_password")
    new = st.text_input(f"新密码（至少 {auth.MIN_PASSWORD} 个字符）", type="password", key="new_password")
    again = st.text_input("再次输入新密码", type="password", key="again_password")
    submitted = st.form_submit_button("修改密码", type="primary")
if submitted:
    if new != again:
        st.error("两次输入的新密码不一致。")
    else:
        try:
            with connection() as con:
                auth.change_password(con, user.name, old, new)
            st.success("密码已修改。")
        except auth.AuthError as exc:
            st.error(str(exc))
