"""Finding the header of a sheet and the quarter of a file, and what the header tells the analyst (SPEC §3.1)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from analytics.ingest.sheets.rawsheet import RawSheet
from analytics.problems import ERROR, WARNING, Problem, Report, Unmapped, column_letter
from analytics.template import header_key, header_lookup, load_template, match_header, suggest_columns

HEADER_SCAN_ROWS = 30
MIN_HEADER_MATCHES = 3
MAX_LISTED_COLUMNS = 20  # unknown columns named one by one; a sheet of 10,000 gets one line for the rest
_CN_DIGITS = {"一": "1", "二": "2", "三": "3", "四": "4"}
_QUARTER_PATTERNS = (
    re.compile(r"(20\d{2})\s*[Qq]\s*([1-4])"),
    re.compile(r"(20\d{2})\s*年?\s*度?\s*第?\s*([一二三四1-4])\s*季度"),
)


@dataclass
class HeaderMap:
    """Where the header is and which table column holds which template field."""

    first_row: int
    data_start: int
    columns: dict[str, tuple[int, str]] = field(default_factory=dict)
    unknown: list[tuple[int, str]] = field(default_factory=list)
    repeated: list[tuple[int, str]] = field(default_factory=list)
    index_columns: list[int] = field(default_factory=list)
    mapped: list[tuple[int, str, str]] = field(default_factory=list)  # read through a confirmed mapping: name
    ignored: list[tuple[int, str]] = field(default_factory=list)  # marked 忽略 in a confirmed mapping
    system_from_sheet: str | None = None  # no 所属系统 column: every row's system is this sheet name


def quarter_from_text(text: str) -> str | None:
    """A quarter label like 2024Q1 found in a title or file name, or None."""
    text = unicodedata.normalize("NFKC", text)
    for pattern in _QUARTER_PATTERNS:
        m = pattern.search(text)
        if m:
            return f"{m.group(1)}Q{_CN_DIGITS.get(m.group(2), m.group(2))}"
    return None


def _row_matches(row: list, mappings: Mapping[str, str | None]) -> dict[int, str]:
    return {j: name for j, cell in enumerate(row) if (name := _name_of(cell, mappings))}


def _name_of(cell: object, mappings: Mapping[str, str | None]) -> str | None:
    """The template column a header cell names, directly or through a confirmed mapping (one key for both)."""
    if cell is None or not str(cell).strip():
        return None
    key = header_key(str(cell))
    return header_lookup().get(key) or mappings.get(key)


def find_header(rows: list[list], mappings: Mapping[str, str | None] | None = None) -> HeaderMap | None:
    """The header of a sheet: the row matching most known headers, merged with a leaf row.

    mappings: header_key -> internal name (None: ignore the column), as confirmed by an analyst."""
    mappings = mappings or {}
    matches = [_row_matches(r, mappings) for r in rows]
    scores = [len(set(m.values())) for m in matches]
    if not scores or max(scores) < MIN_HEADER_MATCHES:
        return None
    best = int(np.argmax(scores))
    header_rows = [best]
    # Two-row header: merged group cells (三会一课) over leaves (支委会 …); the leaf names the column
    for other in (best - 1, best + 1):
        disjoint = 0 <= other < len(rows) and not set(matches[other].values()) & set(matches[best].values())
        if disjoint and matches[other]:
            header_rows = sorted([best, other])
            break
    merged: dict[int, str] = {}
    for i in header_rows:
        merged.update(matches[i])
    return _header_map(rows, header_rows, merged, mappings)


def _header_map(
    rows: list[list], header_rows: list[int], merged: dict[int, str], mappings: Mapping[str, str | None]
) -> HeaderMap:
    header = HeaderMap(first_row=header_rows[0], data_start=header_rows[-1] + 1)
    index_keys = load_template().markers.index_headers
    width = max(len(rows[i]) for i in header_rows)
    for j in range(width):
        cells = [rows[i][j] for i in header_rows if j < len(rows[i]) and str(rows[i][j] or "").strip()]
        if not cells:
            continue
        text = "".join(str(cells[-1]).split())
        key = header_key(cells[-1])
        if j not in merged:
            if key in index_keys:
                header.index_columns.append(j)
            elif key in mappings:  # confirmed as 忽略 (a mapping to a column would be in merged)
                header.ignored.append((j, text))
            else:
                header.unknown.append((j, text))
        elif merged[j] in header.columns:
            header.repeated.append((j, text))
        else:
            header.columns[merged[j]] = (j, text)
            if all(match_header(c) is None for c in cells):
                header.mapped.append((j, text, merged[j]))
    return header


def report_header_notes(sheet: RawSheet, header: HeaderMap, report: Report) -> None:
    """What the header says to the analyst: questions about columns that resemble template columns (errors),
    columns read or ignored through a confirmed mapping, and ignored, unknown or repeated columns (warnings)."""
    row = header.first_row + 1
    template = load_template()

    def note(j: int, text: str, message: str, severity: str = WARNING) -> Problem:
        cell = f"{column_letter(sheet.first_col + j)}{row}"
        return Problem(severity, message, sheet=sheet.name, row=row, column=text, cell=cell)

    unknown = _ask_unmapped(sheet, header, report, note)
    for j, text, name in header.mapped:
        report.problems.append(note(j, text, f"按已确认的对应关系读作「{template.column(name).header}」"))
    report.problems.extend(note(j, text, "按已确认的对应关系忽略此列") for j, text in header.ignored)
    report.problems.extend(note(j, text, "未识别的列，已忽略") for j, text in unknown[:MAX_LISTED_COLUMNS])
    if len(unknown) > MAX_LISTED_COLUMNS:
        rest = len(unknown) - MAX_LISTED_COLUMNS
        message = f"另有 {rest} 个未识别的列（至 {column_letter(sheet.first_col + unknown[-1][0])} 列），已忽略"
        report.problems.append(Problem(WARNING, message, sheet=sheet.name, row=row))
    report.problems.extend(note(j, text, "与前面的列重复，已忽略此列") for j, text in header.repeated)


def _ask_unmapped(sheet: RawSheet, header: HeaderMap, report: Report, note) -> list[tuple[int, str]]:
    """Unknown columns that resemble template columns become questions (report.unmapped, one error each); the
    others are returned, to be ignored with a warning."""
    unknown = []
    for j, text in header.unknown:
        key = header_key(text)
        suggestions = _suggestions(key)
        if not suggestions:
            unknown.append((j, text))
            continue
        taken = suggestions[0] in header.columns
        problem = note(j, text, _question(text, suggestions, taken), ERROR)
        preselect = None if taken else suggestions[0]
        report.unmapped.append(Unmapped(sheet.name, problem.cell, text, key, suggestions, preselect))
        if report.room():
            report.problems.append(problem)
        else:
            report.unlisted[ERROR] += 1
    return unknown


@lru_cache(maxsize=4096)
def _suggestions(key: str) -> tuple[str, ...]:
    """Template columns a header key resembles, best first (a sheet repeats its headers; a hostile one has 16,384)."""
    return tuple(name for name, _ in suggest_columns(key))


def _question(text: str, suggestions: tuple[str, ...], taken: bool) -> str:
    """What the analyst is asked about a header that resembles template columns."""
    template = load_template()
    alike = "、".join(f"「{template.column(n).header}」" for n in suggestions)
    if taken:  # the best match is already a column of this sheet: most likely an office's own column
        first = template.column(suggestions[0]).header
        return (
            f"无法确定此列对应模板的哪一列（与{alike}相近，但表中已有「{first}」列），未载入任何数据：若是本单位自加的列，"
            f'请确认忽略（命令行加 --map "{text}=忽略"）；否则确认它对应的模板列（--map "{text}=内部列名"）'
        )
    return (
        f"无法确定此列对应模板的哪一列（与{alike}相近），未载入任何数据：请确认对应关系"
        f'（命令行加 --map "{text}={suggestions[0]}"），或确认忽略此列（--map "{text}=忽略"）'
    )
