"""The audit log (SPEC §7): who did what, when. The app only ever appends to it."""

from __future__ import annotations

import datetime as dt
import json

import duckdb
import pandas as pd

ACTIONS = {
    "login_ok": "登录成功",
    "login_failed": "登录失败",
    "logout": "退出登录",
    "upload": "上传数据",
    "rollback": "回退批次",
    "rubric_change": "修改评分细则",
    "export": "导出",
    "user_add": "新增账户",
    "user_disable": "停用账户",
    "user_enable": "启用账户",
    "password_reset": "重置密码",
    "password_change": "修改密码",
    "denied": "越权操作被拒绝",
    "mapping_save": "确认表头对应",
    "mapping_remove": "删除表头对应",
}


def record(con: duckdb.DuckDBPyConnection, user: str, action: str, **detail: object) -> None:
    """Append one event; detail values are stored as JSON (never a password)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    con.execute(
        "INSERT INTO audit_log (occurred_at, user_name, action, detail) VALUES ($at, $user, $action, $detail)",
        {"at": dt.datetime.now(), "user": user, "action": action,
         "detail": json.dumps(detail, ensure_ascii=False, default=str)},
    )  # fmt: skip


def events(
    con: duckdb.DuckDBPyConnection,
    user: str | None = None,
    action: str | None = None,
    since: dt.date | None = None,
    until: dt.date | None = None,
) -> pd.DataFrame:
    """Events, newest first, optionally filtered by user, action and date range (inclusive)."""
    return con.execute(
        """SELECT event_id, occurred_at, user_name, action, detail FROM audit_log
           WHERE ($user IS NULL OR user_name = $user) AND ($action IS NULL OR action = $action)
             AND ($since IS NULL OR occurred_at >= CAST($since AS DATE)) AND ($until IS NULL OR occurred_at < CAST($until AS DATE) + INTERVAL 1 DAY)
           ORDER BY event_id DESC""",
        {"user": user, "action": action, "since": since, "until": until},
    ).df()
