"""An office's first, partial report (only the required columns and member counts): every export is made and
the 通报 says nothing its numbers contradict (the any-data issue's own example)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import docx
import pytest
from pptx import Presentation

from analytics.cli import main

pytestmark = pytest.mark.chromium


def partial_csv(path: Path) -> None:
    rows = [
        ["2024年第一季度区直机关党组织统计表"],
        ["所属系统", "单位名称", "党组织名称", "组织类型", "党员总数", "正式党员数", "预备党员数"],
    ]
    rows += [[f"系统{i % 2}", f"单位{i % 4}", f"第{i}党支部", "党支部", 10 + i, 8 + i, 2] for i in range(12)]
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")


def test_a_partial_first_report_exports_every_format_and_its_bulletin_claims_nothing_false(tmp_path: Path, capsys):
    source, db = tmp_path / "partial.csv", tmp_path / "p.duckdb"
    partial_csv(source)
    assert main(["ingest", str(source), "--db", str(db), "--allow-missing-columns"]) == 0
    out = {f: tmp_path / f"p.{f}" for f in ("pptx", "xlsx", "docx")}
    args = ["export", "--db", str(db), "--quarter", "2024Q1", *(x for f, p in out.items() for x in (f"--{f}", str(p)))]
    assert main([*args, "--png", str(tmp_path / "png")]) == 0, capsys.readouterr().err
    assert all(p.stat().st_size > 0 for p in out.values()) and len(list((tmp_path / "png").iterdir())) > 10
    text = "\n".join(p.text for p in docx.Document(str(out["docx"])).paragraphs)
    # every unit scores the same: S1 alone is met, 6 of the 83 points that apply to a 2024Q1 branch (S1–S5, S7–S13;
    # S9/S10 judge the year just ended) = 7.2, and integration 0.0; nobody leads, nobody lags, nothing is 扎实
    for claim in ("位居前列", "先进单位", "基础工作较为扎实", "列第1位", "形式上到位", "稳中有升", "None", "nan"):
        assert claim not in text, claim
    assert "建设质量普遍偏低" in text and "多数党组织未填报" in text
    deck = Presentation(str(out["pptx"]))
    notes = "\n".join(s.notes_slide.notes_text_frame.text for s in deck.slides)
    titles = [s.shapes.title.text_frame.text for s in deck.slides]
    assert "无法计算（平均分为 0）" in notes and "None" not in notes and "nan" not in notes
    assert "单位排名：支部标准化建设各单位平均分相同（7.2分）" in titles
    assert not [t for t in titles if t.startswith("后进单位")]  # no unit is below the others
