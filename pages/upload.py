"""数据上传: validate quarterly files, show every problem, compare with stored data, then load."""

import streamlit as st

from analytics import uploads as uploads_check
from analytics.ingest.blank import template_workbook
from analytics.ingest.records import QUARTER_RE
from analytics.store import batches
from analytics.store import database as store
from analytics.uploads import blocking, file_gaps, unreadable, validate_uploads
from pages._mapping import acknowledge_gaps, confirm_mappings
from pages._session import ensure_app_frame
from pages._ui import changes_table, connection, plain, show_problems

user = ensure_app_frame("upload")
st.title("数据上传")
st.download_button(
    "下载空白模板（含填表说明）", template_workbook(), file_name="季度报表模板.xlsx", icon=":material/description:"
)

# Streamlit's uploader speaks English ("Upload", "100MB per file"): the same facts in Chinese, by style only
st.html(
    """<style>
    [data-testid="stFileUploaderDropzoneInstructions"] > div > * { display: none; }
    [data-testid="stFileUploaderDropzoneInstructions"] > div::after {
        content: "将文件拖到此处，或点击“选择文件”。单个文件不超过 100 MB";
    }
    [data-testid="stFileUploaderDropzone"] button [data-testid="stMarkdownContainer"] p { display: none; }
    [data-testid="stFileUploaderDropzone"] button [data-testid="stMarkdownContainer"]::after { content: "选择文件"; }
    </style>"""
)
files = st.file_uploader(
    "选择季度报表（可多选；支持 xlsx、xlsm、xls、ods、csv）",
    type=["xlsx", "xlsm", "xls", "ods", "csv"],
    accept_multiple_files=True,
    key="files",
)
quarter_choice = st.text_input("季度（如 2024Q1；留空则从表格标题或文件名识别）", key="quarter").strip().upper()
valid_only = st.checkbox("只载入无错误的行（有错误的行不载入，并在下方列出）", key="valid_only")

if quarter_choice and not QUARTER_RE.match(quarter_choice):
    st.error(f"季度格式应为 2024Q1 这样的写法，当前填写的是「{quarter_choice}」。")
    st.stop()
if not files:
    st.info("请选择要上传的文件。文件不会立即载入：先校验，确认无误后再点击「确认载入」。")
    st.stop()

uploads = [(f.name, f.getvalue()) for f in files]
with st.status("正在校验文件…", expanded=False) as status, connection() as con:
    reports = validate_uploads(con, uploads, quarter_choice or None)
    gaps = file_gaps(con, reports)
    diffs = [
        batches.compare(con, r.quarter, r.records) if r.records is not None and r.quarter else None for r in reports
    ]
    status.update(label="校验完成", state="complete")

for report, diff in zip(reports, diffs, strict=True):
    with st.container(border=True):
        st.subheader(plain(report.file))
        if unreadable(report):  # one clear message: no metrics, no quarter, no row table to read it from
            for problem in report.errors:
                st.error(problem.message)
            continue
        cols = st.columns(4)
        cols[0].metric("季度", report.quarter or "未识别")
        cols[1].metric("可载入的党组织", report.row_count)
        cols[2].metric("错误", len(report.errors))
        cols[3].metric("提示", len(report.warnings))
        if report.quarter is None:
            st.warning("无法识别季度：请在上方填写季度（如 2024Q1）。")
        show_problems(report.problems)
        if diff is not None and len(diff):
            counts = diff["change"].value_counts()
            st.write(
                f"与已有 {report.quarter} 数据相比：新增 {counts.get('new', 0)} 个，"
                f"变更 {counts.get('changed', 0)} 个，未变 {counts.get('unchanged', 0)} 个党组织。"
            )
            with st.expander("逐个查看变化"):
                st.dataframe(changes_table(diff), hide_index=True, width="stretch")

confirm_mappings(user, reports)
gaps_accepted = acknowledge_gaps(reports, gaps)
reasons = blocking(reports, valid_only, gaps, gaps_accepted)
if reasons:
    # the advice fits the problem: rows to fix (or skip) only where a file was read and had row errors
    row_errors = any(r.errors and not unreadable(r) for r in reports)
    hint = "请按上表改正后重新上传，或勾选「只载入无错误的行」。" if row_errors else ""
    if any(unreadable(r) for r in reports):
        hint += "无法读取的文件请重新导出（另存为 .xlsx 或 .csv）后上传。"
    st.error(f"未载入任何数据：{'；'.join(reasons)}。{hint}")
    st.stop()

if st.button("确认载入", type="primary", key="load"):
    with connection() as con:
        try:
            results = uploads_check.load_as(
                con, user, list(zip(reports, [d for _, d in uploads], strict=True)), valid_only
            )
        except store.StoreError as exc:
            st.error(str(exc))
            st.stop()
    for report, result in zip(reports, results, strict=True):
        if result.already_loaded:
            st.info(f"「{plain(report.file)}」与批次 {result.batch_id} 内容完全相同，已载入过，未做任何更改。")
        else:
            st.success(
                f"已载入「{plain(report.file)}」：批次 {result.batch_id}，{result.quarter}，{result.rows} 个党组织"
                f"（新增 {result.new}，变更 {result.changed}，未变 {result.unchanged}）。"
            )
    st.metric("本次载入党组织数", sum(r.rows for r in results if not r.already_loaded))
    st.page_link("pages/batches.py", label="查看批次", icon=":material/inventory_2:")
