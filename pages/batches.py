"""批次管理: every upload as a batch — details, original file, rollback with confirmation."""

import streamlit as st

from analytics import uploads
from analytics.store import batches
from analytics.store import database as store
from pages._session import ensure_app_frame
from pages._ui import audited, cached_batches, changes_table, connection, data_version, db_file, read_or_stop

user = ensure_app_frame("rollback")
st.title("批次管理")
for kind, message in st.session_state.pop("batches_flash", []):  # what the last rollback did, over fresh state
    getattr(st, kind)(message)
frame = read_or_stop(cached_batches, db_file(), data_version())
if frame.empty:
    st.info("还没有载入任何批次。")
    st.page_link("pages/upload.py", label="去上传数据", icon=":material/upload_file:")
    st.stop()

STATUS = {"active": "有效", "rolled_back": "已回退"}
table = frame.assign(status=frame["status"].map(STATUS), uploader=frame["uploader"].map(batches.uploader_name))[
    ["id", "quarter", "file", "rows", "new_count", "changed_count", "skipped_count", "status", "created_at", "uploader"]
].rename(
    columns={
        "id": "批次",
        "quarter": "季度",
        "file": "文件",
        "rows": "党组织数",
        "new_count": "新增",
        "changed_count": "变更",
        "skipped_count": "跳过的错误行",
        "status": "状态",
        "created_at": "载入时间",
        "uploader": "上传人",
    }
)
st.dataframe(table.iloc[::-1], hide_index=True, width="stretch")

ids = frame["id"].tolist()[::-1]
labels = {row.id: f"批次 {row.id} · {row.quarter} · {row.file} · {STATUS[row.status]}" for row in frame.itertuples()}
chosen = st.selectbox("选择批次", ids, format_func=labels.get, key="batch")
batch = frame.set_index("id").loc[chosen]

with connection() as con:
    changes = batches.batch_changes(con, chosen)
    original = batches.batch_file(con, chosen)
st.write(f"该批次载入了 {len(changes)} 个党组织的数据。")
st.dataframe(changes_table(changes), hide_index=True, width="stretch")
if original:
    name, content = original
    read_out = audited(lambda: content, "download", file=name, batch=int(chosen))
    st.download_button("下载原始文件", read_out, file_name=name, key="download")

if batch["status"] != "active":
    st.caption(f"该批次已于 {batch['rolled_back_at']:%Y-%m-%d %H:%M} 由 {batch['rolled_back_by']} 回退。")
    st.stop()

st.divider()
confirm = st.checkbox(f"我确认要回退批次 {chosen}：撤下它载入的数据，并恢复它替换掉的旧数据", key="confirm")
if st.button("回退此批次", type="primary", disabled=not confirm, key="rollback"):
    with connection() as con:
        try:
            result = uploads.rollback_as(con, user, int(chosen))
        except store.StoreError as exc:
            st.error(str(exc))
            st.stop()
    flash = [
        ("success", f"批次 {result.batch_id} 已回退：撤下 {result.withdrawn} 行，恢复此前数据 {result.restored} 行。")
    ]
    if result.kept_by_later:
        later = "、".join(map(str, result.kept_by_later))
        flash.append(("info", f"该批次的部分党组织此后已被批次 {later} 更新，保留较新的数据。"))
    # run the page again: the table, the status and the button show the batch as rolled back at once
    st.session_state["batches_flash"] = flash
    st.session_state.pop("confirm", None)
    st.rerun()
