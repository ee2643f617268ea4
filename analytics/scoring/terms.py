"""Per-organization election terms that differ from the rubric's default (older 2-year terms, extensions)."""

from __future__ import annotations

import duckdb
import pandas as pd

from analytics.store import database as store
from analytics.template import normalize_key

MAX_TERM_YEARS = 10


def set_term_years(con: duckdb.DuckDBPyConnection, system: str, unit: str, org_name: str, years: int | None) -> None:
    """Set (or with None clear) one organization's term in years; StoreError if it is unknown."""
    if years is not None and not 1 <= years <= MAX_TERM_YEARS:
        raise store.StoreError(f"任期年数应在 1 到 {MAX_TERM_YEARS} 之间，收到 {years}。")
    keys = {"s": normalize_key(system), "u": normalize_key(unit), "n": normalize_key(org_name)}
    where = "system_key = $s AND unit_key = $u AND name_key = $n"
    found = con.execute(f"SELECT count(*) FROM organizations WHERE {where}", keys).fetchall()[0][0]
    if not found:
        raise store.StoreError(f"找不到党组织「{system} / {unit} / {org_name}」，请核对所属系统、单位和党组织名称。")
    with store.transaction(con):
        con.execute(f"UPDATE organizations SET term_years = $y WHERE {where}", keys | {"y": years})
        store.bump_data_version(con)


def term_overrides(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Organizations with their own term: system, unit, org_name, term_years."""
    return con.execute(
        "SELECT system, unit, org_name, term_years FROM organizations WHERE term_years IS NOT NULL "
        "ORDER BY system, unit, org_name"
    ).df()
