"""表头对应 (admin): headers the template did not know, as analysts confirmed them; a wrong one can be removed."""

import streamlit as st

from analytics import mappings
from analytics.store import database as store
from pages._session import ensure_app_frame
from pages._ui import connection, show_table

user = ensure_app_frame("admin")
st.title("表头对应")
st.caption(
    "上传时遇到模板中没有的表头，分析员确认它对应哪一列（或忽略）后记录在此，以后的上传照此读取。"
    "删除一条后，下次遇到该表头会重新询问。"
)
with connection() as con:
    listing = mappings.listing(con)
if listing.empty:
    st.info("还没有确认过的表头对应关系。")
    st.stop()
table = listing[["header", "column", "confirmed_by", "confirmed_at"]].rename(
    columns={"header": "文件中的表头", "column": "对应的模板列", "confirmed_by": "确认人", "confirmed_at": "确认时间"}
)
show_table(table, column_config={"确认时间": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm")})

headers = dict(zip(listing["header_key"], listing["header"], strict=True))
chosen = st.selectbox("删除一条对应关系", list(headers), format_func=headers.get, key="remove_key")
if st.button("删除", key="remove"):
    try:
        with connection() as con:
            mappings.remove(con, user, chosen)
    except store.StoreError as exc:
        st.error(str(exc))
        st.stop()
    st.rerun()  # the table above shows the mapping gone
