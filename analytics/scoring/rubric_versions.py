"""Rubric versions saved from the editor: the newest is in force; the bundled file until one is saved."""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd
import tomlkit

from analytics.accounts import audit
from analytics.accounts.access import require
from analytics.accounts.auth import User
from analytics.scoring.rubric import COMPOSITES, RUBRIC_PATH, Rubric, RubricError, parse_rubric
from analytics.scoring.scores import for_quarter
from analytics.store import database as store


def active_text(con: duckdb.DuckDBPyConnection) -> str:
    """TOML text of the rubric in force."""
    rows = con.execute("SELECT text FROM rubric_versions ORDER BY saved_at DESC LIMIT 1").fetchall()
    return rows[0][0] if rows else RUBRIC_PATH.read_text(encoding="utf-8")


def active(con: duckdb.DuckDBPyConnection) -> Rubric:
    """The rubric in force."""
    return parse_rubric(active_text(con))


def versions(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Saved versions, newest first: version, saved_by, saved_at."""
    return con.execute("SELECT version, saved_by, saved_at FROM rubric_versions ORDER BY saved_at DESC").df()


def edited_text(text: str, weights: dict[str, float], targets: dict[str, float], settings: dict) -> str:
    """The rubric TOML with new weights, targets, threshold, grade bounds and version (validated by parsing); every
    comment and the layout of the text are kept (tomlkit edits the document in place)."""
    raw = tomlkit.parse(text)
    for entry in raw["indicators"]:
        if entry["id"] in weights:
            entry["weight"] = float(weights[entry["id"]])
        if entry["id"] in targets and "target" in entry:
            entry["target"] = float(targets[entry["id"]])
    raw["quadrant_threshold"] = float(settings.get("quadrant_threshold", raw["quadrant_threshold"]))
    for grade in raw["grades"]:
        grade["at_least"] = float(settings.get("grades", {}).get(grade["name"], grade["at_least"]))
    raw["version"] = str(settings.get("version", raw["version"]))
    out = tomlkit.dumps(raw)
    parse_rubric(out)
    return out


def save(con: duckdb.DuckDBPyConnection, user: User, text: str) -> Rubric:
    """Save a new rubric version (admin only); RubricError for an invalid one or a version already used."""
    require(con, user, "admin")
    rubric = parse_rubric(text)
    old = active(con)
    used = {old.version, *versions(con)["version"]}
    if rubric.version in used:
        raise RubricError(f"版本号「{rubric.version}」已经用过，请为修改后的细则填写新的版本号。")
    with store.transaction(con):
        con.execute(
            "INSERT INTO rubric_versions VALUES ($v, $t, $by, $at)",
            {"v": rubric.version, "t": text, "by": user.name, "at": dt.datetime.now()},
        )
        audit.record(con, user.name, "rubric_change", old_version=old.version, new_version=rubric.version)
        store.bump_data_version(con)
    return rubric


def editable(rubric: Rubric) -> pd.DataFrame:
    """The editable part of a rubric as a table: id, name, composite, weight, target (NaN where none)."""
    return pd.DataFrame(
        [{"id": i.id, "name": i.name, "composite": i.composite, "weight": i.weight, "target": i.target}
         for i in rubric.indicators]
    )  # fmt: skip


def preview(con: duckdb.DuckDBPyConnection, quarter: str, old: Rubric, new: Rubric) -> dict:
    """Effect of a new rubric on a quarter: unit means and ranks before/after, quadrant moves."""
    before, after = for_quarter(con, quarter, old), for_quarter(con, quarter, new)
    merged = before.merge(after, on="org_id", suffixes=("_old", "_new"))
    units = {}
    for score in COMPOSITES:
        table = merged.groupby("unit_old")[[f"{score}_old", f"{score}_new"]].mean()
        # a unit without this score (only 离退休 branches have no integration) has no rank either
        table["rank_old"] = table[f"{score}_old"].rank(ascending=False, method="min").astype("Int64")
        table["rank_new"] = table[f"{score}_new"].rank(ascending=False, method="min").astype("Int64")
        units[score] = table.rename_axis("unit").reset_index().sort_values("rank_new")
    moved = merged[merged["quadrant_old"] != merged["quadrant_new"]]
    return {"units": units, "quadrant_moves": moved[["unit_old", "org_name_old", "quadrant_old", "quadrant_new"]]}
