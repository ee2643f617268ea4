"""The year (SPEC §9) on the demo district (2023 and 2024, four quarters each; 区信访局 did not report 2024Q2):
annual scores, ranks and counts against an independent computation from what `scores` and `dump` print."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from analytics.scoring import annual, rubric_versions
from analytics.scoring.summary import scores_table
from analytics.store import database as store
from tests.helpers import cli, rubric_edited

ROOT = Path(__file__).resolve().parent.parent
TRUTH = json.loads((ROOT / "data" / "demo" / "truth.json").read_text(encoding="utf-8"))
QUARTERS = [f"2024Q{q}" for q in range(1, 5)]


def by_hand(con, quarters: list[str], rule: str = "zero") -> dict[tuple[str, str, str], dict[str, float | None]]:
    """Per organization: each composite's annual score from the quarterly score tables, one value at a time."""
    tables = {q: scores_table(con, q) for q in quarters}
    orgs = {tuple(r) for t in tables.values() for r in t[["system", "unit", "org_name"]].itertuples(index=False)}
    out = {}
    for org in orgs:
        out[org] = {}
        for score in ("standardization", "integration"):
            values, counted = [], 0
            for table in tables.values():
                row = table[(table["system"] == org[0]) & (table["unit"] == org[1]) & (table["org_name"] == org[2])]
                if row.empty:  # not reported: 0 under the default rule, left out under "reported"
                    counted += rule == "zero"
                elif row[score].notna().iloc[0]:
                    values.append(float(row[score].iloc[0]))
                    counted += 1
            out[org][score] = sum(values) / counted if values else None
    return out


@pytest.fixture(scope="module")
def report(demo_template: Path):
    with store.connect(demo_template, reading=True) as con:
        rubric = rubric_versions.active(con)
        return {
            "annual": annual.annual_scores(con, 2024, rubric),
            "expected": by_hand(con, QUARTERS),
            "counts": annual.year_counts(con, 2024, rubric),
            "dumps": {q: store.quarter_records(con, q) for q in QUARTERS},
        }


def test_annual_scores_are_the_mean_of_the_four_quarters_with_an_unreported_quarter_as_zero(report):
    frame, expected = report["annual"], report["expected"]
    assert len(frame) == len(expected) == TRUTH["organizations"]
    for row in frame.itertuples():
        for score in ("standardization", "integration"):
            want = expected[(row.system, row.unit, row.org_name)][score]
            got = getattr(row, score)
            assert (got != got and want is None) or got == pytest.approx(want, abs=1e-9), (row.org_name, score)
    unit, quarter = TRUTH["missing_report"]
    missed = frame[frame["missing_quarters"] != ""]
    assert set(missed["unit"]) == {unit} and set(missed["missing_quarters"]) == {quarter}
    assert set(missed["quarters_reported"]) == {3}


def test_units_are_ranked_by_the_mean_of_their_organizations_annual_scores(report):
    units = annual.unit_annual(report["annual"])
    means = {}
    for (system, unit, _), scores in report["expected"].items():
        means.setdefault((system, unit), []).append(scores["standardization"])
    ordered = sorted(means, key=lambda k: -sum(means[k]) / len(means[k]))
    assert list(zip(units["system"], units["unit"], strict=True)) == ordered  # no ties in the demo
    assert list(units["standardization_rank"]) == list(range(1, len(ordered) + 1))


def test_the_years_counts_equal_the_dumps_and_the_planted_changes(report):
    counts, dumps = report["counts"], report["dumps"]
    total = lambda column: int(sum(d[column].fillna(0).sum() for d in dumps.values()))  # noqa: E731
    assert counts["counts"]["接收预备党员"] == total("new_probationary")
    assert counts["counts"]["预备党员转正"] == total("converted")
    assert counts["counts"]["发展对象"] == int(dumps["2024Q4"]["candidates"].sum())  # everyone reported in Q4
    assert counts["counts"]["市级样板"] == len(TRUTH["model_levels"]["市级样板"])
    re_elected = {n for n, e in TRUTH["re_elected"].items() if e["quarter"].startswith("2024")}
    assert set(counts["lists"]["换届超期"]["left_names"]) == re_elected
    assert set(counts["lists"]["书记空缺"]["left_names"]) == {
        n for n, q in TRUTH["secretary_filled"].items() if q.startswith("2024")
    }
    assert set(counts["lists"]["正式党员不足3人"]["left_names"]) == set(TRUTH["reached_3_full"])
    assert counts["lists"]["换届超期"]["end"] == len(TRUTH["overdue_2024Q4"])
    q4 = dumps["2024Q4"]
    assert counts["counts"]["年内完成换届"] == int((q4["last_election_date"].dt.year == 2024).sum())


def test_the_rubric_may_count_only_the_reported_quarters_and_the_cli_says_the_rule(demo_db: Path, tmp_path: Path):
    rubric = tmp_path / "rubric.toml"
    rubric.write_text(
        rubric_edited(
            'grade_of = "standardization"', 'grade_of = "standardization"\n\n[annual]\nmissing_quarter = "reported"'
        ),
        encoding="utf-8",
    )
    result = cli("annual", "--year", "2024", "--format", "json", "--rubric", str(rubric), db=demo_db)
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    with store.connect(demo_db) as con:
        expected = by_hand(con, QUARTERS, rule="reported")
    assert shown["rule"] == "reported" and shown["quarters"] == QUARTERS
    for row in shown["organizations"]:
        want = expected[(row["system"], row["unit"], row["org_name"])]["standardization"]
        assert row["standardization"] == pytest.approx(want, abs=1e-9)
    # 2023 exists: every organization has a year-on-year change
    assert all(row["standardization_change"] is not None for row in shown["organizations"])
    assert cli("annual", "--year", "2021", db=demo_db).returncode == 1


def test_the_annual_page_shows_the_year_its_worst_unit_first_and_the_counts(demo_db: Path, report):
    from streamlit.testing.v1 import AppTest

    from tests.sessions import as_user

    at = as_user(AppTest.from_file(str(ROOT / "app.py"), default_timeout=120), "leader")
    at.run()
    at.switch_page("pages/annual.py")
    at.run()
    assert not at.exception, at.exception
    shown = {m.label: m.value for m in at.metric}
    assert shown["参评党组织"] == f"{TRUTH['organizations']} 个" and shown["有季度未报送的党组织"] != "0 个"
    expected = report["expected"]
    assert (
        shown["支部标准化建设年度平均分"]
        == f"{sum(v['standardization'] for v in expected.values()) / len(expected):.1f}"
    )
    ranking = next(d.value for d in at.dataframe if "单位名称" in d.value.columns and "党组织数" in d.value.columns)
    means = {}
    for (_, unit, _), scores in expected.items():
        means.setdefault(unit, []).append(scores["standardization"])
    assert ranking["单位名称"].iloc[0] == min(means, key=lambda u: sum(means[u]) / len(means[u]))
    counts = next(d.value for d in at.dataframe if list(d.value.columns) == ["项目", "数量"])
    assert dict(zip(counts["项目"], counts["数量"], strict=True)) == report["counts"]["counts"]


def test_the_report_draft_has_the_three_sections_and_the_numbers_of_the_annual_command(demo_db: Path, tmp_path):
    import docx

    target = tmp_path / "年度述职.docx"
    made = cli("export", "--year", "2024", "--docx", str(target), "--xlsx", str(tmp_path / "年度.xlsx"), db=demo_db)
    assert made.returncode == 0, made.stderr
    shown = json.loads(cli("annual", "--year", "2024", "--format", "json", db=demo_db).stdout)
    document = docx.Document(str(target))
    headings = [p.text for p in document.paragraphs if p.style.name == "Heading 1"]
    assert headings == ["一、履职工作特色和亮点", "二、存在的主要问题及原因", "三、下一步工作打算"]
    text = "\n".join(p.text for p in document.paragraphs)
    n = shown["counts"]["counts"]
    for phrase in (
        f"年内接收预备党员{n['接收预备党员']}名，预备党员转正{n['预备党员转正']}名",
        f"年末有发展对象{n['发展对象']}名、入党积极分子{n['入党积极分子']}名",
        f"年内{n['年内完成换届']}个党组织完成换届选举",
        f"年末有市级样板党支部{n['市级样板']}个、区级示范党支部{n['区级示范']}个",
        f"全年{len(shown['organizations'])}个党组织参加季度质量评价",
    ):
        assert phrase in text, phrase
    units = sorted(shown["units"], key=lambda u: u["standardization"])
    worst, best = units[0], units[-1]
    assert (
        f"最高的{best['unit']}{best['standardization']:.1f}分，最低的{worst['unit']}{worst['standardization']:.1f}分"
        in text
    )
    assert text.count("【待补充：") >= 4  # the committee's own passages are marked, not invented
    [appendix] = document.tables
    assert {r.cells[0].text: int(r.cells[1].text) for r in appendix.rows[1:]} == n
    import openpyxl

    book = openpyxl.load_workbook(tmp_path / "年度.xlsx")
    assert book.sheetnames == ["年度得分", "单位排名", "全年数据", "三会一课", "预警名单变化"]
    assert book["年度得分"].max_row - 1 == len(shown["organizations"])
    ranking = list(book["单位排名"].iter_rows(values_only=True))
    assert [r[1] for r in ranking[1:]] == [u["unit"] for u in shown["units"]]  # best first, as the command ranks


def test_annual_rank_intervals_hold_the_nominal_rank_and_collapse_to_it_under_the_rubrics_own_weights(demo_template):
    from analytics.scoring import robustness, scores

    with store.connect(demo_template, reading=True) as con:
        rubric = rubric_versions.active(con)
        now = annual.annual_scores(con, 2024, rubric)
        frames = [scores.for_quarter(con, q, rubric) for q in QUARTERS]
        report = annual.year_report(con, 2024, rubric)
    units = report["units"]
    for score in ("standardization", "integration"):
        inside = (units[f"{score}_rank_p05"] <= units[f"{score}_rank"]) & (
            units[f"{score}_rank"] <= units[f"{score}_rank_p95"]
        )
        assert inside.all(), score
    # one draw equal to the rubric's weights: every unit's interval is its nominal rank (a second computation)
    nominal = robustness.annual_rank_intervals(
        frames, now, rubric, "unit", "standardization", robustness.nominal_weights(rubric)
    )
    ranked = annual.unit_annual(now).set_index("unit")["standardization_rank"]
    assert (nominal.set_index("unit")["rank_p05"] == ranked.reindex(nominal["unit"])).all()
