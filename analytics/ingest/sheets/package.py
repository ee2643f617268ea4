"""Checks on a zip package (.xlsx, .xlsm, .ods) before any reader opens it: zip bombs, XML entities, other files.

These give the clear Chinese reason; the reader itself still runs under limits (sandbox.py) for what no check
foresees.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from collections.abc import Iterator

MAX_UNZIPPED = 1 << 30  # all parts together, inflated; a 500,000-row workbook is about 600 MB
MAX_RATIO = 100  # inflated / compressed; real sheets compress 5–20 times
_RATIO_FLOOR = 8 << 20  # small parts may compress better, and cannot hurt
CORRUPT = "无法打开该文件：文件已损坏（压缩包结构不完整，可能下载或拷贝时被截断），请重新导出后上传。"
_OTHER_PACKAGES = {"word/document.xml": "Word 文档", "ppt/presentation.xml": "PowerPoint 演示文稿"}


def package_problem(data: bytes) -> str | None:
    """Why the zip package must not be read, in Chinese, or None when it may be."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            infos = package.infolist()
            return _size_problem(infos) or _kind_problem(package) or _content_problem(data, infos)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError, RuntimeError):
        return CORRUPT


def _size_problem(infos: list[zipfile.ZipInfo]) -> str | None:
    """Sizes declared in the zip directory, checked before anything is inflated."""
    return _total_problem(sum(info.file_size for info in infos)) or next(
        (p for info in infos if (p := _ratio_problem(info.filename, info.file_size, info.compress_size))), None
    )


def _total_problem(total: int) -> str | None:
    if total <= MAX_UNZIPPED:
        return None
    return (
        f"文件解压后共 {total / (1 << 30):.1f} GB 以上，超过上限 {MAX_UNZIPPED >> 30} GB，"
        "疑似“压缩炸弹”（极小的文件解压成巨大的内容），已拒绝读取。"
    )


def _ratio_problem(name: str, inflated: int, compressed: int) -> str | None:
    ratio = inflated / max(compressed, 1)
    if inflated <= _RATIO_FLOOR or ratio <= MAX_RATIO:
        return None
    return (
        f"文件中的「{name}」压缩比异常（{ratio:.0f}:1，解压后 {inflated >> 20} MB 以上），疑似“压缩炸弹”，已拒绝读取。"
    )


def _kind_problem(package: zipfile.ZipFile) -> str | None:
    names = set(package.namelist())
    if names & {"xl/workbook.xml", "xl/workbook.bin", "content.xml"}:
        return None
    kind = next((kind for part, kind in _OTHER_PACKAGES.items() if part in names), None)
    if kind:
        return f"文件内容不是有效的表格，而是{kind}；请上传 .xlsx、.xls、.ods 或 .csv 文件。"
    return "文件是一个压缩包，里面没有 Excel/WPS 工作簿；请解压后上传其中的表格文件。"


_DTD_SIGNS = (b"<!DOCTYPE", b"<!ENTITY")
_BOMS = {b"\xff\xfe": "utf-16-le", b"\xfe\xff": "utf-16-be"}
_CHUNK = 1 << 20
_LOCAL_HEADER = struct.Struct("<4s22xHH")


def _content_problem(data: bytes, infos: list[zipfile.ZipInfo]) -> str | None:
    """Every part inflated as a reader would, whatever sizes the zip declares: its real size and compression ratio
    (a bomb that lies about its sizes), and a DTD anywhere in it (Excel and WPS never write one, and its entities
    can expand a few bytes into gigabytes). One streaming pass, a megabyte at a time."""
    total = 0
    for info in infos:
        inflated, signs, tail = 0, _DTD_SIGNS, b""
        for chunk, consumed in _inflated(data, info):
            if inflated == 0 and chunk[:2] in _BOMS:
                signs = tuple(sign.decode().encode(_BOMS[chunk[:2]]) for sign in _DTD_SIGNS)
            inflated += len(chunk)
            window = tail + chunk
            if any(sign in window for sign in signs):
                return (
                    f"文件中的「{info.filename}」含有 DTD 实体定义（Excel、WPS 从不写入），"
                    "可能是恶意构造的文件（“十亿笑声”实体膨胀），已拒绝读取。"
                )
            tail = window[-32:]
            if problem := _total_problem(total + inflated) or _ratio_problem(info.filename, inflated, consumed):
                return problem
        total += inflated
    return None


def _inflated(data: bytes, info: zipfile.ZipInfo) -> Iterator[tuple[bytes, int]]:
    """(piece, compressed bytes consumed so far) of one part, inflated from its local header to the end of its
    deflate stream: neither the directory's nor the local header's sizes are trusted."""
    view = memoryview(data)
    magic, name_length, extra_length = _LOCAL_HEADER.unpack_from(view, info.header_offset)
    if magic != b"PK\x03\x04":
        raise zipfile.BadZipFile("no local header")
    start = info.header_offset + _LOCAL_HEADER.size + name_length + extra_length
    if info.compress_type == zipfile.ZIP_STORED:
        for at in range(start, start + info.compress_size, _CHUNK):
            yield bytes(view[at : min(at + _CHUNK, start + info.compress_size)]), at + _CHUNK - start
        return
    if info.compress_type != zipfile.ZIP_DEFLATED:
        raise NotImplementedError(info.compress_type)
    inflater, at = zlib.decompressobj(-zlib.MAX_WBITS), start
    while not inflater.eof:
        if at >= len(data) and not inflater.unconsumed_tail:
            raise zipfile.BadZipFile("truncated deflate stream")
        piece = inflater.unconsumed_tail or view[at : at + _CHUNK]
        at += 0 if inflater.unconsumed_tail else len(piece)
        out = inflater.decompress(piece, _CHUNK)
        yield out, at - start - len(inflater.unconsumed_tail)
