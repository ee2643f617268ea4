"""The demo district loaded once per test session for the export tests, and one pinned Chromium for them all.

A plain module (not a conftest fixture) so that test_deck, test_bulletin, test_images and
test_exports_meeting share the same database, meetings and browser; functools.cache makes each a singleton.
"""

from __future__ import annotations

import atexit
import functools
import json
import shutil
import tempfile
from pathlib import Path

import pandas as pd

from analytics.charts import images
from analytics.demo import load_demo
from analytics.meeting import meeting
from analytics.scoring.rubric import load_rubric
from analytics.scoring.scores import for_quarter
from analytics.store import database as store

ROOT = Path(__file__).resolve().parent.parent
TRUTH = json.loads((ROOT / "data" / "demo" / "truth.json").read_text(encoding="utf-8"))
QUARTER = "2024Q4"
SYSTEM = "经济系统"


@functools.cache
def demo_db() -> Path:
    """A DuckDB file with the demo district, deleted when the test process ends."""
    folder = Path(tempfile.mkdtemp(prefix="exports_demo_"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    path = folder / "demo.duckdb"
    with store.connect(path) as con:
        load_demo(con, uploader="tester")
    return path


@functools.cache
def scores() -> pd.DataFrame:
    """The quarter's scores straight from analytics.scores: what every exported number must equal."""
    with store.connect(demo_db()) as con:
        return for_quarter(con, QUARTER, load_rubric())


@functools.cache
def demo_meeting(system: str | None = None) -> meeting.Meeting:
    """The meeting of the demo quarter for the district or one system."""
    with store.connect(demo_db()) as con:
        return meeting.build(con, QUARTER, load_rubric(), {"system": system}, user="测试用户")


def warm() -> None:
    """One Chromium for the whole session (kaleido closes it when the process exits)."""
    images.pin()


def other_units(system: str) -> list[str]:
    """Units of every other system (none of them may appear in an export of `system`)."""
    frame = scores()
    return sorted(set(frame.loc[frame["system"] != system, "unit"]))
