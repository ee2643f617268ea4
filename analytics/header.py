"""Finding the header of a sheet and the quarter of a file (SPEC §3.1)."""

from __future__ import annotations

import re
import unicodedata
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


def quarter_from_text(text: str) -> str | None:
    """A quarter label like 2024Q1 found in a title or file name, or None."""
    text = unicodedata.normalize("NFKC", text)
    for pattern in _QUARTER_PATTERNS:
        m = pattern.search(text)
        if m:
            return f"{m.group(1)}Q{_CN_DIGITS.get(m.group(2), m.group(2))}"
    return None


def _row_matches(row: list) -> dict[int, str]:
    return {j: name for j, cell in enumerate(row) if (name := match_header(cell))}


def find_header(rows: list[list]) -> HeaderMap | None:
    """The header of a sheet: the row matching most known headers, merged with a leaf row."""
    matches = [_row_matches(r) for r in rows]
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
    return _header_map(rows, header_rows, merged)


def _header_map(rows: list[list], header_rows: list[int], merged: dict[int, str]) -> HeaderMap:
    header = HeaderMap(first_row=header_rows[0], data_start=header_rows[-1] + 1)
    index_keys = load_template().markers.index_headers
    width = max(len(rows[i]) for i in header_rows)
    for j in range(width):
        cells = [rows[i][j] for i in header_rows if j < len(rows[i]) and str(rows[i][j] or "").strip()]
        if not cells:
            continue
        text = "".join(str(cells[-1]).split())
        if j not in merged:
            if header_key(cells[-1]) in index_keys:
                header.index_columns.append(j)
            else:
                header.unknown.append((j, text))
        elif merged[j] in header.columns:
            header.repeated.append((j, text))
        else:
            header.columns[merged[j]] = (j, text)
    return header
