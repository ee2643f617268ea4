"""Deterministic generator of the bundled demo district (run: python data/demo/generate.py).

6 systems, 30 units, 156 organizations, 2023Q1-2024Q4, in the layouts offices send: an .xlsx with a
title row and a merged two-row header, a GBK CSV with synonym headers, a legacy .xls with one sheet per
system, and a late UTF-8-BOM CSV. Planted patterns (truth.json): a 两张皮 unit, a 业务化 unit, an
improving and a declining unit, a missing and a late report, overdue elections, small branches.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import sys
from pathlib import Path

import numpy as np
import xlsxwriter
import xlwt

OUT = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent
SEED = 2024
QUARTERS = [f"{y}Q{q}" for y in (2023, 2024) for q in range(1, 5)]
CN_Q = {1: "一", 2: "二", 3: "三", 4: "四"}
SYSTEMS = {
    "党群系统": ["区委办公室", "区委组织部", "区委宣传部", "区总工会", "团区委"],
    "政法系统": ["区人民法院", "区人民检察院", "区公安分局", "区司法局", "区信访局"],
    "经济系统": ["区发展和改革委员会", "区财政局", "区商务局", "区统计局", "区市场监督管理局"],
    "教育系统": ["区教育局", "区第一中学", "区实验小学", "区职业技术学校", "区教师进修学校"],
    "卫健系统": ["区卫生健康局", "区人民医院", "区中医医院", "区疾病预防控制中心", "区妇幼保健院"],
    "城建系统": ["区住房和城乡建设局", "区自然资源局", "区交通运输局", "区城市管理局", "区水务局"],
}
TWO_SKINS, BUSINESS_HEAVY = "区财政局", "区公安分局"
IMPROVING, DECLINING = "区职业技术学校", "区城市管理局"
MISSING_UNIT = ("区信访局", "2024Q2")
LATE_UNIT = ("区水务局", "2024Q3")
HEADERS = [
    "所属系统",
    "单位名称",
    "党组织名称",
    "组织类型",
    "党员总数",
    "正式党员数",
    "预备党员数",
    "书记是否配备",
    "本届选举日期",
    "支委会次数",
    "党员大会次数",
    "党小组会次数",
    "党课次数",
    "主题党日次数",
    "组织生活会次数",
    "民主评议党员是否完成",
    "三会一课线上录入率(%)",
    "学习强国参学率(%)",
    "台账资料是否规范",
    "党费应缴(元)",
    "党费实缴(元)",
    "入党积极分子数",
    "发展对象数",
    "接收预备党员数",
    "预备党员转正数",
    "党建业务同部署次数",
    "党建+项目数",
    "党员先锋岗数",
    "业务目标完成率(%)",
    "检视问题数",
    "已整改问题数",
    "书记述职评议等次",
    "创建等级",
]
SYNONYMS = {
    "单位名称": "单位",
    "党组织名称": "党组织",
    "支委会次数": "支部委员会会议",
    "党员总数": "党员人数",
    "所属系统": "系统",
    "主题党日次数": "主题党日活动次数",
}


def organizations(rng):
    orgs = []
    for system, units in SYSTEMS.items():
        for u, unit in enumerate(units):
            n = 5 if u != 0 else 6
            for k in range(n):
                if k == 0:
                    name, kind = (
                        f"{unit}机关党委" if u % 2 == 0 else f"{unit}党总支",
                        "党委" if u % 2 == 0 else "党总支",
                    )
                elif k == n - 1 and u in (1, 3):
                    name, kind = f"{unit}联合党支部", "联合党支部"
                else:
                    name, kind = f"{unit}第{'一二三四五六'[k - 1]}党支部", "党支部"
                full = int(rng.integers(2, 4)) if (k == 2 and u == 4) else int(rng.integers(5, 40))
                prob = int(rng.integers(0, 3))
                overdue = k == 1 and u == 2
                orgs.append(
                    dict(
                        system=system,
                        unit=unit,
                        name=name,
                        kind=kind,
                        full=full,
                        prob=prob,
                        election=dt.date(2020, 6, 1)
                        if overdue
                        else dt.date(2021, 1, 1) + dt.timedelta(days=int(rng.integers(0, 730))),
                        overdue=overdue,
                        secretary=not (k == 3 and u == 0),
                        groups=full >= 10,
                        level="市级样板"
                        if (u == 0 and k == 1 and system in list(SYSTEMS)[:4])
                        else ("区级示范" if (k == 1 and u in (1, 2)) else "无"),
                    )
                )
    return orgs


def quality(org, qi):
    base = {"std": 0.8, "int": 0.8}
    if org["unit"] == TWO_SKINS:
        base = {"std": 0.95, "int": 0.45}
    if org["unit"] == BUSINESS_HEAVY:
        base = {"std": 0.5, "int": 0.95}
    if org["unit"] == IMPROVING:
        base = {"std": 0.45 + 0.07 * qi, "int": 0.5 + 0.06 * qi}
    if org["unit"] == DECLINING:
        base = {"std": 0.95 - 0.07 * qi, "int": 0.9 - 0.06 * qi}
    if org["system"] == "城建系统":
        base["std"] -= 0.1
    return base


def quarter_end(quarter):
    year, q = int(quarter[:4]), int(quarter[-1])
    return dt.date(year, 12, 31) if q == 4 else dt.date(year, 3 * q + 1, 1) - dt.timedelta(days=1)


def election(org, quarter):
    """The election date in force: on-time organizations re-elect when their term ends."""
    term = 5 if org["kind"] == "党委" else 3
    date = org["election"]
    while not org["overdue"] and date.replace(year=date.year + term) < quarter_end(quarter):
        date = date.replace(year=date.year + term)
    return date


def record(org, quarter, qi, rng):
    q = quality(org, qi)
    s, i = min(max(q["std"] + rng.normal(0, 0.07), 0.05), 1), min(max(q["int"] + rng.normal(0, 0.07), 0.05), 1)
    if org["level"] == "区级示范" and org["unit"] == "区人民检察院" and quarter >= "2024Q1":
        s, i = 0.5, 0.5
    total = org["full"] + org["prob"]
    due = round(total * float(rng.uniform(60, 150)), 2)
    found = int(rng.integers(0, 8))
    qn = int(quarter[-1])
    return [
        org["system"],
        org["unit"],
        org["name"],
        org["kind"],
        total,
        org["full"],
        org["prob"],
        "是" if org["secretary"] else "否",
        election(org, quarter),
        int(round(3 * s + rng.uniform(-0.4, 0.4))),
        int(s > 0.5),
        int(round(3 * s)) if org["groups"] else None,
        int(s > 0.6),
        int(round(3 * s)),
        int(qn == 4 or rng.random() < 0.2),
        "是" if (qn == 4 and s > 0.5) else "否",
        round(min(100, 100 * s + rng.uniform(-5, 3)), 1),
        round(min(100, 95 * s + rng.uniform(-3, 3)), 1),
        "是" if s > 0.6 else "否",
        due,
        round(due * min(1, s + 0.2), 2),
        int(rng.integers(0, 5)),
        int(rng.integers(0, 3)),
        int(rng.integers(0, 2)),
        int(rng.integers(0, 2)),
        int(round(1.5 * i)),
        int(i > 0.55) + int(i > 0.85),
        int(round(total * 0.25 * i)),
        round(min(100, 100 * i + rng.uniform(-3, 2)), 1),
        found,
        int(round(found * min(1, i))),
        "好" if i > 0.85 else ("较好" if i > 0.65 else ("一般" if i > 0.4 else "差")),
        org["level"],
    ]


def title(quarter):
    return f"{quarter[:4]}年第{CN_Q[int(quarter[-1])]}季度区直机关基层党组织建设情况统计表"


def write_xlsx(path, quarter, rows, fraction_rates):
    wb = xlsxwriter.Workbook(path, {"strings_to_formulas": False})
    wb.set_properties({"created": dt.datetime(2025, 1, 10)})
    ws = wb.add_worksheet("汇总")
    head = wb.add_format({"bold": True, "border": 1, "align": "center", "valign": "vcenter", "text_wrap": True})
    date_f, pct_f = wb.add_format({"num_format": "yyyy-mm-dd"}), wb.add_format({"num_format": "0%"})
    ws.merge_range(0, 0, 0, 33, title(quarter), wb.add_format({"bold": True, "font_size": 14}))
    ws.write(
        1,
        0,
        f"填报单位：区直机关工委  填报日期：{quarter[:4]}年{int(quarter[-1]) * 3 + 1 if quarter[-1] != '4' else 1}月10日",
    )
    ws.merge_range(2, 0, 3, 0, "序号", head)
    groups = {(5, 7): "党员情况", (10, 13): "三会一课"}
    for (a, b), label in groups.items():
        ws.merge_range(2, a, 2, b, label, head)
    for j, h in enumerate(HEADERS, start=1):
        in_group = any(a <= j <= b for a, b in groups)
        h2 = h.replace("次数", "\n次数").replace("(元)", "（元）")
        if in_group:
            ws.write(3, j, h2, head)
        else:
            ws.merge_range(2, j, 3, j, h2, head)
    for r, row in enumerate(rows, start=4):
        ws.write(r, 0, r - 3)
        for j, v in enumerate(row, start=1):
            if v is None:
                continue
            if isinstance(v, dt.date):
                ws.write_datetime(r, j, dt.datetime.combine(v, dt.time()), date_f)
            elif fraction_rates and HEADERS[j - 1].endswith("(%)"):
                ws.write_number(r, j, v / 100, pct_f)
            else:
                ws.write(r, j, v)
    end = 4 + len(rows)
    ws.write(end, 0, "合计")
    ws.write(end, 5, sum(r[4] for r in rows))
    ws.write(end + 2, 0, "填表说明：1. 各项次数为本季度内次数；2. 未设党小组的支部“党小组会次数”留空。")
    ws.write(end + 3, 0, "注：本表由各单位党组织填报，区直机关工委汇总。")
    wb.close()


def csv_value(v, style):
    if v is None:
        return ""
    if isinstance(v, dt.date):
        return f"{v.year}/{v.month}/{v.day}" if style == 0 else f"{v.year}年{v.month}月{v.day}日"
    if v in ("是", "否") and style == 1:
        return "√" if v == "是" else "×"
    if isinstance(v, float) and v >= 1000:
        return f"{v:,.2f}"
    return v


def write_csv(path, quarter, rows, encoding, style, synonyms=True):
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow([title(quarter)])
    w.writerow(["序号"] + [SYNONYMS.get(h, h) if synonyms else h for h in HEADERS])
    for k, row in enumerate(rows, start=1):
        w.writerow([k] + [csv_value(v, style) for v in row])
    Path(path).write_bytes(buf.getvalue().encode(encoding))


def write_xls(path, quarter, rows):
    wb = xlwt.Workbook(encoding="utf-8")
    date_style = xlwt.easyxf(num_format_str="YYYY-MM-DD")
    for system in SYSTEMS:
        ws = wb.add_sheet(system)
        ws.write(0, 0, title(quarter) + f"（{system}）")
        for j, h in enumerate(HEADERS):
            ws.write(1, j, h)
        for r, row in enumerate([x for x in rows if x[0] == system], start=2):
            for j, v in enumerate(row):
                if v is None:
                    continue
                ws.write(r, j, dt.datetime.combine(v, dt.time()), date_style) if isinstance(v, dt.date) else ws.write(
                    r, j, v
                )
    notes = wb.add_sheet("填表说明")
    notes.write(0, 0, "本表每个系统一个工作表，格式相同。")
    wb.save(path)


def main():
    rng = np.random.default_rng(SEED)
    orgs = organizations(rng)
    manifest, truth = [], {}
    for qi, quarter in enumerate(QUARTERS):
        rows = [record(o, quarter, qi, rng) for o in orgs]
        if quarter == MISSING_UNIT[1]:
            rows = [r for r in rows if r[1] != MISSING_UNIT[0]]
        late = [r for r in rows if r[1] == LATE_UNIT[0]] if quarter == LATE_UNIT[1] else []
        rows = [r for r in rows if r not in late]
        kind = qi % 3
        if kind == 0:
            name = f"{quarter}_区直机关党组织统计表.xlsx"
            write_xlsx(OUT / name, quarter, rows, fraction_rates=qi == 3)
            note = "标题行、两行合并表头、序号、合计行、填表说明"
        elif kind == 1:
            name = f"{quarter}_区直机关党组织统计表.csv"
            write_csv(OUT / name, quarter, rows, "gbk", qi % 2)
            note = "GBK 编码 CSV、同义表头、千分位、多种日期写法"
        else:
            name = f"{quarter}_区直机关党组织统计表.xls"
            write_xls(OUT / name, quarter, rows)
            note = "旧版 xls，每个系统一个工作表，另有填表说明工作表"
        manifest.append((name, quarter, note))
        if late:
            lname = f"{quarter}_补报_{LATE_UNIT[0]}.csv"
            write_csv(OUT / lname, quarter, late, "utf-8-sig", 0, synonyms=False)
            manifest.append((lname, quarter, "迟报单位补报，UTF-8 BOM CSV"))
    with open(OUT / "manifest.toml", "w", encoding="utf-8") as f:
        f.write("# Demo files in load order (generated by generate.py)\n")
        for name, quarter, note in manifest:
            f.write(f'\n[[file]]\npath = "{name}"\nquarter = "{quarter}"\nnote = "{note}"\n')
    q4 = dt.date(2024, 12, 31)
    truth = {
        "two_skins_unit": TWO_SKINS,
        "business_heavy_unit": BUSINESS_HEAVY,
        "improving_unit": IMPROVING,
        "declining_unit": DECLINING,
        "missing_report": list(MISSING_UNIT),
        "late_report": list(LATE_UNIT),
        "overdue_2024Q4": sorted(
            o["name"]
            for o in orgs
            if election(o, "2024Q4").replace(year=election(o, "2024Q4").year + (5 if o["kind"] == "党委" else 3)) < q4
        ),
        "under_3_full_2024Q4": sorted(o["name"] for o in orgs if o["full"] < 3),
        "no_secretary_2024Q4": sorted(o["name"] for o in orgs if not o["secretary"]),
        "organizations": len(orgs),
        "units": sum(len(u) for u in SYSTEMS.values()),
        "systems": len(SYSTEMS),
    }
    (OUT / "truth.json").write_text(json.dumps(truth, ensure_ascii=False, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
