"""Run the ingest path under the limits a hostile file must not break: 2 GB of address space (the caller adds a timeout).

python tests/corpus/limited.py ingest FILE     # ingest_bytes; prints one JSON object
python tests/corpus/limited.py cli ARGS...     # python -m analytics ARGS..., as a user runs it
"""

from __future__ import annotations

import json
import resource
import runpy
import sys
import time
from pathlib import Path

LIMIT = 2 << 30
ROOT = Path(__file__).resolve().parents[2]


def ingest(path: Path) -> dict:
    """What ingest_bytes reports for the file, how long it took and the peak resident memory."""
    from analytics.ingest.records import ingest_bytes

    start = time.perf_counter()
    report = ingest_bytes(path.read_bytes(), path.name)
    seconds = time.perf_counter() - start
    problems = [{**p.as_dict(), "severity": p.severity} for p in report.problems]
    return {"rows": report.row_count, "problems": problems, "seconds": seconds, "peak_mb": _peak_mb()}


def _peak_mb() -> float:
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


if __name__ == "__main__":
    resource.setrlimit(resource.RLIMIT_AS, (LIMIT, LIMIT))
    sys.path.insert(0, str(ROOT))
    if sys.argv[1] == "ingest":
        print(json.dumps(ingest(Path(sys.argv[2])), ensure_ascii=False))
    else:
        sys.argv = ["analytics", *sys.argv[2:]]
        runpy.run_module("analytics", run_name="__main__", alter_sys=True)
