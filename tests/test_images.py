"""Chart images through kaleido and the system Chromium: size, SVG, Chinese glyphs, one warm browser, no download."""

from __future__ import annotations

import io

import kaleido
import pandas as pd
import pytest
from PIL import Image, ImageChops

from analytics.charts import charts, images
from tests.exports_demo import warm

TITLE = "区直机关党组织四象限分布"


def small_scatter(title: str = TITLE):
    frame = pd.DataFrame(
        {"org_id": [1, 2], "system": ["经济系统", "政法系统"], "unit": ["区财政局", "区公安分局"],
         "org_name": ["国库党支部", "刑侦大队党支部"], "standardization": [96.0, 58.0], "integration": [49.0, 99.5],
         "quadrant": ["两张皮", "业务化"]}
    )  # fmt: skip
    return charts.quadrant_scatter(frame, title=title)


def title_band(png: bytes) -> Image.Image:
    """The strip of a 2200 px wide render where the title is drawn."""
    return Image.open(io.BytesIO(png)).convert("RGB").crop((0, 0, 2200, 160))


def test_png_is_projector_sized_and_svg_is_vector_text():
    warm()
    png = images.render(small_scatter())
    assert png.startswith(images.PNG_SIGNATURE)
    assert images.png_size(png) == (images.WIDTH * images.SCALE, images.HEIGHT * images.SCALE)
    assert images.png_size(png)[0] >= images.MIN_PNG_WIDTH
    svg = images.render(small_scatter(), "svg").decode("utf-8")
    assert svg.lstrip().startswith("<svg") and TITLE in svg  # text stays text, so it scales on a projector
    assert "Noto Sans CJK SC" in svg


def test_chinese_title_is_drawn_with_glyphs_not_boxes():
    warm()
    chinese, again = (images.render(small_scatter()) for _ in range(2))
    tofu = images.render(small_scatter("\ue000" * len(TITLE)))  # a private-use code point: no font has it
    assert ImageChops.difference(title_band(chinese), title_band(again)).getbbox() is None
    assert ImageChops.difference(title_band(chinese), title_band(tofu)).getbbox() is not None


def test_chart_files_are_numbered_png_and_svg_of_every_figure():
    warm()
    figures = {"四象限": small_scatter(), "象限/组织数": charts.quadrant_counts({"融合型": 3, "两张皮": 1})}
    seen = []
    files = images.chart_files(figures, svg=True, progress=lambda done, text: seen.append(done))
    assert list(files) == ["01_四象限.png", "01_四象限.svg", "02_象限_组织数.png", "02_象限_组织数.svg"]
    assert images.png_size(files["01_四象限.png"]) == (2200, 1600)  # the scatter's own 800 px height, ×2
    assert seen == [0.5, 1.0]


def test_a_batch_keeps_one_browser_open_and_closes_it_after(monkeypatch):
    monkeypatch.setattr(images, "_pinned", False)
    try:
        with images.warm_browser():
            with images.warm_browser():  # nested blocks share the browser
                assert kaleido._global_server.is_running()
            assert kaleido._global_server.is_running()
        assert not kaleido._global_server.is_running()
    finally:
        images.pin()


def test_without_a_browser_there_is_a_chinese_error_and_never_a_download(monkeypatch, tmp_path):
    monkeypatch.setenv("BROWSER_PATH", str(tmp_path / "no-such-chromium"))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(images.ImageError, match="找不到 Chromium"):
        images.render(small_scatter())
    assert list(tmp_path.iterdir()) == []


def test_file_names_lose_only_what_windows_refuses():
    assert images.safe_name('区财政局/国库:党支部?"') == "区财政局_国库_党支部__"
    assert images.safe_name("  . ") == "chart"
