"""预警: the lists the committee acts on, each downloadable as XLSX; selected rows become 整改事项."""

import streamlit as st

from analytics.scoring import alerts as warnings
from pages._cache import current_rubric, scores_or_stop
from pages._filters import sidebar_filters, warning_lists
from pages._rectify_controls import create_from_warning, may_act
from pages._session import ensure_app_frame
from pages._ui import audited_workbook, show_table

ensure_app_frame()
current_rubric()
filters = sidebar_filters(scores_or_stop())
st.title(f"{filters.quarter} 预警")
lists = warning_lists(filters)

counts = st.columns(4)
for i, (kind, frame) in enumerate(lists.items()):
    counts[i % 4].metric(warnings.WARNINGS[kind][0], f"{len(frame)}")

named = {warnings.WARNINGS[k][0]: v.rename(columns=warnings.COLUMN_LABELS) for k, v in lists.items()}
# The workbooks are written when a button is clicked, not on every render (a province's lists are long).
everything = f"{filters.quarter}_预警清单.xlsx"
st.download_button(
    "下载全部预警清单（XLSX）",
    audited_workbook(named, everything, filters.quarter),
    file_name=everything,
    icon=":material/download:",
)
for kind, frame in lists.items():
    title, why = warnings.WARNINGS[kind]
    with st.expander(f"{title}（{len(frame)}）", expanded=bool(len(frame))):
        st.caption(why)
        if frame.empty:
            st.success("本季度没有。")
            continue
        if not may_act():
            show_table(frame.rename(columns=warnings.COLUMN_LABELS))
        else:  # analysts and admins select rows to follow up in 整改督办
            picked = show_table(
                frame.rename(columns=warnings.COLUMN_LABELS), on_select="rerun", selection_mode="multi-row",
                key=f"pick_{kind}",
            )  # fmt: skip
            create_from_warning(filters.quarter, kind, frame.iloc[picked.selection.rows])
        one = f"{filters.quarter}_{title}.xlsx"
        st.download_button(
            "下载此清单（XLSX）", audited_workbook({title: named[title]}, one, filters.quarter), file_name=one,
            key=f"dl_{kind}",
        )  # fmt: skip
