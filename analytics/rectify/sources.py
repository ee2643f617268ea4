"""Where items come from: rows of a warning list (预警), and the indicators an organization or a unit lost points on."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

from analytics.rectify.items import INDICATOR, NewItem
from analytics.scoring import scores
from analytics.scoring.rubric import Rubric

IDENTITY = ("system", "unit", "org_name", "org_type")


def _plain(value: object) -> object:
    """A JSON-ready value: numpy scalars as Python ones, dates as text, missing as None."""
    if value is None or value is pd.NaT or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return str(value)[:10] if hasattr(value, "isoformat") else value


def _organizations(con: duckdb.DuckDBPyConnection, quarter: str) -> pd.DataFrame:
    """org_id, the display unit and the unit as typed, of the organizations of this and the previous quarter."""
    return con.execute(
        "SELECT DISTINCT org_id, system, unit, unit_name, org_name FROM current_records WHERE quarter IN ($q, $p)",
        {"q": quarter, "p": scores.previous_quarter(quarter)},
    ).df()


def from_warning(con: duckdb.DuckDBPyConnection, quarter: str, kind: str, rows: pd.DataFrame) -> list[NewItem]:
    """Items for rows of one warning list of the quarter (as analytics.scoring.alerts returns them); rows without
    an organization (a unit whose mean fell) become the unit's items. What the row showed is kept as `seen`."""
    if rows.empty:
        return []
    known = _organizations(con, quarter)
    if "org_name" in rows:
        matched = rows.merge(known, on=["system", "unit", "org_name"], how="left", suffixes=("", "_known"))
    else:
        units = known[["system", "unit", "unit_name"]].drop_duplicates()
        matched = rows.merge(units, on=["system", "unit"], how="left").assign(org_id=None, org_name=None)
    matched = matched[matched["unit_name"].notna()]
    seen_columns = [c for c in rows.columns if c not in IDENTITY]
    return [
        NewItem(
            problem=kind,
            quarter=quarter,
            system=row["system"],
            unit=row["unit_name"],
            org_id=None if pd.isna(row["org_id"]) else int(row["org_id"]),
            org_name=None if pd.isna(row["org_name"]) else row["org_name"],
            seen={c: _plain(row[c]) for c in seen_columns},
        )
        for row in matched.to_dict("records")
    ]


def from_indicators(
    con: duckdb.DuckDBPyConnection, quarter: str, scored: pd.DataFrame, rubric: Rubric, indicator_ids: list[str]
) -> list[NewItem]:
    """Items for the indicators `indicator_ids` of every organization in `scored` (rows of scores.for_quarter)
    that lost points on them this quarter; what it lost and scored is kept as `seen`."""
    known = _organizations(con, quarter)[["org_id", "unit_name"]].drop_duplicates("org_id")
    frame = scored.merge(known, on="org_id", how="left")
    made = []
    for ind in (i for i in rubric.indicators if i.id in indicator_ids):  # a handful of indicators, whole columns
        lost = frame[frame[f"lost_{ind.id}"].fillna(0) > 1e-9]
        made += [
            NewItem(
                problem=f"{INDICATOR}{ind.id}",
                quarter=quarter,
                system=row["system"],
                unit=row["unit_name"],
                org_id=int(row["org_id"]),
                org_name=row["org_name"],
                seen={"lost": round(float(row[f"lost_{ind.id}"]), 2), "indicator": ind.name},
                requirement=f"对照“{ind.name}”的失分原因制定整改措施，下季度评价时复核。",
            )
            for row in lost.to_dict("records")
        ]
    return made


def unit_losses(scored: pd.DataFrame, rubric: Rubric, system: str, unit: str) -> dict[str, float]:
    """Mean points lost per indicator by the unit's organizations (rows of scores.for_quarter), where any was lost,
    biggest first; an organization the indicator does not apply to is left out of its mean."""
    mine = scored[(scored["system"] == system) & (scored["unit"] == unit)]
    means = {i.id: mine[f"lost_{i.id}"].mean() for i in rubric.indicators}
    lost = {k: round(float(v), 2) for k, v in means.items() if v == v and v > 1e-9}
    return dict(sorted(lost.items(), key=lambda kv: kv[1], reverse=True))


def from_unit_indicators(
    con: duckdb.DuckDBPyConnection, quarter: str, scored: pd.DataFrame, rubric: Rubric, system: str, unit: str,
    indicator_ids: list[str],
) -> list[NewItem]:  # fmt: skip
    """Items of a whole unit (unit as shown on the pages) for indicators its organizations lose points on; the
    data check closes one when the unit's mean loss falls below the rubric's threshold (Rubric.unit_lost_below)."""
    known = _organizations(con, quarter)
    typed = known.loc[(known["system"] == system) & (known["unit"] == unit), "unit_name"]
    if typed.empty:
        return []
    lost, names = unit_losses(scored, rubric, system, unit), {i.id: i.name for i in rubric.indicators}
    return [
        NewItem(
            problem=f"{INDICATOR}{ind}",
            quarter=quarter,
            system=system,
            unit=typed.iloc[0],
            seen={"lost": lost[ind], "indicator": names[ind]},
            requirement=f"单位内各党组织对照“{names[ind]}”的失分原因制定整改措施，单位平均失分降至"
            f"{rubric.unit_lost_below:g}分以下。",
        )
        for ind in indicator_ids
        if ind in lost
    ]
