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
    sizes = {
        str(p.relative_to(ROOT)): len(p.read_text(encoding="utf-8").splitlines())
        for p in (ROOT / "analytics").rglob("*.py")
    }
    assert len(sizes) > 40 and {name: n for name, n in sizes.items() if n > 450} == {}


# analytics/ in layers (analytics/__init__.py): a module imports only from layers below its own, or from its own
# package. The top-level modules are base (the template and problems) or top (the CLI and what checks uploads).
LAYERS = {"ingest": 1, "store": 1, "accounts": 2, "scoring": 3, "charts": 4, "rectify": 4, "meeting": 5}
TOP_MODULES = {"cli", "cli_annual", "cli_args", "cli_rectify", "cli_store", "demo", "uploads", "mappings", "__main__"}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def place(module: str) -> tuple[int, str]:
    """(layer, package) of a dotted module name under analytics."""
    parts = module.split(".")[1:]
    if not parts:
        return 0, "base"
    if parts[0] in LAYERS:
        return LAYERS[parts[0]], parts[0]
    return (9, "top") if parts[0] in TOP_MODULES else (0, "base")


def imported_modules(source: str, known: set[str]) -> set[str]:
    """analytics modules a source imports anywhere (top level or inside functions)."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "analytics":
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.add(sub if sub in known else node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "analytics"}
    return found


def layer_violations(sources: dict[str, str]) -> list[str]:
    """Imports that go up a layer, or sideways into another package of the same layer."""
    found = []
    for module, source in sources.items():
        layer, package = place(module)
        for target in sorted(imported_modules(source, set(sources))):
            target_layer, target_package = place(target)
            if target_package != package and target_layer >= layer:
                found.append(f"{module} imports {target}")
    return found


def import_cycles(sources: dict[str, str]) -> list[list[str]]:
    """Cycles in the graph of analytics modules importing each other (lazily or not)."""
    graph = {m: imported_modules(s, set(sources)) & set(sources) for m, s in sources.items()}
    cycles, state = [], {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                cycles.append([*path[path.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    return cycles


def analytics_sources() -> dict[str, str]:
    return {module_name(p): p.read_text(encoding="utf-8") for p in (ROOT / "analytics").rglob("*.py")}


def test_every_import_goes_down_the_layers():
    sources = analytics_sources()
    assert {place(m)[1] for m in sources} >= {"base", "top", *LAYERS}
    assert layer_violations(sources) == []


def test_a_planted_upward_or_sideways_import_is_caught():
    sources = analytics_sources()
    sources["analytics.store.database"] += "\nfrom analytics.scoring import scores\n"
    sources["analytics.ingest.records"] += "\ndef f():\n    from analytics.store import database\n"
    assert sorted(layer_violations(sources)) == [
        "analytics.ingest.records imports analytics.store.database",
        "analytics.store.database imports analytics.scoring.scores",
    ]


def test_no_module_imports_one_that_imports_it_back():
    sources = analytics_sources()
    assert import_cycles(sources) == []
    sources["analytics.template"] += "\ndef f():\n    from analytics.problems import Problem\n"
    sources["analytics.problems"] += "\nfrom analytics.template import load_template\n"
    assert import_cycles(sources) != []
