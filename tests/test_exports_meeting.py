"""The meeting workbook reopened with openpyxl, every file at once, the CLI `export` and the 导出 page."""

from __future__ import annotations

import dataclasses
import functools
import io
import shutil
import zipfile
from pathlib import Path

import docx
import openpyxl
import pandas as pd
import pytest
from pptx import Presentation
from streamlit.testing.v1 import AppTest

from analytics.accounts import audit
from analytics.cli import main
from analytics.meeting import exports
from analytics.store import database as store
from tests.exports_demo import QUARTER, SYSTEM, TRUTH, demo_db, demo_meeting, other_units, scores, warm
from tests.sessions import as_user

ROOT = Path(__file__).resolve().parent.parent


@functools.cache
def workbook(system: str | None = None) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(exports.meeting_xlsx(demo_meeting(system))))


def frame_of(sheet) -> pd.DataFrame:
    rows = list(sheet.values)
    return pd.DataFrame(rows[1:], columns=rows[0])


def test_workbook_has_the_sheets_a_meeting_needs():
    names = workbook().sheetnames
    assert names[:7] == ["说明", "党组织得分", "单位汇总", "不平衡指标", "不平衡趋势", "预警汇总", "预警-换届超期"]
    assert all(sheet.freeze_panes == "A2" for sheet in workbook())


def test_organization_scores_equal_the_scores_with_every_indicator():
    expected = scores().sort_values(["system", "unit", "org_name"]).reset_index(drop=True)
    shown = frame_of(workbook()["党组织得分"])
    assert len(shown) == TRUTH["organizations"]
    assert list(shown["党组织名称"]) == list(expected["org_name"])
    assert shown["支部标准化建设"].to_numpy() == pytest.approx(expected["standardization"].to_numpy())
    assert shown["党建与业务融合"].to_numpy(dtype=float) == pytest.approx(
        expected["integration"].to_numpy(), nan_ok=True
    )
    s8 = shown["S8 主题党日"].astype(float).to_numpy()
    assert s8 == pytest.approx(expected["S8"].to_numpy(dtype=float), nan_ok=True)
    # SPEC §4.5: an organization without an integration score (the demo's five 离退休 branches) has no quadrant
    assert list(shown["象限"]) == [q if isinstance(q, str) else "不参与融合评价" for q in expected["quadrant"]]
    assert (shown["象限"] == "不参与融合评价").sum() == 5


def test_scores_have_number_formats_and_grades_are_coloured_by_value():
    sheet = workbook()["党组织得分"]
    headers = [c.value for c in sheet[1]]
    score_col = headers.index("支部标准化建设") + 1
    assert sheet.cell(2, score_col).number_format == "0.0" and sheet.cell(2, score_col).data_type == "n"
    assert sheet.cell(2, headers.index("S1 正式党员3人以上") + 1).number_format == "0.00"
    assert "等级" not in headers and "综合等级" not in headers  # SPEC §4.5: the grade says what it grades
    grade_letter = openpyxl.utils.get_column_letter(headers.index("支部标准化建设等级") + 1)
    rules = [r for rng in sheet.conditional_formatting for r in rng.rules if grade_letter in str(rng.sqref)]
    assert sorted(r.formula[0] for r in rules) == sorted(f'"{g}"' for g in ("优秀", "良好", "一般", "较差"))
    assert sheet.column_dimensions["C"].width > 20  # organization names are wide


def test_unit_summary_means_and_imbalance_measures_equal_the_scores():
    expected = scores().groupby("unit")["integration"].mean()
    units = frame_of(workbook()["单位汇总"]).set_index("单位名称")
    assert units["党建与业务融合平均分"].sort_index().to_numpy() == pytest.approx(expected.sort_index().to_numpy())
    assert units.loc[TRUTH["two_skins_unit"], "后进单位"] == "是"
    measures = frame_of(workbook()["不平衡指标"])
    by_unit = measures[(measures["得分"] == "支部标准化建设") & (measures["分组"] == "单位")].iloc[0]
    x = scores()["standardization"].to_numpy()
    gini = abs(x[:, None] - x[None, :]).sum() / (2 * len(x) ** 2 * x.mean())  # SPEC §5 by its definition
    assert by_unit["基尼系数"] == pytest.approx(gini)


def test_warning_sheets_list_the_planted_overdue_elections():
    summary = frame_of(workbook()["预警汇总"]).set_index("预警事项")
    overdue = frame_of(workbook()["预警-换届超期"])
    assert summary.loc["换届超期", "数量"] == len(TRUTH["overdue_2024Q4"])
    assert sorted(overdue["党组织名称"]) == sorted(TRUTH["overdue_2024Q4"])
    sheet = workbook()["预警-换届超期"]
    due = [c.value for c in sheet[1]].index("应换届日期")
    assert all(row[due].is_date for row in sheet.iter_rows(min_row=2))  # dates stay dates


def test_formula_looking_names_are_stored_as_text():
    meeting = demo_meeting()
    frame = meeting.frame.copy()
    frame.loc[0, "org_name"], frame.loc[1, "org_name"] = '=HYPERLINK("http://x")', "@SUM(A1)"
    book = openpyxl.load_workbook(io.BytesIO(exports.meeting_xlsx(dataclasses.replace(meeting, frame=frame))))
    cells = [c for c in book["党组织得分"]["C"][1:] if c.quotePrefix]
    assert sorted(c.value for c in cells) == sorted(['=HYPERLINK("http://x")', "@SUM(A1)"])  # exactly as typed
    assert all(c.data_type == "s" for c in cells)


def test_a_system_workbook_holds_only_that_system():
    book = workbook(SYSTEM)
    assert set(frame_of(book["党组织得分"])["所属系统"]) == {SYSTEM}
    assert set(frame_of(book["单位汇总"])["所属系统"]) == {SYSTEM}
    for name in book.sheetnames:
        if name.startswith("预警-"):
            assert set(frame_of(book[name])["所属系统"]) == {SYSTEM}, name


@pytest.mark.chromium
def test_export_files_makes_every_format_for_one_system_with_progress():
    warm()
    seen, labels = [], []
    files = exports.export_files(
        demo_meeting(SYSTEM), ["pptx", "docx", "xlsx", "png"], progress=lambda d, t: seen.append(d) or labels.append(t)
    )
    # what the export page shows while it works: Chinese, no internal score names
    assert not [t for t in labels if "standardization" in t or "integration" in t]
    assert "演示文稿：单位排名（支部标准化建设）" in " ".join(labels)
    stem = f"{QUARTER}_区直机关_{SYSTEM}"
    assert {f"{stem}_质量分析.pptx", f"{stem}_数据.xlsx", f"{stem}_季度通报.docx"} <= set(files)
    assert seen == sorted(seen) and seen[-1] == 1.0
    text = "\n".join(p.text for p in docx.Document(io.BytesIO(files[f"{stem}_季度通报.docx"])).paragraphs)
    deck = Presentation(io.BytesIO(files[f"{stem}_质量分析.pptx"]))
    deck_text = "\n".join(s.shapes.title.text_frame.text for s in deck.slides)
    assert [u for u in other_units(SYSTEM) if u in text or u in deck_text] == []
    offered = exports.downloads(demo_meeting(SYSTEM), files)
    archive = zipfile.ZipFile(io.BytesIO(offered[-1][1]))
    assert offered[-1][0] == f"{stem}_图表.zip" and "01_四象限分布.png" in archive.namelist()


@pytest.mark.chromium
def test_cli_export_prints_the_number_signing_date_and_copies_given_and_refuses_a_bad_date(tmp_path, capsys):
    db = tmp_path / "demo.duckdb"
    shutil.copy(demo_db(), db)
    target = tmp_path / "通报.docx"
    given = ["--number", "12", "--signed", "2025-01-20", "--copies-to", "区委组织部、区纪委监委"]
    assert main(["export", "--db", str(db), "--quarter", QUARTER, "--docx", str(target), *given]) == 0
    texts = [p.text for p in docx.Document(str(target)).paragraphs]
    assert "区直工委〔2025〕12号" in texts[:4] and "2025年1月20日" in texts
    assert "抄送：区委组织部、区纪委监委。" in texts
    capsys.readouterr()
    with pytest.raises(SystemExit) as stopped:
        main(["export", "--db", str(db), "--quarter", QUARTER, "--docx", str(target), "--signed", "2025年1月20日"])
    assert stopped.value.code == 2 and "日期应写作 2025-01-15" in capsys.readouterr().err


def test_cli_export_writes_files_records_the_export_and_exits_like_the_other_commands(tmp_path, capsys):
    db = tmp_path / "demo.duckdb"
    shutil.copy(demo_db(), db)
    target = tmp_path / "out" / "数据.xlsx"
    assert main(["export", "--db", str(db), "--quarter", QUARTER, "--system", SYSTEM, "--xlsx", str(target)]) == 0
    assert f"已生成数据表：{target}" in capsys.readouterr().out
    assert set(frame_of(openpyxl.load_workbook(target)["党组织得分"])["所属系统"]) == {SYSTEM}
    with store.connect(db) as con:
        event = audit.events(con, action="export").iloc[0]
    assert event["user_name"] == "cli" and SYSTEM in event["detail"]
    assert main(["export", "--db", str(db), "--quarter", "2030Q1", "--xlsx", str(target)]) == 1
    assert "季度 2030Q1 没有数据" in capsys.readouterr().err
    assert main(["export", "--db", str(db), "--quarter", QUARTER, "--system", "无此系统", "--xlsx", str(target)]) == 1
    assert main(["export", "--db", str(db), "--quarter", QUARTER]) == 2
    assert "请至少指定" in capsys.readouterr().err


def test_export_page_builds_the_files_of_the_sidebar_system(db_path):
    shutil.copy(demo_db(), db_path)
    at = as_user(AppTest.from_file(str(ROOT / "pages" / "export.py"), default_timeout=120), "leader")
    at.session_state["keep_system"] = SYSTEM
    at.run()
    assert not at.exception, at.exception
    at.checkbox(key="fmt_pptx").uncheck()
    at.checkbox(key="fmt_docx").uncheck().run()
    at.button[0].click().run()
    assert not at.exception, at.exception
    (name, data, _), *_ = at.session_state["export_files"][1]
    assert name == f"{QUARTER}_区直机关_{SYSTEM}_数据.xlsx"
    assert set(frame_of(openpyxl.load_workbook(io.BytesIO(data))["党组织得分"])["所属系统"]) == {SYSTEM}
    assert [b.label for b in at.get("download_button")] == [name]
    with store.connect(db_path) as con:
        assert audit.events(con, action="export")["user_name"].tolist() == ["leader"]
