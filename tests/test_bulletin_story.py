"""The 通报's narrative follows its numbers (issue: a 通报 the committee would sign), checked as properties on
every demo quarter and every system: no praise of a unit it also lists as lagging or falling, headings that
match every headline change, multi-quarter rises and falls named, stock phrases only with the data behind them."""

from __future__ import annotations

import functools

import pytest

from analytics.meeting import bulletin_text, meeting, stories
from analytics.scoring.rubric import COMPOSITES, load_rubric
from analytics.scoring.scores import for_quarter
from analytics.store import database as store
from tests.exports_demo import TRUTH, demo_db

pytestmark = pytest.mark.slow  # builds 24 meetings (about 45 s): make test runs it, make test-fast does not

QUARTERS = [f"{y}Q{n}" for y in (2023, 2024) for n in range(1, 5)]
SCOPES = [None, "经济系统", "政法系统"]


@functools.cache
def built(quarter: str, system: str | None = None) -> meeting.Meeting:
    with store.connect(demo_db()) as con:
        return meeting.build(con, quarter, load_rubric(), {"system": system})


def parts(m: meeting.Meeting) -> dict[str, str]:
    """Heading (without its number) -> text, over 成效 and 问题."""
    return {h.split("）", 1)[1]: t for h, t in bulletin_text.achievements(m) + bulletin_text.problems(m)}


def units_in(m: meeting.Meeting, text: str) -> set[str]:
    """Units the text names: longest names first, each taken out once found, so 单位2 is not read in 单位27."""
    found = set()
    for unit in sorted(m.units["unit"], key=len, reverse=True):
        if unit in text:
            found.add(unit)
            text = text.replace(unit, "\0")
    return found


def test_the_demo_quarter_names_the_unit_that_rose_and_the_one_that_fell_with_start_and_end():
    m = built("2024Q4")
    said = parts(m)
    rising, falling = said["部分单位进步明显。"], said["个别单位连续下滑。"]
    for unit, text, verb in (
        (TRUTH["improving_unit"], rising, "连续提升至"),
        (TRUTH["declining_unit"], falling, "连续下降至"),
    ):
        (run, *_) = [s for s in m.streaks if s.unit == unit]
        # three quarters or more, ending now; its first and last values are the unit's means, computed here again
        assert run.start <= "2024Q1" and run.end == "2024Q4" and (verb == "连续提升至") == run.rising
        with store.connect(demo_db()) as con:
            means = [
                for_quarter(con, q, load_rubric()).groupby("unit")[run.score].mean()[unit] for q in (run.start, run.end)
            ]
        assert (run.first, run.last) == pytest.approx(means)
        start = f"{meeting.quarter_text(run.start)}的{means[0]:.1f}分"
        assert (
            f"{unit}{m.rubric.composite_name(run.score)}平均分从{start}{verb}2024年第四季度的{means[1]:.1f}分" in text
        )
    assert TRUTH["declining_unit"] not in rising and TRUTH["improving_unit"] not in falling


def assert_no_unit_praised_and_blamed(m: meeting.Meeting) -> None:
    """No unit praised (先进, 进步明显) and blamed (后进, 连续下滑) at once; 先进 only above the mean on both."""
    said = parts(m)
    praised = units_in(m, said.get("先进单位示范带动。", "")) | units_in(m, said.get("部分单位进步明显。", ""))
    blamed = units_in(m, said.get("部分单位建设质量偏低。", "")) | units_in(m, said.get("个别单位连续下滑。", ""))
    blamed &= set(m.lagging["unit"]) | {s.unit for s in m.streaks if not s.rising}
    assert not praised & blamed, (m.quarter, m.filters, praised & blamed)
    means = {s: m.frame[s].mean() for s in COMPOSITES}
    for row in m.units[m.units["unit"].isin(units_in(m, said.get("先进单位示范带动。", "")))].itertuples():
        assert row.standardization > means["standardization"] and row.integration > means["integration"]


def assert_heading_follows_the_changes(m: meeting.Meeting) -> None:
    """稳中有升 only when no headline measure got worse and one got better; 有所下降 the other way round."""
    heading = bulletin_text.achievements(m)[0][0]
    k = m.kpis
    if any(k[f"{s}_change"] is None or k[f"{s}_change"] != k[f"{s}_change"] for s in COMPOSITES):
        assert "稳中有升" not in heading and "有所下降" not in heading  # nothing to compare a mean with
        return
    fewer_is_better = {"融合型": -1, "两张皮": 1, "业务化": 1, "边缘化": 1}
    changes = [(k[f"{s}_change"], stories.STEADY) for s in COMPOSITES]
    changes += [(-sign * k[f"{q}_change"], 0) for q, sign in fewer_is_better.items() if k[f"{q}_change"] is not None]
    worse = [c < -slack for c, slack in changes if c == c]  # a NaN change (nothing to compare) is neither
    better = [c > slack for c, slack in changes if c == c]
    assert ("稳中有升" in heading) == (not any(worse) and any(better)), (heading, k)
    assert ("有所下降" in heading) == (any(worse) and not any(better)), (heading, k)


@pytest.mark.parametrize("system", SCOPES)
@pytest.mark.parametrize("quarter", QUARTERS)
def test_no_unit_is_praised_and_listed_as_lagging_or_falling_in_the_same_bulletin(quarter: str, system: str | None):
    assert_no_unit_praised_and_blamed(built(quarter, system))


@pytest.mark.parametrize("quarter", QUARTERS[1:])
def test_the_overall_heading_says_rising_only_when_no_headline_measure_got_worse(quarter: str):
    assert_heading_follows_the_changes(built(quarter))


def test_the_units_with_most_business_first_organizations_are_named():
    m = built("2024Q4")
    text = parts(m)["党建与业务融合不紧密，“两张皮”现象依然存在。"]
    counts = m.frame[m.frame["quadrant"] == "业务化"]["unit"].value_counts()
    assert TRUTH["business_heavy_unit"] == counts.index[0]
    assert f"“业务化”{int(counts.sum())}个（主要在{TRUTH['business_heavy_unit']}（{counts.iloc[0]}个）" in text
    assert TRUTH["business_heavy_unit"] in dict(bulletin_text.suggestions(m))["3.坚持问题导向，推进互促融合。"]


@pytest.mark.parametrize("quarter", QUARTERS)
def test_the_form_over_substance_phrase_needs_a_meeting_item_among_the_biggest_losses(quarter: str):
    m = built(quarter)
    text = parts(m)["部分指标失分较多。"]
    top = m.indicators("standardization").head(3)["id"]
    meetings = [i for i in top if m.rubric.indicator(i).column in bulletin_text.MEETING_COLUMNS]
    assert ("形式上到位" in text) == bool(meetings)


def test_reporting_is_counted_over_the_organizations_expected_and_names_the_missing():
    m = built("2024Q2")
    first = bulletin_text.basics(m)[0]
    missing = list(m.warnings["missing_report"]["org_name"])
    assert len(missing) == 2
    expected = len(m.frame) + 2
    assert f"应报{expected}个党组织，实报{len(m.frame)}个（报送率{len(m.frame) / expected * 100:.1f}%）" in first
    assert all(name in first for name in missing) and "数据完整率100.0%" not in first


def test_retiree_branches_are_left_out_of_the_quadrant_shares_and_said_so():
    m = built("2024Q4")
    third = bulletin_text.basics(m)[2]
    rated = m.frame["quadrant"].notna().sum()
    k = m.kpis
    assert f"“融合型”{k['融合型']}个（占{k['融合型'] / rated * 100:.1f}%）" in third
    assert "另有5个离退休党组织不参与融合评价" in third


@pytest.mark.parametrize("quarter", ["2024Q2", "2024Q4"])
def test_borderline_two_skins_are_counted_as_near_the_line_and_never_given_as_examples(quarter: str):
    m = built(quarter)
    text = parts(m)["党建与业务融合不紧密，“两张皮”现象依然存在。"]
    near = m.stability["borderline"].to_numpy() & (m.frame["quadrant"] == "两张皮").to_numpy()
    assert near.any()
    assert f"其中{int(near.sum())}个接近{m.rubric.quadrant_threshold:g}分分界线" in text
    examples = text.split("。如", 1)[1].split("。此外")[0]
    assert not [name for name in m.frame.loc[near, "org_name"] if name in examples]


@pytest.mark.parametrize("system", SCOPES)
@pytest.mark.parametrize("quarter", QUARTERS)
def test_model_branches_are_praised_only_when_above_the_mean_on_both_scores(quarter: str, system: str | None):
    from analytics.scoring.alerts import MODEL_LEVELS

    m = built(quarter, system)
    said = " ".join(parts(m).values())
    models = m.frame[m.frame["model_level"].isin(MODEL_LEVELS)]
    above = len(models) and all(models[c].mean() > m.frame[c].mean() for c in COMPOSITES)
    assert ("较好发挥了示范引领作用" in said) == bool(above)
