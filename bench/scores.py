"""Scores benchmark: score every organization of a quarter and measure the imbalance across units.

Run `.venv/bin/python bench/scores.py [--sizes 200,200000,5000000] [--quick] [--explain]`.
Synthetic organizations are generated in SQL straight into bench/out/scores_<n>.duckdb (reused
when the file already holds n organizations). Each measured path runs in a child process, so its
peak RSS (VmHWM) is its own. Goal: 5,000,000 organizations scored + unit imbalance in < 5 s, cost
growing no faster than linearly.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import duckdb  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pyarrow as pa  # noqa: E402
from duckdb import FunctionExpression  # noqa: E402

from analytics.scoring import imbalance  # noqa: E402
from analytics.scoring import scores as scores_module  # noqa: E402
from analytics.scoring.rubric import load_rubric  # noqa: E402
from analytics.scoring.scores import col, quarter_end, quarter_parts, scores_relation  # noqa: E402
from analytics.scoring.scores import const as col_const  # noqa: E402
from analytics.store import database as store  # noqa: E402

OUT = ROOT / "bench" / "out"
QUARTER = "2024Q4"
ORGS_PER_UNIT, UNITS_PER_SYSTEM = 20, 30
GENERATOR = "scores-bench-v1"
SAMPLE = 2_000
GOAL_SECONDS, GOAL_SIZE = 5.0, 5_000_000
PATHS = ("duckdb", "fetch-arrow", "fetch-numpy", "wide-pandas")
EXPERIMENT_PATHS: tuple[str, ...] = ()  # the year-to-date proposal is now library code (analytics/scoring/scores.py)
WIDE_PANDAS_MAX = 200_000  # the wide fetch is the known slow path (12–16 s at 5M): only on small sizes


# ---------------------------------------------------------------- synthetic data

ORGANIZATIONS_SQL = f"""
INSERT INTO organizations
SELECT i + 1, s, u, o, s, u, o, 1, NULL
FROM (SELECT i,
             '系统' || lpad(CAST(i // {ORGS_PER_UNIT * UNITS_PER_SYSTEM} AS VARCHAR), 4, '0') AS s,
             s || '-单位' || lpad(CAST(i // {ORGS_PER_UNIT} AS VARCHAR), 6, '0') AS u,
             u || '-第' || CAST(i % {ORGS_PER_UNIT} + 1 AS VARCHAR) || '支部' AS o
      FROM range($n) t(i))
"""

# One quarter of records; org_type and size come from hash(org_id) so they are stable across quarters.
RECORDS_SQL = """
INSERT INTO records
SELECT $q, '2024Q' || $q, org_id, NULL, NULL,
       CASE WHEN h % 100 < 80 THEN '党支部' WHEN h % 100 < 88 THEN '党总支'
            WHEN h % 100 < 93 THEN '党委' ELSE '联合党支部' END,
       total, total - prob, prob,
       random() < 0.95, DATE '2019-01-01' + CAST(floor(random() * 2100) AS INTEGER),
       CAST(floor(random() * 5) AS INTEGER), CAST(floor(random() * 3) AS INTEGER),
       CASE WHEN random() < 0.33 THEN NULL ELSE CAST(floor(random() * 5) AS INTEGER) END,
       CAST(floor(random() * 3) AS INTEGER), CAST(floor(random() * 5) AS INTEGER),
       CAST(random() < 0.4 AS INTEGER), random() < 0.8,
       round(40 + random() * 60, 1), CASE WHEN random() < 0.02 THEN NULL ELSE round(40 + random() * 60, 1) END,
       random() < 0.85, dues_due, round(dues_due * least(1.0, 0.6 + random() * 0.6), 2),
       CAST(floor(random() * 4) AS INTEGER), CAST(floor(random() * 3) AS INTEGER),
       CAST(floor(random() * 2) AS INTEGER), CAST(floor(random() * 2) AS INTEGER),
       CAST(floor(random() * 3) AS INTEGER), CAST(floor(random() * 3) AS INTEGER),
       CAST(floor(random() * total * 0.3) AS INTEGER), round(50 + random() * 50, 1),
       found, CAST(floor(random() * (found + 1)) AS INTEGER),
       ['好', '较好', '一般', '差', '未评'][1 + CAST(floor(random() * 5) AS INTEGER)],
       CASE WHEN random() < 0.02 THEN '区级示范' ELSE '无' END, NULL, NULL
FROM (SELECT org_id, h, total, CAST(floor(random() * least(3, total // 3 + 1)) AS INTEGER) AS prob,
             CASE WHEN random() < 0.03 THEN 0.0 ELSE round(total * (20 + random() * 60), 2) END AS dues_due,
             CAST(floor(random() * 12) AS INTEGER) AS found
      FROM (SELECT i + 1 AS org_id, hash(i + 1) AS h, CAST(3 + hash(i + 1) // 7 % 60 AS INTEGER) AS total
            FROM range($n) t(i)))
"""


def db_file(n: int) -> Path:
    return OUT / f"scores_{n}.duckdb"


def has_data(path: Path, n: int) -> bool:
    """True when the file holds this generator's n organizations and 4 quarters of records."""
    if not path.exists():
        return False
    with store.connect(path) as con:
        tag = con.execute("SELECT value FROM meta WHERE key = 'bench'").fetchall()
        return bool(tag) and tag[0][0] == f"{GENERATOR}:{n}"


def generate(n: int) -> Path:
    """The DuckDB file with n organizations and 2024Q1–Q4 records; built once, then reused."""
    path = db_file(n)
    if has_data(path, n):
        return path
    for stale in (path, path.with_suffix(".duckdb.wal")):
        stale.unlink(missing_ok=True)
    started = time.perf_counter()
    with store.connect(path) as con, store.transaction(con):
        con.execute(ORGANIZATIONS_SQL, {"n": n})
        for q in range(1, 5):  # one batch per quarter, as uploads would store them
            con.execute(RECORDS_SQL, {"q": q, "n": n})
            con.execute(
                "INSERT INTO batches VALUES ($q, '2024Q' || $q, 'bench', 'x', 'bench', now(), $n, $n, 0, 0, 0,"
                " false, 'active', NULL, NULL, NULL)",
                {"q": q, "n": n},
            )
        con.execute("INSERT OR REPLACE INTO meta VALUES ('bench', $tag)", {"tag": f"{GENERATOR}:{n}"})
    print(f"  generated {n:,} organizations × 4 quarters in {time.perf_counter() - started:.1f} s → {path}")
    return path


# ---------------------------------------------------------------- (a) the measured paths

# Unit imbalance of one score, all in DuckDB, in one query (the scores are computed once). Theil parts
# use Σ x ln x per group, so one pass over the rows suffices: Σᵢ xᵢ ln(xᵢ/μ_g) = Σᵢ xᵢ ln xᵢ − S_g ln μ_g
# (0 ln 0 = 0); Gini = Σ (2i − n − 1) x₍ᵢ₎ / (n Σx) needs the one sort (a window).
IMBALANCE_SQL = """
WITH s AS MATERIALIZED (SELECT unit, standardization AS x FROM scores),
g AS (SELECT unit, count(x) AS n, sum(x) AS sx, min(x) AS lo, max(x) AS hi, avg(CAST(x < 60 AS DOUBLE)) AS below,
             sum(CASE WHEN x > 0 THEN x * ln(x) ELSE 0 END) AS xlx
      FROM s WHERE x IS NOT NULL GROUP BY unit),
t AS (SELECT sum(n) AS n, sum(sx) AS sx, sum(sx) / sum(n) AS mu, sum(xlx) AS xlx,
             sum(CASE WHEN sx > 0 THEN sx * ln(sx / n) ELSE 0 END) AS slm FROM g),
r AS (SELECT sum((2 * rk - 1) * x) AS gw, stddev_pop(x) AS sd
      FROM (SELECT x, row_number() OVER (ORDER BY x) AS rk FROM s WHERE x IS NOT NULL))
SELECT g.unit, g.n AS count, g.sx / g.n AS mean, g.lo AS min, g.hi AS max, g.below AS below_60_share,
       t.n, t.mu, (r.gw / t.sx - t.n) / t.n AS gini, r.sd / t.mu AS cv,
       (t.xlx - t.sx * ln(t.mu)) / t.sx AS theil_total,
       (t.slm - t.sx * ln(t.mu)) / t.sx AS theil_between, (t.xlx - t.slm) / t.sx AS theil_within
FROM g, t, r
"""


def run_duckdb(con, rubric) -> dict:
    """Scores and the whole unit imbalance computed inside DuckDB; only small results come back."""
    rel = scores_relation(con, QUARTER, rubric).select(col("unit"), col("standardization"))
    rel.create_view("scores", replace=True)
    table = con.execute(IMBALANCE_SQL).fetchnumpy()  # one row per unit, the overall figures repeated
    result = {k: table[k][0] for k in ("n", "gini", "cv", "theil_total", "theil_between", "theil_within")}
    result["mean"] = table["mu"][0]
    result["between_share"] = result["theil_between"] / result["theil_total"] if result["theil_total"] else None
    result["units"] = len(table["unit"])
    return result


def _report(frame: pd.DataFrame) -> dict:
    report = imbalance.imbalance_report(frame, "unit", "standardization")
    report["units"] = len(report.pop("groups"))
    return report


def run_fetch_arrow(con, rubric) -> dict:
    """Fetch only unit + score as Arrow, unit dictionary-encoded → Categorical, then analytics.imbalance."""
    rel = scores_relation(con, QUARTER, rubric).select(col("unit"), col("standardization"))
    table = rel.arrow().read_all()
    unit = table.column("unit").combine_chunks().dictionary_encode()
    score = table.column("standardization").to_numpy(zero_copy_only=False)
    codes = pa.compute.fill_null(unit.indices, -1).to_numpy(zero_copy_only=False)
    categories = pd.Categorical.from_codes(codes, categories=unit.dictionary.to_pylist())
    return _report(pd.DataFrame({"unit": categories, "standardization": score}))


def run_fetch_numpy(con, rubric) -> dict:
    """Fetch only unit + score with fetchnumpy (unit as Python strings), then analytics.imbalance."""
    rel = scores_relation(con, QUARTER, rubric).select(col("unit"), col("standardization"))
    arrays = rel.fetchnumpy()
    score = np.ma.filled(arrays["standardization"].astype(float), np.nan)
    return _report(pd.DataFrame({"unit": arrays["unit"], "standardization": score}))


def run_wide_pandas(con, rubric) -> dict:
    """The naive path: the full sorted score table into pandas (for_quarter), then analytics.imbalance."""
    frame = scores_relation(con, QUARTER, rubric).order("system, unit, org_name").df()
    return _report(frame)


def records_ytd_from_table(con, quarter: str, rubric) -> duckdb.DuckDBPyRelation:
    """PROPOSAL, not library code: analytics.scores._records with the year-to-date sums read from `records`
    (which has org_id) instead of the current_records view, so the 4n history rows skip the organizations join."""
    base = con.table("current_records").filter(col("quarter") == col_const(quarter)).set_alias("r")
    summed = sorted({i.column for i in rubric.indicators if i.accumulate})
    first = f"{quarter_parts(quarter)[0]}Q1"
    history = con.table("records").filter(
        col("quarter").between(col_const(first), col_const(quarter)) & col("replaced_by").isnull()
    )
    sums = [FunctionExpression("sum", col(c)).alias(f"ytd_{c}") for c in summed]
    ytd = history.aggregate([col("org_id").alias("ytd_org"), *sums], "org_id").set_alias("y")
    joined = base.join(ytd, col("org_id") == col("ytd_org"), how="left")
    return joined.select(duckdb.StarExpression(exclude=["ytd_org"]))


RUNNERS = {
    "duckdb": run_duckdb,
    "fetch-arrow": run_fetch_arrow,
    "fetch-numpy": run_fetch_numpy,
    "wide-pandas": run_wide_pandas,
}


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def child(path_name: str, db: Path, repeat: int, ytd_fix: bool) -> None:
    """Run one path `repeat` times on an open connection; print timings, figures and VmHWM as JSON."""
    if ytd_fix:  # the experiment: the library's scores_relation with the proposed _records
        scores_module._records = records_ytd_from_table
    rubric = load_rubric()
    times, cpu, result = [], [], {}
    with store.connect(db) as con:
        for _ in range(repeat):
            started, cpu_started = time.perf_counter(), time.process_time()
            result = RUNNERS[path_name](con, rubric)
            times.append(time.perf_counter() - started)
            cpu.append(time.process_time() - cpu_started)
    figures = {k: (float(v) if isinstance(v, int | float | np.number) else v) for k, v in result.items()}
    print(json.dumps({"times": times, "cpu": cpu, "peak_mb": peak_rss_mb(), "figures": figures}, default=str))


def measure(path_name: str, db: Path, repeat: int, ytd_fix: bool = False) -> dict:
    """One path in a fresh child process."""
    cmd = [sys.executable, __file__, "--child", path_name, "--db", str(db), "--repeat", str(repeat)]
    cmd += ["--ytd-fix"] if ytd_fix else []
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"{path_name} failed on {db}:\n{done.stderr}")
    out = json.loads(done.stdout.strip().splitlines()[-1])
    out["median"], out["min"] = statistics.median(out["times"]), min(out["times"])
    out["cpu_median"] = statistics.median(out["cpu"])
    out["load"] = os.getloadavg()[0]
    return out


# ---------------------------------------------------------------- (b) a plain Python loop


def py_raw(ind, row: dict, period_end) -> float | None:
    """One indicator's 0–1 score for one row (None when the value is missing)."""
    value = row.get(f"ytd_{ind.column}" if ind.accumulate else (ind.numerator or ind.column))
    if value is None:
        return None
    if ind.kind in ("count", "rate"):
        return min(value / ind.target, 1.0)
    if ind.kind == "share":
        return min(value / row[ind.denominator] / ind.target, 1.0)
    if ind.kind == "flag":
        return 1.0 if (value >= ind.at_least if ind.at_least is not None else value) else 0.0
    if ind.kind == "grade":
        return dict(ind.table).get(value, 0.0)
    years = row["term_years"] or dict(ind.years)[row["org_type"]]
    day = min(value.day, 28) if value.month == 2 else value.day  # 29 Feb + N years → 28 Feb, as in SQL
    return 0.0 if value.replace(year=value.year + years, day=day) < period_end else 1.0


def py_category(row: dict) -> str:
    """在职 / 离退休: the column, else 退休 in the name means 离退休 (SPEC §4.5)."""
    return row.get("org_category") or ("离退休" if "退休" in row["org_name"] else "在职")


def py_applies(ind, row: dict, quarter_no: int, rubric) -> bool:
    for cond in rubric.conditions(ind):
        if cond.quarters:
            ok = quarter_no in cond.quarters
        elif cond.org_types:
            ok = row["org_type"] in cond.org_types
        elif cond.categories:
            ok = py_category(row) in cond.categories
        else:
            v = row.get(cond.column)
            ok = v is not None and (
                (cond.at_least is None or v >= cond.at_least)
                and (cond.greater_than is None or v > cond.greater_than)
                and (not cond.not_in or v not in cond.not_in)
            )
        if not ok:
            return False
    return ind.kind != "share" or (row.get(ind.denominator) or 0) > 0


def py_composite(rubric, composite: str, row: dict, quarter_no: int, period_end) -> float | None:
    points = weights = 0.0
    for ind in rubric.of(composite):
        if py_applies(ind, row, quarter_no, rubric):
            points += ind.weight * (py_raw(ind, row, period_end) or 0.0)
            weights += ind.weight
    return 100.0 * points / weights if weights else None


def py_imbalance(pairs: list[tuple[str, float]]) -> dict:
    """Unit table, Gini, CV and Theil (total, between, within, share) with plain Python."""
    groups: dict[str, list[float]] = defaultdict(list)
    for unit, x in pairs:
        groups[unit].append(x)
    values = [x for _, x in pairs]
    n, total = len(values), sum(values)
    mu = total / n
    table = {
        u: (len(xs), sum(xs) / len(xs), min(xs), max(xs), sum(x < 60 for x in xs) / len(xs)) for u, xs in groups.items()
    }
    ordered = sorted(values)
    gini = sum((2 * i - n - 1) * x for i, x in enumerate(ordered, 1)) / (n * total)
    cv = math.sqrt(sum((x - mu) ** 2 for x in values) / n) / mu
    theil_total = sum(x / mu * math.log(x / mu) for x in values if x > 0) / n
    between = sum(
        len(xs) / n * (m / mu) * math.log(m / mu)
        for xs, (_, m, *_) in zip(groups.values(), table.values(), strict=True)
        if m > 0
    )
    within = theil_total - between
    share = between / theil_total if theil_total else None
    return {
        "n": n,
        "mean": mu,
        "gini": gini,
        "cv": cv,
        "theil_total": theil_total,
        "theil_between": between,
        "theil_within": within,
        "between_share": share,
        "units": len(table),
    }


def py_run(rows: list[dict], rubric) -> tuple[dict, dict]:
    """Year-to-date sums, both composites per organization, then the unit imbalance of standardization."""
    year, quarter_no, period_end = 2024, 4, quarter_end(QUARTER)
    ytd: dict[int, int] = defaultdict(int)
    for row in rows:
        if row["quarter"] >= f"{year}Q1" and row["life_meetings"] is not None:
            ytd[row["org_id"]] += row["life_meetings"]
    scored = {}
    for row in rows:
        if row["quarter"] == QUARTER:
            row = dict(row, ytd_life_meetings=ytd.get(row["org_id"]))
            scored[row["org_id"]] = {
                c: py_composite(rubric, c, row, quarter_no, period_end) for c in rubric.composite_ids
            }
    pairs = [(r["unit"], s["standardization"]) for r in rows if r["quarter"] == QUARTER for s in [scored[r["org_id"]]]]
    return scored, py_imbalance(pairs)


def sample_rows(con, size: int) -> list[dict]:
    """The 2024 records of a random sample of organizations, as one dict per row."""
    cur = con.execute(
        "SELECT * FROM current_records WHERE quarter BETWEEN '2024Q1' AND $q AND org_id IN "
        f"(SELECT org_id FROM organizations USING SAMPLE reservoir({size} ROWS) REPEATABLE (7))",
        {"q": QUARTER},
    )
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def python_loop(db: Path, n: int, repeat: int) -> dict:
    """Time the per-organization loop on a sample, extrapolate to n, and check it against DuckDB."""
    rubric = load_rubric()
    with store.connect(db) as con:
        rows = sample_rows(con, min(SAMPLE, n))
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            scored, _ = py_run(rows, rubric)
            times.append(time.perf_counter() - started)
        rel = scores_relation(con, QUARTER, rubric).filter(col("org_id").isin(*(col_const(i) for i in scored)))
        ref = {r[0]: r[1:] for r in rel.select(col("org_id"), col("standardization"), col("integration")).fetchall()}
    diff = max(abs(s[c] - ref[o][k]) for o, s in scored.items() for k, c in enumerate(rubric.composite_ids))
    sampled = len(scored)
    median = statistics.median(times)
    return {"sample": sampled, "sample_s": median, "extrapolated_s": median * n / sampled, "max_diff": diff}


# ---------------------------------------------------------------- driver and report

COMPARED = ("mean", "gini", "cv", "theil_total", "theil_between", "theil_within", "between_share")


def agreement(results: dict) -> float:
    """Largest absolute difference of the imbalance figures between the paths that ran."""
    figures = [r["figures"] for r in results.values()]
    return max(abs(f[k] - figures[0][k]) for f in figures[1:] for k in COMPARED) if len(figures) > 1 else 0.0


def warm_page_cache(db: Path) -> None:
    """Read the file once so the first path measured does not pay for a cold disk cache."""
    with db.open("rb") as handle:
        while handle.read(1 << 24):
            pass


def bench_size(n: int, repeat: int) -> dict:
    """All paths and the Python loop for one size."""
    db = generate(n)
    warm_page_cache(db)
    paths = {}
    for name in PATHS:
        if name == "wide-pandas" and n > WIDE_PANDAS_MAX:
            continue
        paths[name] = measure(name, db, repeat)
        show(name, paths[name])
    experiments = {}
    for name in EXPERIMENT_PATHS:
        experiments[name] = measure(name, db, repeat, ytd_fix=True)
        show(f"{name} +ytd-fix", experiments[name])
    loop = python_loop(db, n, repeat)
    print(f"  python loop  {loop['sample']} orgs {loop['sample_s']:.3f} s → {loop['extrapolated_s']:.1f} s at {n:,}")
    return {
        "n": n,
        "paths": paths,
        "experiments": experiments,
        "loop": loop,
        "agreement": agreement(paths | experiments),
    }


def show(name: str, result: dict) -> None:
    print(
        f"  {name:<22} median {result['median']:7.3f} s  min {result['min']:7.3f} s  CPU {result['cpu_median']:6.2f} s"
        f"  peak {result['peak_mb']:6.0f} MB  (load {result['load']:.1f})"
    )


def growth(sizes: list[dict], key) -> list[str]:
    """Cost growth per 10× more organizations between consecutive sizes (10 = linear)."""
    out = ["—"]
    for small, big in itertools.pairwise(sizes):
        decades = math.log10(big["n"] / small["n"])
        out.append(f"{(key(big) / key(small)) ** (1 / decades):.2f}")
    return out


def best_path(size: dict) -> dict:
    return min(size["paths"].values(), key=lambda p: p["median"])


def print_table(sizes: list[dict]) -> None:
    """Markdown table: each library path's median (peak RSS), the Python loop and the growth per 10×."""
    growth_t = growth(sizes, lambda s: best_path(s)["median"])
    growth_m = growth(sizes, lambda s: best_path(s)["peak_mb"])
    head = [
        "orgs",
        *PATHS,
        "best",
        "py loop (extrap.)",
        "loop/best",
        "growth/10× time",
        "best's peak MB",
        "growth/10× mem",
    ]
    print("\n| " + " | ".join(head) + " |\n" + "|---" * len(head) + "|")
    for s, gt, gm in zip(sizes, growth_t, growth_m, strict=True):
        paths, best = s["paths"], best_path(s)
        cells = [f"{paths[p]['median']:.3f} s ({paths[p]['peak_mb']:.0f} MB)" if p in paths else "—" for p in PATHS]
        name = min(paths, key=lambda p: paths[p]["median"])
        loop = s["loop"]["extrapolated_s"]
        tail = [name, f"{loop:.2f} s", f"{loop / best['median']:.0f}×", gt, f"{best['peak_mb']:.0f}", gm]
        print(f"| {s['n']:,} | " + " | ".join(cells + tail) + " |")


def print_checks(sizes: list[dict]) -> None:
    """The experiment's figures and the agreement between all implementations."""
    if any(s["experiments"] for s in sizes):
        print("\nExperiment (not library code): the same paths with a proposed query")
    for s in sizes:
        if not s["experiments"]:
            continue
        cells = [f"{k} {v['median']:.3f} s ({v['peak_mb']:.0f} MB)" for k, v in s["experiments"].items()]
        print(f"  {s['n']:,}: " + ", ".join(cells))
    for s in sizes:
        print(
            f"{s['n']:,}: imbalance figures of all paths agree within {s['agreement']:.1e}; "
            f"Python-loop scores equal DuckDB's within {s['loop']['max_diff']:.1e}"
        )


def verdict(sizes: list[dict]) -> None:
    big = next((s for s in sizes if s["n"] == GOAL_SIZE), None)
    if big is None:
        print(f"goal: not checked ({GOAL_SIZE:,} not among the sizes)")
        return
    best = min(p["median"] for p in big["paths"].values())
    print(f"goal 5M < {GOAL_SECONDS} s: {'PASS' if best < GOAL_SECONDS else 'MISS'} ({best:.2f} s)")
    worst = max(float(g) for g in growth(sizes, lambda s: min(p["median"] for p in s["paths"].values()))[1:])
    print(f"goal growth ≤ linear (≤ 10 per 10×): {'PASS' if worst <= 10 else 'MISS'} (worst {worst:.2f})")


def operators(node: dict, out: list) -> list:
    """Flatten a DuckDB JSON profile into (seconds, operator, short detail) tuples."""
    info = node.get("extra_info", {})
    detail = next((str(info[k]) for k in ("Table", "Conditions", "Groups", "Aggregates", "CTE Name") if k in info), "")
    if "name" in node:
        out.append((node["timing"], node["name"], detail[:60], node.get("intermediate_rows")))
    for child_node in node.get("children", node.get("operator", [])):
        operators(child_node, out)
    return out


def explain(n: int, ytd_fix: bool = False) -> None:
    """Profile the DuckDB path's query: the top operators by time (CPU seconds summed over threads)."""
    original = scores_module._records
    scores_module._records = records_ytd_from_table if ytd_fix else original
    target = OUT / f"profile_scores_{n}{'_ytdfix' if ytd_fix else ''}.json"
    with store.connect(generate(n)) as con:
        scores_relation(con, QUARTER, load_rubric()).select(col("unit"), col("standardization")).create_view("scores")
        con.execute("SET enable_progress_bar = false")
        con.execute("PRAGMA enable_profiling = 'json'")
        con.execute(f"PRAGMA profiling_output = '{target}'")
        con.execute(IMBALANCE_SQL).fetchall()
        con.execute("PRAGMA disable_profiling")
    scores_module._records = original
    profile = json.loads(target.read_text(encoding="utf-8"))
    query = profile["query"]
    print(
        f"\nProfile {'with ytd fix ' if ytd_fix else ''}at {n:,}: wall {query['total_time']:.2f} s, CPU {query['cpu_time']:.2f} s"
    )
    for seconds, name, detail, rows in sorted(operators(profile, []), reverse=True)[:10]:
        print(f"  {seconds:6.2f} s  {name:<16} rows={rows:<10,} {detail}")
    print(f"  (full profile: {target})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="200,200000,5000000")
    parser.add_argument("--quick", action="store_true", help="sizes 200 and 200,000, one run each")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--explain", action="store_true", help="also EXPLAIN ANALYZE the DuckDB path at the largest size"
    )
    parser.add_argument("--child", choices=PATHS, help=argparse.SUPPRESS)
    parser.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--ytd-fix", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child, args.db, args.repeat, args.ytd_fix)
    sizes = [200, 200_000] if args.quick else [int(x) for x in args.sizes.split(",")]
    repeat = 1 if args.quick else args.repeat
    OUT.mkdir(parents=True, exist_ok=True)
    results = []
    for n in sizes:
        print(f"{n:,} organizations")
        results.append(bench_size(n, repeat))
    (OUT / "scores_results.json").write_text(json.dumps(results, indent=1, default=str), encoding="utf-8")
    print_table(results)
    print_checks(results)
    verdict(results)
    if args.explain:
        explain(max(sizes))
        explain(max(sizes), ytd_fix=True)


if __name__ == "__main__":
    main()
