"""审计日志 (admin): who did what and when, filterable and downloadable."""

import datetime as dt

import streamlit as st

from analytics.accounts import audit
from analytics.meeting.exports import xlsx_bytes
from pages._session import ensure_app_frame
from pages._ui import audited, connection, show_table

ensure_app_frame("admin")
st.title("审计日志")
cols = st.columns(4)
action = cols[0].selectbox(
    "操作", [None, *audit.ACTIONS], format_func=lambda a: "全部" if a is None else audit.ACTIONS[a]
)
name = cols[1].text_input("用户名（留空为全部）").strip() or None
since = cols[2].date_input("起始日期", dt.date.today() - dt.timedelta(days=30))
until = cols[3].date_input("截止日期", dt.date.today())
with connection() as con:
    events = audit.events(con, user=name, action=action, since=since, until=until)
    verdict = audit.chain_state(con)
(st.success if verdict.intact else st.error)(audit.chain_text(verdict))
table = events.assign(
    action=events["action"].map(audit.ACTIONS), detail=events["detail"].map(audit.detail_text)
).rename(columns={"event_id": "序号", "occurred_at": "时间", "user_name": "用户", "action": "操作", "detail": "详情"})
st.caption(f"共 {len(table)} 条记录。")
show_table(table, column_config={"时间": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm:ss")})
st.download_button(
    "下载（XLSX）",
    audited(lambda: xlsx_bytes({"审计日志": table}), "download", file="审计日志.xlsx", rows=len(table)),
    file_name="审计日志.xlsx",
    icon=":material/download:",
)
