"""首页: what is loaded — quarters, organizations, last upload."""

import streamlit as st

from analytics.accounts.access import can
from pages._session import ensure_app_frame
from pages._ui import cached_overview, data_version, db_file, read_or_stop, upload_link

user = ensure_app_frame()
st.title("党建质量看板")
st.caption("区直机关基层党组织建设质量 · 季度数据")

overview = read_or_stop(cached_overview, db_file(), data_version())
if overview.empty:
    st.info(
        "还没有任何数据。请先到「数据上传」页面上传季度报表，或在命令行运行 `python -m analytics demo` 载入演示数据。"
    )
    upload_link()
    st.stop()

latest = overview.iloc[-1]
cols = st.columns(4)
cols[0].metric("已有季度", f"{len(overview)} 个", help="、".join(overview["quarter"]))
cols[1].metric(f"{latest['quarter']} 党组织数", int(latest["organizations"]))
cols[2].metric(f"{latest['quarter']} 单位数", int(latest["units"]))
cols[3].metric("最近上传", overview["last_upload"].max().strftime("%m-%d %H:%M"))

st.subheader("各季度数据")
table = overview.rename(
    columns={
        "quarter": "季度",
        "organizations": "党组织数",
        "units": "单位数",
        "systems": "系统数",
        "batches": "有效批次",
        "last_upload": "最近上传",
    }
)
st.dataframe(table, hide_index=True, width="stretch")
if can(user, "rollback"):
    st.page_link("pages/batches.py", label="查看全部批次", icon=":material/inventory_2:")
