"""Security hygiene: SQL never formats user text; hostile names are stored verbatim and harm nothing."""

from __future__ import annotations

import ast
from pathlib import Path

from analytics.store import database as store
from tests.helpers import cli
from tests.records import csv_bytes, org

ROOT = Path(__file__).resolve().parent.parent
# Every expression that may be interpolated into SQL text in analytics/, and why it is safe: each is built
# from template column names, rubric ids or fixed fragments — never from a value a user typed or uploaded.
# A new interpolation fails this test until someone checks it and adds it here.
ALLOWED = {
    "', '.join(names)",  # template column names
    "', '.join(('i.' + c for c in names))",  # template column names
    "_changes_sql()",  # built from value_columns() (the template)
    "names",  # ", ".join(template names)
    "cols",  # template column names
    "fields",  # CASE … THEN 'template name' END over template names
    "differs",  # IS DISTINCT FROM over template names
    "where",  # fixed text with $parameters (scoring/terms.py)
    "version",  # sql(f"schema_v{version}"): an integer from range(), naming a bundled file
    # store/replica.py: names of our own schema's tables and columns, read from the DuckDB catalog, quoted
    "quoted(table)",
    "names(keys)",
    "self.column_list(table)",
    "replica.column_list(table)",
    "digest",  # hash(<quoted column names>)
    "row_hash(cols)",  # the same
    "where_sql",  # t."col" = g."col" AND … over quoted column names
    "key_list",  # the quoted key columns of one of our tables (store/postgres.KEYS)
    "key_match",  # t."key" = d."key" AND … over the same
    "quoted(gone_table(table))",  # "_gone_<one of our tables>"
}


def formatted_sql(path: Path) -> list[tuple[int, str]]:
    """(line, expression) of every value interpolated into an f-string passed to execute()/sql()."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", None) in {"execute", "sql", "query"}:
            for arg in node.args[:1]:
                for part in ast.walk(arg):
                    if isinstance(part, ast.FormattedValue):
                        found.append((part.lineno, ast.unparse(part.value)))
    return found


def test_sql_text_only_interpolates_reviewed_template_derived_fragments():
    offenders = [
        (p.name, line, expr)
        for p in sorted((ROOT / "analytics").rglob("*.py"))
        for line, expr in formatted_sql(p)
        if expr not in ALLOWED
    ]
    assert offenders == []


def test_the_scan_finds_an_interpolated_value(tmp_path: Path):
    sample = tmp_path / "bad.py"
    sample.write_text("con.execute(f\"SELECT * FROM t WHERE name = '{name}'\")\n", encoding="utf-8")
    assert formatted_sql(sample) == [(1, "name")]


def test_hostile_names_are_stored_verbatim_and_break_nothing(tmp_path: Path):
    db = tmp_path / "t.duckdb"
    hostile = ["x'); DROP TABLE records; --", "$quarter", '=HYPERLINK("http://x")', "<script>alert(1)</script>"]
    rows = [org(i, unit=0, org_name=name) for i, name in enumerate(hostile)]
    path = tmp_path / "a.csv"
    path.write_bytes(csv_bytes(rows))
    assert cli("ingest", str(path), db=db).returncode == 0
    with store.connect(db) as con:
        stored = sorted(store.quarter_records(con, "2024Q1")["org_name"])
    assert stored == sorted(hostile)


def test_only_the_session_script_runs_javascript_on_a_page_and_it_carries_no_user_text():
    # st.html(..., unsafe_allow_javascript=True) runs in the page: only the cookie exchange may use it, and what it
    # writes is json.dumps of a fixed path and a server-made ticket, never anything a user typed
    users = [p.relative_to(ROOT).as_posix() for p in [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py"))]
             if "unsafe_allow_javascript" in p.read_text(encoding="utf-8")]  # fmt: skip
    assert users == ["pages/_session.py"]
    source = (ROOT / "pages" / "_session.py").read_text(encoding="utf-8")
    calls = [line.strip() for line in source.splitlines() if "_script(" in line and "def _script" not in line]
    assert sorted(calls) == ['_script("/auth/logout", {})', '_script("/auth/session", {"X-Ticket": ticket})']
