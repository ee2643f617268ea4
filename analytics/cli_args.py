"""What every command shares: exit codes, Chinese usage errors and the argument types (quarter, date)."""

from __future__ import annotations

import argparse
import datetime as dt
import re
import sys

from analytics.ingest.records import QUARTER_RE

EXIT_OK, EXIT_REJECTED, EXIT_USAGE = 0, 1, 2
_ARGPARSE_ZH = [
    (r"the following arguments are required: (.*)", r"缺少必需的参数：\1"),
    (r"unrecognized arguments: (.*)", r"无法识别的参数：\1"),
    (r"argument (\S+): invalid choice: (.*?) \(choose from (.*)\)", r"参数 \1 的取值 \2 无效，可选：\3"),
    (r"argument (\S+): invalid int value: (.*)", r"参数 \1 应为整数：\2"),
    (r"argument (\S+): expected one argument", r"参数 \1 需要一个值"),
]


class ChineseParser(argparse.ArgumentParser):
    """argparse that reports usage errors in Chinese with exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        for pattern, replacement in _ARGPARSE_ZH:
            message = re.sub(pattern, replacement, message)
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"命令参数有误：{message}\n")


class UsageError(Exception):
    """Bad arguments found after parsing (exit 2)."""


def quarter_arg(text: str) -> str:
    """A quarter label argument (2024q1 -> 2024Q1); a usage error in Chinese otherwise."""
    label = text.strip().upper()
    if not QUARTER_RE.match(label):
        raise argparse.ArgumentTypeError(f"季度格式应为 2024Q1，收到「{text}」")
    return label


def date_arg(text: str) -> dt.date:
    """A YYYY-MM-DD argument; a usage error in Chinese otherwise."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"日期应写作 2025-01-15，收到「{text}」") from None
