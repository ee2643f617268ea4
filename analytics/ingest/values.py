"""Whole-column parsing of text cells into typed values, with masks of bad cells (SPEC §3.1)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from analytics.template import Column, Markers

EXCEL_EPOCH = pd.Timestamp("1899-12-30")
MIN_YEAR = 1921
MAX_YEAR = 2200  # beyond it pandas cannot hold the date; no plausible value is anyway
MAX_TEXT_CHARS = 100  # organization and unit names are at most a few dozen characters
FORMULA_ERRORS = ("#DIV/0!", "#NAME?", "#NULL!", "#NUM!", "#REF!", "#VALUE!", "#GETTING_DATA", "#SPILL!", "#CALC!")
# C0/C1 controls other than whitespace (normalization removes tabs, newlines, \x1c-\x1f), bidi overrides
INVISIBLE = r"[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f\u202a-\u202e\u2066-\u2069]"
INVISIBLE_RE2 = r"[\x00-\x08\x0e-\x1b\x7f-\x{84}\x{86}-\x{9f}\x{202a}-\x{202e}\x{2066}-\x{2069}]"  # the same, for Arrow
# Trailing units offices type after numbers: 3次, 12人, 1,200元
_UNIT_SUFFIX = r"(次|个|人|名|元|项|场|份|期|家)$"
_DATE_YMD = r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$"
_DATE_YM = r"^(\d{4})[-/.年](\d{1,2})月?$"
_DATE_COMPACT = r"^(\d{4})(\d{2})(\d{2})$"
_EXCEL_DATETIME = r"^(\d{4})-(\d{2})-(\d{2})[ T]?\d{2}:\d{2}:\d{2}(?:\.\d+)?$"

DTYPES = {
    "text": "string",
    "org_type": "string",
    "grade": "string",
    "level": "string",
    "category": "string",
    "int": "Int64",
    "number": "Float64",
    "rate": "Float64",
    "yesno": "boolean",
    "date": "datetime64[s]",
}


@dataclass
class Parsed:
    """Typed values of one column plus the cells that are wrong or suspicious."""

    values: pd.Series
    errors: list[tuple[pd.Series, str]] = field(default_factory=list)
    warnings: list[tuple[pd.Series, str]] = field(default_factory=list)


# Everything Python's \s matches, in RE2 syntax, so the whole column is cleaned inside Arrow (bench/)
_ARROW_WHITESPACE = r"[\s\x{0b}\x{1c}-\x{1f}\x{85}\pZ]+"
# The bytes of that class among ASCII characters: \t \n \v \f \r, \x1c-\x1f and space
_ASCII_WHITESPACE = np.zeros(256, dtype=bool)
_ASCII_WHITESPACE[[9, 10, 11, 12, 13, 28, 29, 30, 31, 32]] = True


_TEXT = pa.string()


def normalized(raw: pd.Series) -> pd.Series:
    """NFKC text without any whitespace; NA for empty cells."""
    arrow = normalized_arrow(pa.array(raw.astype("string[pyarrow]")))
    return pd.Series(arrow, index=raw.index, dtype="string[pyarrow]")


def normalized_arrow(arrow: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """normalized() on an Arrow string column: NFKC, no whitespace, null for empty cells."""
    # NFKC leaves ASCII unchanged, and an ASCII column without whitespace bytes has nothing to remove:
    # most count columns take neither per-cell pass (bench/)
    if _is_ascii(arrow):
        if _has_ascii_whitespace(arrow):
            arrow = per_distinct(arrow, lambda a: pc.replace_substring_regex(a, _ARROW_WHITESPACE, ""))
    else:
        arrow = per_distinct(
            arrow, lambda a: pc.replace_substring_regex(pc.utf8_normalize(a, "NFKC"), _ARROW_WHITESPACE, "")
        )
    empty = pc.equal(arrow, "")
    # Copying a column costs more than the check, above all in a fresh process (new memory, bench/)
    return pc.if_else(empty, pa.scalar(None, pa.string()), arrow) if pc.any(empty).as_py() else arrow


def per_distinct(
    arrow: pa.Array | pa.ChunkedArray, fn: Callable[[pa.Array], pa.Array], type: pa.DataType = _TEXT
) -> pa.Array | pa.ChunkedArray:
    """fn (a cell-by-cell function of text, giving `type`) applied once per distinct value, when values repeat."""
    # 所属系统, 单位名称, yes/no and choice columns repeat a few dozen values 100,000 times (bench/)
    chunks = arrow.chunks if isinstance(arrow, pa.ChunkedArray) else [arrow]
    done = []
    for chunk in chunks:
        # Names of organizations are all different: a sample tells, before the whole column is encoded
        if pc.count_distinct(chunk.slice(0, 1000)).as_py() > 500:
            done.append(fn(chunk))
            continue
        encoded = pc.dictionary_encode(chunk)
        done.append(pc.take(fn(encoded.dictionary), encoded.indices))
    return pa.chunked_array(done, type=type) if isinstance(arrow, pa.ChunkedArray) else done[0]


def _is_ascii(arrow: pa.Array | pa.ChunkedArray) -> bool:
    return pc.all(pc.string_is_ascii(arrow)).as_py() is not False


def _has_ascii_whitespace(arrow: pa.Array | pa.ChunkedArray) -> bool:
    """True when any character buffer holds a whitespace byte (a conservative test: it may see unused bytes)."""
    chunks = arrow.chunks if isinstance(arrow, pa.ChunkedArray) else [arrow]
    for chunk in chunks:
        if not (pa.types.is_string(chunk.type) or pa.types.is_large_string(chunk.type)):
            return True
        data = chunk.buffers()[2]
        if data is not None and _ASCII_WHITESPACE[np.frombuffer(data, dtype=np.uint8)].any():
            return True
    return False


def cell_text(value: float | int | dt.datetime) -> str:
    """The text of a number cell as a text read gives it (fastexcel: nine decimals at most, trailing zeros cut),
    or of a date cell of a whole day (chrono's format, no fraction of a second)."""
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, int | np.integer):
        return str(value)
    # Python and Rust both round the exact binary value half to even here, so the digits agree (tests)
    return f"{value:.9f}".rstrip("0").rstrip(".")


def read_back(numbers: np.ndarray) -> np.ndarray:
    """Each number as a text read would parse it back: cell_text, then float."""
    values = numbers.astype(np.float64)
    with np.errstate(over="ignore", invalid="ignore"):  # huge values overflow here and are caught as integers below
        scaled = np.rint(values * 1e9)
    # Below 2**20 a value equal to k / 1e9 is the double nearest that decimal: its text has at most nine decimals
    # and parses back to it; integers print all their digits. Only the others are formatted one by one.
    exact = (np.abs(values) < 2**20) & (scaled / 1e9 == values) | (values == np.floor(values)) | np.isnan(values)
    if not exact.all():
        values = values.copy()
        for i in np.flatnonzero(~exact):
            values[i] = float(cell_text(float(values[i])))
    return values


def missing_mask(norm: pd.Series, markers: Markers) -> pd.Series:
    """True where a cell is empty or a missing marker such as - / ** 未填."""
    return norm.isna() | norm.isin(markers.missing)


def missing_flags(norm: pa.ChunkedArray | pa.Array, markers: Markers) -> np.ndarray:
    """missing_mask() of a normalized Arrow column, as a numpy bool array."""
    if not is_text(norm):
        return pc.is_null(norm).to_numpy(zero_copy_only=False)
    marked = pc.is_in(norm, value_set=pa.array(sorted(markers.missing), pa.string()))
    return pc.or_(pc.fill_null(marked, False), pc.is_null(norm)).to_numpy(zero_copy_only=False)


FORMULA_ERROR = "公式计算出错（单元格显示错误值），请修正公式或直接填写数值"


def is_text(values: pd.Series | pa.ChunkedArray | pa.Array) -> bool:
    """True for a column of text cells, False for one read as numbers or dates (typedread.py)."""
    if isinstance(values, pd.Series):
        return pd.api.types.is_string_dtype(values.dtype) or values.dtype == object
    return pa.types.is_string(values.type) or pa.types.is_large_string(values.type) or pa.types.is_null(values.type)


def parse_column(
    raw: pd.Series,
    col: Column,
    markers: Markers,
    today: dt.date,
    norm: pd.Series | None = None,
    display: pd.Series | None = None,
) -> Parsed:
    """Typed values for one template column; bad cells become NA and are reported.

    norm and display, when given, are normalized(raw) and the display text (text_forms) the caller already has."""
    if not is_text(raw):
        return parse_dates(raw, today) if pd.api.types.is_datetime64_any_dtype(raw.dtype) else parse_numbers(raw, col)
    norm = normalized(raw) if norm is None else norm
    missing = missing_mask(norm, markers)
    # #N/A is a missing marker of the template; the other error values mean a broken formula
    formula_error = norm.isin(FORMULA_ERRORS).fillna(False) & ~missing
    present = norm.mask(missing | formula_error)
    parser = {
        "int": _number,
        "number": _number,
        "rate": _rate,
        "yesno": _yesno,
        "date": _date,
    }.get(col.type, _choice)
    parsed = _text(raw, present, display) if col.type == "text" else parser(raw, present, col, markers, today)
    parsed.errors.insert(0, (formula_error, FORMULA_ERROR))
    if col.required:
        parsed.errors.append((missing.fillna(True), "必填项为空"))
    return parsed


def _text(raw: pd.Series, present: pd.Series, display: pd.Series | None) -> Parsed:
    arrow = text_forms(pa.array(raw.astype("string[pyarrow]")))[0] if display is None else pa.array(display)
    shown = present.notna().to_numpy(dtype=bool)
    display = pd.Series(arrow, index=raw.index, dtype="string").mask(~shown)
    # Invisible controls make names that look alike but never match, and \x1b or U+202E rewrite what a
    # terminal or a slide shows
    found = pc.fill_null(pc.match_substring_regex(arrow, INVISIBLE_RE2), False).to_numpy(zero_copy_only=False)
    hidden = pd.Series(found & shown, index=raw.index)
    length = pc.fill_null(pc.utf8_length(arrow), 0).to_numpy(zero_copy_only=False)
    long = pd.Series((length > MAX_TEXT_CHARS) & shown, index=raw.index)
    return Parsed(
        display.mask(hidden),
        errors=[(hidden, "含有不可见的控制字符（如 \\x00、\\x1b、方向控制符 U+202E），请删除后重新上传")],
        warnings=[(long & ~hidden, f"内容超过 {MAX_TEXT_CHARS} 个字，请核实是否误填")],
    )


def text_forms(arrow: pa.Array | pa.ChunkedArray) -> tuple[pa.Array | pa.ChunkedArray, pa.Array | pa.ChunkedArray]:
    """(display text, normalized_arrow()) of a text column from one NFKC pass."""
    display = per_distinct(arrow, _display_text)
    # Display text has one space where the cell had a run of whitespace: without the spaces it is NFKC without any
    norm = pc.replace_substring(display, " ", "") if _has_ascii_whitespace(display) else display
    empty = pc.equal(norm, "")
    return display, pc.if_else(empty, pa.scalar(None, pa.string()), norm) if pc.any(empty).as_py() else norm


def _display_text(arrow: pa.Array) -> pa.Array:
    # NFKC, strip, whitespace runs -> one space; in Arrow, as Python's \s is _ARROW_WHITESPACE after NFKC
    return pc.utf8_trim(pc.replace_substring_regex(pc.utf8_normalize(arrow, "NFKC"), _ARROW_WHITESPACE, " "), " ")


def _choice(raw, present, col, markers, today) -> Parsed:
    aliases = dict(col.aliases)
    mapped = present.replace(aliases) if aliases else present
    bad = mapped.notna() & ~mapped.isin(col.choices)
    expected = " / ".join(col.choices)
    return Parsed(mapped.mask(bad), errors=[(bad, f"无法识别，应填写：{expected}")])


def _to_number(present: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Numbers from text with thousands separators and unit suffixes; mask of unparseable cells."""
    try:
        # Fast path: a clean column casts in one Arrow call; anything odd takes the tolerant path
        numbers = pd.Series(pc.cast(pa.array(present, pa.string()), pa.float64()), index=present.index, dtype="Float64")
        numbers = numbers.mask(numbers.isna() | np.isinf(numbers.fillna(0).to_numpy()))
        return numbers, present.notna() & numbers.isna()
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    text = present.str.replace(",", "", regex=False).str.replace(_UNIT_SUFFIX, "", regex=True)
    numbers = pd.to_numeric(text, errors="coerce").astype("Float64")
    bad = present.notna() & numbers.isna()
    return numbers, bad


def parse_numbers(raw: pd.Series, col: Column) -> Parsed:
    """parse_column() of a column read as numbers: the values, errors and warnings a text read gives."""
    # Every cell is a number or empty (typedread.py): nothing is unreadable, a marker, or a formula error
    numbers = read_back(raw.to_numpy(dtype="float64", na_value=np.nan))
    none = pd.Series(False, index=raw.index)
    if col.type == "rate":
        checked = _checked_rate(numbers, raw.index, none, np.zeros(len(numbers), dtype=bool), col)
    else:
        checked = _checked_number(numbers, raw.index, none, col)
    checked.errors.insert(0, (none, FORMULA_ERROR))
    return checked


def _number(raw, present, col, markers, today) -> Parsed:
    if col.type == "int":
        present = present.mask(present.isin(markers.zero_for_counts), "0")
    numbers, bad = _to_number(present)
    return _checked_number(_floats(numbers), present.index, bad, col)


def _floats(numbers: pd.Series) -> np.ndarray:
    """A nullable number column as float64, NaN for missing (checks run in numpy: pandas costs 5 ms per column)."""
    return numbers.to_numpy(dtype="float64", na_value=np.nan)


def _checked_number(numbers: np.ndarray, index: pd.Index, bad: pd.Series, col: Column) -> Parsed:
    """Integer and bound checks of a number column (NaN = missing); `bad` marks cells that are not numbers."""
    errors = [(bad, "应填写数字")]
    if col.type == "int":
        fractional = ~np.isnan(numbers) & (numbers != np.round(numbers))
        # Past 2**53 a float no longer holds every integer, and past 2**63 Int64 would wrap to a negative count
        huge = np.abs(numbers) >= 2**53
        errors += [(_mask(fractional, index), "应填写整数"), (_mask(huge & ~fractional, index), "数值过大，请核实")]
        numbers = np.where(fractional | huge, np.nan, numbers)
    parsed = _bounded(numbers, index, col, errors)
    if col.type == "int":
        parsed.values = parsed.values.round().astype("Int64")
    return parsed


def _mask(flags: np.ndarray, index: pd.Index) -> pd.Series:
    return pd.Series(flags, index=index)


def _bounded(numbers: np.ndarray, index: pd.Index, col: Column, errors: list) -> Parsed:
    warnings = []
    if col.min is not None:
        low = numbers < col.min
        errors.append((_mask(low, index), "不能为负数" if col.min == 0 else f"不能小于 {col.min:g}"))
        numbers = np.where(low, np.nan, numbers)
    if col.max is not None:
        high = numbers > col.max
        errors.append((_mask(high, index), f"应在 {col.min:g}–{col.max:g} 之间"))
        numbers = np.where(high, np.nan, numbers)
    if col.warn_above is not None:
        above = _mask(numbers > col.warn_above, index)
        warnings.append((above, f"数值偏大（超过 {col.warn_above:g}），请核实"))
    return Parsed(pd.Series(pd.array(numbers, dtype="Float64"), index=index), errors, warnings)


def _rate(raw, present, col, markers, today) -> Parsed:
    has_percent = present.str.endswith("%").fillna(False)
    numbers, bad = _to_number(present.str.rstrip("%"))
    return _checked_rate(_floats(numbers), present.index, bad, has_percent.to_numpy(dtype=bool), col)


def _checked_rate(numbers: np.ndarray, index: pd.Index, bad: pd.Series, has_percent: np.ndarray, col) -> Parsed:
    plain = numbers[~has_percent & ~np.isnan(numbers)]
    # A percent-formatted Excel column arrives as fractions: 0.85 means 85 (SPEC §3.1)
    if len(plain) and ((plain >= 0) & (plain <= 1)).all():
        numbers = np.where(has_percent, numbers, np.round(numbers * 100, 9))  # 0.714 -> 71.4, not 71.39999…
    return _bounded(numbers, index, col, [(bad, "应填写 0–100 的百分比数字（如 85 或 85%）")])


def _yesno(raw, present, col, markers, today) -> Parsed:
    values = pd.Series(pd.NA, index=present.index, dtype="boolean")
    values = values.mask(present.isin(markers.yes), True).mask(present.isin(markers.no), False)
    bad = present.notna() & values.isna()
    return Parsed(values, errors=[(bad, "应填写 是 / 否")])


_EXCEL_CELL_DATE = r"^\d{4}-\d{2}-\d{2}\d{2}:\d{2}:\d{2}$"  # a date cell as fastexcel writes it, spaces removed


def _date(raw, present, col, markers, today) -> Parsed:
    if present.str.match(_EXCEL_CELL_DATE).fillna(True).all():
        dates = pd.to_datetime(present.str.slice(0, 10), format="%Y-%m-%d", errors="coerce")
        return _dated(present, dates, pd.Series(False, index=present.index), today)
    parts = pd.DataFrame(index=present.index, columns=["y", "m", "d"], dtype="Float64")
    for pattern in (_EXCEL_DATETIME, _DATE_YMD, _DATE_COMPACT):
        found = present.str.extract(pattern).iloc[:, :3].astype("Float64")
        found.columns = ["y", "m", "d"]
        parts = parts.fillna(found)
    month_only = present.str.extract(_DATE_YM).astype("Float64")
    month_only.columns = ["y", "m"]
    month_rows = parts["y"].isna() & month_only["y"].notna()
    parts = parts.fillna(month_only.assign(d=1.0))
    far_year = (parts["y"] > MAX_YEAR).fillna(False)
    parts.loc[far_year] = pd.NA  # flagged as out of range, not as unreadable
    dates = pd.to_datetime(
        parts.rename(columns={"y": "year", "m": "month", "d": "day"}).astype("float64"),
        errors="coerce",
    )
    # float, not Int64: to_timedelta converts the values behind Int64's mask too, and overflows on them
    serial = pd.to_numeric(present, errors="coerce").astype("float64")
    from_serial = EXCEL_EPOCH + pd.to_timedelta(serial.where(serial.between(1, 2958465)), unit="D")
    dates = dates.fillna(from_serial.dt.floor("D"))
    return _dated(present, dates, month_rows, today, far_year)


def parse_dates(raw: pd.Series, today: dt.date) -> Parsed:
    """parse_column() of a date column read as dates of whole days (typedread.py): what a text read gives."""
    # The text of each cell would be YYYY-MM-DD 00:00:00, the case _date reads by its first ten characters
    parsed = _dated(raw, raw, pd.Series(False, index=raw.index), today)
    parsed.errors.insert(0, (pd.Series(False, index=raw.index), FORMULA_ERROR))
    return parsed


def _dated(
    present: pd.Series, dates: pd.Series, month_rows: pd.Series, today: dt.date, far_year: pd.Series | None = None
) -> Parsed:
    """Dates with the unreadable and implausible cells flagged."""
    far_year = pd.Series(False, index=present.index) if far_year is None else far_year
    bad = present.notna() & dates.isna() & ~far_year
    out_of_range = far_year | (
        dates.notna() & ((dates.dt.year < MIN_YEAR) | (dates > pd.Timestamp(today) + pd.Timedelta(days=366)))
    )
    dates = dates.mask(out_of_range)
    return Parsed(
        dates.astype("datetime64[s]"),
        errors=[
            (bad, "无法识别的日期，请填写如 2023-03-15 的日期"),
            (out_of_range.fillna(False), f"日期不合理（应在 {MIN_YEAR} 年至今之间）"),
        ],
        warnings=[(month_rows.fillna(False) & dates.notna(), "日期只填到月份，按当月1日计")],
    )


def empty_column(col: Column, index: pd.Index) -> pd.Series:
    """An all-missing column of the right dtype, for a template column absent from the file."""
    return pd.Series(pd.NA if col.type != "date" else np.datetime64("NaT"), index=index, dtype=DTYPES[col.type])
