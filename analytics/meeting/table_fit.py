"""Slide tables that fit their box as a person sees them rendered (PowerPoint, WPS, LibreOffice).

A renderer never shrinks a row below its text: a row whose text wraps grows, and the table runs past whatever
is under it. So the lines each cell needs are estimated from its display width (a CJK character is one em,
a Latin character about half), and the font size comes down half a point at a time until every row fits the
box; at the smallest size a cell that still needs too many lines is cut with "…" to two lines, then to one
(the full text stays in the speaker notes and the workbook).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from analytics.meeting.wording import display_width

LINE = 1.45  # line height over font size: Noto Sans CJK (LibreOffice's fallback) is the tallest of the fonts used
PAD_PT = 2 * 0.02 * 72  # the cell's top and bottom margins
SIDE_PT = 2 * 0.06 * 72  # its left and right margins
EM_PER_WIDTH = 0.55  # ems per display-width unit: a CJK character is 2 units (1 em), a digit 1 unit (≈ 0.55 em)
WORD_WRAP = 0.75
MIN_SIZE = 10.0
MAX_LINES = 2


@dataclass(frozen=True)
class Fit:
    size: float
    rows: list[float]  # row heights in points, header first
    cells: list[list[str]]  # the texts as they will be shown, header first


def lines_of(text: str, size: float, width_pt: float) -> int:
    """Lines a cell's text takes at this font size in a column this wide (explicit line breaks count)."""
    per_line = max(1.0, (width_pt - SIDE_PT) / (size * EM_PER_WIDTH))
    if any(ch.isascii() and ch.isalpha() for ch in text):
        per_line *= WORD_WRAP  # Latin words wrap whole: a line ends early by up to a word
    return sum(max(1, math.ceil(display_width(part) / per_line)) for part in text.split("\n"))


def cut(text: str, size: float, width_pt: float, lines: int) -> str:
    """The text shortened with '…' to what `lines` lines of this column hold."""
    if lines_of(text, size, width_pt) <= lines:
        return text
    out = ""
    for ch in text.replace("\n", " "):
        if lines_of(out + ch + "…", size, width_pt) > lines:
            break
        out += ch
    return out + "…"


def fit(cells: list[list[str]], widths_pt: list[float], size: float, height_pt: float) -> Fit:
    """The largest font size (not above `size`) at which the table fits `height_pt`, with its row heights.

    A row gets its usual 1.9 × size when there is room, and no less than its lines need in any case."""

    def needed(rows: list[list[str]], s: float) -> list[float]:
        return [max(lines_of(t, s, w) for t, w in zip(row, widths_pt, strict=True)) * s * LINE + PAD_PT for row in rows]

    s, lines = size, MAX_LINES
    while True:
        shown = cells if s > MIN_SIZE else [[cut(t, s, w, lines) for t, w in zip(r, widths_pt, strict=True)]
                                            for r in cells]  # fmt: skip
        least = needed(shown, s)
        if sum(least) <= height_pt or (s <= MIN_SIZE and lines == 1):
            roomy = [max(h, s * 1.9) for h in least]
            spare = height_pt - sum(least)
            extra = sum(roomy) - sum(least)
            share = 1.0 if extra <= max(spare, 0.0) else max(spare, 0.0) / extra
            return Fit(s, [lo + (hi - lo) * share for lo, hi in zip(least, roomy, strict=True)], shown)
        if s <= MIN_SIZE:
            lines = 1  # two lines a cell do not fit even at the smallest size: one line each
        s = max(MIN_SIZE, s - 0.5)


def name_column(names: list[str], size: float, least_in: float, most_in: float) -> float:
    """Inches a column of names needs for its longest name on one line, within [least_in, most_in]."""
    longest = max((display_width(n) for n in names), default=0)
    return min(most_in, max(least_in, (longest * EM_PER_WIDTH * size + SIDE_PT + 4) / 72))
