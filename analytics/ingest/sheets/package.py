"""Checks on a zip package (.xlsx, .xlsm, .ods) before any reader opens it: zip bombs, XML entities, other files.

These give the clear Chinese reason; the reader itself still runs under limits (sandbox.py) for what no check
foresees.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib

MAX_UNZIPPED = 1 << 30  # all parts together, inflated; a 500,000-row workbook is about 600 MB
MAX_RATIO = 100  # inflated / compressed; real sheets compress 5–20 times
_RATIO_FLOOR = 8 << 20  # small parts may compress better, and cannot hurt
_PROLOG_BYTES = 1 << 16
_ROOT = re.compile(rb"<[A-Za-z_]")
CORRUPT = "无法打开该文件：文件已损坏（压缩包结构不完整，可能下载或拷贝时被截断），请重新导出后上传。"
_OTHER_PACKAGES = {"word/document.xml": "Word 文档", "ppt/presentation.xml": "PowerPoint 演示文稿"}


def package_problem(data: bytes) -> str | None:
    """Why the zip package must not be read, in Chinese, or None when it may be."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            infos = package.infolist()
            return _size_problem(infos) or _kind_problem(package) or _entity_problem(package, infos)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError, RuntimeError):
        return CORRUPT


def _size_problem(infos: list[zipfile.ZipInfo]) -> str | None:
    """Sizes declared in the zip directory, checked before anything is inflated."""
    total = sum(info.file_size for info in infos)
    if total > MAX_UNZIPPED:
        return (
            f"文件解压后共 {total / (1 << 30):.1f} GB，超过上限 {MAX_UNZIPPED >> 30} GB，"
            "疑似“压缩炸弹”（极小的文件解压成巨大的内容），已拒绝读取。"
        )
    for info in infos:
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > _RATIO_FLOOR and ratio > MAX_RATIO:
            return (
                f"文件中的「{info.filename}」压缩比异常（{ratio:.0f}:1，解压后 {info.file_size >> 20} MB），"
                "疑似“压缩炸弹”，已拒绝读取。"
            )
    return None


def _kind_problem(package: zipfile.ZipFile) -> str | None:
    names = set(package.namelist())
    if names & {"xl/workbook.xml", "xl/workbook.bin", "content.xml"}:
        return None
    kind = next((kind for part, kind in _OTHER_PACKAGES.items() if part in names), None)
    if kind:
        return f"文件内容不是有效的表格，而是{kind}；请上传 .xlsx、.xls、.ods 或 .csv 文件。"
    return "文件是一个压缩包，里面没有 Excel/WPS 工作簿；请解压后上传其中的表格文件。"


def _entity_problem(package: zipfile.ZipFile, infos: list[zipfile.ZipInfo]) -> str | None:
    """A DTD in any part: Excel and WPS never write one, and its entities can expand a few bytes into gigabytes."""
    for info in infos:
        with package.open(info) as part:
            head = part.read(_PROLOG_BYTES)
        if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
            head = head.decode("utf-16", "replace").encode("utf-8", "replace")
        root = _ROOT.search(head)
        prolog = head[: root.start()] if root else head
        if b"<!DOCTYPE" in prolog or b"<!ENTITY" in prolog:
            return (
                f"文件中的「{info.filename}」含有 DTD 实体定义（Excel、WPS 从不写入），"
                "可能是恶意构造的文件（“十亿笑声”实体膨胀），已拒绝读取。"
            )
    return None
