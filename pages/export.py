"""导出: the meeting files of the selected quarter and filters — deck, workbook, bulletin, chart images."""

import dataclasses

import streamlit as st

from analytics.charts.images import ImageError
from analytics.meeting import exports, meeting
from pages._cache import current_rubric, scores_or_stop
from pages._filters import quarter_or_stop, sidebar_filters
from pages._session import ensure_app_frame
from pages._ui import connection

LABELS = {
    "pptx": "演示文稿（PPTX，16:9，含讲稿备注）",
    "xlsx": "数据表（XLSX：党组织得分、单位汇总、不平衡指标、预警清单）",
    "docx": "季度通报（DOCX）",
    "png": "全部图表（PNG 图片，打包为 ZIP）",
}

user = ensure_app_frame("export")
rubric = current_rubric()
scored = scores_or_stop()
filters = sidebar_filters(scored)
frame = quarter_or_stop(scored, filters)
chosen = {"system": filters.system, "unit": filters.unit, "org_type": filters.org_type}
scope = " ".join([meeting.DISTRICT, *(v for v in chosen.values() if v)])

st.title(f"{filters.quarter} 导出会议材料")
st.caption(
    f"导出范围：{scope}，{len(frame)} 个党组织。左侧的季度、系统、单位、组织类型决定导出的内容，"
    "例如只选一个系统，就得到该系统的演示文稿、数据表和通报。"
)
picked = [fmt for fmt, label in LABELS.items() if st.checkbox(label, value=fmt != "png", key=f"fmt_{fmt}")]
svg = st.checkbox("图表同时附 SVG 矢量图（可无损放大）", key="fmt_svg", disabled="png" not in picked)
if "docx" in picked:
    with st.expander("通报的文号、落款日期和抄送（版头、版记）"):
        left, middle = st.columns(2)
        number = left.text_input("文号序号", key="doc_number", placeholder="如 3；留空则打印后填写")
        signed = middle.date_input("落款日期", value=meeting.default_signing_date(filters.quarter), key="doc_signed")
        copies_to = st.text_input("抄送", key="doc_copies", placeholder="留空则写“【待补充：抄送单位】”")
else:
    number, signed, copies_to = "", None, ""
form = {"number": number, "signed": signed, "copies_to": copies_to}
wanted = (filters.quarter, *chosen.values(), *picked, svg and "png" in picked, *form.values())

if st.button("生成", type="primary", icon=":material/build:", disabled=not picked):
    bar = st.progress(0.0, text="正在汇总本季度数据…")
    try:
        with connection() as con:
            made = dataclasses.replace(meeting.build(con, filters.quarter, rubric, chosen, user=user.name), **form)
        files = exports.export_files(made, picked, svg=svg, progress=lambda done, text: bar.progress(done, text=text))
        with connection() as con:
            exports.record_export(con, made, files)
    except ImageError as exc:
        bar.empty()
        st.error(str(exc))
        st.stop()
    bar.empty()
    st.session_state["export_files"] = (wanted, exports.downloads(made, files))

done = st.session_state.get("export_files")
if done and done[0] == wanted:
    st.success("已生成，请下载：")
    for i, (name, data, mime) in enumerate(done[1]):
        st.download_button(name, data, file_name=name, mime=mime, icon=":material/download:", key=f"dl_{i}")
elif picked:
    st.info("选好要导出的材料后点击「生成」。演示文稿和图表需要绘制图片，全区材料约需十几秒。")
