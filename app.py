"""党建质量看板: the frame around the pages (page config and navigation)."""

import streamlit as st

st.set_page_config(page_title="党建质量看板", page_icon=":material/flag:", layout="wide")

pages = {
    "看板": [
        st.Page("pages/overview.py", title="总览", icon=":material/dashboard:", default=True),
        st.Page("pages/standardization.py", title="标准化建设", icon=":material/rule:"),
        st.Page("pages/integration.py", title="党建业务融合", icon=":material/join_inner:"),
        st.Page("pages/imbalance.py", title="单位不平衡", icon=":material/balance:"),
        st.Page("pages/branch.py", title="支部画像", icon=":material/account_tree:"),
        st.Page("pages/alerts.py", title="预警", icon=":material/notifications:"),
    ],
    "数据管理": [
        st.Page("pages/home.py", title="数据概况", icon=":material/database:"),
        st.Page("pages/upload.py", title="数据上传", icon=":material/upload_file:"),
        st.Page("pages/batches.py", title="批次管理", icon=":material/inventory_2:"),
    ],
    "说明": [st.Page("pages/method.py", title="方法说明", icon=":material/menu_book:")],
}
st.navigation(pages).run()
