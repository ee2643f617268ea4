"""Synthetic districts of any size (200 → 5,000,000 organizations) with the demo district's patterns.

`quarter_table(district, quarter)` returns one quarter of SPEC §3 records as Arrow tables, one per
chunk of organizations, so memory stays bounded at any size. Two writers use it:

- `write_csv_files` writes real quarterly CSV files (Chinese headers, 是/否, a title line) for the
  ingest measurement; `by_system=True` writes one file per 所属系统, the way a province collects them.
- `load_direct` inserts the same rows straight into a store-migrated DuckDB file, laid out as
  `batches.load_batch` would lay them out (one batch per quarter), for sizes where files would be
  absurd: 5M × 4 quarters is about 5 GB of CSV and 20M rows through the upload path.

Planted patterns (as in data/demo/): every 50th unit from unit 0 is 两张皮 (standardization high,
integration low), from unit 1 业务化, from unit 2 improving and from unit 3 declining over the year;
about 5 % of organizations have an overdue election (3 % more fall overdue during 2024), 3 % are
small branches with fewer than 3 full members, 2 % have no secretary, 1 % do not report in Q3,
1 % leave 学习强国参学率 blank, 2.5 % are 示范/样板 branches. Everything is seeded per chunk, so the
same organization gets the same traits in every quarter and in every writer.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from analytics.template import load_template

CHUNK = 250_000  # organizations per generated table (fixed: the seeds depend on it)
QUARTERS = ("2024Q1", "2024Q2", "2024Q3", "2024Q4")
QUARTER_CN = {"1": "一", "2": "二", "3": "三", "4": "四"}
SYSTEM_NAMES = ("政法", "教育", "卫生健康", "财政金融", "交通运输", "城乡建设", "农业农村", "文化旅游",
                "商务", "自然资源", "生态环境", "应急管理", "市场监管", "民政", "人力社保", "科技工信")  # fmt: skip
UNIT_KINDS = ("财政局", "公安分局", "职业技术学校", "城市管理局", "人民医院", "第一中学", "水务局", "司法局",
              "交通运输局", "商务局", "信访局", "自然资源局", "统计局", "审计局", "档案馆", "疾控中心")  # fmt: skip
ORG_TYPES = np.array(["党支部", "党总支", "党委", "联合党支部"])
# Unit patterns by unit index % 50 (the demo's planted units); others follow DEFAULT.
PATTERNS = {0: "two_skins", 1: "business_heavy", 2: "improving", 3: "declining"}
TRENDS = {  # (standardization Q1 → Q4), (integration Q1 → Q4)
    "two_skins": ((0.97, 0.97), (0.52, 0.52)),
    "business_heavy": ((0.55, 0.55), (0.97, 0.97)),
    "improving": ((0.55, 0.97), (0.60, 0.92)),
    "declining": ((0.97, 0.58), (0.92, 0.58)),
    "default": ((0.86, 0.88), (0.83, 0.85)),
}


@dataclass(frozen=True)
class District:
    """n organizations in units of about 20, units grouped into a few dozen 系统 at most."""

    n: int
    seed: int = 2024

    @property
    def units(self) -> int:
        """Number of units (at least 10, so every planted pattern exists)."""
        return max(10, self.n // 20)

    @property
    def systems(self) -> int:
        """Number of 系统: 4 for a district, growing with √n up to 50 for the whole country."""
        return min(50, max(4, round(math.sqrt(self.n) / 30)))

    def chunks(self) -> Iterator[tuple[int, int, int]]:
        """(chunk number, first org index, end) over the organizations."""
        for k, start in enumerate(range(0, self.n, CHUNK)):
            yield k, start, min(start + CHUNK, self.n)


def system_name(s: int) -> str:
    """Display name of system number s."""
    base = SYSTEM_NAMES[s % len(SYSTEM_NAMES)]
    return f"{base}系统" if s < len(SYSTEM_NAMES) else f"{base}{s // len(SYSTEM_NAMES) + 1}系统"


def unit_names(units: np.ndarray) -> np.ndarray:
    """Display names of unit numbers: 第00012财政局-style, unique."""
    kinds = np.array(UNIT_KINDS)[units % len(UNIT_KINDS)]
    return np.char.add(np.char.add("第", np.char.zfill(units.astype(str), 6)), kinds)


@dataclass(frozen=True)
class Traits:
    """Per-organization traits that stay the same in every quarter."""

    index: np.ndarray  # 0-based organization index (org_id - 1 when loaded directly)
    unit: np.ndarray
    system: np.ndarray
    org_type: np.ndarray
    members_full: np.ndarray
    has_groups: np.ndarray
    election: np.ndarray  # datetime64[D]
    no_secretary: np.ndarray
    skips_q3: np.ndarray
    model_level: np.ndarray
    dues_per_member: np.ndarray
    effect: np.ndarray  # n × 2 offsets on (standardization, integration)


def unit_effects(district: District) -> np.ndarray:
    """units × 2 offsets of every unit (0 for the planted ones, so their pattern shows)."""
    rng = np.random.default_rng([district.seed, 0])
    effects = rng.normal(0, 0.05, size=(district.units, 2))
    effects[np.isin(np.arange(district.units) % 50, list(PATTERNS))] = 0.0
    return effects


def traits(district: District, k: int, start: int, stop: int, effects: np.ndarray) -> Traits:
    """The traits of organizations start..stop-1 (chunk k)."""
    rng = np.random.default_rng([district.seed, 1, k])
    index = np.arange(start, stop)
    n = index.size
    unit = index * district.units // district.n
    system = unit * district.systems // district.units
    org_type = ORG_TYPES[np.searchsorted([0.80, 0.88, 0.93], rng.random(n), side="right")]
    low = np.select([org_type == "党委", org_type == "党总支", org_type == "联合党支部"], [14, 8, 5], 6)
    high = np.select([org_type == "党委", org_type == "党总支", org_type == "联合党支部"], [32, 18, 12], 30)
    small = rng.random(n) < 0.03
    full = np.where(small, rng.integers(1, 3, n), rng.integers(low, high))
    return Traits(
        index=index,
        unit=unit,
        system=system,
        org_type=org_type,
        members_full=full,
        has_groups=np.isin(org_type, ["党支部", "联合党支部"]) & (full >= 12),
        election=election_dates(rng, org_type),
        no_secretary=rng.random(n) < 0.02,
        skips_q3=rng.random(n) < 0.01,
        model_level=np.array(["无", "区级示范", "市级样板"])[np.searchsorted([0.975, 0.995], rng.random(n))],
        dues_per_member=np.round(rng.uniform(150, 420, n), 2),
        effect=effects[unit] + rng.normal(0, 0.06, size=(n, 2)),
    )


def election_dates(rng: np.random.Generator, org_type: np.ndarray) -> np.ndarray:
    """Date of the term in force: mostly on time, 5 % overdue all year, 3 % falling overdue in 2024."""
    term = np.where(org_type == "党委", 5, 3)
    draw = rng.random(org_type.size)
    # on time through 2024Q4: elected within the last term, at least one quarter ahead of its end
    first_ok = np.datetime64("2025-01-10") - (term * 365.25).astype("timedelta64[D]")
    on_time = first_ok + rng.integers(0, 365 * 2, org_type.size).astype("timedelta64[D]")
    overdue = np.datetime64("2024-01-01") - (term * 365.25).astype("timedelta64[D]")
    overdue = overdue - rng.integers(30, 700, org_type.size).astype("timedelta64[D]")
    falling = np.datetime64("2024-01-15") - (term * 365.25).astype("timedelta64[D]")
    falling = falling + rng.integers(0, 330, org_type.size).astype("timedelta64[D]")
    return np.select([draw < 0.05, draw < 0.08], [overdue, falling], on_time).astype("datetime64[D]")


def latent(t: Traits, qi: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Standardization and integration levels (about 0.1–1.1) of quarter index qi."""
    names = list(TRENDS)
    code = np.array([names.index(PATTERNS.get(u, "default")) for u in range(50)])[t.unit % 50]
    planted = code != names.index("default")
    frac = qi / (len(QUARTERS) - 1)
    levels = []
    for axis in (0, 1):
        start, end = (np.array([TRENDS[p][axis][side] for p in names])[code] for side in (0, 1))
        noise = rng.normal(0, np.where(planted, 0.02, 0.04))
        level = start + (end - start) * frac + t.effect[:, axis] * np.where(planted, 0.5, 1.0) + noise
        level += np.where(t.model_level != "无", 0.12 - 0.02 * axis, 0.0)
        levels.append(np.clip(level, 0.1, 1.1))
    return levels[0], levels[1]


def _count(rng, level, target, spread, cap) -> np.ndarray:
    """Counts scattered around level × target, clipped to 0..cap."""
    return np.clip(np.rint(target * level + rng.normal(0, spread, level.size)), 0, cap).astype(np.int32)


def _rate(rng, value, spread) -> np.ndarray:
    """Percentages scattered around value, within 0–100, one decimal."""
    return np.round(np.clip(value + rng.normal(0, spread, value.size), 0, 100), 1)


def _ints(values: np.ndarray, missing: np.ndarray | None = None) -> pa.Array:
    return pa.array(values.astype(np.int32), mask=missing, type=pa.int32())


def member_columns(t: Traits, rng: np.random.Generator) -> dict[str, pa.Array]:
    """Member counts and the development pipeline."""
    n = t.index.size
    probationary = rng.binomial(2, 0.2, n)
    total = t.members_full + probationary
    return {
        "members_total": _ints(total),
        "members_full": _ints(t.members_full),
        "members_probationary": _ints(probationary),
        "activists": _ints(rng.integers(0, 3 + total // 8)),
        "candidates": _ints(rng.integers(0, 3, n)),
        "new_probationary": _ints(rng.random(n) < 0.1),
        "converted": _ints(rng.random(n) < 0.1),
    }


def standardization_columns(t: Traits, qi: int, s: np.ndarray, rng: np.random.Generator) -> dict[str, pa.Array]:
    """三会一课, organizational life, platforms, records and dues."""
    n, q = s.size, qi + 1
    total = t.members_full + 0  # dues follow the full members (probationary pay too, but vary less)
    due = np.round(total * t.dues_per_member, 2)
    paid = np.where(rng.random(n) < 0.75 + 0.25 * np.minimum(s, 1), due, np.round(due * rng.uniform(0.85, 0.97, n), 2))
    life_chance = {1: s, 2: np.full(n, 0.1), 3: np.full(n, 0.1), 4: 0.4 * s}[q]
    study = _rate(rng, 100 * (0.5 + 0.45 * s), 2.5)
    return {
        "has_secretary": pa.array(~t.no_secretary),
        "last_election_date": pa.array(t.election),
        "committee_meetings": _ints(_count(rng, s, 3, 0.5, 6), t.members_full < 7),
        "general_meetings": _ints(_count(rng, s, 1, 0.4, 3)),
        "group_meetings": _ints(_count(rng, s, 3, 0.5, 9), ~t.has_groups),
        "party_lectures": _ints(_count(rng, s, 1, 0.4, 3)),
        "theme_days": _ints(_count(rng, s, 3, 0.5, 4)),
        "life_meetings": _ints(rng.random(n) < life_chance),
        "member_review_done": pa.array((q == 4) & (rng.random(n) < s + 0.1)),
        "online_record_rate": pa.array(_rate(rng, 100 * s, 4)),
        "study_rate": pa.array(study, mask=rng.random(n) < 0.01),
        "records_standard": pa.array(rng.random(n) < 1.1 * s - 0.1),
        "dues_due": pa.array(due),
        "dues_paid": pa.array(paid),
    }


def integration_columns(t: Traits, i: np.ndarray, rng: np.random.Generator) -> dict[str, pa.Array]:
    """Joint work with the business, rectification and the secretary's review."""
    n = i.size
    total = t.members_full
    found = rng.poisson(2.5 + total / 15)
    review = np.array(["差", "一般", "较好", "好"])[np.searchsorted([0.55, 0.75, 0.9], i + rng.normal(0, 0.05, n))]
    review = np.where(rng.random(n) < 0.1, "未评", review)
    return {
        "joint_meetings": _ints(_count(rng, i, 1, 0.4, 4)),
        "pb_plus_projects": _ints(_count(rng, i, 1, 0.5, 5)),
        "vanguard_posts": _ints(np.minimum(_count(rng, i, 0.2 * total, 1.0, 10_000), total)),
        "business_completion": pa.array(_rate(rng, 100 * i, 4)),
        "issues_found": _ints(found),
        "issues_fixed": _ints(rng.binomial(found, np.clip(i, 0, 1))),
        "secretary_review": pa.array(review),
    }


def _identity(t: Traits) -> dict[str, pa.Array]:
    systems = np.array([system_name(s) for s in range(int(t.system.max()) + 1)])
    units = unit_names(t.unit)
    names = np.char.add(np.char.add(np.char.add(units, "第"), t.index.astype(str)), t.org_type)
    return {
        "system": pa.array(systems[t.system]),
        "unit": pa.array(units),
        "org_name": pa.array(names),
        "org_type": pa.array(t.org_type),
    }


def quarter_tables(district: District, quarter: str) -> Iterator[pa.Table]:
    """One quarter's records, chunk by chunk: the template's columns (internal names) plus org_index."""
    qi = QUARTERS.index(quarter)
    effects = unit_effects(district)
    order = load_template().names
    for k, start, stop in district.chunks():
        t = traits(district, k, start, stop, effects)
        rng = np.random.default_rng([district.seed, 2, k, qi])
        s, i = latent(t, qi, rng)
        columns = _identity(t) | member_columns(t, rng) | standardization_columns(t, qi, s, rng)
        columns |= integration_columns(t, i, rng) | {"model_level": pa.array(t.model_level)}
        columns["org_category"] = pa.nulls(len(t.index), pa.string())  # blank, as most offices leave it
        table = pa.table({"org_index": pa.array(t.index), **{name: columns[name] for name in order}})
        yield table.filter(pa.array(~t.skips_q3)) if qi == 2 else table


# ---------------------------------------------------------------- writers


def csv_table(table: pa.Table) -> pa.Table:
    """The records as an office would type them: Chinese headers, 是/否, blanks for missing values."""
    headers = {c.name: c.header for c in load_template().columns}
    columns = {}
    for name in table.column_names:
        if name == "org_index":
            continue
        column = table[name]
        if pa.types.is_boolean(column.type):
            column = pc.if_else(column, "是", "否")
        columns[headers[name]] = column
    return pa.table(columns)


def title_line(quarter: str, what: str) -> str:
    """The title row offices put above the header, e.g. 2024年第四季度…统计表."""
    year, q = quarter.split("Q")
    return f"{year}年第{QUARTER_CN[q]}季度{what}基层党组织建设情况统计表\n"


def write_csv_files(district: District, quarter: str, folder: Path, by_system: bool = False) -> list[Path]:
    """Real quarterly CSV files: one for the whole district, or one per 所属系统."""
    folder.mkdir(parents=True, exist_ok=True)
    writers: dict[str, tuple[Path, object, pacsv.CSVWriter]] = {}
    options = pacsv.WriteOptions(quoting_style="needed")
    for table in quarter_tables(district, quarter):
        table = csv_table(table)
        groups = pc.unique(table["所属系统"]).to_pylist() if by_system else ["全区"]
        for group in groups:
            part = table.filter(pc.equal(table["所属系统"], group)) if by_system else table
            if group not in writers:
                path = folder / f"{quarter}_{group}.csv"
                handle = path.open("wb")
                handle.write(title_line(quarter, group).encode())
                writers[group] = (path, handle, pacsv.CSVWriter(handle, part.schema, write_options=options))
            writers[group][2].write_table(part)
    for _, handle, writer in writers.values():
        writer.close()
        handle.close()
    return [path for path, _, _ in writers.values()]


DIRECT_BATCH = """
INSERT INTO batches VALUES ($batch, $quarter, $file, 'synthetic', 'synthetic', now(), $rows, $rows, 0, 0, 0,
                            false, 'active', NULL, NULL, '[]')"""


def load_direct(con, district: District, quarters: tuple[str, ...] = QUARTERS) -> None:
    """Insert the quarters into an open, migrated store as one batch each, as load_batch lays them out.

    Not the upload path: no parsing, no change detection, and batch_files holds empty bytes, so the file
    is smaller than one filled by uploads by about the size of the original files.
    """
    names = [n for n in load_template().names if n not in ("system", "unit", "org_name")]
    for quarter in quarters:
        con.execute("BEGIN TRANSACTION")
        batch = con.execute("SELECT coalesce(max(batch_id), 0) + 1 FROM batches").fetchall()[0][0]
        rows = 0
        for table in quarter_tables(district, quarter):
            con.register("chunk", table)
            con.execute(
                "INSERT INTO organizations (org_id, system_key, unit_key, name_key, system, unit, org_name, first_batch)"
                " SELECT org_index + 1, system, unit, org_name, system, unit, org_name, $b"
                " FROM chunk ANTI JOIN organizations o ON o.org_id = chunk.org_index + 1",
                {"b": batch},
            )
            con.execute(
                f"INSERT INTO records (batch_id, quarter, org_id, {', '.join(names)}) "
                f"SELECT $b, $q, org_index + 1, {', '.join(names)} FROM chunk",
                {"b": batch, "q": quarter},
            )
            con.unregister("chunk")
            rows += table.num_rows
        params = {"batch": batch, "quarter": quarter, "file": f"{quarter}_synthetic_{district.n}", "rows": rows}
        con.execute(DIRECT_BATCH, params)
        con.execute("INSERT INTO batch_files VALUES ($b, ''::BLOB)", {"b": batch})
        con.execute("UPDATE meta SET value = CAST(CAST(value AS BIGINT) + 1 AS VARCHAR) WHERE key = 'data_version'")
        con.execute("COMMIT")
