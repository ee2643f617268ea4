"""Valid stores of any shape a district can have, for property tests (the any-data issue).

Hypothesis draws the shape (how many units, systems, organizations and quarters, which optional columns each
quarter's file has, how blank it is, whether every score ties or is zero, how names look) and a seed; the rows
come from a numpy generator on that seed, so a failing store shrinks to a few units, one quarter and plain
names, and a shrunk example is kept as a plain `Shape(...)` in a regression test. Each store is filled through
the real upload path (a CSV file → ingest_bytes → load_batch) and must load without an error.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from hypothesis import strategies as st

from analytics.ingest.records import ingest_bytes
from analytics.store import batches
from analytics.store import database as store
from analytics.template import load_template

TEMPLATE = load_template()
HEADERS = {c.name: c.header for c in TEMPLATE.columns}
REQUIRED = [c.name for c in TEMPLATE.columns if c.required]
# columns that are checked against each other come and go together
GROUPS = [
    ("members_total", "members_full", "members_probationary"),
    ("dues_due", "dues_paid"),
    ("issues_found", "issues_fixed"),
]
GROUPED = {c for g in GROUPS for c in g}
SINGLES = [c.name for c in TEMPLATE.columns if not c.required and c.name not in GROUPED]
OPTIONAL = [(c,) for c in SINGLES] + GROUPS
QUARTERS = [f"{y}Q{q}" for y in (2023, 2024) for q in (1, 2, 3, 4)]
ODD = ["=1+1", "<a href='http://evil.example/'>链接</a>", "**粗体**", "$x^2$", "@SUM(1)", "[图](http://e.x/a.png)",
       "＃全角　单位", "🏛单位", "Unit-A", "区“双引号”局", "a_b_c"]  # fmt: skip
TITLES = {q: f"{q[:4]}年第{'一二三四'[int(q[-1]) - 1]}季度" for q in QUARTERS}


@dataclass(frozen=True)
class Quarter:
    name: str
    columns: tuple[str, ...] = ()  # the optional columns this quarter's file has
    mode: str = "mixed"  # mixed | zero (every count 0, every flag 否) | equal (every organization the same row)
    blank: float = 0.0  # share of optional cells left empty


@dataclass(frozen=True)
class Shape:
    units: int = 3
    systems: int = 1
    orgs: int = 5
    quarters: tuple[Quarter, ...] = (Quarter("2024Q1"),)
    names: str = "plain"  # plain | long | odd
    seed: int = 0
    silent: float = 0.0  # chance that a unit sends nothing in a quarter after its first
    retirees: int = 0  # the last units have 离退休 branches only (no integration score at all)
    extra: dict = field(default_factory=dict, compare=False)


@st.composite
def quarters(draw) -> tuple[Quarter, ...]:
    chosen = sorted(draw(st.lists(st.sampled_from(QUARTERS), min_size=1, max_size=8, unique=True)))
    out = []
    for q in chosen:
        kept = draw(st.sampled_from(["all", "none", "some"]))
        columns = (
            OPTIONAL
            if kept == "all"
            else []
            if kept == "none"
            else draw(st.lists(st.sampled_from(OPTIONAL), unique=True))
        )
        mode = draw(st.sampled_from(["mixed", "mixed", "zero", "equal"]))
        blank = draw(st.sampled_from([0.0, 0.0, 0.1, 0.5]))
        out.append(Quarter(q, tuple(c for group in columns for c in group), mode, blank))
    return tuple(out)


@st.composite
def shapes(draw, max_units: int = 60, max_orgs: int = 500) -> Shape:
    orgs = draw(st.integers(1, max_orgs))
    units = draw(st.integers(1, min(max_units, orgs)))
    return Shape(
        units=units,
        systems=draw(st.integers(1, min(6, units))),
        orgs=orgs,
        quarters=draw(quarters()),
        names=draw(st.sampled_from(["plain", "long", "odd"])),
        seed=draw(st.integers(0, 2**31 - 1)),
        silent=draw(st.sampled_from([0.0, 0.2])),
        retirees=draw(st.integers(0, min(1, units - 1))),
    )


def _unit_name(shape: Shape, u: int) -> str:
    if shape.names == "long":
        return f"区{u}号" + "机关事务服务保障中心" * 2 + "局"  # 26 characters
    if shape.names == "odd":
        return f"{ODD[u % len(ODD)]}{u}"
    return f"单位{u}"


def organizations(shape: Shape) -> list[dict]:
    """Who the district is: system, unit, name, type (fixed across quarters). The first organization of each unit
    comes first, so every unit has one; the rest are spread unevenly (some units keep only that one)."""
    rng = np.random.default_rng(shape.seed)
    unit_of = list(range(shape.units)) + list(rng.integers(0, max(1, shape.units // 2 + 1), shape.orgs - shape.units))
    kinds = rng.choice(["党支部", "党支部", "党支部", "联合党支部", "党总支", "党委"], shape.orgs)
    out = []
    for i, u in enumerate(unit_of):
        retiree = "离退休" if rng.random() < 0.05 or u >= shape.units - shape.retirees else ""
        odd = f"{ODD[i % len(ODD)]}{retiree}支部{i}"
        name = f"{_unit_name(shape, u)}{retiree}第{i}党支部" if shape.names != "odd" else odd
        system = (
            f"系统{u % shape.systems}" if shape.names != "odd" else f"{ODD[(u + 3) % len(ODD)]}系统{u % shape.systems}"
        )
        out.append({"system": system, "unit": _unit_name(shape, u), "org_name": name, "org_type": str(kinds[i])})
    return out


def _values(rng: np.random.Generator, level: np.ndarray, mode: str) -> dict[str, np.ndarray]:
    """Every optional column for n organizations at their levels (0–1.1)."""
    n = len(level)
    if mode == "equal":
        level = np.full(n, level[0] if n else 0.5)
        rng = np.random.default_rng(0)
    if mode == "zero":
        level = np.zeros(n)

    def count(target: float, top: int) -> np.ndarray:
        jitter = 0 if mode != "mixed" else rng.integers(-1, 2, n)
        return np.clip(np.round(target * level) + jitter, 0, top).astype(int)

    def rate() -> np.ndarray:
        jitter = 0 if mode != "mixed" else rng.uniform(-10, 10, n)
        return np.round(np.clip(100 * level + jitter, 0, 100), 1)

    def yes() -> np.ndarray:
        return np.where(level + (0 if mode != "mixed" else rng.uniform(-0.3, 0.3, n)) >= 0.5, "是", "否")

    total = np.maximum(1, np.round(3 + 20 * np.clip(level, 0.2, 1)).astype(int)) if mode != "zero" else np.ones(n, int)
    full = np.maximum(0, total - count(0.3, 3))
    found = count(4, 6)
    grades = np.array(["差", "一般", "较好", "好"])[np.clip((level * 4).astype(int), 0, 3)]
    return {
        "members_total": total, "members_full": full, "members_probationary": total - full,
        "has_secretary": yes(), "last_election_date": rng.choice(["2019-05-01", "2022-06-30", "2023-11-20"], n),
        "committee_meetings": count(3, 6), "general_meetings": count(1, 3), "group_meetings": count(3, 9),
        "party_lectures": count(1, 3), "theme_days": count(3, 4), "life_meetings": count(1, 2),
        "member_review_done": yes(), "online_record_rate": rate(), "study_rate": rate(), "records_standard": yes(),
        "dues_due": np.full(n, 1000), "dues_paid": np.round(1000 * np.clip(level, 0, 1)).astype(int),
        "activists": count(2, 5), "candidates": count(1, 3), "new_probationary": count(1, 2), "converted": count(1, 2),
        "joint_meetings": count(1, 3), "pb_plus_projects": count(1, 3), "vanguard_posts": count(3, 10),
        "business_completion": rate(), "issues_found": found, "issues_fixed": np.minimum(found, count(4, 6)),
        "secretary_review": grades if mode != "zero" else np.full(n, "差"),
        "model_level": np.where(level > 0.95, "区级示范", "无"), "org_category": np.full(n, ""),  # names decide
    }  # fmt: skip


def files(shape: Shape) -> dict[str, bytes]:
    """quarter -> the CSV an office would send for it (a title row, the template headers, the rows)."""
    rng = np.random.default_rng(shape.seed + 1)
    orgs = organizations(shape)
    unit_of = np.array([o["unit"] for o in orgs])
    units = sorted(set(unit_of))
    start = dict(zip(units, rng.uniform(0.1, 1.1, len(units)), strict=True))
    step = dict(zip(units, rng.choice([-0.15, -0.05, 0.0, 0.05, 0.15], len(units)), strict=True))
    out = {}
    for n, q in enumerate(shape.quarters):
        present = [u for u in units if n == 0 or rng.random() >= shape.silent] or units[:1]
        keep = np.isin(unit_of, present)
        level = np.array([min(1.1, max(0.0, start[u] + step[u] * n)) for u in unit_of[keep]])
        values = _values(rng, level, q.mode)
        columns = [c for c in HEADERS if c in REQUIRED or c in q.columns]
        rows = [[o[c] for c in REQUIRED] for o, k in zip(orgs, keep, strict=True) if k]
        for c in (c for c in columns if c not in REQUIRED):
            cells = values[c].astype(str)
            if q.blank and c not in ("members_total", "members_full", "members_probationary"):
                cells = np.where(rng.random(len(cells)) < q.blank, "", cells)
            for row, cell in zip(rows, cells, strict=True):
                row.append(cell)
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow([f"{TITLES[q.name]}区直机关基层党组织建设情况统计表"])
        writer.writerow([HEADERS[c] for c in columns])
        writer.writerows(rows)
        out[q.name] = buffer.getvalue().encode("utf-8")
    return out


def fill(path: Path, shape: Shape, uploader: str = "tester") -> list[str]:
    """A DuckDB file at `path` holding the shape's quarters, each loaded as one batch; the quarters loaded."""
    with store.connect(path) as con:
        for quarter, data in files(shape).items():
            report = ingest_bytes(data, f"{quarter}_统计表.csv", quarter, mappings=None)
            assert not report.errors, [p.message for p in report.errors[:3]]
            batches.load_batch(con, report, data, uploader)
    return [q.name for q in shape.quarters]
