"""python -m analytics COMMAND: the automation interface of SPEC §6 (parse, call, print, exit code)."""

from __future__ import annotations

import argparse
import contextlib
import csv
import dataclasses
import getpass
import json
import math
import os
import sys
from functools import partial
from pathlib import Path

import duckdb
import pandas as pd

from analytics import cli_annual, cli_rectify, cli_store, mappings
from analytics.accounts import audit, auth
from analytics.charts.images import ImageError
from analytics.cli_args import EXIT_OK, EXIT_REJECTED, EXIT_USAGE, ChineseParser, UsageError, date_arg, quarter_arg
from analytics.demo import load_demo
from analytics.ingest.blank import template_workbook
from analytics.meeting.exports import EXPORT_FORMATS, export_files, formula_like, record_export, write_export
from analytics.meeting.meeting import DISTRICT
from analytics.meeting.meeting import build as build_meeting
from analytics.problems import Report, format_problem, visible
from analytics.scoring import kept as derived
from analytics.scoring import rubric_versions, terms
from analytics.scoring.rubric import COMPOSITES, RubricError, load_rubric
from analytics.scoring.summary import imbalance_summary, imbalance_text, scores_table
from analytics.store import batches
from analytics.store import database as store
from analytics.uploads import blocking, file_gaps, ingest_json, load_as, result_line, rollback_as, validate_uploads

CLI_USER = "cli"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--db", help="DuckDB 数据库文件（默认 data/dangjian.duckdb 或环境变量 DANGJIAN_DB）")
    changing = argparse.ArgumentParser(add_help=False, parents=[common])
    changing.add_argument("--no-refresh", action="store_true", help="改动后不预先计算看板数据（页面打开时再算）")
    parser = ChineseParser(prog="python -m analytics", description="党建质量看板 命令行")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=ChineseParser)
    p = sub.add_parser("ingest", parents=[changing], help="校验并载入季度报表")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--quarter", type=quarter_arg)
    p.add_argument("--valid-rows-only", action="store_true", help="只载入无错误的行，其余行报告")
    p.add_argument(
        "--map", action="append", default=[], metavar="原表头=内部列名",
        help="确认未识别表头对应的模板列（可重复；写「忽略」表示不载入该列），载入成功后保存供以后使用",
    )  # fmt: skip
    p.add_argument("--allow-missing-columns", action="store_true", help="已知晓文件缺少部分模板列，仍然载入")
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("batches", parents=[common], help="列出已载入的批次")
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("rollback", parents=[changing], help="回退一个批次")
    p.add_argument("batch_id", type=int, metavar="BATCH_ID")
    p = sub.add_parser("dump", parents=[common], help="导出某季度的原始记录（CSV）")
    p.add_argument("--quarter", type=quarter_arg, required=True)
    p = sub.add_parser("scores", parents=[common], help="某季度每个党组织的得分（CSV 或 JSON）")
    p.add_argument("--quarter", type=quarter_arg, required=True)
    p.add_argument("--format", choices=["csv", "json"], default="csv")
    p.add_argument("--rubric", help="评分细则文件（默认 data/rubric.toml）")
    p = sub.add_parser("imbalance", parents=[common], help="单位或系统之间的不平衡程度")
    p.add_argument("--quarter", type=quarter_arg, required=True)
    p.add_argument("--by", choices=["unit", "system"], default="unit")
    p.add_argument("--score", choices=list(COMPOSITES), default="standardization")
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.add_argument("--rubric", help="评分细则文件（默认 data/rubric.toml）")
    _export_parser(sub, common)
    p = sub.add_parser("term", parents=[changing], help="设定某个党组织的换届任期（与默认任期不同时）")
    p.add_argument("--system", required=True)
    p.add_argument("--unit", required=True)
    p.add_argument("--org", required=True)
    years = p.add_mutually_exclusive_group(required=True)
    years.add_argument("--years", type=int, help="任期年数")
    years.add_argument("--clear", action="store_true", help="恢复按组织类型的默认任期")
    years.add_argument("--delay-until", type=date_arg, metavar="DATE", help="经批准延期换届至该日期（YYYY-MM-DD）")
    years.add_argument("--clear-delay", action="store_true", help="取消延期换届")
    p.add_argument("--approved-by", default="", help="与 --delay-until 一起使用：批准延期的单位或批准人")
    p = sub.add_parser("users", parents=[common], help="账户：新增（add）或列出（list）")
    users = p.add_subparsers(dest="users_command", required=True, parser_class=ChineseParser)
    add = users.add_parser("add", parents=[common], help="新增账户（密码从提示或标准输入读取，不写在命令行里）")
    add.add_argument("name", metavar="NAME")
    add.add_argument("--role", choices=list(auth.ROLES), required=True)
    add.add_argument("--system", action="append", default=[], metavar="S", help="分析员负责的系统（可重复）")
    add.add_argument("--password-stdin", action="store_true", help="从标准输入读取密码（一行）")
    users.add_parser("list", parents=[common], help="列出账户")
    p = sub.add_parser("audit", parents=[common], help="审计日志：核对哈希链（verify）")
    p.add_subparsers(dest="audit_command", required=True, parser_class=ChineseParser).add_parser(
        "verify", parents=[common], help="逐条核对审计日志，指出第一条被修改、删除或插入的记录"
    )
    p = sub.add_parser("demo", parents=[changing], help="载入内置演示数据")
    p.add_argument("--if-empty", action="store_true", help="数据库已有数据时不载入")
    cli_rectify.add_parser(sub, common)
    cli_annual.add_parser(sub, common)
    cli_store.add_parser(sub, common)
    sub.add_parser("refresh", parents=[common], help="预先计算看板数据（最新季度的得分、象限稳定性、预警、排名）")
    p = sub.add_parser("template", parents=[common], help="生成空白季度报表模板（xlsx）")
    p.add_argument("file", metavar="FILE")
    return parser


def _export_parser(sub, common: argparse.ArgumentParser) -> None:
    """The `export` subcommand: quarter, optional system, one flag per file to write."""
    p = sub.add_parser("export", parents=[common], help="导出会议材料：演示文稿、数据表、季度通报、图表图片")
    p.add_argument("--quarter", type=quarter_arg, help="季度（季度材料）")
    p.add_argument("--year", type=int, help="年度（年度述职数据稿 --docx、年度数据表 --xlsx），与 --quarter 二选一")
    p.add_argument("--system", help="只导出一个系统（默认全区）")
    p.add_argument("--pptx", metavar="F", help="演示文稿（16:9 PPTX）")
    p.add_argument("--xlsx", metavar="F", help="数据表（XLSX）")
    p.add_argument("--docx", metavar="F", help="季度通报（DOCX）")
    p.add_argument("--png", metavar="DIR", help="把全部图表存为 PNG 图片的文件夹")
    p.add_argument("--svg", action="store_true", help="与 --png 一起使用：同时存 SVG 矢量图")
    p.add_argument("--district", default=DISTRICT, help=f"材料中的名称（默认「{DISTRICT}」）")
    p.add_argument("--number", default="", help="通报的文号序号（如 3，得到「区直工委〔2025〕3号」；默认留空待填）")
    p.add_argument("--signed", type=date_arg, help="通报落款日期 YYYY-MM-DD（默认季度结束后第 15 天）")
    p.add_argument("--copies-to", default="", help="通报版记的抄送单位（默认写【待补充：抄送单位】）")
    p.add_argument("--rubric", help="评分细则文件（默认使用系统中生效的细则）")


def main(argv: list[str] | None = None) -> int:
    """Run one command; returns the exit code."""
    for stream in (sys.stdout, sys.stderr):
        stream.reconfigure(encoding="utf-8")
    args = build_parser().parse_args(argv)
    handler = COMMANDS[args.command]
    try:
        code = handler(args)
        if code == EXIT_OK and not getattr(args, "no_refresh", True):
            _refresh_after_change(args)
        return code
    except UsageError as exc:
        print(f"命令参数有误：{exc}", file=sys.stderr)
        return EXIT_USAGE
    except (store.StoreError, RubricError) as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return EXIT_REJECTED
    except BrokenPipeError:  # output piped into `head`: stop quietly
        sys.stderr.close()
        return EXIT_OK
    except Exception as exc:  # a bug, not a user error: say so in Chinese, full trace only on request
        if os.environ.get("DANGJIAN_DEBUG"):
            raise
        print(
            f"程序内部错误（{type(exc).__name__}: {exc}），数据库未做更改。请联系管理员；设置环境变量 DANGJIAN_DEBUG=1 可查看详细信息。",
            file=sys.stderr,
        )
        return EXIT_REJECTED


def cmd_ingest(args: argparse.Namespace) -> int:
    """Validate every file; load them all (one batch each) only if none has errors."""
    files = []
    for name in args.files:
        path = Path(name)
        if not path.is_file():
            raise UsageError(f"文件不存在：{name}")
        files.append((path.name, path.read_bytes()))
    try:
        confirmed = dict(mappings.parse_option(text) for text in args.map)
    except mappings.MappingError as exc:
        raise UsageError(str(exc)) from exc
    with store.connect(args.db) as con:
        reports = validate_uploads(con, files, args.quarter, confirmed)
        gaps = file_gaps(con, reports)
        reasons = blocking(reports, args.valid_rows_only, gaps, args.allow_missing_columns)
        uploads = [(r, data) for r, (_, data) in zip(reports, files, strict=True)]
        results = []
        if not reasons:
            keep = partial(mappings.write, user_name=auth.CLI_OPERATOR.name, pairs=confirmed)
            results = load_as(con, auth.CLI_OPERATOR, uploads, args.valid_rows_only, also=keep)
    _print_ingest(args, reports, results, gaps, reasons)
    return EXIT_REJECTED if reasons else EXIT_OK


def _print_ingest(args, reports: list[Report], results: list[batches.LoadResult], gaps, reasons: list[str]) -> None:
    problems = [p for r in reports for p in r.problems]
    if args.json:
        print(json.dumps(ingest_json(reports, results, gaps, reasons), ensure_ascii=False, indent=2))
        return
    for p in problems:
        print(format_problem(p), file=sys.stderr if p.severity == "error" else sys.stdout)
    for report, file_gaps_ in zip(reports, gaps, strict=True):
        for gap in file_gaps_:
            print(f"[缺列] 文件「{visible(report.file)}」{gap.message()}", file=sys.stderr if reasons else sys.stdout)
    if reasons:
        print(f"未载入（数据库未做任何更改）：{'；'.join(map(visible, reasons))}。", file=sys.stderr)
        if any(gaps) and not args.allow_missing_columns:
            print("若确认按缺列载入，请加 --allow-missing-columns。", file=sys.stderr)
    for result, report in zip(results, reports, strict=False):
        print(result_line(result, report))


def cmd_batches(args: argparse.Namespace) -> int:
    """List batches: a table whose first column is the id, or JSON."""
    with store.connect(args.db, reading=True) as con:
        frame = batches.history(con)
    if args.json:
        cols = ["id", "quarter", "file", "rows", "status", "created_at", "uploader", "sha256"]
        cols += ["new_count", "changed_count", "unchanged_count", "skipped_count"]
        out = frame[cols].astype(object).where(frame[cols].notna(), None).to_dict("records")
        for row in out:
            row["created_at"] = row["created_at"].isoformat(timespec="seconds")
        print(json.dumps(out, ensure_ascii=False, indent=2))
        return EXIT_OK
    if frame.empty:
        print("还没有载入任何批次。")
        return EXIT_OK
    frame["created_at"] = frame["created_at"].dt.strftime("%Y-%m-%d %H:%M:%S")
    frame["status"] = frame["status"].map({"active": "有效", "rolled_back": "已回退"})
    table = frame[["id", "quarter", "file", "rows", "status", "created_at", "uploader"]]
    table.columns = ["批次", "季度", "文件", "行数", "状态", "载入时间", "上传人"]
    print(table.to_string(index=False))
    return EXIT_OK


def cmd_rollback(args: argparse.Namespace) -> int:
    """Withdraw a batch; what it replaced becomes current again."""
    with store.connect(args.db) as con:
        result = rollback_as(con, auth.CLI_OPERATOR, args.batch_id)
    print(f"批次 {result.batch_id} 已回退：撤下 {result.withdrawn} 行，恢复此前数据 {result.restored} 行。")
    if result.kept_by_later:
        later = "、".join(map(str, result.kept_by_later))
        print(f"注意：该批次的部分党组织此后已被批次 {later} 更新，这些党组织保留较新的数据。")
    return EXIT_OK


def cmd_dump(args: argparse.Namespace) -> int:
    """Current records of a quarter as CSV on stdout (ISO dates, true/false, empty for missing)."""
    with store.connect(args.db, reading=True) as con:
        frame = store.quarter_records(con, args.quarter)
        known = store.quarters(con)
        if not frame.empty:
            _read_out(con, "dump", args.quarter, len(frame))
    if frame.empty:
        have = "、".join(known) if known else "无"
        print(f"错误：季度 {args.quarter} 没有数据（已有季度：{have}）。", file=sys.stderr)
        return EXIT_REJECTED
    _write_csv(frame)
    return EXIT_OK


def _read_out(con, command: str, quarter: str, rows: int) -> None:
    """Audit a read-out of data; a read-only database still answers (the read is not refused for want of a log)."""
    with contextlib.suppress(store.StoreError, duckdb.Error):
        audit.record(con, CLI_USER, "data_read", command=command, quarter=quarter, rows=rows)


def _write_csv(frame: pd.DataFrame) -> None:
    """A frame as CSV on stdout with the dump conventions (ISO dates, true/false, empty for missing)."""
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(frame.columns)
    for row in frame.itertuples(index=False):
        writer.writerow([_csv_value(v) for v in row])


def _csv_value(value) -> str:
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        return str(int(value)) if value.is_integer() else repr(value)
    if formula_like(value):  # a spreadsheet opening the CSV would run it: kept as text, like the XLSX exports
        return "'" + value
    return str(value)


def cmd_scores(args: argparse.Namespace) -> int:
    """Scores of every organization in a quarter: the columns of SPEC §6, then completeness and rubric version."""
    with store.connect(args.db, reading=True) as con:
        table = scores_table(con, args.quarter, args.rubric)
        _read_out(con, "scores", args.quarter, len(table))
    if args.format == "json":
        rows = table.astype(object).where(table.notna(), None).to_dict("records")
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return EXIT_OK
    _write_csv(table)
    return EXIT_OK


def cmd_imbalance(args: argparse.Namespace) -> int:
    """Group table and inequality measures of one score across units or systems."""
    with store.connect(args.db, reading=True) as con:
        summary = imbalance_summary(con, args.quarter, args.by, args.score, args.rubric)
    if args.format == "json":
        print(json.dumps(summary, ensure_ascii=False, indent=2))
        return EXIT_OK
    print(imbalance_text(summary))
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    """Write the meeting files of a quarter (optionally one system): PPTX, XLSX, DOCX and chart images."""
    if bool(args.year) == bool(args.quarter):
        raise UsageError("请指定 --quarter（季度材料）或 --year（年度材料）之一")
    if args.year:
        return cli_annual.export_year(args)
    targets = {f: getattr(args, f) for f in EXPORT_FORMATS if getattr(args, f)}
    if not targets:
        raise UsageError("请至少指定 --pptx、--xlsx、--docx、--png 中的一项")
    if args.svg and not args.png:
        raise UsageError("--svg 需要与 --png 一起使用")
    with store.connect(args.db) as con:
        rubric = load_rubric(args.rubric) if args.rubric else rubric_versions.active(con)
        meeting = build_meeting(con, args.quarter, rubric, {"system": args.system}, args.district, CLI_USER)
    meeting = dataclasses.replace(meeting, number=args.number, signed=args.signed, copies_to=args.copies_to)
    try:
        files = export_files(meeting, targets, svg=args.svg)
    except ImageError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return EXIT_REJECTED
    for fmt, target in targets.items():
        print(write_export(fmt, Path(target), files) + f"（{meeting.scope}，{args.quarter}）")
    with store.connect(args.db) as con:
        record_export(con, meeting, files)
    return EXIT_OK


def cmd_term(args: argparse.Namespace) -> int:
    """Set or clear one organization's election term, or its approved 换届 delay."""
    with store.connect(args.db) as con:
        if args.delay_until or args.clear_delay:
            terms.set_term_delay(con, args.system, args.unit, args.org, args.delay_until, args.approved_by)
            what = "取消延期换届" if args.clear_delay else f"经{args.approved_by}批准延期换届至 {args.delay_until}"
        else:
            terms.set_term_years(con, args.system, args.unit, args.org, None if args.clear else args.years)
            what = "恢复为按组织类型的默认任期" if args.clear else f"任期设为 {args.years} 年"
        organization = f"{args.system} / {args.unit} / {args.org}"
        audit.record(con, CLI_USER, "term_change", organization=organization, change=what)
    print(f"已将「{args.unit} {args.org}」{what}。")
    return EXIT_OK


def cmd_users(args: argparse.Namespace) -> int:
    """Add an account (password from a prompt or stdin, never an argument) or list accounts."""
    if args.users_command == "list":
        with store.connect(args.db) as con:
            table = auth.users(con)
        print("还没有账户。" if table.empty else table.to_string(index=False))
        return EXIT_OK
    password = _read_password(args.password_stdin)
    with store.connect(args.db) as con:
        user = auth.add_user(con, args.name, password, args.role, tuple(args.system), actor=CLI_USER)
    scope = f"，负责系统：{'、'.join(user.systems)}" if user.systems else ""
    print(f"已新增账户「{user.name}」（{user.role_name}{scope}）。")
    return EXIT_OK


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise UsageError("没有终端可以输入密码：请使用 --password-stdin 从标准输入传入密码。")
    first, second = getpass.getpass("密码："), getpass.getpass("再次输入密码：")
    if first != second:
        raise UsageError("两次输入的密码不一致。")
    return first


def cmd_demo(args: argparse.Namespace) -> int:
    """Load the bundled demo district through the normal ingest path."""
    with store.connect(args.db) as con:
        if args.if_empty and not batches.history(con).empty:
            print("数据库已有数据，未载入演示数据。")
            return EXIT_OK
        results = load_demo(con)  # uploader "demo": 批次管理 shows 演示数据（内置）
        audit.record(con, CLI_USER, "demo_load", files=[r.file for r, _ in results])
    failed = 0
    for report, result in results:
        if result is None:
            failed += 1
            for p in report.errors:
                print(format_problem(p), file=sys.stderr)
        else:
            print(result_line(result, report))
    return EXIT_REJECTED if failed else EXIT_OK


def _refresh_after_change(args: argparse.Namespace) -> None:
    """Keep the latest quarter's dashboard results of the new state, so the next page view reads instead of computing."""
    try:
        derived.refresh(args.db)
    except Exception as exc:  # the change itself is committed; pages compute what is not kept
        print(f"注意：数据已保存，但看板数据未能预先计算（{exc}），页面首次打开时会自行计算。", file=sys.stderr)


def cmd_refresh(args: argparse.Namespace) -> int:
    """Compute and keep the dashboard results of the current state (e.g. after data/rubric.toml was edited)."""
    done = derived.refresh(args.db)
    if done is None:
        print("还没有任何数据，无需计算。")
    elif done.too_big:
        print(
            f"{done.quarter} 的党组织超过 {derived.REFRESH_MAX_ORGANIZATIONS:,} 个，看板数据不预先计算（见 docs/scaling.md）。"
        )
    elif done.stored:
        print(f"已预先计算看板数据：{done.quarter} 等 {done.stored} 项，用时 {done.seconds:.1f} 秒。")
    else:
        print(f"看板数据已是最新（{done.quarter}），无需重新计算。")
    return EXIT_OK


def cmd_template(args: argparse.Namespace) -> int:
    """Write the blank quarterly template workbook."""
    Path(args.file).write_bytes(template_workbook())
    print(f"已生成空白模板：{args.file}")
    return EXIT_OK


def cmd_audit(args: argparse.Namespace) -> int:
    """Recompute the audit log's hash chain: exit 0 when intact, 1 naming the first broken row."""
    with store.connect(args.db, reading=True) as con:
        verdict = audit.chain_state(con)
    print(audit.chain_text(verdict), file=sys.stdout if verdict.intact else sys.stderr)
    return 0 if verdict.intact else 1


COMMANDS = {
    "ingest": cmd_ingest,
    "audit": cmd_audit,
    "batches": cmd_batches,
    "rollback": cmd_rollback,
    "dump": cmd_dump,
    "scores": cmd_scores,
    "imbalance": cmd_imbalance,
    "term": cmd_term,
    "users": cmd_users,
    "export": cmd_export,
    "demo": cmd_demo,
    "refresh": cmd_refresh,
    "template": cmd_template,
    "rectify": cli_rectify.cmd_rectify,
    "annual": cli_annual.cmd_annual,
    "store-copy": cli_store.cmd_store_copy,
}
