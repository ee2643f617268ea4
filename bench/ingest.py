"""Ingest benchmark: our full ingest of a 100,000-row quarterly workbook against plain readers.

Run `make bench` (or `python bench/ingest.py [--quick | --rows N] [--repeat K]`). The workbook is
generated once into bench/out/ and reused. Goals (project issue): full ingest ≥ 10× faster than
pandas.read_excel(engine="openpyxl"), within 2.5× of fastexcel's Arrow read (2× while big sheets were read in two
parts, see bench/README.md), peak memory < 1 GB.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import datetime as dt
import gc
import io
import json
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable
from pathlib import Path

import fastexcel
import numpy as np
import openpyxl  # noqa: F401  (imported up front so the timed openpyxl read excludes the import)
import pandas as pd
import xlsxwriter
from python_calamine import CalamineWorkbook

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
TEMPLATE = ROOT / "analytics" / "template.toml"
FULL_ROWS, QUICK_ROWS = 100_000, 20_000
TITLE = "2024年第一季度区直机关基层党组织建设情况统计表"
GOALS = {"vs_openpyxl": 10.0, "vs_fastexcel": 2.5, "peak_mb": 1024.0}
# fmt: off
SYSTEMS = [
    "教育", "卫健", "政法", "公安", "财政", "税务", "交通", "水务", "农业农村", "自然资源",
    "生态环境", "住房城建", "市场监管", "文旅", "体育", "民政", "人社", "商务", "发改", "统计",
    "审计", "应急管理", "城管", "科技", "工信", "国资", "金融", "医保", "退役军人事务", "机关事务",
]
UNIT_KINDS = [
    "局机关", "事务中心", "执法大队", "信息中心", "服务中心", "研究院", "第一分局", "第二分局",
    "第三分局", "培训中心", "监测站", "管理处", "档案馆", "指挥中心", "后勤保障中心", "综合办公室",
    "规划院", "质检所", "发展中心", "集团公司",
]
# fmt: on
ORG_TYPES = (["党支部", "党总支", "党委", "联合党支部"], [0.8, 0.08, 0.05, 0.07])
EXCEL_EPOCH = dt.date(1899, 12, 30)


# ---------------------------------------------------------------- the workbook


def template_columns() -> list[dict]:
    """The template's column entries (header, name, type, choices) in order."""
    return tomllib.loads(TEMPLATE.read_text(encoding="utf-8"))["column"]


def generated_values(n: int, seed: int = 2024) -> dict[str, list]:
    """Valid, realistic values for every template column; None is a blank cell."""
    rng = np.random.default_rng(seed)
    system_i = rng.integers(0, len(SYSTEMS), n)
    unit_i = rng.integers(0, len(UNIT_KINDS), n)
    org_type = rng.choice(ORG_TYPES[0], n, p=ORG_TYPES[1])
    total = np.clip(rng.lognormal(3.0, 0.8, n).astype(int), 3, 1500)
    probationary = np.minimum(rng.poisson(0.6, n), total // 3)
    found = rng.integers(0, 12, n)
    dues_due = np.round(total * rng.uniform(20, 80, n), 2)

    def count(lam: float, cap: int = 31) -> np.ndarray:
        return np.minimum(rng.poisson(lam, n), cap)

    def yesno(p_yes: float) -> list[str]:
        return np.where(rng.random(n) < p_yes, "是", "否").tolist()

    def rate(low: float) -> np.ndarray:
        return np.round(rng.uniform(low, 100, n), 1)

    groups = count(3.0)
    election = rng.integers((dt.date(2019, 1, 1) - EXCEL_EPOCH).days, (dt.date(2024, 3, 31) - EXCEL_EPOCH).days, n)
    units = [f"市{SYSTEMS[s]}{UNIT_KINDS[u]}" for s, u in zip(system_i, unit_i, strict=True)]
    return {
        "system": [f"{SYSTEMS[s]}系统" for s in system_i],
        "unit": units,
        "org_name": [f"{u}第{i + 1}{t}" for i, (u, t) in enumerate(zip(units, org_type, strict=True))],
        "org_type": org_type.tolist(),
        "members_total": total,
        "members_full": total - probationary,
        "members_probationary": probationary,
        "has_secretary": yesno(0.95),
        "last_election_date": election,
        "committee_meetings": count(3.0),
        "general_meetings": count(1.2),
        # A third of branches have no party groups: the cell is left blank (SPEC §3 #12)
        "group_meetings": [None if blank else int(g) for blank, g in zip(rng.random(n) < 0.3, groups, strict=True)],
        "party_lectures": count(1.3),
        "theme_days": count(3.0),
        "life_meetings": count(0.5),
        "member_review_done": yesno(0.7),
        "online_record_rate": rate(50),
        "study_rate": rate(40),
        "records_standard": yesno(0.85),
        "dues_due": dues_due,
        "dues_paid": np.round(dues_due * np.where(rng.random(n) < 0.9, 1.0, rng.uniform(0.6, 1.0, n)), 2),
        "activists": count(1.5, 1000),
        "candidates": count(0.6, 500),
        "new_probationary": count(0.4, 500),
        "converted": count(0.4, 500),
        "joint_meetings": count(1.2),
        "pb_plus_projects": count(1.0, 100),
        "vanguard_posts": np.minimum(rng.poisson(total * 0.15), total),
        "business_completion": rate(55),
        "issues_found": found,
        "issues_fixed": np.floor(found * rng.uniform(0.5, 1.0, n)).astype(int),
        "secretary_review": rng.choice(
            ["好", "较好", "一般", "差", "未评"], n, p=[0.5, 0.3, 0.12, 0.03, 0.05]
        ).tolist(),
        "model_level": rng.choice(["市级样板", "区级示范", "无"], n, p=[0.03, 0.1, 0.87]).tolist(),
    }


def write_workbook(path: Path, n: int) -> None:
    """A 33-column quarterly workbook: title row, Chinese header row, n data rows, date cells."""
    columns = template_columns()
    values = generated_values(n)
    cols = [values[c["name"]] for c in columns]
    cols = [c.tolist() if isinstance(c, np.ndarray) else c for c in cols]
    kinds = [c["type"] for c in columns]
    partial = path.with_suffix(".partial.xlsx")
    # constant_memory streams rows to disk; strings stay text, never formulas (NOTES: Office files)
    book = xlsxwriter.Workbook(str(partial), {"constant_memory": True, "strings_to_formulas": False})
    sheet = book.add_worksheet("党组织建设情况")
    title, head = book.add_format({"bold": True, "font_size": 14}), book.add_format({"bold": True, "text_wrap": True})
    date = book.add_format({"num_format": "yyyy-mm-dd"})
    sheet.merge_range(0, 0, 0, len(columns) - 1, TITLE, title)
    for j, c in enumerate(columns):
        sheet.write_string(1, j, c["header"], head)
    for i in range(n):
        row = i + 2
        for j, kind in enumerate(kinds):
            v = cols[j][i]
            if v is None:
                continue
            if kind == "date":
                sheet.write_number(row, j, v, date)
            elif isinstance(v, str):
                sheet.write_string(row, j, v)
            else:
                sheet.write_number(row, j, v)
    book.close()
    partial.rename(path)


def workbook(n: int) -> Path:
    """bench/out/quarterly_<n>.xlsx, generated on first use."""
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"quarterly_{n}.xlsx"
    if not path.exists():
        print(f"generating {path.relative_to(ROOT)} ({n:,} rows)…", flush=True)
        started = time.perf_counter()
        write_workbook(path, n)
        print(f"  written in {time.perf_counter() - started:.1f} s", flush=True)
    return path


# ---------------------------------------------------------------- the readers


def read_openpyxl(data: bytes) -> int:
    return len(pd.read_excel(io.BytesIO(data), engine="openpyxl", header=1))


def read_fastexcel(data: bytes) -> int:
    return fastexcel.read_excel(data).load_sheet(0, header_row=1).to_arrow().num_rows


def read_calamine(data: bytes) -> int:
    rows = CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_index(0).to_python()
    return len(pd.DataFrame(rows[2:], columns=rows[1]))


def read_step(data: bytes) -> int:
    from analytics.ingest.sheets.workbook import read_sheets  # analytics is importable only after main() sets sys.path

    return sum(s.height for s in read_sheets(data, "bench.xlsx", 10**7))


def parse_validate(data: bytes) -> int:
    from analytics.ingest.records import ingest_bytes

    report = ingest_bytes(data, "bench.xlsx")
    if report.errors:
        raise SystemExit(f"generated workbook has {len(report.errors)} errors, e.g. {report.errors[:3]}")
    return report.row_count


def timed(fn: Callable[[bytes], int], data: bytes, repeat: int) -> tuple[float, int]:
    """Median wall time of `repeat` calls and the row count the last call returned."""
    times, rows = [], 0
    for _ in range(repeat):
        gc.collect()
        started = time.perf_counter()
        rows = fn(data)
        times.append(time.perf_counter() - started)
    return statistics.median(times), rows


# ---------------------------------------------------------------- full ingest, in a child process


def rss_mb(field: str) -> float:
    """VmHWM (peak) or VmRSS (current) of this process in MB, from /proc/self/status."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def full_ingest_child(path: Path) -> None:
    """Parse, validate, load into a fresh DuckDB file and commit; prints timings and memory as JSON."""
    from analytics.ingest.records import ingest_bytes
    from analytics.store import batches
    from analytics.store import database as store

    data = path.read_bytes()
    base = rss_mb("VmRSS")
    if group := os.environ.get("BENCH_CGROUP"):  # from here on, this process and its reader child are counted there
        (Path(group) / "cgroup.procs").write_text(str(os.getpid()))
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        report = ingest_bytes(data, path.name)
        parsed = time.perf_counter()
        with store.connect(Path(tmp) / "bench.duckdb") as con:
            result = batches.load_batch(con, report, data, uploader="bench")
        done = time.perf_counter()
    print(
        json.dumps(
            {
                "parse": parsed - started,
                "load": done - parsed,
                "total": done - started,
                "rows": result.rows,
                "base_mb": base,
                "peak_mb": rss_mb("VmHWM"),
            }
        )
    )


def fastexcel_child(path: Path) -> None:
    """Step (b) once in this fresh process, as (f) runs: prints the seconds as JSON."""
    data = path.read_bytes()
    started = time.perf_counter()
    read_fastexcel(data)
    print(json.dumps({"total": time.perf_counter() - started}))


def in_children(mode: str, path: Path, repeat: int) -> list[dict]:
    """The JSON line of `repeat` fresh child processes of this script run with --<mode> path.

    Where a memory cgroup (v1) can be made, the child joins it right before the ingest, and its peak usage is added
    as "upload_mb": everything the upload held at once, the reader child, its memory files and the page cache of the
    files written included, each page counted once (the RSS of two processes would count shared pages twice).
    """
    runs = []
    for i in range(repeat):
        group = _memory_group(f"dangjian-bench-{os.getpid()}-{i}")
        env = os.environ | ({"BENCH_CGROUP": str(group)} if group else {})
        out = subprocess.run(
            [sys.executable, __file__, f"--{mode}", str(path)], check=True, capture_output=True, text=True, cwd=ROOT,
            env=env,
        )  # fmt: skip
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
        if group:
            runs[-1]["upload_mb"] = int((group / "memory.max_usage_in_bytes").read_text()) / 2**20
            with contextlib.suppress(OSError):
                group.rmdir()
    return runs


def _memory_group(name: str) -> Path | None:
    """A new memory cgroup (v1) to count a child in, or None where none can be made (not root, cgroup v2 only)."""
    try:
        group = Path("/sys/fs/cgroup/memory") / name
        group.mkdir()
        return group
    except OSError:
        return None


def full_ingest(path: Path, repeat: int) -> dict:
    """Median timings over `repeat` fresh child processes, and the largest peak RSS among them."""
    runs = in_children("full-ingest-child", path, repeat)
    summary = {k: statistics.median(r[k] for r in runs) for k in ("parse", "load", "total", "base_mb")}
    uploads = [r["upload_mb"] for r in runs if "upload_mb" in r]
    return summary | {
        "rows": runs[-1]["rows"],
        "peak_mb": max(r["peak_mb"] for r in runs),
        "upload_mb": max(uploads) if uploads else None,
    }


# ---------------------------------------------------------------- profile


def write_profile(data: bytes, target: Path) -> list[tuple[str, float]]:
    """cProfile of one ingest_bytes call into `target`; returns the top 15 (function, cumulative s)."""
    from analytics.ingest.records import ingest_bytes

    profile = cProfile.Profile()
    profile.runcall(ingest_bytes, data, "bench.xlsx")
    text = io.StringIO()
    stats = pstats.Stats(profile, stream=text).strip_dirs()
    text.write("== ingest_bytes, top 15 by cumulative time ==\n")
    stats.sort_stats("cumulative").print_stats(15)
    text.write("\n== top 15 by own time ==\n")
    stats.sort_stats("tottime").print_stats(15)
    target.write_text(text.getvalue(), encoding="utf-8")
    ranked = sorted(stats.stats.items(), key=lambda kv: kv[1][3], reverse=True)[:15]
    return [(f"{fn} ({file}:{line})", cum) for (file, line, fn), (_, _, _, cum, _) in ranked]


# ---------------------------------------------------------------- report


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def print_results(rows: int, size_mb: float, t: dict[str, float], full: dict) -> None:
    """The table of timings and the goal ratios with PASS/MISS."""
    print(f"\nworkbook: {rows:,} rows × 33 columns, {size_mb:.1f} MB")
    print(f"{'step':<52}{'seconds':>9}")
    labels = {
        "openpyxl": "(a) pandas.read_excel(engine='openpyxl')",
        "fastexcel": "(b) fastexcel -> Arrow",
        "calamine": "(c) python-calamine to_python() -> DataFrame",
        "read": "(d) our read step (workbook.read_sheets)",
        "parse": "(e) our parse + validate (ingest_bytes)",
    }
    for key, label in labels.items():
        print(f"{label:<52}{t[key]:>9.2f}")
    print(f"{'      (e) - (d): header, parse, validate':<52}{t['parse'] - t['read']:>9.2f}")
    print(f"{'(f) our full ingest (parse, validate, load, commit)':<52}{full['total']:>9.2f}")
    print(f"{'      of which ingest_bytes / load_batch + commit':<52}{full['parse']:>5.2f} / {full['load']:.2f}")
    print(f"{'(b′) fastexcel -> Arrow, in a fresh process as (f)':<52}{t['fastexcel_fresh']:>9.2f}")
    vs_openpyxl = t["openpyxl"] / full["total"]
    vs_fastexcel = full["total"] / t["fastexcel"]
    peak = full["peak_mb"]
    print("\nratios")
    print(
        f"  openpyxl / full ingest      {vs_openpyxl:6.1f}×  goal ≥ 10   {verdict(vs_openpyxl >= GOALS['vs_openpyxl'])}"
    )
    print(
        f"  full ingest / fastexcel     {vs_fastexcel:6.1f}×  goal ≤ {GOALS['vs_fastexcel']:<4g} {verdict(vs_fastexcel <= GOALS['vs_fastexcel'])}"
    )
    # (b) runs warm in this process, (f) in a fresh one that pays for new memory: (b′) shows how much that weighs
    print(
        f"  full ingest / (b′)          {full['total'] / t['fastexcel_fresh']:6.1f}×  context only, the goal is on (b)"
    )
    print(f"  read step / fastexcel       {t['read'] / t['fastexcel']:6.1f}×")
    print(f"  parse+validate / fastexcel  {t['parse'] / t['fastexcel']:6.1f}×")
    if full["upload_mb"] is None:
        print(f"  peak RSS of (f)             {peak:6.0f} MB  goal < 1024 {verdict(peak < GOALS['peak_mb'])}")
        print(f"      (after imports, before ingest: {full['base_mb']:.0f} MB; the reader child is not counted)")
    else:
        whole = full["base_mb"] + full["upload_mb"]
        print(f"  peak memory of (f)          {whole:6.0f} MB  goal < 1024 {verdict(whole < GOALS['peak_mb'])}")
        print(
            f"      (RSS after imports {full['base_mb']:.0f} MB + the upload's peak {full['upload_mb']:.0f} MB: reader child,"
        )
        print(f"       memory files and page cache included; peak RSS of the ingesting process alone {peak:.0f} MB)")


def run_steps(path: Path, data: bytes, repeat: int) -> tuple[dict[str, float], dict]:
    """Seconds of steps (a)-(e) and (b′), and the summary of (f)."""
    steps = {"fastexcel": read_fastexcel, "calamine": read_calamine, "read": read_step, "parse": parse_validate}
    t = {}
    for key, fn in steps.items():
        print(f"timing {key} ({repeat}×)…", flush=True)
        t[key], _ = timed(fn, data, repeat)
    print(f"timing full ingest in {repeat} child process(es)…", flush=True)
    full = full_ingest(path, repeat)
    print(f"timing fastexcel in {repeat} child process(es)…", flush=True)
    t["fastexcel_fresh"] = statistics.median(r["total"] for r in in_children("fastexcel-child", path, repeat))
    print("timing openpyxl (1×)…", flush=True)
    t["openpyxl"], _ = timed(read_openpyxl, data, 1)
    return t, full


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=FULL_ROWS, help="data rows in the workbook (default 100000)")
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_ROWS:,} rows, one run each")
    parser.add_argument("--repeat", type=int, default=3, help="runs per step, median reported (openpyxl runs once)")
    parser.add_argument("--full-ingest-child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--fastexcel-child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    # bench/ is not a package: make `analytics` importable when run as a script
    sys.path.insert(0, str(ROOT))
    import analytics.ingest.records
    import analytics.store.database  # noqa: F401  (imports stay out of the timings)

    if args.full_ingest_child:
        full_ingest_child(args.full_ingest_child)
        return 0
    if args.fastexcel_child:
        fastexcel_child(args.fastexcel_child)
        return 0
    rows, repeat = (QUICK_ROWS, 1) if args.quick else (args.rows, args.repeat)
    path = workbook(rows)
    data = path.read_bytes()
    t, full = run_steps(path, data, repeat)
    profile = OUT / "profile.txt"
    top = write_profile(data, profile)
    if full["rows"] != rows:
        print(f"warning: {full['rows']:,} of {rows:,} rows were loaded", file=sys.stderr)
    print_results(full["rows"], len(data) / 1024 / 1024, t, full)
    print(f"\ningest_bytes profile, top 15 cumulative (full listing: {profile.relative_to(ROOT)})")
    for name, cum in top:
        print(f"  {cum:7.2f} s  {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
