"""Problems found in an upload: one row each, with where it is and what to fix (SPEC §3.2)."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import asdict, dataclass, field

import pandas as pd

ERROR = "error"
WARNING = "warning"
MAX_LISTED = 10_000  # problems listed one by one; a file of garbage would give millions, and nobody reads them


@dataclass(frozen=True)
class Problem:
    """One error or warning: sheet, Excel row, column header as in the file, value, message."""

    severity: str
    message: str
    sheet: str | None = None
    row: int | None = None
    column: str | None = None
    value: str | None = None
    field: str | None = None
    cell: str | None = None
    file: str | None = None

    def as_dict(self) -> dict:
        """Plain dict for JSON output."""
        return asdict(self)


@dataclass(frozen=True)
class Unmapped:
    """A header the template does not know but that resembles template columns: the analyst decides what it is."""

    sheet: str
    cell: str
    header: str  # as written in the file (whitespace removed)
    key: str  # template.header_key of the header: what a confirmed mapping is stored under
    suggestions: tuple[str, ...]  # internal names of the resembling columns, best first
    # The answer offered first: the best suggestion, unless the sheet already has that column (then 忽略, None):
    # 女党员数 beside 党员总数 is an office's own column, not a second 党员总数
    preselect: str | None = None


@dataclass
class Report:
    """What ingesting one file produced: typed records and every problem found."""

    file: str
    records: pd.DataFrame | None = None
    problems: list[Problem] = field(default_factory=list)
    quarter: str | None = None
    sheets_read: list[str] = field(default_factory=list)
    rejected_rows: int = 0
    all_rows: int = 0
    unlisted: Counter = field(default_factory=Counter)  # severity -> problems counted but not listed
    unmapped: list[Unmapped] = field(default_factory=list)
    sheet_columns: dict[str, frozenset[str]] = field(default_factory=dict)  # sheet read -> template columns it has

    def room(self) -> int:
        """How many more problems may be listed one by one."""
        return max(MAX_LISTED - len(self.problems), 0)

    def list_unlisted(self) -> None:
        """One problem per severity saying how many were left out; an unlisted error still blocks the file."""
        for severity, count in (+self.unlisted).items():  # unary + drops zero counts
            label = "错误" if severity == ERROR else "提示"
            message = (
                f"另有 {count} 个{label}未逐条列出（最多列出 {MAX_LISTED} 个问题），请先改正已列出的问题后重新上传。"
            )
            self.problems.append(Problem(severity, message, file=self.file))

    @property
    def errors(self) -> list[Problem]:
        """Problems that block loading."""
        return [p for p in self.problems if p.severity == ERROR]

    @property
    def warnings(self) -> list[Problem]:
        """Problems that are reported but do not block."""
        return [p for p in self.problems if p.severity == WARNING]

    @property
    def row_count(self) -> int:
        """Number of valid records."""
        return 0 if self.records is None else len(self.records)


def column_letter(index: int) -> str:
    """Excel column letters for a 0-based column index (0 -> A, 26 -> AA)."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


SEVERITY_LABELS = {ERROR: "错误", WARNING: "提示"}
TABLE_COLUMNS = {
    "severity": "类别",
    "file": "文件",
    "sheet": "工作表",
    "row": "行号",
    "column": "列",
    "value": "填写内容",
    "message": "问题说明",
}


def problems_frame(problems: list[Problem]) -> pd.DataFrame:
    """Problems as a table with Chinese headers, errors first."""
    rows = [p.as_dict() for p in problems]
    frame = pd.DataFrame(rows, columns=list(Problem.__dataclass_fields__))
    frame["severity"] = frame["severity"].map(SEVERITY_LABELS)
    frame = frame.sort_values("severity", key=lambda s: s.ne("错误"), kind="stable")
    frame = frame[list(TABLE_COLUMNS)]
    text = [c for c in TABLE_COLUMNS if c != "row"]
    frame = frame.assign(
        row=frame["row"].astype("Int64"),
        **{c: frame[c].astype("string").fillna("").map(visible).astype("string") for c in text},
    )
    return frame.rename(columns=TABLE_COLUMNS).reset_index(drop=True)


# Controls and bidi overrides from a file would move the cursor or reorder what a terminal or a table shows
_INVISIBLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")


def visible(text: str) -> str:
    """The text with invisible control characters written as escapes (\\x1b, \\u202e)."""
    return _INVISIBLE.sub(lambda m: m[0].encode("unicode_escape").decode("ascii"), text)


def format_problem(p: Problem) -> str:
    """One line of Chinese for the terminal."""
    where = []
    if p.file:
        where.append(f"文件「{visible(p.file)}」")
    if p.sheet:
        where.append(f"工作表「{visible(p.sheet)}」")
    if p.row:
        where.append(f"第{p.row}行")
    if p.column:
        where.append(f"列「{visible(p.column)}」" + (f"({p.cell})" if p.cell else ""))
    value = f" 填写值「{visible(p.value)}」" if p.value not in (None, "") else ""
    return f"[{SEVERITY_LABELS[p.severity]}] {' '.join(where)}{value}：{p.message}"
