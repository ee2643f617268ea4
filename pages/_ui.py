"""Streamlit-only helpers shared by the pages: database location, cached reads, problem tables."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator

import pandas as pd
import streamlit as st

from analytics.accounts import audit
from analytics.meeting.exports import xlsx_bytes
from analytics.problems import Problem, problems_frame
from analytics.store import batches
from analytics.store import database as store


def db_file() -> str:
    """The database path for this app process ($DANGJIAN_DB or data/dangjian.duckdb)."""
    return str(store.db_path())


@contextlib.contextmanager
def connection() -> Iterator:
    """A store connection, or a Chinese error on the page (never a traceback)."""
    try:
        with store.connect(db_file()) as con:
            yield con
    except store.StoreError as exc:
        st.error(str(exc))
        st.stop()


def read_or_stop(read, *args):
    """A cached read, or its Chinese StoreError on the page (never a traceback)."""
    try:
        return read(*args)
    except store.StoreError as exc:
        st.error(str(exc))
        st.stop()


def data_version() -> int:
    """Changes with every load and rollback: the cache key of every cached read (read once per page run)."""
    try:
        return store.run_data_version(db_file())
    except store.StoreError as exc:
        st.error(str(exc))
        st.stop()


@st.cache_data(show_spinner=False)
def cached_overview(db: str, version: int) -> pd.DataFrame:
    """Per-quarter counts, recomputed only when the data version changes."""
    with store.connect(db) as con:
        return store.overview(con)


@st.cache_data(show_spinner=False)
def cached_batches(db: str, version: int) -> pd.DataFrame:
    """The batch list, recomputed only when the data version changes."""
    with store.connect(db) as con:
        return batches.history(con)


def show_problems(problems: list[Problem]) -> None:
    """Errors and warnings as a table (user text is shown as data, never as HTML)."""
    if not problems:
        return
    frame = problems_frame(problems)
    # a problem of the whole file or sheet has no row: say so instead of a bare None
    whole = frame["工作表"].eq("").map({True: "全文件", False: "全表"})
    frame["行号"] = frame["行号"].astype("string").fillna(whole)
    st.dataframe(frame, hide_index=True, width="stretch")


CHANGE_LABELS = {"new": "新增", "changed": "变更", "unchanged": "未变"}


def changes_table(changes: pd.DataFrame) -> pd.DataFrame:
    """A change list with Chinese headers and field names."""
    from analytics.template import load_template

    headers = {c.name: c.header for c in load_template().columns}
    out = pd.DataFrame(
        {
            "所属系统": changes["system"],
            "单位名称": changes["unit"],
            "党组织名称": changes["org_name"],
            "变化": changes["change"].map(CHANGE_LABELS),
            "变化的项目": changes["fields"].map(lambda fs: "、".join(headers.get(f, f) for f in fs)),
        }
    )
    return out


_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|$<>~:])")


def plain(text: object) -> str:
    """User text (a name, a file name) for a markdown element, shown as typed: every markdown, LaTeX ($), colour
    (:red[…]) and icon (:material/…:) sign escaped, so a name can neither style the page nor load an image."""
    return _MARKDOWN.sub(r"\\\1", str(text))


def show_table(frame: pd.DataFrame, **kwargs):
    """A read-only table with dates shown as YYYY-MM-DD, floats with 1 decimal, and — where a date or a text is
    missing (Streamlit would print None there); returns st.dataframe's selection event (with on_select)."""
    config = {}
    frame = frame.copy()
    for name, dtype in frame.dtypes.items():
        blanks = frame[name].isna()
        if blanks.any() and (pd.api.types.is_datetime64_any_dtype(dtype) or not pd.api.types.is_numeric_dtype(dtype)):
            shown = frame[name].dt.strftime("%Y-%m-%d") if pd.api.types.is_datetime64_any_dtype(dtype) else frame[name]
            frame[name] = shown.astype(object).where(~blanks, "—")
            continue
        if pd.api.types.is_datetime64_any_dtype(dtype):
            config[name] = st.column_config.DateColumn(format="YYYY-MM-DD")
        elif pd.api.types.is_float_dtype(dtype):
            config[name] = st.column_config.NumberColumn(format="%.1f")
    return st.dataframe(
        frame, hide_index=True, width="stretch", column_config=config | kwargs.pop("column_config", {}), **kwargs
    )


def upload_link() -> None:
    """A link to 数据上传 for those who may upload; others are told who can."""
    from analytics.accounts.access import can

    if can(st.session_state.get("user"), "upload"):
        st.page_link("pages/upload.py", label="去上传数据", icon=":material/upload_file:")
    else:
        st.caption("上传数据需要分析员或管理员账户。")


def audited(make: Callable[[], bytes], action: str, **detail: object) -> Callable[[], bytes]:
    """A download button's data: made on click, and the read-out written to the audit log (SPEC §7)."""
    db, user = db_file(), st.session_state["user"].name

    def build() -> bytes:
        data = make()
        with store.connect(db) as con, store.transaction(con):
            audit.record(con, user, action, **detail)
        return data

    return build


def audited_workbook(sheets: dict[str, pd.DataFrame], file_name: str, quarter: str) -> Callable[[], bytes]:
    """A download button's data: the XLSX written on click, and the export written to the audit log."""
    return audited(lambda: xlsx_bytes(sheets), "export", quarter=quarter, files=[file_name])


def show_chart(fig, **kwargs):
    """A chart in the app with its own look (analytics/charts/style.py: 18 px dark text, CJK font), not Streamlit's
    theme, which would set its axis labels to 12 px grey; returns st.plotly_chart's selection event."""
    return st.plotly_chart(fig, theme=None, **{"width": "stretch", **kwargs})
