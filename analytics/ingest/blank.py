"""The blank quarterly template workbook offered for download (SPEC §3)."""

from __future__ import annotations

import io

import xlsxwriter

from analytics.template import Column, load_template

TYPE_LABELS = {
    "text": "文字",
    "org_type": "选择",
    "int": "整数",
    "number": "数字",
    "rate": "百分比 0–100",
    "yesno": "是 / 否",
    "date": "日期",
    "grade": "选择",
    "level": "选择",
    "category": "选择",
}


def _rule(col: Column) -> str:
    parts = ["必填" if col.required else "选填"]
    if col.choices:
        parts.append("可选：" + " / ".join(col.choices))
    if col.min is not None and col.type in ("int", "number"):
        parts.append(f"不小于 {col.min:g}")
    if col.max is not None:
        parts.append(f"不大于 {col.max:g}")
    return "；".join(parts)


def template_workbook(title: str = "____年第__季度区直机关基层党组织建设情况统计表") -> bytes:
    """xlsx bytes: the report sheet with Chinese headers and drop-downs, and a 填表说明 sheet."""
    template = load_template()
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False})
    bold = book.add_format(
        {"bold": True, "text_wrap": True, "align": "center", "valign": "vcenter", "border": 1, "bg_color": "#FCE4D6"}
    )
    sheet = book.add_worksheet("季度报表")
    sheet.merge_range(
        0, 0, 0, len(template.columns), title, book.add_format({"bold": True, "font_size": 14, "align": "center"})
    )
    sheet.write(1, 0, "填报单位：            填报日期：")
    sheet.write(2, 0, "序号", bold)
    for j, col in enumerate(template.columns, start=1):
        sheet.write_string(2, j, col.header, bold)
        sheet.set_column(j, j, max(10, len(col.header) * 2))
        choices = list(col.choices) or (["是", "否"] if col.type == "yesno" else [])
        if choices:
            sheet.data_validation(3, j, 1002, j, {"validate": "list", "source": choices})
    sheet.set_row(2, 36)
    sheet.freeze_panes(3, 4)
    _notes_sheet(book, template.columns, bold)
    book.close()
    return buffer.getvalue()


def _notes_sheet(book: xlsxwriter.Workbook, columns: tuple[Column, ...], bold) -> None:
    notes = book.add_worksheet("填表说明")
    wrap = book.add_format({"text_wrap": True, "valign": "top"})
    for j, text in enumerate(["列名", "类型", "填写要求", "说明", "可接受的其他表头写法"]):
        notes.write_string(0, j, text, bold)
    for i, col in enumerate(columns, start=1):
        row = [col.header, TYPE_LABELS[col.type], _rule(col), col.help, "、".join(col.synonyms)]
        for j, text in enumerate(row):
            notes.write_string(i, j, text, wrap)
    general = [
        "1. 每个党组织一行，每季度填报一次；标题中注明年份和季度（如“2024年第一季度”）。",
        "2. 所属系统、单位名称、党组织名称、组织类型为必填；其他列不掌握的可留空，不要填 0 代替未知。",
        "3. 百分比填 85 或 85%；是/否 填“是”或“否”；日期填 2023-03-15。",
        "4. 未设党小组的支部，“党小组会次数”留空。",
    ]
    for k, text in enumerate(general):
        notes.write_string(len(columns) + 2 + k, 0, text)
    notes.set_column(0, 0, 26)
    notes.set_column(1, 2, 22)
    notes.set_column(3, 4, 48)
