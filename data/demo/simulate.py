"""The demo district quarter by quarter: organizations with fixed traits, and their simulated records.

all_records(rng) returns every organization's eight quarterly records. Latent levels of standardization
and integration (about 0–1.1) follow the unit trends of district.py plus system, unit and org offsets and
noise; the raw values of SPEC §3 are drawn around them so that the rubric of SPEC §4 reads them back.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from district import (
    CITY_MODELS,
    DEFAULT_TREND,
    DISTRICT,
    DISTRICT_MODELS,
    MEMBER_MISMATCH,
    NO_SECRETARY,
    OVERDUE_ELECTIONS,
    QUARTERS,
    SLIPPING_FROM,
    SLIPPING_MODEL,
    SMALL_BRANCHES,
    SYSTEM_OFFSET,
    TERM_YEARS,
    UNIT_TRENDS,
    quarter_end,
)


@dataclass(frozen=True)
class Org:
    """One party organization and its fixed traits; quarterly values are simulated from these."""

    system: str
    unit: str
    name: str
    org_type: str
    members_full: int  # in 2023Q1, before conversions and transfers
    joins: tuple[int, ...]  # quarter indexes at which probationary members were admitted
    has_groups: bool
    next_election: dt.date  # on-time organizations: the election that renews their term
    dues_per_member: float  # yuan a quarter
    effect: tuple[float, float]  # the org's own offset on (standardization, integration)

    @property
    def model_level(self) -> str:
        """市级样板 / 区级示范 / 无."""
        return "市级样板" if self.name in CITY_MODELS else "区级示范" if self.name in DISTRICT_MODELS else "无"


def org_type_of(name: str) -> str:
    """The organization type its name ends with."""
    return next(t for t in ("联合党支部", "党总支", "党委", "党支部") if name.endswith(t))


def shift_years(day: dt.date, years: int) -> dt.date:
    """The same day some years later (days are at most 28, so no leap-day trouble)."""
    return day.replace(year=day.year + years)


def random_day(rng: np.random.Generator, first: dt.date, last: dt.date) -> dt.date:
    """A day between first and last, never after the 28th of its month."""
    day = first + dt.timedelta(days=int(rng.integers(0, (last - first).days)))
    return day.replace(day=min(day.day, 28))


# ---------------------------------------------------------------------------------------------- the district


def build_orgs(rng: np.random.Generator) -> list[Org]:
    """Every organization of the district in system, unit, listed order."""
    orgs = []
    for system, units in DISTRICT.items():
        for unit, suffixes in ((u, text.split()) for u, text in units.items()):
            unit_effect = np.zeros(2) if unit in UNIT_TRENDS else rng.normal(0, 0.04, size=2)
            orgs.extend(build_org(rng, system, unit, unit + suffix, unit_effect) for suffix in suffixes)
    return orgs


def build_org(rng: np.random.Generator, system: str, unit: str, name: str, unit_effect: np.ndarray) -> Org:
    """One organization with drawn size, election date, dues and quality offset."""
    org_type = org_type_of(name)
    low, high = {"党委": (14, 32), "党总支": (8, 18), "联合党支部": (5, 12)}.get(org_type, (6, 30))
    full = int(rng.integers(low, high))
    joins = tuple(sorted(int(q) for q in rng.integers(-3, 0, size=rng.binomial(2, 0.35))))
    full, joins = SMALL_BRANCHES.get(name, (full, joins))
    term = TERM_YEARS[org_type]
    next_election = random_day(rng, dt.date(2025 - term, 1, 10), dt.date(2024, 12, 20))
    spread = 0.03 if unit in UNIT_TRENDS else 0.06
    effect = unit_effect + rng.normal(0, spread, size=2)
    return Org(
        system=system,
        unit=unit,
        name=name,
        org_type=org_type,
        members_full=full,
        joins=joins,
        has_groups=org_type in ("党支部", "联合党支部") and full >= 12,
        next_election=next_election,
        dues_per_member=round(float(rng.uniform(150, 420)), 2),
        effect=(round(float(effect[0]), 4), round(float(effect[1]), 4)),
    )


def election_in_force(org: Org, quarter: str) -> dt.date:
    """The date of the term in force at the end of the quarter."""
    end = quarter_end(quarter)
    if org.name in OVERDUE_ELECTIONS:
        old, new = OVERDUE_ELECTIONS[org.name]
        return new if new and new <= end else old
    if org.next_election <= end:
        return org.next_election
    return shift_years(org.next_election, -TERM_YEARS[org.org_type])


def has_secretary(org: Org, qi: int) -> bool:
    """Whether the organization has a secretary in quarter index qi."""
    if org.name not in NO_SECRETARY:
        return True
    first, filled = NO_SECRETARY[org.name]
    return not (first <= qi and (filled is None or qi < filled))


def latent_levels(org: Org, qi: int, rng: np.random.Generator) -> tuple[float, float]:
    """Standardization and integration levels (about 0–1.1) that drive the quarter's raw values."""
    (s0, s1), (i0, i1) = UNIT_TRENDS.get(org.unit, DEFAULT_TREND)
    t = qi / (len(QUARTERS) - 1)
    noise = 0.04 * calm(org)
    s = s0 + (s1 - s0) * t + SYSTEM_OFFSET[org.system] + org.effect[0] + rng.normal(0, noise)
    i = i0 + (i1 - i0) * t + org.effect[1] + rng.normal(0, noise)
    if org.model_level != "无":
        s, i = s + 0.12, i + 0.10
    if org.name == SLIPPING_MODEL and qi >= QUARTERS.index(SLIPPING_FROM):
        s, i = 0.35 + rng.normal(0, 0.02), 0.55 + rng.normal(0, 0.02)
    return float(np.clip(s, 0.1, 1.1)), float(np.clip(i, 0.1, 1.1))


def calm(org: Org) -> float:
    """Noise factor: planted trends and the slipping branch are quieter, so they show quarter by quarter."""
    return 0.5 if org.unit in UNIT_TRENDS or org.name == SLIPPING_MODEL else 1.0


def count_near(rng: np.random.Generator, level: float, target: float, spread: float = 0.5) -> int:
    """A count scattered around level × target, never negative."""
    return max(0, int(np.rint(target * level + rng.normal(0, spread))))


def rate_near(rng: np.random.Generator, value: float, spread: float) -> float:
    """A percentage scattered around value, kept within 0–100, one decimal."""
    return round(float(np.clip(value + rng.normal(0, spread), 0, 100)), 1)


# ---------------------------------------------------------------------------------------------- one quarter


def member_values(org: Org, qi: int, full: int, joins: list[int], rng: np.random.Generator) -> dict:
    """Member counts and the development pipeline of the quarter."""
    probationary = sum(1 for j in joins if 0 <= qi - j < 4)
    total = full + probationary + ((org.name, QUARTERS[qi]) == MEMBER_MISMATCH)
    return {
        "members_total": total,
        "members_full": full,
        "members_probationary": probationary,
        "activists": int(rng.integers(0, 3 + total // 8)),
        "candidates": int(rng.integers(0, 3)),
        "new_probationary": sum(1 for j in joins if j == qi),
        "converted": sum(1 for j in joins if qi - j == 4),
    }


def standardization_values(org: Org, qi: int, s: float, members: dict, rng: np.random.Generator) -> dict:
    """三会一课, organizational life, platforms, records and dues of the quarter."""
    q, k = qi % 4 + 1, calm(org)
    has_committee = members["members_full"] >= 7  # smaller branches elect only a secretary, no 支委会
    due = round(members["members_total"] * org.dues_per_member * (1.03 if qi >= 4 else 1.0), 2)
    paid = due if rng.random() < 0.75 + 0.25 * min(s, 1) else round(due * float(rng.uniform(0.85, 0.97)), 2)
    life_chance = {1: s, 2: 0.1, 3: 0.1, 4: 0.4 * s}[q]  # the annual 组织生活会 falls in January–February
    return {
        "committee_meetings": min(count_near(rng, s, 3, 0.5 * k), 6) if has_committee else None,
        "general_meetings": min(count_near(rng, s, 1, 0.4 * k), 3),
        "group_meetings": min(count_near(rng, s, 3, 0.5 * k), 9) if org.has_groups else None,
        "party_lectures": min(count_near(rng, s, 1, 0.4 * k), 3),
        "theme_days": min(count_near(rng, s, 3, 0.5 * k), 4),
        "life_meetings": int(rng.random() < life_chance),
        "member_review_done": q == 4 and rng.random() < s + 0.1,
        "online_record_rate": rate_near(rng, 100 * s, 4 * k),
        "study_rate": rate_near(rng, 100 * (0.5 + 0.45 * s), 2.5 * k),
        "records_standard": bool(rng.random() < 1.1 * s - 0.1),
        "dues_due": due,
        "dues_paid": paid,
    }


def integration_values(org: Org, i: float, total: int, rng: np.random.Generator) -> dict:
    """Joint work with the business and the rectification of problems in the quarter."""
    k = calm(org)
    found = int(rng.poisson(2.5 + total / 15))
    return {
        "joint_meetings": min(count_near(rng, i, 1, 0.4 * k), 4),
        "pb_plus_projects": min(count_near(rng, i, 1.2, 0.4 * k), 4),
        "vanguard_posts": int(np.clip(round(total * 0.24 * i + rng.normal(0, 0.7)), 0, total)),
        "business_completion": rate_near(rng, 100 * (0.5 + 0.5 * i), 2.5 * k),
        "issues_found": found,
        "issues_fixed": int(rng.binomial(found, min(1.0, 0.25 + 0.75 * i))),
    }


def secretary_grade(i: float) -> str:
    """The 述职评议 grade an integration level earns."""
    return "好" if i >= 0.85 else "较好" if i >= 0.7 else "一般" if i >= 0.5 else "差"


def simulate_org(org: Org, rng: np.random.Generator) -> list[dict]:
    """The organization's eight quarterly records; members carry over from quarter to quarter."""
    full, joins, grade, records = org.members_full, list(org.joins), "未评", []
    for qi, quarter in enumerate(QUARTERS):
        full += sum(1 for j in joins if qi - j == 4)  # the probationary year ends
        if org.name not in SMALL_BRANCHES:
            if rng.random() < 0.08 + full / 250:
                joins.append(qi)
            if full >= 6:
                full += int(rng.choice([-1, 0, 1], p=[0.06, 0.88, 0.06]))
        s, i = latent_levels(org, qi, rng)
        secretary = has_secretary(org, qi)
        if qi % 4 == 0:  # 述职评议 is held once a year, in the first quarter
            grade = secretary_grade(i) if secretary else "未评"
        members = member_values(org, qi, full, joins, rng)
        record = {
            "quarter": quarter,
            "system": org.system,
            "unit": org.unit,
            "org_name": org.name,
            "org_type": org.org_type,
            **members,
            "has_secretary": secretary,
            "last_election_date": election_in_force(org, quarter),
            **standardization_values(org, qi, s, members, rng),
            **integration_values(org, i, members["members_total"], rng),
            "secretary_review": grade if secretary else "未评",
            "model_level": org.model_level,
        }
        records.append(record | {"remark": remark(record)})
    return records


def all_records(rng: np.random.Generator) -> tuple[list[Org], dict[str, list[dict]]]:
    """The organizations and, per quarter, every record in district order (before any report is dropped)."""
    orgs = build_orgs(rng)
    per_quarter: dict[str, list[dict]] = {q: [] for q in QUARTERS}
    for org in orgs:
        for record in simulate_org(org, rng):
            per_quarter[record["quarter"]].append(record)
    return orgs, per_quarter


def remark(record: dict) -> str:
    """The free-text 备注 an office would write next to a record."""
    if record["members_full"] < 3:
        return "正式党员不足3人，拟组建联合党支部"
    if not record["has_secretary"]:
        return "书记空缺，待补选"
    return "任期已满，拟近期换届" if is_overdue(record) else ""


def is_overdue(record: dict) -> bool:
    """Whether the term in force ended before the last day of the record's quarter (SPEC §4.1 S3)."""
    term = TERM_YEARS[record["org_type"]]
    return shift_years(record["last_election_date"], term) < quarter_end(record["quarter"])
