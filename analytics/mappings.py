"""Header mappings (SPEC §3.1.1): a header the template does not know, confirmed by an analyst as a template
column or as a column to ignore, stored, audited, and applied to every later upload."""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd

from analytics.accounts import audit
from analytics.accounts.access import require
from analytics.accounts.auth import User
from analytics.store import database as store
from analytics.template import header_key, load_template, match_header

IGNORE = ("忽略", "ignore", "不载入")


class MappingError(ValueError):
    """A mapping that cannot be kept; the message says why in Chinese."""


def target(text: str) -> str | None:
    """The internal name a mapping's right side names (an internal name or a template header); None for 忽略."""
    text = text.strip()
    if text.casefold() in {w.casefold() for w in IGNORE}:
        return None
    names = load_template().names
    if text in names:
        return text
    name = match_header(text)
    if name is None:
        raise MappingError(
            f"「{text}」不是模板中的列：请写内部列名（如 members_full）或模板表头（如 正式党员数），或写「忽略」。"
        )
    return name


def checked(header: str, field: str | None) -> tuple[str, str | None]:
    """(header_key, field) of a mapping that may be kept; raises MappingError naming what is wrong."""
    if not header.strip() or not header_key(header):
        raise MappingError("表头为空，无法确认对应关系。")
    known = match_header(header)
    if known is not None:
        shown = load_template().column(known).header
        raise MappingError(f"表头「{header}」已能自动识别为「{shown}」，无需确认对应关系。")
    if field is not None and field not in load_template().names:
        raise MappingError(f"「{field}」不是模板中的列。")
    return header_key(header), field


def parse_option(text: str) -> tuple[str, str | None]:
    """(header, field) from a command line's --map "原表头=内部列名"; raises MappingError."""
    header, sep, right = text.rpartition("=")
    if not sep or not header.strip():
        raise MappingError(f'--map 的写法应为 "原表头=内部列名"（或 "原表头=忽略"），收到「{text}」。')
    field = target(right)
    checked(header, field)
    return header.strip(), field


def stored(con: duckdb.DuckDBPyConnection) -> dict[str, str | None]:
    """header_key -> internal name (None: ignored) of every confirmed mapping, keys as matching computes them now."""
    rows = con.execute("SELECT header, field FROM header_mappings ORDER BY confirmed_at").fetchall()
    return {header_key(header): field for header, field in rows}


def listing(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The confirmed mappings for the admin page: key, header, template column (Chinese), who and when."""
    frame = con.execute(
        "SELECT header_key, header, field, confirmed_by, confirmed_at FROM header_mappings ORDER BY confirmed_at DESC"
    ).df()
    frame["field"] = frame["field"].astype(object).where(frame["field"].notna(), None)
    headers = {c.name: c.header for c in load_template().columns}
    frame["column"] = frame["field"].map(lambda f: headers.get(f, "（忽略此列）"))
    return frame


def write(con: duckdb.DuckDBPyConnection, user_name: str, pairs: dict[str, str | None]) -> None:
    """Store header -> field mappings (inside the caller's transaction), each written to the audit log."""
    now = dt.datetime.now()
    for header, field in pairs.items():
        key, field = checked(header, field)
        con.execute(
            "INSERT OR REPLACE INTO header_mappings VALUES ($key, $header, $field, $user, $at)",
            {"key": key, "header": header, "field": field, "user": user_name, "at": now},
        )
        audit.record(con, user_name, "mapping_save", header=header, field=field)


def save(con: duckdb.DuckDBPyConnection, user: User, pairs: dict[str, str | None]) -> None:
    """Store mappings confirmed by this user (who may upload), in one transaction."""
    require(con, user, "upload")
    for header, field in pairs.items():
        checked(header, field)  # every pair checked before anything is written
    with store.transaction(con):
        write(con, user.name, pairs)


def remove(con: duckdb.DuckDBPyConnection, user: User, key: str) -> bool:
    """Delete one mapping (admins only), audited; False when there was none."""
    require(con, user, "admin")
    with store.transaction(con):
        rows = con.execute("SELECT header, field FROM header_mappings WHERE header_key = $k", {"k": key}).fetchall()
        if not rows:
            return False
        con.execute("DELETE FROM header_mappings WHERE header_key = $k", {"k": key})
        audit.record(con, user.name, "mapping_remove", header=rows[0][0], field=rows[0][1])
    return True
