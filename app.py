"""党建质量看板: the frame around the pages (page config and navigation)."""

import streamlit as st

st.set_page_config(page_title="党建质量看板", page_icon=":material/flag:", layout="wide")

pages = {
    "概况": [st.Page("pages/home.py", title="首页", icon=":material/home:", default=True)],
    "数据管理": [
        st.Page("pages/upload.py", title="数据上传", icon=":material/upload_file:"),
        st.Page("pages/batches.py", title="批次管理", icon=":material/inventory_2:"),
    ],
}
st.navigation(pages).run()
