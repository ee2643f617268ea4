"""`python -m analytics store-copy --from FILE` (issue 17): a DuckDB file's whole store into an empty PostgreSQL
database, for an installation that moves from one server's file to PostgreSQL."""

from __future__ import annotations

import argparse

from analytics.accounts import audit, auth
from analytics.cli_args import EXIT_OK
from analytics.store import database as store

TABLE_NAMES = {
    "batches": "批次",
    "records": "记录（含历史）",
    "organizations": "党组织",
    "users": "账户",
    "audit_log": "审计记录",
}


def add_parser(sub, common: argparse.ArgumentParser) -> None:
    """The store-copy command."""
    p = sub.add_parser(
        "store-copy",
        parents=[common],
        help="把 DuckDB 数据库文件整体复制到空的 PostgreSQL 数据库（--db 或 DANGJIAN_DB）",
    )
    p.add_argument("--from", dest="source", required=True, metavar="FILE", help="源 DuckDB 数据库文件")


def cmd_store_copy(args: argparse.Namespace) -> int:
    """Copy, audit the copy in the target, and say what was copied."""
    counts = store.copy_to_server(args.source, args.db)
    with store.connect(args.db) as con:
        audit.record(con, auth.CLI_OPERATOR.name, "store_copy", source=str(args.source), rows=counts)
    done = "，".join(f"{name} {counts.get(table, 0)} 行" for table, name in TABLE_NAMES.items())
    print(f"已复制到 PostgreSQL：{done}。此后请把 DANGJIAN_DB 设为该数据库地址。")
    return EXIT_OK
