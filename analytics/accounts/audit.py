"""The audit log (SPEC §7): who did what, when. The app only ever appends to it."""

from __future__ import annotations

import datetime as dt
import json

import duckdb
import pandas as pd

from analytics.store import audit_chain
from analytics.store import database as store

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
    "data_read": "读出数据",
    "term_change": "设定换届任期",
    "demo_load": "载入演示数据",
    "download": "下载文件",
    "rectify_create": "创建整改事项",
    "rectify_change": "整改事项状态变更",
    "store_copy": "整库复制（从数据库文件迁入）",
}


def record(con: duckdb.DuckDBPyConnection, user: str, action: str, **detail: object) -> None:
    """Append one event; detail values are stored as JSON (never a password)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    row = (dt.datetime.now(), user, action, json.dumps(detail, ensure_ascii=False, default=str))
    if store.in_transaction(con):  # lands with the change it records, or not at all
        audit_chain.append(con, *row)
        return
    with store.transaction(con):  # a read-out's record: its own transaction (on PostgreSQL, the only way it lands)
        audit_chain.append(con, *row)


def chain_state(con: duckdb.DuckDBPyConnection) -> audit_chain.Verdict:
    """Whether the log's hash chain is intact, and where it first breaks."""
    return audit_chain.verify(con)


def chain_text(verdict: audit_chain.Verdict) -> str:
    """The verdict as the page and `audit verify` say it."""
    if verdict.intact:
        return f"审计日志完整：共 {verdict.rows} 条记录，哈希链逐条核对无误。"
    return f"审计日志被改动：序号 {verdict.broken_at} 的记录{verdict.reason}。请保全数据库文件并报告管理员。"


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


# How each detail of an event reads on the 审计日志 page (the stored JSON keeps the English keys)
DETAIL_LABELS = {
    "name": "账户", "role": "角色", "systems": "系统", "file": "文件", "sha256": "文件摘要", "batch": "批次",
    "quarter": "季度", "rows": "党组织数", "already_loaded": "此前已载入", "withdrawn": "撤下行数",
    "restored": "恢复行数", "old_version": "原版本", "new_version": "新版本", "header": "表头", "field": "对应列",
    "attempted": "尝试的操作", "command": "命令", "organization": "党组织", "change": "变更", "attempt": "所用名称摘要", "reason": "原因", "locked": "已锁定", "scope": "范围", "files": "文件", "method": "方式",
    "item": "整改事项", "problem": "问题", "before": "原状态", "after": "新状态", "note": "说明", "by_data": "数据核验",
    "deadline": "整改时限", "unit": "单位", "org": "党组织", "system": "系统",
}  # fmt: skip
DETAIL_VALUES = {
    "unknown_user": "用户名不存在", "disabled": "账户已停用", "locked": "账户已锁定", "wrong_password": "密码错误",
    "admin": "管理员", "analyst": "分析员", "leader": "领导", "view": "查看", "export": "导出",
    "upload": "上传数据", "rollback": "回退批次", "idle_timeout": "长时间未操作，自动退出",
    "session_ended": "账户已停用或登录已失效", "oidc": "统一身份认证",
    "open": "待整改", "in_progress": "整改中", "to_verify": "待核验", "closed": "已销号", "overdue": "逾期",
}  # fmt: skip


def detail_text(detail: object) -> str:
    """An event's detail as 'label：value；…' in Chinese (the file digest shortened), '' when there is none."""
    try:
        fields = json.loads(detail) if isinstance(detail, str) and detail else {}
    except json.JSONDecodeError:
        return str(detail)
    if not isinstance(fields, dict):
        return str(fields)
    parts = []
    for key, value in fields.items():
        if key == "sha256" and isinstance(value, str):
            value = value[:12] + "…"
        if isinstance(value, bool):
            value = "是" if value else "否"
        elif isinstance(value, list):
            value = "、".join(str(DETAIL_VALUES.get(v, v)) for v in value) or "无"
        elif value is None:
            value = "无"
        else:
            value = DETAIL_VALUES.get(value, value) if isinstance(value, str) else value
        parts.append(f"{DETAIL_LABELS.get(key, key)}：{value}")
    return "；".join(parts)
