"""Meta-tests that keep the layering and the docs honest (STYLE.md habits 1, 2, 8)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from analytics.cli import COMMANDS

ROOT = Path(__file__).resolve().parent.parent
SQL_WORDS = re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE)\b.+\b(FROM|INTO|SET|WHERE)\b", re.S)


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_analytics_never_imports_streamlit():
    offenders = [p.name for p in (ROOT / "analytics").rglob("*.py") if "streamlit" in imports(p)]
    assert offenders == []


def test_pages_never_import_duckdb_or_contain_sql():
    pages = [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py"))]
    assert len(pages) >= 4
    for page in pages:
        assert "duckdb" not in imports(page), page.name
        strings = [
            n.value
            for n in ast.walk(ast.parse(page.read_text(encoding="utf-8")))
            if isinstance(n, ast.Constant) and isinstance(n.value, str)
        ]
        assert not any(SQL_WORDS.search(s) for s in strings), page.name


def test_no_page_renders_raw_html():
    for page in [ROOT / "app.py", *(ROOT / "pages").glob("*.py")]:
        assert "unsafe_allow_html=True" not in page.read_text(encoding="utf-8"), page.name


def test_every_cli_command_is_documented_in_the_readme():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [c for c in COMMANDS if f"python -m analytics {c}" not in readme]
    assert missing == []


def test_readme_shows_the_two_commands_and_ci_runs_the_test_command():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "make run" in readme and "make test" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_modules_stay_small():
    sizes = {p.name: len(p.read_text(encoding="utf-8").splitlines()) for p in (ROOT / "analytics").glob("*.py")}
    assert {name: n for name, n in sizes.items() if n > 450} == {}
