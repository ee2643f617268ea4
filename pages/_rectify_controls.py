"""Streamlit helpers of 整改督办: create items from the rows a user selected in a list (预警, 支部画像)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from analytics.accounts import access
from analytics.rectify import items, sources
from analytics.store import database as store
from pages._ui import connection, plain


def may_act() -> bool:
    """Whether the signed-in user may create and move items (analysts within their systems, admins)."""
    return access.can(st.session_state.get("user"), "rectify")


def create_controls(new: list[items.NewItem], key: str) -> None:
    """Deadline, responsible person and a button that creates items for `new` (already chosen by the user)."""
    if not new:
        return
    quarter = new[0].quarter
    left, right = st.columns(2)
    deadline = left.date_input(
        "整改时限", value=items.default_deadline(quarter), min_value=dt.date(2000, 1, 1), key=f"{key}_deadline"
    )
    responsible = right.text_input("责任人（可空）", key=f"{key}_who", max_chars=40)
    if not st.button(f"为选中的 {len(new)} 项创建整改事项", key=f"{key}_create", icon=":material/assignment_add:"):
        return
    try:
        with connection() as con:
            created = items.create(con, st.session_state["user"], new, deadline=deadline, responsible=responsible)
    except store.StoreError as exc:
        st.error(str(exc))
        return
    if created.item_ids:
        st.success(f"已创建整改事项 {len(created.item_ids)} 项，可在“整改督办”中跟踪。")
    if created.duplicates:
        st.warning("以下问题已有未销号的整改事项，未重复创建：" + plain("；".join(created.duplicates)))


def create_from_warning(quarter: str, kind: str, rows: pd.DataFrame) -> None:
    """create_controls for the rows a user selected in one warning list of the quarter."""
    if rows.empty:
        return
    with connection() as con:
        new = sources.from_warning(con, quarter, kind, rows)
    create_controls(new, key=f"warn_{kind}")


def create_for_indicators(quarter: str, scored_rows: pd.DataFrame, rubric) -> None:
    """Items for the indicators an organization lost the most points on (the user picks; top three offered)."""
    if not may_act() or scored_rows.empty:
        return
    row = scored_rows.iloc[0]
    lost = {i.id: row[f"lost_{i.id}"] for i in rubric.indicators if (row[f"lost_{i.id}"] or 0) > 1e-9}
    if not lost:
        return
    worst = sorted(lost, key=lost.get, reverse=True)
    with st.expander("为失分指标创建整改事项"):
        picked = st.multiselect(
            "指标（按失分从多到少）", worst, default=worst[:3], key="branch_rectify_items",
            format_func=lambda i: f"{i} {rubric.indicator(i).name}（失 {lost[i]:.1f} 分）",
        )  # fmt: skip
        with connection() as con:
            new = sources.from_indicators(con, quarter, scored_rows, rubric, picked)
        create_controls(new, key="branch")


def create_for_unit(quarter: str, frame: pd.DataFrame, units: list[str], rubric) -> None:
    """Items of a whole unit for the indicators its organizations lose the most points on (analysts, admins)."""
    if not may_act() or not units:
        return
    with st.expander("为单位失分较多的指标创建整改事项"):
        unit = st.selectbox("单位（排名靠后的在前）", units, key="unit_rectify_unit")
        system = frame.loc[frame["unit"] == unit, "system"].iloc[0]
        lost = sources.unit_losses(frame, rubric, system, unit)
        picked = st.multiselect(
            "指标（按单位平均失分从多到少）", list(lost), default=list(lost)[:3], key="unit_rectify_items",
            format_func=lambda i: f"{i} {rubric.indicator(i).name}（平均失 {lost[i]:.1f} 分）",
        )  # fmt: skip
        with connection() as con:
            new = sources.from_unit_indicators(con, quarter, frame, rubric, system, unit, picked)
        create_controls(new, key="unit")
