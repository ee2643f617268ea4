"""Scores (SPEC §4): the rubric turned into DuckDB expressions over a quarter's records.

Every indicator yields a 0–1 score (NULL where it does not apply), a 未填报 flag and the points it lost;
the composites are 100·Σwᵢsᵢ/Σwᵢ over the indicators that apply. Everything is one relational query,
so a district and a province go through the same code; nothing loops over organizations.
"""

from __future__ import annotations

import datetime as dt
import re

import duckdb
import pandas as pd
from duckdb import CaseExpression, CoalesceOperator, ColumnExpression, ConstantExpression, FunctionExpression

from analytics.scoring import windows
from analytics.scoring.rubric import QUADRANTS, Condition, Indicator, Rubric
from analytics.template import RETIRED, RETIRED_MARK, SERVING

QUARTER_LABEL = re.compile(r"^(\d{4})Q([1-4])$")
IDENTITY = ["quarter", "org_id", "system", "unit", "org_name", "org_type", "category", "model_level"]
# Scores are compared with thresholds after rounding, so 79.99999999999 from float sums counts as 80.
THRESHOLD_DIGITS = 9


def col(name: str) -> duckdb.Expression:
    """A column reference."""
    return ColumnExpression(name)


def const(value: object) -> duckdb.Expression:
    """A constant (a parameter value, never spliced into SQL text)."""
    return ConstantExpression(value)


def fn(name: str, *args: duckdb.Expression) -> duckdb.Expression:
    """A scalar function call."""
    return FunctionExpression(name, *args)


def quarter_parts(quarter: str) -> tuple[int, int]:
    """(year, quarter number) of a label like 2024Q3."""
    match = QUARTER_LABEL.match(quarter)
    if not match:
        raise ValueError(f"季度格式应为 2024Q1，收到「{quarter}」")
    return int(match.group(1)), int(match.group(2))


def quarter_end(quarter: str) -> dt.date:
    """The last day of a quarter."""
    year, q = quarter_parts(quarter)
    return dt.date(year, 12, 31) if q == 4 else dt.date(year, 3 * q + 1, 1) - dt.timedelta(days=1)


def previous_quarter(quarter: str) -> str:
    """The calendar quarter before this one (2024Q1 -> 2023Q4)."""
    year, q = quarter_parts(quarter)
    return f"{year - 1}Q4" if q == 1 else f"{year}Q{q - 1}"


def category() -> duckdb.Expression:
    """在职 or 离退休: the 党组织类别 column, else read from the name (SPEC §4.5)."""
    named = CaseExpression(fn("contains", col("org_name"), const(RETIRED_MARK)), const(RETIRED))
    return CoalesceOperator(col("org_category"), named.otherwise(const(SERVING)))


def _condition(cond: Condition, quarter_no: int, ind: Indicator | None = None) -> duckdb.Expression:
    if cond.quarters:
        return const(quarter_no in cond.quarters)
    if cond.org_types:
        return col("org_type").isin(*(const(x) for x in cond.org_types))
    if cond.categories:
        return col("category").isin(*(const(x) for x in cond.categories))
    # an annual item's condition on its own column reads the value over its window (I6 未评 now, 较好 in Q4)
    windowed = ind is not None and ind.window and cond.column == ind.column
    value = col(windows.value_column(ind) if windowed else cond.column)
    if cond.at_least is not None:
        return value >= const(cond.at_least)
    if cond.greater_than is not None:
        return value > const(cond.greater_than)
    if cond.not_in:
        return value.isnotnull() & value.isnotin(*(const(x) for x in cond.not_in))
    return value.isnotnull()


def applies(ind: Indicator, quarter_no: int, rubric: Rubric) -> duckdb.Expression:
    """TRUE where the indicator counts for an organization; a condition on a missing value is FALSE."""
    conditions = [_condition(c, quarter_no, ind) for c in rubric.conditions(ind)]
    if ind.kind == "share":
        conditions.append(col(ind.denominator) > const(0))
    result = const(True)
    for c in conditions:
        result = result & CoalesceOperator(c, const(False))
    return result


def _term(ind: Indicator, period_end: dt.date) -> duckdb.Expression:
    by_type = CaseExpression(col("org_type") == const(ind.years[0][0]), const(ind.years[0][1]))
    for org_type, years in ind.years[1:]:
        by_type = by_type.when(col("org_type") == const(org_type), const(years))
    years = CoalesceOperator(col("term_years"), by_type)
    due = col(ind.column) + fn("to_years", years.cast(duckdb.sqltype("INTEGER")))
    # an approved 换届 delay moves the due date to the day it runs until (SPEC §4.5)
    due = fn(
        "greatest", due.cast(duckdb.sqltype("DATE")), CoalesceOperator(col("term_delay_until"), const(dt.date.min))
    )
    return CaseExpression(due < const(period_end), const(0.0)).otherwise(const(1.0))


def raw_score(ind: Indicator, period_end: dt.date) -> duckdb.Expression:
    """The 0–1 score where the value is reported; NULL where it is missing."""
    value = col(_value_column(ind))
    if ind.kind in ("count", "rate"):
        score = fn("least", value / const(ind.target), const(1.0))
    elif ind.kind == "share":
        score = fn("least", value / col(ind.denominator) / const(ind.target), const(1.0))
    elif ind.kind == "flag" and ind.at_least is not None:
        score = CaseExpression(value >= const(ind.at_least), const(1.0)).otherwise(const(0.0))
    elif ind.kind == "flag":
        score = CaseExpression(value, const(1.0)).otherwise(const(0.0))
    elif ind.kind == "grade":
        score = CaseExpression(value == const(ind.table[0][0]), const(ind.table[0][1]))
        for grade, points in ind.table[1:]:
            score = score.when(value == const(grade), const(points))
        score = score.otherwise(const(0.0))
    else:
        score = _term(ind, period_end)
    return CaseExpression(value.isnull(), const(None)).otherwise(score.cast(duckdb.sqltype("DOUBLE")))


def _value_column(ind: Indicator) -> str:
    if ind.window:
        return windows.value_column(ind)
    if ind.accumulate:
        return f"ytd_{ind.column}"
    return ind.numerator if ind.kind == "share" else ind.column


def _records(con: duckdb.DuckDBPyConnection, quarter: str, rubric: Rubric) -> duckdb.DuckDBPyRelation:
    """The quarter's current records, with year-to-date sums joined where the rubric asks for them."""
    base = con.table("current_records").filter(col("quarter") == const(quarter))
    base = base.select(duckdb.StarExpression(), category().alias("category")).set_alias("r")
    _, quarter_no = quarter_parts(quarter)
    accumulated = [i for i in rubric.indicators if i.accumulate]
    # An indicator that cannot apply this quarter (S9 outside Q4) needs no history: skip the 4n-row sum.
    needed = sorted({i.column for i in accumulated if _may_apply(i, quarter_no)})
    idle = sorted({i.column for i in accumulated} - set(needed))
    base = windows.join_windows(con, base, quarter, previous_quarter(quarter), quarter_no, rubric).set_alias("r")
    if idle:
        nulls = [const(None).cast(duckdb.sqltype("DOUBLE")).alias(f"ytd_{c}") for c in idle]
        base = base.select(duckdb.StarExpression(), *nulls).set_alias("r")
    if not needed:
        return base
    year, _ = quarter_parts(quarter)
    # records, not the current_records view: the sum needs only org_id and the value, not the organizations join.
    history = con.table("records").filter(
        col("quarter").between(const(f"{year}Q1"), const(quarter)) & col("replaced_by").isnull()
    )
    ytd = history.aggregate(
        [col("org_id").alias("ytd_org"), *(fn("sum", col(c)).alias(f"ytd_{c}") for c in needed)], "org_id"
    ).set_alias("y")
    joined = base.join(ytd, col("org_id") == col("ytd_org"), how="left")
    return joined.select(duckdb.StarExpression(exclude=["ytd_org"]))


def _may_apply(ind: Indicator, quarter_no: int) -> bool:
    """False when a quarter condition rules the indicator out for this quarter."""
    return all(quarter_no in c.quarters for c in ind.applies if c.quarters)


def _indicator_columns(rubric: Rubric, quarter: str) -> list[duckdb.Expression]:
    """Per indicator: applies_X, raw_X (NULL when missing)."""
    _, quarter_no = quarter_parts(quarter)
    period_end = quarter_end(quarter)
    out = []
    for ind in rubric.indicators:
        raw = raw_score(ind, period_end)
        applicable = applies(ind, quarter_no, rubric)
        if ind.window:  # an annual item: in its window's last quarter, or earlier once done (windows.py)
            applicable = applicable & windows.applies_now(ind, quarter_no, raw)
        out.append(applicable.alias(f"applies_{ind.id}"))
        out.append(raw.alias(f"raw_{ind.id}"))
    return out


def _weighted(rubric: Rubric, composite: str) -> tuple[duckdb.Expression, duckdb.Expression]:
    """(Σ wᵢ·sᵢ, Σ wᵢ) over the applicable indicators of one composite; a missing value scores 0."""
    points, weights = const(0.0), const(0.0)
    for ind in rubric.of(composite):
        applicable = col(f"applies_{ind.id}")
        score = CoalesceOperator(col(f"raw_{ind.id}"), const(0.0))
        points = points + CaseExpression(applicable, score * const(ind.weight)).otherwise(const(0.0))
        weights = weights + CaseExpression(applicable, const(ind.weight)).otherwise(const(0.0))
    return points, weights


def _scored_columns(rubric: Rubric) -> list[duckdb.Expression]:
    """Indicator scores, 未填报 flags, weight sums and composites."""
    out = []
    for ind in rubric.indicators:
        applicable = col(f"applies_{ind.id}")
        out.append(CaseExpression(applicable, CoalesceOperator(col(f"raw_{ind.id}"), const(0.0))).alias(ind.id))
        out.append((applicable & col(f"raw_{ind.id}").isnull()).alias(f"missing_{ind.id}"))
    for composite in rubric.composite_ids:
        points, weights = _weighted(rubric, composite)
        out.append(weights.alias(f"weight_{composite}"))
        out.append((const(100.0) * points / fn("nullif", weights, const(0.0))).alias(composite))
    return out


def _band(value: duckdb.Expression, bands: list[tuple[duckdb.Expression, str]], default: str) -> duckdb.Expression:
    case = CaseExpression(bands[0][0], const(bands[0][1]))
    for condition, label in bands[1:]:
        case = case.when(condition, const(label))
    return CaseExpression(value.isnull(), const(None)).otherwise(case.otherwise(const(default)))


def grade(value: duckdb.Expression, rubric: Rubric) -> duckdb.Expression:
    """优秀 / 良好 / 一般 / 较差 by the rubric's thresholds; NULL for a NULL score."""
    rounded = fn("round", value, const(THRESHOLD_DIGITS))
    bands = [(rounded >= const(bound), name) for name, bound in rubric.grades[:-1]]
    return _band(value, bands, rubric.grades[-1][0])


def quadrant_and_grades(rubric: Rubric) -> list[duckdb.Expression]:
    """Quadrant and grades of the columns standardization and integration (a quarter's scores, or a year's)."""
    t = const(rubric.quadrant_threshold)
    s = fn("round", col("standardization"), const(THRESHOLD_DIGITS))
    i = fn("round", col("integration"), const(THRESHOLD_DIGITS))
    bands = [((s >= t) & (i >= t), QUADRANTS[0]), (s >= t, QUADRANTS[1]), (i >= t, QUADRANTS[2])]
    quadrant = CaseExpression(s.isnull() | i.isnull(), const(None)).otherwise(_band(s, bands, QUADRANTS[3]))
    basis = {
        "min": fn("least", col("standardization"), col("integration")),
        "mean": (col("standardization") + col("integration")) / const(2.0),
    }.get(rubric.grade_of, col(rubric.grade_of))
    return [
        quadrant.alias("quadrant"),
        grade(basis, rubric).alias("grade"),
        grade(col("standardization"), rubric).alias("standardization_grade"),
        grade(col("integration"), rubric).alias("integration_grade"),
    ]


def _labels(rubric: Rubric) -> list[duckdb.Expression]:
    """Quadrant, grades, completeness, the list of 未填报 indicators and lost points."""
    applicable = [col(f"applies_{ind.id}").cast(duckdb.sqltype("INTEGER")) for ind in rubric.indicators]
    missing = [col(f"missing_{ind.id}").cast(duckdb.sqltype("INTEGER")) for ind in rubric.indicators]
    out = [
        *quadrant_and_grades(rubric),
        (const(1.0) - _sum(missing) / fn("nullif", _sum(applicable), const(0))).alias("completeness"),
        fn(
            "concat_ws", const(","), *(CaseExpression(col(f"missing_{x.id}"), const(x.id)) for x in rubric.indicators)
        ).alias("missing"),
    ]
    for ind in rubric.indicators:
        weights = col(f"weight_{ind.composite}")
        lost = const(100.0 * ind.weight) * (const(1.0) - col(ind.id)) / fn("nullif", weights, const(0.0))
        out.append(lost.alias(f"lost_{ind.id}"))
    return out


def _sum(terms: list[duckdb.Expression]) -> duckdb.Expression:
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    return total


def scores_relation(con: duckdb.DuckDBPyConnection, quarter: str, rubric: Rubric) -> duckdb.DuckDBPyRelation:
    """One row per organization of the quarter: identity, indicator scores, composites, labels, lost points."""
    identity = [col(c) for c in IDENTITY]
    ids = [col(i.id) for i in rubric.indicators]
    flags = [col(f"missing_{i.id}") for i in rubric.indicators]
    step1 = _records(con, quarter, rubric).select(*identity, *_indicator_columns(rubric, quarter))
    step2 = step1.select(*identity, *(col(f"applies_{i.id}") for i in rubric.indicators), *_scored_columns(rubric))
    composites = [col(c) for c in rubric.composite_ids]
    weights = [col(f"weight_{c}") for c in rubric.composite_ids]
    applied = [col(f"applies_{i.id}") for i in rubric.indicators]
    step3 = step2.select(*identity, *composites, *ids, *flags, *weights, *applied, *_labels(rubric))
    return step3.select(
        *identity, *composites, col("quadrant"), col("grade"), *ids, col("standardization_grade"),
        col("integration_grade"), col("completeness"), col("missing"), *flags,
        *(col(f"lost_{i.id}") for i in rubric.indicators), const(rubric.version).alias("rubric_version"),
    )  # fmt: skip


def for_quarter(con: duckdb.DuckDBPyConnection, quarter: str, rubric: Rubric) -> pd.DataFrame:
    """Scores of every organization in a quarter, sorted by system, unit, org_name."""
    return as_frame(scores_relation(con, quarter, rubric).order("system, unit, org_name"))


def as_frame(relation: duckdb.DuckDBPyRelation) -> pd.DataFrame:
    """The relation's rows as a pandas frame (same dtypes as `.df()` for score relations).

    Through Arrow: `.df()` builds the text columns cell by cell, twice as slow at 200,000 rows (bench/scale.md).
    """
    return relation.to_arrow_table().to_pandas()
