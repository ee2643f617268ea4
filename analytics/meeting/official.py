"""The form of an official document (GB/T 9704-2012) around the 通报: 版头, 文号, page numbers, 版记.

版头: the issuing body's name in red 小标宋, the 文号 under it and a red rule. Page numbers: "— 1 —" in
宋体 四号 at the foot of every page. 版记: 抄送 and 印发 between rules after the signature. Where only the
committee can write (its 抄送 list, its 主要做法), the document says 【待补充：…】 instead of inventing it.
"""

from __future__ import annotations

import datetime as dt

from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Pt, RGBColor

RED = RGBColor(0xFF, 0x00, 0x00)
# 小标宋 is the official title face; where it is not installed Word and LibreOffice substitute it (宋体 family)
TITLE_FACE = "方正小标宋简体"
TO_FILL = "【待补充：{}】"


def document_number(abbreviation: str, year: int, number: str) -> str:
    """'区直工委〔2025〕3号'; with no number yet, a blank the office fills in ('区直工委〔2025〕  号')."""
    return f"{abbreviation}〔{year}〕{number.strip() or '  '}号"


def _border(paragraph, edge: str, color: str = "000000", size: int = 6) -> None:
    """A rule along one edge (top / bottom) of a paragraph; size in eighths of a point."""
    p_pr = paragraph._p.get_or_add_pPr()
    borders = p_pr.find(qn("w:pBdr"))
    if borders is None:
        borders = OxmlElement("w:pBdr")
        p_pr.append(borders)
    line = OxmlElement(f"w:{edge}")
    for key, value in (("val", "single"), ("sz", str(size)), ("space", "1"), ("color", color)):
        line.set(qn(f"w:{key}"), value)
    borders.append(line)


def _run(paragraph, text: str, face: str, size: float, set_fonts, color: RGBColor | None = None, bold=False):
    run = paragraph.add_run(text)
    set_fonts(run._r, face)
    run.font.size, run.font.bold = Pt(size), bold
    if color is not None:
        run.font.color.rgb = color
    return run


def _plain(document, align=WD_ALIGN_PARAGRAPH.CENTER):
    para = document.add_paragraph()
    para.alignment = align
    fmt = para.paragraph_format
    fmt.first_line_indent = Pt(0)
    fmt.line_spacing_rule = WD_LINE_SPACING.SINGLE
    return para


def masthead(document, issuer: str, number: str, set_fonts) -> None:
    """版头: the issuer in red 小标宋, the 文号 centred under it, then a red rule."""
    _run(_plain(document), issuer, TITLE_FACE, 26, set_fonts, RED)
    document.add_paragraph()
    ruled = _plain(document)
    _run(ruled, number, "仿宋", 16, set_fonts)
    _border(ruled, "bottom", "FF0000", 12)
    document.add_paragraph()


def page_numbers(document, set_fonts) -> None:
    """'— 1 —' in 宋体 四号 centred at the foot of every page (a PAGE field Word and LibreOffice fill in)."""
    footer = document.sections[0].footer
    para = footer.paragraphs[0] if footer.paragraphs else footer.add_paragraph()
    para.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _run(para, "— ", "宋体", 14, set_fonts)
    field = _run(para, "", "宋体", 14, set_fonts)
    for kind, text in (("begin", None), (None, " PAGE "), ("separate", None), (None, "1"), ("end", None)):
        if kind:
            char = OxmlElement("w:fldChar")
            char.set(qn("w:fldCharType"), kind)
            field._r.append(char)
        else:
            node = OxmlElement("w:instrText" if text.strip() == "PAGE" else "w:t")
            node.set(qn("xml:space"), "preserve")
            node.text = text
            field._r.append(node)
    _run(para, " —", "宋体", 14, set_fonts)


def colophon(document, office: str, copies_to: str, printed: dt.date, set_fonts) -> None:
    """版记: 抄送 and 印发 (the office and date) between a thick rule, a thin one and a thick one."""
    document.add_paragraph()
    copied = _plain(document, WD_ALIGN_PARAGRAPH.LEFT)
    _run(copied, f"抄送：{copies_to or TO_FILL.format('抄送单位')}。", "仿宋", 14, set_fonts)
    _border(copied, "top", size=8)
    _border(copied, "bottom", size=4)
    issued = _plain(document, WD_ALIGN_PARAGRAPH.LEFT)
    _run(issued, f"{office}", "仿宋", 14, set_fonts)
    _run(issued, f"\u3000\u3000{printed.year}年{printed.month}月{printed.day}日印发", "仿宋", 14, set_fonts)
    _border(issued, "bottom", size=8)
