"""The same work on both stores: the DuckDB file and PostgreSQL (issue 17). Figures in bench/backends.md.

Run `.venv/bin/python bench/backends.py [--repeat 2]`. Needs Debian's `postgresql` installed: it starts a throwaway
cluster (tests/pg.py) and removes it after. Every step runs in its own process (bench/scale.py's children), so a
first view is what a freshly started app process pays, and a later view what it pays once warm. The steps:

- ingest: the 100,000-row workbook of bench/ingest.py through the real upload path into a new, empty store;
- score: every organization of 2024Q4 in the 200,000-organization store of bench/scale.py (copied to PostgreSQL
  with `store-copy`), and the first connect of a new process (on PostgreSQL: reading the whole store into its copy);
- pages: each leader page at 200,000, first view and later view;
- concurrent: 8 CLI processes each uploading one system's 2024Q4 file (7,500 organizations of a 60,000 district)
  at once into a new store.
Goals: ingest on PostgreSQL within 2× of the file; every page's first view under 2 s on both.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import scale  # noqa: E402
import synthetic  # noqa: E402

from tests import pg  # noqa: E402

OUT = ROOT / "bench" / "out"
WORKBOOK = OUT / "quarterly_100000.xlsx"
STORE_200K = OUT / "scale" / "scale_200000.duckdb"
GOALS = {"ingest_ratio": 2.0, "page_first_s": 2.0}


def ingest(server: str, folder: Path, repeat: int) -> dict:
    """The 100k workbook into a new store on each backend, `repeat` times; median walls and their ratio."""
    if not WORKBOOK.exists():
        sys.exit(f"{WORKBOOK} is missing: run `make bench` (bench/ingest.py) once to write it")
    out: dict[str, list[float]] = {"duckdb": [], "postgresql": []}
    for k in range(repeat):
        file_db = folder / f"ingest-{k}.duckdb"
        out["duckdb"].append(scale.child("ingest", str(file_db), str(WORKBOOK))["wall"])
        url = pg.new_database(server)
        out["postgresql"].append(scale.child("ingest", url, str(WORKBOOK))["wall"])
    medians = {k: statistics.median(v) for k, v in out.items()}
    return {"runs": out, "median": medians, "ratio": medians["postgresql"] / medians["duckdb"]}


def big_store(server: str) -> str:
    """The 200k store of bench/scale.py copied into a new PostgreSQL database; its URL."""
    if not STORE_200K.exists():
        sys.exit(f"{STORE_200K} is missing: run `.venv/bin/python bench/scale.py --sizes 200000` first")
    url = pg.new_database(server)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "analytics", "store-copy", "--from", str(STORE_200K), "--db", url],
        cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    if done.returncode:
        sys.exit(done.stderr)
    print(f"store-copy of the 200k store: {time.perf_counter() - started:.1f} s")
    return url


def catch_up(url: str, folder: Path) -> dict:
    """This process holds a copy of the 200k store; another process uploads one system's file (7,500
    organizations); the time of this process's next connect, which reads what changed, against a first read."""
    from analytics.store import database as store

    started = time.perf_counter()
    with store.connect(url):
        pass
    first = time.perf_counter() - started
    files = synthetic.write_csv_files(synthetic.District(60_000), "2024Q4", folder / "catch_up", by_system=True)
    done = subprocess.run(
        [sys.executable, "-m", "analytics", "ingest", str(files[0]), "--db", url, "--no-refresh"],
        cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    if done.returncode:
        sys.exit(done.stderr)
    started = time.perf_counter()
    with store.connect(url):
        pass
    return {"first_read": first, "after_upload": time.perf_counter() - started}


def score_and_pages(db: str, repeat: int) -> dict:
    """First connect, scoring of 2024Q4, and every leader page (first and later view) on one store."""
    connect = scale.child("connect", db)
    score = scale.child("score", db, str(repeat))
    pages = {page: scale.child("page", db, page) for page in scale.PAGES}
    return {"connect": connect, "score": score, "pages": pages}


def concurrent(server: str, folder: Path) -> dict:
    """8 CLI uploads at once into a new store on each backend: wall until the last ends, and how many landed."""
    files_dir = folder / "files_60000"  # 60k organizations fall into 8 系统 (synthetic.District.systems)
    files = synthetic.write_csv_files(synthetic.District(60_000), "2024Q4", files_dir, by_system=True)
    assert len(files) == 8, files
    out = {}
    for backend in ("duckdb", "postgresql"):
        db = str(folder / "concurrent.duckdb") if backend == "duckdb" else pg.new_database(server)
        started = time.perf_counter()
        command = [sys.executable, "-m", "analytics", "ingest", "--db", db, "--no-refresh"]
        procs = [
            subprocess.Popen([*command, str(f)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for f in files
        ]
        results = [p.communicate() for p in procs]
        wall = time.perf_counter() - started
        landed = sum(p.returncode == 0 for p in procs)
        refused = [err.strip().splitlines()[-1] for p, (_, err) in zip(procs, results, strict=True) if p.returncode]
        out[backend] = {"wall": wall, "landed": landed, "refused": refused[:3], "rows": 0}
    return out


def report(result: dict) -> None:
    ing = result["ingest"]
    print(f"\ningest 100k rows (median of {len(ing['runs']['duckdb'])}):"
          f" file {ing['median']['duckdb']:.2f} s, PostgreSQL {ing['median']['postgresql']:.2f} s,"
          f" ratio {ing['ratio']:.2f} (goal ≤ {GOALS['ingest_ratio']}: {'PASS' if ing['ratio'] <= 2 else 'MISS'})")  # fmt: skip
    print("\n200k organizations        file        PostgreSQL   (a page's first view: in a process whose copy is read)")
    for what, key in (("first connect", "first"), ("second connect", "again")):
        a, b = (result[k]["connect"][key] for k in ("duckdb", "postgresql"))
        print(f"  {what:22} {a:7.2f} s   {b:7.2f} s")
    a, b = (statistics.median(result[k]["score"]["times"]) for k in ("duckdb", "postgresql"))
    print(f"  {'score 2024Q4':22} {a:7.2f} s   {b:7.2f} s")
    worst = {}
    for page in scale.PAGES:
        f, p = result["duckdb"]["pages"][page], result["postgresql"]["pages"][page]
        print(
            f"  {page:14} first  {f['cold']:7.2f} s   {p['cold']:7.2f} s   later {f['warm']:5.2f} s  {p['warm']:5.2f} s"
        )
        worst[page] = max(f["cold"], p["cold"])
    slowest = max(worst, key=worst.get)
    ok = worst[slowest] < GOALS["page_first_s"]
    print(f"  slowest first view: {slowest} {worst[slowest]:.2f} s (goal < 2 s on both: {'PASS' if ok else 'MISS'})")
    c = result["catch_up"]
    print(f"\nPostgreSQL, 200k: a process's first read {c['first_read']:.2f} s; its next connect after another process"
          f" uploaded 7,500 organizations {c['after_upload']:.2f} s")  # fmt: skip
    print("\n8 concurrent CLI uploads (one system's 2024Q4 file of 7,500 organizations each):")
    for backend, r in result["concurrent"].items():
        print(f"  {backend:10} {r['wall']:6.1f} s, {r['landed']}/8 landed {r['refused']}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--only-concurrent", action="store_true", help="only the 8 concurrent uploads")
    parser.add_argument("--only-catch-up", action="store_true", help="only the next read after another's upload")
    args = parser.parse_args()
    cluster = pg.Cluster()
    cluster.start()
    folder = Path(tempfile.mkdtemp(prefix="dangjian-backends-"))
    try:
        if args.only_catch_up:
            print(catch_up(big_store(cluster.url), folder))
            return
        if args.only_concurrent:
            for backend, r in concurrent(cluster.url, folder).items():
                print(f"{backend:10} {r['wall']:6.1f} s, {r['landed']}/8 landed {r['refused']}")
            return
        result = {"ingest": ingest(cluster.url, folder, args.repeat)}
        result["duckdb"] = score_and_pages(str(STORE_200K), args.repeat)
        big = big_store(cluster.url)
        result["postgresql"] = score_and_pages(big, args.repeat)
        result["catch_up"] = catch_up(big, folder)
        result["concurrent"] = concurrent(cluster.url, folder)
        (OUT / "backends.json").write_text(json.dumps(result, indent=1, default=str))
        report(result)
    finally:
        cluster.remove()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        scale.child_main(sys.argv[2], sys.argv[3:])
    else:
        main()
