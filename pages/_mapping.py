"""Streamlit steps of an upload between validation and loading: confirm unmapped headers, acknowledge gaps."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analytics import mappings
from analytics.accounts.auth import User
from analytics.problems import Report
from analytics.store import database as store
from analytics.template import load_template
from analytics.uploads import Gap
from pages._ui import connection, show_table

IGNORED = ""  # the option that marks a header 忽略


def confirm_mappings(user: User, reports: list[Report]) -> None:
    """Ask what each unmapped header is (best suggestion preselected); on confirm store the answers and rerun.

    Stops the page while anything is unanswered: nothing is loaded with a column the analyst has not seen."""
    unmapped = {}
    for report in reports:
        for u in report.unmapped:
            unmapped.setdefault(u.key, (u, []))[1].append(f"{report.file} · {u.sheet} {u.cell}")
    if not unmapped:
        return
    template = load_template()

    def label(name: str) -> str:
        return "忽略（不载入此列）" if name == IGNORED else template.column(name).header

    st.subheader("确认未识别的列")
    st.warning(
        "以下列的表头与模板中的列相近，但无法自动确定是哪一列。请逐一确认对应的模板列，或选择忽略；"
        "确认后保存，以后上传同样写法的表头时直接按此读取。"
    )
    show_table(
        pd.DataFrame(
            {
                "文件中的表头": [u.header for u, _ in unmapped.values()],
                "位置": ["；".join(where) for _, where in unmapped.values()],
                "相近的模板列（按相似程度）": ["、".join(map(label, u.suggestions)) for u, _ in unmapped.values()],
            }
        )
    )
    with st.form("mapping"):
        choices = {}
        for key, (u, where) in unmapped.items():
            options = [*u.suggestions, *(n for n in template.names if n not in u.suggestions), IGNORED]
            hint = "、".join(template.column(n).header for n in u.suggestions)
            choices[u.header] = st.selectbox(
                f"「{u.header}」对应模板中的", options, index=options.index(u.preselect or IGNORED),
                format_func=label, key=f"map_{key}",
                help=f"位置：{'；'.join(where)}。相近的模板列：{hint}",
            )  # fmt: skip
        if st.form_submit_button("确认对应关系", type="primary"):
            answers = {header: (name or None) for header, name in choices.items()}
            try:
                with connection() as con:
                    mappings.save(con, user, answers)
            except (store.StoreError, mappings.MappingError) as exc:
                st.error(str(exc))
                st.stop()
            st.rerun()
    st.stop()


def acknowledge_gaps(reports: list[Report], gaps: list[list[Gap]]) -> bool:
    """Show the template columns the files lack and the indicators they feed; True when none, or ticked."""
    rows = [
        {
            "文件": r.file,
            "缺少的列": g.header,
            "影响的指标": "、".join(g.indicators) or "—",
            "对得分的影响": g.message(),
        }
        for r, file_gaps in zip(reports, gaps, strict=True)
        for g in file_gaps
    ]
    if not rows:
        return True
    st.subheader("文件缺少的模板列")
    st.warning("下列模板列在文件中没有。若照此载入，相关指标按下表说明计分；若是表头写法不同，请改表头后重新上传。")
    show_table(pd.DataFrame(rows))
    return st.checkbox("我已知晓缺少的列，仍然载入", key="gaps_ok")
