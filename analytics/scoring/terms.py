"""Per-organization election terms that differ from the rubric's default (older 2-year terms, extensions), and
approved 换届 delays (until a date, with who approved them), which S3 and the election warnings respect."""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd

from analytics.store import database as store
from analytics.template import normalize_key

MAX_TERM_YEARS = 10


def _org_where(con: duckdb.DuckDBPyConnection, system: str, unit: str, org_name: str) -> tuple[str, dict]:
    """The WHERE clause and parameters of one organization; StoreError if it is unknown."""
    keys = {"s": normalize_key(system), "u": normalize_key(unit), "n": normalize_key(org_name)}
    where = "system_key = $s AND unit_key = $u AND name_key = $n"
    found = con.execute(f"SELECT count(*) FROM organizations WHERE {where}", keys).fetchall()[0][0]
    if not found:
        raise store.StoreError(f"找不到党组织「{system} / {unit} / {org_name}」，请核对所属系统、单位和党组织名称。")
    return where, keys


def set_term_years(con: duckdb.DuckDBPyConnection, system: str, unit: str, org_name: str, years: int | None) -> None:
    """Set (or with None clear) one organization's term in years; StoreError if it is unknown."""
    if years is not None and not 1 <= years <= MAX_TERM_YEARS:
        raise store.StoreError(f"任期年数应在 1 到 {MAX_TERM_YEARS} 之间，收到 {years}。")
    where, keys = _org_where(con, system, unit, org_name)
    with store.transaction(con):
        con.execute(f"UPDATE organizations SET term_years = $y WHERE {where}", keys | {"y": years})
        store.bump_data_version(con)


def set_term_delay(
    con: duckdb.DuckDBPyConnection, system: str, unit: str, org_name: str, until: dt.date | None, approved_by: str
) -> None:
    """Record (or with until None clear) an approved 换届 delay; StoreError without who approved it."""
    if until is not None and not approved_by.strip():
        raise store.StoreError("延期换届须写明批准单位或批准人（--approved-by）。")
    where, keys = _org_where(con, system, unit, org_name)
    values = {"d": until, "by": approved_by.strip() if until is not None else None}
    with store.transaction(con):
        con.execute(f"UPDATE organizations SET term_delay_until = $d, term_delay_by = $by WHERE {where}", keys | values)
        store.bump_data_version(con)


def term_overrides(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Organizations with their own term or an approved delay: system, unit, org_name, term_years, delay, by whom."""
    return con.execute(
        "SELECT system, unit, org_name, term_years, term_delay_until, term_delay_by FROM organizations "
        "WHERE term_years IS NOT NULL OR term_delay_until IS NOT NULL ORDER BY system, unit, org_name"
    ).df()
