"""The bundled demo district: data/demo/manifest.toml lists its files in load order."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

import duckdb

from analytics.accounts.auth import User
from analytics.ingest.records import ingest_bytes
from analytics.problems import Report
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
    for item in demo_files():
        data = item.path.read_bytes()
        report = ingest_bytes(data, item.path.name, item.quarter)
        loaded = None if report.errors else load_as(con, operator, [(report, data)])[0]
        results.append((report, loaded))
    return results
