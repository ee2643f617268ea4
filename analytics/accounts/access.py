"""Who may do what (SPEC §7), enforced where data changes, not only on the pages."""

from __future__ import annotations

from collections.abc import Callable

import duckdb

from analytics.accounts import audit
from analytics.accounts.auth import User
from analytics.problems import Report
from analytics.store import batches
from analytics.store import database as store
from analytics.template import normalize_key

PERMISSIONS = {
    "admin": frozenset({"view", "export", "upload", "rollback", "rectify", "admin"}),
    "analyst": frozenset({"view", "export", "upload", "rollback", "rectify"}),
    "leader": frozenset({"view", "export"}),
}
ACTION_NAMES = {
    "view": "查看",
    "export": "导出",
    "upload": "上传数据",
    "rollback": "回退批次",
    "rectify": "整改督办",
    "admin": "系统管理",
}


class AccessDenied(store.StoreError):
    """The signed-in user's role does not allow this; the message says so in Chinese."""


def can(user: User | None, action: str) -> bool:
    """True when the user's role allows the action."""
    return user is not None and action in PERMISSIONS.get(user.role, frozenset())


def require(con: duckdb.DuckDBPyConnection, user: User | None, action: str) -> None:
    """Raise AccessDenied (and record the attempt) unless the user may do this."""
    if can(user, action):
        return
    name = user.name if user else "未登录"
    with store.transaction(con):
        audit.record(con, name, "denied", attempted=action)
    raise AccessDenied(f"当前账户（{user.role_name if user else '未登录'}）没有“{ACTION_NAMES[action]}”的权限。")


def outside_scope(user: User, systems: set[str]) -> list[str]:
    """Systems (as written) the user may not change; empty for admins and analysts without a scope."""
    if user.role == "admin" or not user.systems:
        return []
    allowed = {normalize_key(s) for s in user.systems}
    return sorted(s for s in systems if normalize_key(s) not in allowed)


def check_scope(con: duckdb.DuckDBPyConnection, user: User, systems: set[str], what: str) -> None:
    refused = outside_scope(user, systems)
    if refused:
        with store.transaction(con):
            audit.record(con, user.name, "denied", attempted=what, systems=refused)
        raise AccessDenied(
            f"{what}包含不在你负责范围内的系统：{'、'.join(refused)}。你负责的系统：{'、'.join(user.systems)}。"
            "请删去这些行后重新上传，或请管理员处理。"
        )


def load_as(
    con: duckdb.DuckDBPyConnection,
    user: User,
    uploads: list[tuple[Report, bytes]],
    valid_rows_only: bool = False,
    also: Callable[[duckdb.DuckDBPyConnection], None] | None = None,
) -> list[batches.LoadResult]:
    """Load uploads as this user: role and system scope checked, each new batch written to the audit log; `also`
    runs inside the same transaction (e.g. storing the header mappings the load used)."""
    require(con, user, "upload")
    systems = {s for report, _ in uploads if report.records is not None for s in report.records["system"].unique()}
    check_scope(con, user, systems, "上传的数据")

    def record(con: duckdb.DuckDBPyConnection, results: list[batches.LoadResult]) -> None:
        for (report, data), result in zip(uploads, results, strict=True):
            audit.record(
                con, user.name, "upload", file=report.file, sha256=batches.sha256(data), batch=result.batch_id,
                quarter=result.quarter, rows=result.rows, already_loaded=result.already_loaded,
            )  # fmt: skip
        if also is not None:
            also(con)

    return batches.load_batches(con, uploads, user.name, valid_rows_only, inside=record)


def batch_systems(con: duckdb.DuckDBPyConnection, batch_id: int) -> set[str]:
    """Systems of the organizations a batch loaded."""
    rows = con.execute(
        "SELECT DISTINCT o.system FROM records r JOIN organizations o USING (org_id) WHERE r.batch_id = $b",
        {"b": batch_id},
    ).fetchall()
    return {r[0] for r in rows}


def rollback_as(
    con: duckdb.DuckDBPyConnection,
    user: User,
    batch_id: int,
    also: Callable[[duckdb.DuckDBPyConnection], None] | None = None,
) -> batches.RollbackResult:
    """Roll a batch back as this user: role and system scope checked, written to the audit log; `also` runs inside
    the same transaction."""
    require(con, user, "rollback")
    check_scope(con, user, batch_systems(con, batch_id), f"批次 {batch_id} ")

    def record(con: duckdb.DuckDBPyConnection, result: batches.RollbackResult) -> None:
        audit.record(con, user.name, "rollback", batch=batch_id, withdrawn=result.withdrawn, restored=result.restored)
        if also is not None:
            also(con)

    return batches.rollback(con, batch_id, user.name, inside=record)
