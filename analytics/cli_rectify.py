"""`python -m analytics rectify list|verify` (SPEC §8): the 整改 items, and their check by the current data."""

from __future__ import annotations

import argparse
import contextlib
import json

import duckdb

from analytics.accounts import audit, auth
from analytics.cli_args import EXIT_OK, ChineseParser
from analytics.rectify import board, checks, items
from analytics.scoring import rubric_versions
from analytics.store import database as store


def add_parser(sub, common: argparse.ArgumentParser) -> None:
    """The rectify command and its two subcommands."""
    p = sub.add_parser("rectify", parents=[common], help="整改督办：列出整改事项（list）或按现有数据核验（verify）")
    commands = p.add_subparsers(dest="rectify_command", required=True, parser_class=ChineseParser)
    listing = commands.add_parser("list", parents=[common], help="列出整改事项")
    listing.add_argument("--status", choices=list(items.STATUS), help="只列出该状态的事项")
    listing.add_argument("--json", action="store_true")
    commands.add_parser("verify", parents=[common], help="按现有数据核验未销号的事项（每次载入、回退后自动进行）")


def cmd_rectify(args: argparse.Namespace) -> int:
    """List items (a table or JSON), or run the data check now."""
    if args.rectify_command == "verify":
        with store.connect(args.db) as con, store.transaction(con):
            done = checks.check_in_force(con, auth.CLI_OPERATOR.name)
        print(f"核验完成：转为待核验 {done.to_verify} 项，转为逾期 {done.overdue} 项，重新打开 {done.reopened} 项。")
        return EXIT_OK
    with store.connect(args.db, reading=True) as con:
        frame = items.items(con, args.status)
        names = {i.id: i.name for i in rubric_versions.active(con).indicators}
        if not frame.empty:  # a read-only database still answers (as the other read-outs, cli._read_out)
            with contextlib.suppress(store.StoreError, duckdb.Error), store.transaction(con):
                audit.record(con, auth.CLI_OPERATOR.name, "data_read", command="rectify list", rows=len(frame))
    if args.json:
        print(json.dumps(as_json(frame, names), ensure_ascii=False, indent=2))
    elif frame.empty:
        print("还没有整改事项。")
    else:
        print(board.listing(frame, names).to_string(index=False))
    return EXIT_OK


def as_json(frame, names: dict[str, str]) -> list[dict]:
    """Items as JSON records: codes and Chinese names side by side, evidence as an object, dates as ISO text."""
    out = []
    for row in frame.to_dict("records"):
        evidence = row["evidence"] if isinstance(row["evidence"], str) else None
        out.append(
            {
                "id": int(row["item_id"]), "problem": row["problem"], "problem_name": items.problem_name(row["problem"], names),
                "quarter": row["quarter"], "system": row["system"], "unit": row["unit"],
                "org_name": row["org_name"] if isinstance(row["org_name"], str) else None,
                "requirement": row["requirement"], "deadline": row["deadline"].date().isoformat(),
                "responsible": row["responsible"], "status": row["status"], "status_name": row["status_name"],
                "evidence": json.loads(evidence) if evidence else None,
            }
        )  # fmt: skip
    return out
