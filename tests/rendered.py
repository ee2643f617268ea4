"""Meeting files as a person sees them: rendered to PDF by LibreOffice (as a committee office opens them, like
WPS), then read back as word boxes with pdfplumber. Two words whose boxes overlap by more than 30 % of the
smaller one are text drawn over text (a caption over a table's last row); a word past the page edge is cut off;
a page whose content ends above half of the text area is a half-empty page."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pdfplumber
import pytest

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
OVERLAP = 0.3


def to_pdf(sources: list[Path], folder: Path) -> list[Path]:
    """Each file converted to PDF by one headless LibreOffice run (its own profile, so runs never collide)."""
    if SOFFICE is None:
        pytest.fail("LibreOffice (soffice) with Impress and Writer is installed by .ci/run")
    command = [SOFFICE, f"-env:UserInstallation=file://{folder / 'lo-profile'}", "--headless", "--convert-to", "pdf"]
    subprocess.run(
        [*command, "--outdir", str(folder), *map(str, sources)], capture_output=True, timeout=600, check=True
    )
    pdfs = [folder / f"{s.stem}.pdf" for s in sources]
    assert all(p.exists() for p in pdfs), [p for p in pdfs if not p.exists()]
    return pdfs


def _overlap(a: dict, b: dict) -> float:
    x = min(a["x1"], b["x1"]) - max(a["x0"], b["x0"])
    y = min(a["bottom"], b["bottom"]) - max(a["top"], b["top"])
    if x <= 0 or y <= 0:
        return 0.0
    smaller = min((a["x1"] - a["x0"]) * (a["bottom"] - a["top"]), (b["x1"] - b["x0"]) * (b["bottom"] - b["top"]))
    return x * y / smaller if smaller > 0 else 0.0


def overlaps(page) -> list[tuple[str, str]]:
    """Pairs of words drawn over each other on one page."""
    words = page.extract_words(use_text_flow=True)
    return [(a["text"], b["text"]) for i, a in enumerate(words) for b in words[i + 1 :] if _overlap(a, b) > OVERLAP]


def outside(page) -> list[str]:
    """Words that run past the page's edges."""
    words = page.extract_words(use_text_flow=True)
    return [w["text"] for w in words if w["x0"] < -1 or w["top"] < -1 or w["x1"] > page.width + 1
            or w["bottom"] > page.height + 1]  # fmt: skip


def slide_problems(pdf: Path) -> list[str]:
    """Every slide's text drawn over text and text outside the slide, as readable findings."""
    with pdfplumber.open(pdf) as doc:
        return [f"第{n}页：{kind} {found[:4]}" for n, page in enumerate(doc.pages, start=1)
                for kind, found in (("文字重叠", overlaps(page)), ("超出页面", outside(page))) if found]  # fmt: skip


def page_fill(page, top: float, bottom: float) -> float:
    """How far down the text area (between `top` and `bottom`, in points) the page's body content reaches."""
    body = [w["bottom"] for w in page.extract_words() if w["bottom"] < bottom] + [i["bottom"] for i in page.images]
    return (max(body, default=top) - top) / (bottom - top)


def document_problems(pdf: Path, top_cm: float, bottom_cm: float) -> list[str]:
    """Text over text on any page and every page but the last filled less than half (margins in cm)."""
    found = []
    with pdfplumber.open(pdf) as doc:
        for n, page in enumerate(doc.pages, start=1):
            if pairs := overlaps(page):
                found.append(f"第{n}页：文字重叠 {pairs[:4]}")
            top, bottom = top_cm / 2.54 * 72, page.height - bottom_cm / 2.54 * 72
            if n < len(doc.pages) and (fill := page_fill(page, top, bottom)) < 0.5:
                found.append(f"第{n}页只排到版心的 {fill:.0%}")
    return found
