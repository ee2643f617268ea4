"""整改督办's papers (SPEC §8): a 督办通知 per unit in the 通报's official form, and the 整改台账 workbook."""

from __future__ import annotations

import datetime as dt
import io

import pandas as pd
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Pt

from analytics.meeting import official
from analytics.meeting.bulletin import new_document, paragraph, set_fonts, table
from analytics.meeting.exports import xlsx_bytes
from analytics.meeting.meeting import DISTRICT
from analytics.rectify import board

NOTICE_COLUMNS = ["党组织名称", "问题", "整改要求", "整改时限", "状态"]


def notice_bytes(
    frame: pd.DataFrame, unit: str, names: dict[str, str], signed: dt.date, district: str = DISTRICT
) -> bytes:
    """The 督办通知 to one unit: its items not yet 销号 (items.items rows of that unit), what to do and by when."""
    issuer = f"中共{district}工作委员会"
    mine = frame[(frame["unit"] == unit) & ~frame["status"].eq("closed")]
    listed = board.listing(mine, names)
    listed = listed.assign(整改时限=listed["整改时限"].dt.strftime("%Y-%m-%d"))[NOTICE_COLUMNS]
    document = new_document()
    document.core_properties.title = f"关于督促{unit}抓好整改落实的通知"
    official.page_numbers(document, set_fonts)
    official.masthead(
        document, issuer, official.document_number(f"{district.removesuffix('机关')}工委", signed.year, ""), set_fonts
    )
    document.add_paragraph(f"关于督促{unit}抓好整改落实的通知", style="Title").alignment = WD_ALIGN_PARAGRAPH.CENTER
    document.add_paragraph()
    paragraph(document, f"{unit}党组织：", indent=False)
    quarters = "、".join(sorted(mine["quarter"].unique()))
    overdue = int(mine["status"].eq("overdue").sum())
    paragraph(
        document,
        f"根据{quarters}基层党组织建设质量评价和预警情况，你单位有{len(mine)}项问题尚未完成整改销号"
        + (f"，其中{overdue}项已超过整改时限" if overdue else "")
        + "。现将整改事项通知如下，请对照要求逐项整改，按期报送整改情况。",
    )
    table(document, listed, "表1  整改事项清单")
    paragraph(document, "一、请于整改时限前完成整改，并在下季度报表中如实填报相关数据，工委将据数据逐项核验。")
    paragraph(document, "二、确有客观原因不能按期完成的，请书面说明原因和计划完成时间。")
    paragraph(document, f"联系人：{official.TO_FILL.format('联系人')}  联系电话：{official.TO_FILL.format('联系电话')}")
    document.add_paragraph()
    for line, right in ((issuer, 40), (f"{signed.year}年{signed.month}月{signed.day}日", 64)):
        fmt = paragraph(document, line, indent=False, align=WD_ALIGN_PARAGRAPH.RIGHT).paragraph_format
        fmt.right_indent = Pt(right)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def ledger_xlsx(frame: pd.DataFrame, names: dict[str, str]) -> bytes:
    """The 整改台账: every item with its evidence, and the counts by unit and by system."""
    return xlsx_bytes(
        {
            "整改台账": board.listing(frame, names),
            "按单位统计": board.by_group(frame, ["system", "unit"]),
            "按系统统计": board.by_group(frame, ["system"]),
        },
        title="整改台账",
    )
