"""整改督办: items from 预警 and lost indicators, checked by the next quarter's data, closed by a person."""

import datetime as dt

import streamlit as st

from analytics.meeting import notices
from analytics.rectify import board, items
from analytics.store import database as store
from pages._cache import current_rubric
from pages._rectify_controls import may_act
from pages._session import ensure_app_frame
from pages._ui import audited, connection, plain, show_table

ensure_app_frame()
names = {i.id: i.name for i in current_rubric().indicators}
st.title("整改督办")
with connection() as con:
    frame, quarters = items.items(con), store.quarters(con)
if frame.empty:
    st.info("还没有整改事项。在“预警”页选中清单中的党组织即可创建；此后每次载入新季度数据都会自动核验。")
    st.stop()

systems = ["全部", *sorted(frame["system"].unique())]
system = st.sidebar.selectbox("所属系统", systems, key="rectify_system")
found = st.sidebar.selectbox(
    "发现季度", ["全部", *sorted(frame["quarter"].unique(), reverse=True)], key="rectify_found"
)
chosen = frame if system == "全部" else frame[frame["system"] == system]
chosen = chosen if found == "全部" else chosen[chosen["quarter"] == found]
for column, (name, count) in zip(st.columns(5), board.status_counts(chosen).items(), strict=True):
    column.metric(name, count)

waiting = chosen[chosen["status"].eq("to_verify") & chosen["evidence"].notna()]
if len(waiting):
    with st.expander(f"待核验：数据显示已整改的 {len(waiting)} 项，请核对后销号", expanded=True):
        for row in waiting.head(20).itertuples():
            st.markdown(f"- {plain(row.unit)} {plain(row.org_name)}：{plain(board.evidence_text(row.evidence))}")
listed, units, over_time, papers = st.tabs(["事项清单", "按单位统计", "整改趋势", "台账与督办通知"])
with papers:
    ledger = audited(lambda: notices.ledger_xlsx(chosen, names), "export", files=["整改台账.xlsx"])
    st.download_button(
        "下载整改台账（XLSX）", ledger, file_name="整改台账.xlsx", icon=":material/download:", key="ledger"
    )
    pending = sorted(chosen.loc[~chosen["status"].eq("closed"), "unit"].unique())
    if pending:
        unit = st.selectbox("督办通知：选择单位", pending, key="notice_unit")
        notice = f"督办通知_{unit}.docx"
        made = audited(lambda: notices.notice_bytes(chosen, unit, names, dt.date.today()), "export", files=[notice])
        st.download_button("下载督办通知（DOCX）", made, file_name=notice, icon=":material/download:", key="notice")
with units:
    show_table(board.by_group(chosen, ["system", "unit"]))
    st.caption("按系统：")
    show_table(board.by_group(chosen, ["system"]))
with over_time:
    show_table(board.trend(chosen, quarters))
    st.caption(
        "新发现：该季度数据发现的问题所建事项；数据显示已整改：该季度数据显示已整改的事项；期末未整改：截至该季度末仍未整改的事项。"
    )
with listed:
    statuses = st.multiselect(
        "状态", list(items.STATUS.values()), default=None, key="rectify_status", placeholder="全部状态"
    )
    shown = chosen[chosen["status_name"].isin(statuses)] if statuses else chosen
    picked = show_table(board.listing(shown, names), on_select="rerun", selection_mode="multi-row", key="rectify_items")
    rows = shown.iloc[picked.selection.rows] if picked is not None else shown.iloc[[]]
    if len(rows) == 1:
        with connection() as con:
            history = board.history_listing(items.history(con, int(rows["item_id"].iloc[0])))
        st.caption(f"事项 {int(rows['item_id'].iloc[0])} 的办理记录：")
        show_table(history)
    if len(rows) and may_act():
        st.divider()
        move = st.radio("办理", list(board.MOVE_NAMES), format_func=board.MOVE_NAMES.get, horizontal=True, key="move")
        note = st.text_input("办理意见（销号时必填）", key="rectify_note", max_chars=200)
        if st.button(f"对选中的 {len(rows)} 项执行", type="primary", key="rectify_apply"):
            try:
                with connection() as con:
                    done = items.change(con, st.session_state["user"], rows["item_id"].tolist(), move, note)
            except store.StoreError as exc:
                st.error(plain(exc))
            else:
                st.success(f"已办理 {len(done)} 项：{board.MOVE_NAMES[move]}。")
                st.rerun()
    elif not len(rows):
        st.caption("选中清单中的事项可查看办理记录" + ("并办理。" if may_act() else "。"))
