"""Annual items in their real window (SPEC §4.5): 组织生活会, 民主评议, 述职评议 concern a year and are held in its
fourth quarter or in the first quarter of the next (rubric: `window = [4, 1]`).

In the window's last quarter the item is scored on both quarters together (a count summed, a yes/no true in
either, a grade the latest given). In its first quarter it counts only once done (credited early); until then
the window is open and nothing is lost. Outside the window it does not apply. A Jan-Feb 组织生活会 is thus
credited to the year it concerns, never to the new year's count.
"""

from __future__ import annotations

import duckdb
from duckdb import CaseExpression, CoalesceOperator, ColumnExpression, ConstantExpression, FunctionExpression

from analytics.scoring.rubric import Indicator, Rubric

NULL_TYPES = {"count": "DOUBLE", "flag": "BOOLEAN", "grade": "VARCHAR"}


def value_column(ind: Indicator) -> str:
    """The column holding a windowed indicator's value over its window."""
    return f"win_{ind.column}"


def window_quarters(ind: Indicator, quarter: str, previous: str, quarter_no: int) -> list[str]:
    """The quarters whose records make the value now: both in the last quarter, this one in the first, else none."""
    first, last = ind.window
    if quarter_no == last:
        return [previous, quarter]
    return [quarter] if quarter_no == first else []


def applies_now(ind: Indicator, quarter_no: int, raw: duckdb.Expression) -> duckdb.Expression:
    """TRUE in the window's last quarter; in its first only once done (raw 1, or a grade given); else FALSE."""
    first, last = ind.window
    if quarter_no == last:
        return ConstantExpression(True)
    if quarter_no != first:
        return ConstantExpression(False)
    done = raw.isnotnull() if ind.kind == "grade" else raw >= ConstantExpression(1.0)
    return CoalesceOperator(done, ConstantExpression(False))


def _aggregate(ind: Indicator) -> duckdb.Expression:
    column, quarter = ColumnExpression(ind.column), ColumnExpression("quarter")
    if ind.kind == "count":
        return FunctionExpression("sum", column)
    if ind.kind == "flag":
        return FunctionExpression("bool_or", column)
    # grade: the latest grade of the table given in the window; else the latest value at all (未评 stays 未评)
    graded = CaseExpression(column.isin(*(ConstantExpression(g) for g, _ in ind.table)), column)
    latest_graded = FunctionExpression("arg_max", graded, CaseExpression(graded.isnotnull(), quarter))
    return CoalesceOperator(latest_graded, FunctionExpression("arg_max", column, quarter))


def join_windows(
    con: duckdb.DuckDBPyConnection, base: duckdb.DuckDBPyRelation, quarter: str, previous: str, quarter_no: int,
    rubric: Rubric,
) -> duckdb.DuckDBPyRelation:  # fmt: skip
    """base with one win_<column> per windowed indicator: its value over the window now (NULL outside it)."""
    windowed = [i for i in rubric.indicators if i.window]
    if not windowed:
        return base
    by_quarters: dict[tuple[str, ...], list[Indicator]] = {}
    for ind in windowed:
        by_quarters.setdefault(tuple(window_quarters(ind, quarter, previous, quarter_no)), []).append(ind)
    out = base
    for k, (quarters, inds) in enumerate(by_quarters.items()):
        if not quarters:  # outside the window: the value is NULL (the indicator does not apply either)
            nulls = [
                ConstantExpression(None).cast(duckdb.sqltype(NULL_TYPES[i.kind])).alias(value_column(i)) for i in inds
            ]
            out = out.select(duckdb.StarExpression(), *nulls)
            continue
        history = con.table("records").filter(
            ColumnExpression("quarter").isin(*(ConstantExpression(q) for q in quarters))
            & ColumnExpression("replaced_by").isnull()
        )
        key = f"win_org_{k}"
        values = history.aggregate(
            [ColumnExpression("org_id").alias(key), *(_aggregate(i).alias(value_column(i)) for i in inds)], "org_id"
        )
        joined = out.set_alias("r").join(
            values.set_alias(f"w{k}"), ColumnExpression("org_id") == ColumnExpression(key), "left"
        )
        out = joined.select(duckdb.StarExpression(exclude=[key]))
    return out
