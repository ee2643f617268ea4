"""Store failures a user can cause or meet, as Chinese messages: the StoreError and the OS refusals behind it."""

from __future__ import annotations

import errno
import os
import re

import duckdb


class StoreError(Exception):
    """A store operation the user asked for cannot be done; the message says why, in Chinese."""


DIR_ERRORS = {
    errno.EACCES: "上级目录是只读的（没有写入权限）",
    errno.EPERM: "上级目录是只读的（没有写入权限）",
    errno.EROFS: "所在的文件系统是只读的",
    errno.ENOTDIR: "路径中有一段是普通文件而不是目录",
    errno.EEXIST: "已有同名的普通文件",
    errno.ENOSPC: "磁盘空间不足",
}
_READ_ONLY_SIGNS = ("Permission denied", "Read-only file system", "Operation not permitted")
_DISK_FULL_SIGNS = ("No space left on device", "File too large", "Disk quota exceeded")


def read_only_refusal(exc: duckdb.Error) -> bool:
    """Whether the OS refused to open the file for writing (a read-only file, directory or file system)."""
    return any(sign in str(exc) for sign in _READ_ONLY_SIGNS)


def write_failure(exc: duckdb.Error, target: str | os.PathLike | None = None) -> StoreError | None:
    """The Chinese error for a write the operating system refused (read-only, disk full); None for other errors."""
    text = str(exc)
    where = target or (m.group(1) if (m := re.search(r'"([^"]+)"', text)) else "数据库")
    if any(sign in text for sign in _READ_ONLY_SIGNS):
        return StoreError(
            f"无法写入数据库 {where}：数据目录或数据库文件是只读的（没有写入权限）。"
            "本次操作未做任何更改；请让管理员检查数据目录的权限。"
        )
    if any(sign in text for sign in _DISK_FULL_SIGNS):
        return StoreError(
            f"无法写入数据库 {where}：磁盘空间不足（或超过了文件大小上限）。本次操作未做任何更改；请清理磁盘空间后重试。"
        )
    return None
