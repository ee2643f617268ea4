"""Plotly figures -> PNG / SVG bytes through kaleido and the system Chromium, one warm browser per batch.

A cold `fig.to_image()` starts a Chromium for every image (2–3 s each); inside `warm_browser()` every
image goes to one Chromium that stays open for the whole batch (bench/exports.md has the ratio).
kaleido's sync server is a process-wide singleton that serves one caller at a time, so a batch holds a
lock: two sessions exporting at once take turns instead of mixing up each other's images.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import struct
import threading
import time
from collections.abc import Iterator

import kaleido
import plotly.graph_objects as go

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Layout pixels × SCALE = image pixels: the figures' 18 px type stays projector-sized on a slide
# while the image is sharp (1100 × 2 = 2200 px wide).
WIDTH, HEIGHT, SCALE = 1100, 620, 2
MIN_PNG_WIDTH = 1600

log = logging.getLogger(__name__)
_lock = threading.RLock()
_users = 0
_pinned = False


class ImageError(RuntimeError):
    """No chart image: no browser to render with, or it failed again and again (the message says what to do, in
    Chinese)."""


def browser_path() -> str:
    """The Chromium kaleido must use: $BROWSER_PATH, else the first browser on PATH; never a download."""
    wanted = os.environ.get("BROWSER_PATH")
    if wanted and os.access(wanted, os.X_OK):
        return wanted
    for name in BROWSERS:
        if found := shutil.which(name):
            return found
    raise ImageError(
        "找不到 Chromium 浏览器，无法生成图表图片。请安装 chromium 和 fonts-noto-cjk（make run 会自动安装）。"
    )


def _start() -> None:
    # Idempotent: a server someone else stopped (or never started) is started again.
    kaleido.start_sync_server(path=browser_path(), mathjax=False, silence_warnings=True)


@contextlib.contextmanager
def warm_browser() -> Iterator[None]:
    """Keep one Chromium open for every image rendered inside the block (nested blocks share it)."""
    global _users
    with _lock:
        _start()
        _users += 1
        try:
            yield
        finally:
            _users -= 1
            if _users == 0 and not _pinned:
                kaleido.stop_sync_server(silence_warnings=True)


def pin() -> None:
    """Start the browser and keep it open until the process ends (tests, benchmarks, a long-lived app)."""
    global _pinned
    with _lock:
        _pinned = True
        _start()


def _opts(fmt: str, width: int, height: int | None, scale: float) -> dict:
    return {"format": fmt, "width": width, "height": height or HEIGHT, "scale": scale}


def render(
    fig: go.Figure, fmt: str = "png", width: int = WIDTH, height: int | None = None, scale: float = SCALE
) -> bytes:
    """The figure as PNG or SVG bytes; `height` None takes HEIGHT. Outside warm_browser() a browser starts per call."""
    if fmt not in ("png", "svg"):
        raise ValueError(f"unknown image format {fmt!r}")
    browser_path()  # fail with a Chinese message before kaleido waits on a browser that cannot start
    with _lock:
        for attempt in range(ATTEMPTS):
            try:
                data = kaleido.calc_fig_sync(fig, opts=_opts(fmt, width, height, scale))
                break
            except Exception as exc:
                if not browser_trouble(exc):
                    raise
                if attempt == ATTEMPTS - 1:
                    log.warning("chart image failed %d times: %r", ATTEMPTS, exc)
                    raise ImageError(BUSY) from exc
                time.sleep(0.5)
                if attempt > 0:  # the tab came back wrong twice: a fresh browser for the last try
                    _restart()
    return data if isinstance(data, bytes) else str(data).encode("utf-8")


ATTEMPTS = 3
BUSY = "图表图片生成失败：绘图用的浏览器繁忙或异常（已自动重试 3 次）。请稍后再试；若反复出现，请联系管理员检查服务器负载。"


def _restart() -> None:
    with contextlib.suppress(Exception):
        kaleido.stop_sync_server(silence_warnings=True)
    _start()


def browser_trouble(exc: BaseException) -> bool:
    """True for the chart browser's own failures (a tab used before its page loaded, a closed channel, a browser
    that died or timed out under load), which another try can cure; False for anything wrong with the figure."""
    if tab_not_loaded(exc) or isinstance(exc, TimeoutError):
        return True
    return type(exc).__module__.split(".")[0] in ("kaleido", "choreographer")


def tab_not_loaded(exc: BaseException) -> bool:
    """True for kaleido's error when a tab is asked to draw before its page script loaded ("kaleido_scopes is not
    defined", seen on a freshly started browser under load): the same call once more succeeds."""
    return type(exc).__name__ == "JavascriptError" and "kaleido_scopes" in str(exc)


def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) in pixels from a PNG's IHDR chunk."""
    if not data.startswith(PNG_SIGNATURE):
        raise ValueError("not a PNG")
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def export_size(fig: go.Figure) -> tuple[int, int]:
    """Layout (width, height) for a standalone image: the figure's own height, at least 1600 px wide once scaled."""
    height = fig.layout.height or HEIGHT
    return WIDTH, int(height)


def chart_files(figures: dict[str, go.Figure], svg: bool = False, progress=None) -> dict[str, bytes]:
    """File name -> bytes: '01_四象限分布.png' (and .svg) for every figure, rendered by one warm browser."""
    out: dict[str, bytes] = {}
    with warm_browser():
        for i, (name, fig) in enumerate(figures.items(), start=1):
            width, height = export_size(fig)
            stem = f"{i:02d}_{safe_name(name)}"
            out[f"{stem}.png"] = render(fig, "png", width, height)
            if svg:
                out[f"{stem}.svg"] = render(fig, "svg", width, height, scale=1)
            if progress:
                progress(i / len(figures), f"已生成图表 {i}/{len(figures)}：{name}")
    return out


def safe_name(name: str) -> str:
    """A file name part without path separators or characters Windows refuses."""
    return "".join("_" if ch in '\\/:*?"<>|' or ord(ch) < 32 else ch for ch in name).strip(" .") or "chart"
