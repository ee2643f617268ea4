"""Small builders of real upload files (CSV bytes) for store, CLI and page tests."""

from __future__ import annotations

import csv
import io

import openpyxl

from analytics.template import load_template

HEADERS = {
    "system": "所属系统",
    "unit": "单位名称",
    "org_name": "党组织名称",
    "org_type": "组织类型",
    "members_total": "党员总数",
    "members_full": "正式党员数",
    "members_probationary": "预备党员数",
    "committee_meetings": "支委会次数",
    "theme_days": "主题党日次数",
    "online_record_rate": "三会一课线上录入率(%)",
    "has_secretary": "书记是否配备",
    "last_election_date": "本届选举日期",
}


def org(i: int, unit: int = 0, **values) -> dict:
    """One organization row with plausible values; keyword arguments override them."""
    row = {
        "system": f"系统{unit % 3}",
        "unit": f"单位{unit}",
        "org_name": f"第{i}党支部",
        "org_type": "党支部",
        "members_total": 10,
        "members_full": 8,
        "members_probationary": 2,
        "committee_meetings": 3,
        "theme_days": 3,
        "online_record_rate": 90,
        "has_secretary": "是",
        "last_election_date": "2023-03-15",
    }
    row.update(values)
    return row


# The test rows fill only these columns (the others are blank): members, committee meetings, theme days,
# online record rate, secretary, election date. For a 2024Q1 党支部 with the defaults, by SPEC §4.1 and §4.5:
#   applicable S1 6, S2 6, S3 8, S4 8 (8 full ≥ 7), S5 8, S7 8, S8 10, S9 5, S10 4, S11 10, S12 5, S13 5 = 83
#   (S6 no party groups, S14 no dues reported; S9/S10 are in their window in Q1: the year just ended)
#   points: S1 6 + S2 6 + S3 8 + S4 8·(3/3) + S8 10·(3/3) + S11 10·0.9 = 47; S5 S7 S9 S10 S12 S13 missing → 0
ON_TIME = 100 * 47 / 83
OVERDUE = 100 * (47 - 8) / 83  # elected 2020-03-15 + 3 years < 2024-03-31: S3 lost
# The same row as a 党委 (SPEC §4.5: S4–S8 fit branches only): applicable S1 6, S2 6, S3 8, S9 5, S10 4, S11 10,
# S12 5, S13 5 = 49; points S1 6 + S2 6 + S3 8 (elected 2020-03-15 + 5 years ≥ 2024-03-31) + S11 9 = 29
COMMITTEE_ON_TIME = 100 * 29 / 49


def csv_bytes(
    rows: list[dict], quarter_title: str = "2024年第一季度", encoding: str = "utf-8", complete: bool = True
) -> bytes:
    """A CSV upload with a title line and Chinese headers for the keys used in rows; complete: every other
    template column follows them, left blank (a file with all columns loads without acknowledging gaps)."""
    names = list(dict.fromkeys(k for r in rows for k in r))
    headers = [HEADERS[n] for n in names]
    if complete:
        headers += [c.header for c in load_template().columns if c.name not in names]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([f"{quarter_title}区直机关基层党组织建设情况统计表"])
    writer.writerow(headers)
    for r in rows:
        writer.writerow([r.get(n, "") for n in names] + [""] * (len(headers) - len(names)))
    return buffer.getvalue().encode(encoding)


QUARTER_TITLES = {"2024Q1": "2024年第一季度", "2024Q2": "2024年第二季度"}


def load(con, rows: list[dict], quarter: str = "2024Q1", name: str = "f.csv"):
    """Ingest rows as a CSV upload of the quarter and load them as one batch (they must have no errors)."""
    from analytics.ingest.records import ingest_bytes
    from analytics.store import batches

    data = csv_bytes(rows, QUARTER_TITLES[quarter])
    report = ingest_bytes(data, name)
    assert not report.errors, report.errors
    return batches.load_batch(con, report, data, "tester")


ODD_RATE = "三会一课网上录入比例"  # how one office titles 三会一课线上录入率(%): not a synonym, but alike
EXTRA = "女党员数"  # an office's own column: resembles 党员数 but is not it
RATES = [72.5, 88, 100]


def odd_header_workbook(
    title: str, *, rename: dict[str, str] | None = None, drop: tuple[str, ...] = (), extra: bool = True
):
    """An xlsx of three organizations with every template column (renamed, dropped as asked), plus 女党员数."""
    rename = {"online_record_rate": ODD_RATE} if rename is None else rename
    columns = [c for c in load_template().columns if c.name not in drop]
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "经济系统"
    sheet.append([title])
    sheet.append([rename.get(c.name, c.header) for c in columns] + ([EXTRA] if extra else []))
    for i, rate in enumerate(RATES):
        values = {"system": "经济系统", "unit": "区财政局", "org_name": f"第{i + 1}党支部", "org_type": "党支部",
                  "members_total": 12, "members_full": 10, "members_probationary": 2, "online_record_rate": rate}  # fmt: skip
        sheet.append([values.get(c.name) for c in columns] + ([4] if extra else []))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
