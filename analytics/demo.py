"""The bundled demo district: data/demo/manifest.toml lists its files in load order."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

import duckdb

from analytics.accounts.auth import User
from analytics.ingest.records import ingest_bytes
from analytics.problems import Report
from analytics.rectify import items, sources
from analytics.scoring import alerts, rubric_versions
from analytics.store import batches
from analytics.store import database as store
from analytics.uploads import load_as

DEMO_DIR = store.ROOT / "data" / "demo"


@dataclass(frozen=True)
class DemoFile:
    """One demo workbook and the quarter it reports."""

    path: Path
    quarter: str


def demo_files(folder: Path = DEMO_DIR) -> list[DemoFile]:
    """The demo files in load order."""
    manifest = tomllib.loads((folder / "manifest.toml").read_text(encoding="utf-8"))
    return [DemoFile(folder / f["path"], f["quarter"]) for f in manifest["file"]]


def load_demo(con: duckdb.DuckDBPyConnection, uploader: str = "demo") -> list[tuple[Report, batches.LoadResult | None]]:
    """Ingest every demo file through the normal, audited path; files with errors are reported, not loaded."""
    operator = User(uploader, "admin")
    results = []
    files = demo_files()
    for item in files:
        if item.quarter == files[-1].quarter and results[-1][0].quarter != item.quarter:
            _open_demo_items(con, operator, results[-1][0].quarter)  # before the last quarter: its data check them
        data = item.path.read_bytes()
        report = ingest_bytes(data, item.path.name, item.quarter)
        loaded = None if report.errors else load_as(con, operator, [(report, data)])[0]
        results.append((report, loaded))
    return results


def _open_demo_items(con: duckdb.DuckDBPyConnection, operator: User, quarter: str) -> list[int]:
    """整改事项 for every organization on the quarter's 换届超期, 书记空缺, 正式党员不足3人 and 未报送 lists, as the
    committee would open them after that quarter's meeting (the next quarter's data then fix some, not others)."""
    rubric = rubric_versions.active(con)
    lists = {
        "election_overdue": alerts.election_overdue(con, quarter, rubric),
        "no_secretary": alerts.no_secretary(con, quarter),
        "few_full_members": alerts.few_full_members(con, quarter),
        "missing_report": alerts.missing_report(con, quarter),
    }
    new = [item for kind, rows in lists.items() for item in sources.from_warning(con, quarter, kind, rows)]
    return items.create(con, operator, new, responsible="各单位党组织书记").item_ids
