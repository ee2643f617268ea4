"""Finding the header of a sheet and the quarter of a file (SPEC §3.1)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from analytics.template import header_key, load_template, match_header

HEADER_SCAN_ROWS = 30
MIN_HEADER_MATCHES = 3
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
    """The template column a header cell names, directly or through a confirmed mapping."""
    name = match_header(cell)
    if name is None and mappings and cell is not None and str(cell).strip():
        name = mappings.get(header_key(str(cell)))
    return name


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
