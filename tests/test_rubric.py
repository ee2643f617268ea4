"""The rubric file (SPEC §4): the default loads as the SPEC tables say; bad files are refused in Chinese."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from analytics.scoring import rubric_versions
from analytics.scoring.rubric import RUBRIC_PATH, Condition, RubricError, load_rubric, parse_rubric
from tests.helpers import rubric_edited as edited

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TEXT = RUBRIC_PATH.read_text(encoding="utf-8")

# SPEC §4.1 and §4.2, copied from the SPEC tables: id -> (composite, kind, weight).
SPEC_INDICATORS = {
    "S1": ("standardization", "flag", 6),
    "S2": ("standardization", "flag", 6),
    "S3": ("standardization", "term", 8),
    "S4": ("standardization", "count", 8),
    "S5": ("standardization", "count", 8),
    "S6": ("standardization", "count", 5),
    "S7": ("standardization", "count", 8),
    "S8": ("standardization", "count", 10),
    "S9": ("standardization", "count", 5),
    "S10": ("standardization", "flag", 4),
    "S11": ("standardization", "rate", 10),
    "S12": ("standardization", "rate", 5),
    "S13": ("standardization", "flag", 5),
    "S14": ("standardization", "share", 7),
    "I1": ("integration", "count", 20),
    "I2": ("integration", "count", 20),
    "I3": ("integration", "share", 15),
    "I4": ("integration", "rate", 20),
    "I5": ("integration", "share", 15),
    "I6": ("integration", "grade", 10),
}
# Target column of the SPEC tables ("—" rows have none).
SPEC_TARGETS = {
    "S4": 3, "S5": 1, "S6": 3, "S7": 1, "S8": 3, "S9": 1, "S11": 100, "S12": 90, "S14": 1.0,
    "I1": 1, "I2": 1, "I3": 0.2, "I4": 100, "I5": 1.0,
}  # fmt: skip


def test_default_rubric_has_the_twenty_indicators_of_the_spec_with_their_kinds_and_weights():
    rubric = load_rubric()
    assert {i.id: (i.composite, i.kind, i.weight) for i in rubric.indicators} == SPEC_INDICATORS
    assert len(rubric.indicators) == 20
    # Σ weights: 6+6+8+8+8+5+8+10+5+4+10+5+5+7 = 95 and 20+20+15+20+15+10 = 100
    assert sum(i.weight for i in rubric.of("standardization")) == 95
    assert sum(i.weight for i in rubric.of("integration")) == 100


def test_default_rubric_has_the_targets_of_the_spec():
    rubric = load_rubric()
    assert {i.id: i.target for i in rubric.indicators if i.target is not None} == SPEC_TARGETS


def test_default_rubric_has_threshold_80_and_grades_90_75_60():
    rubric = load_rubric()
    assert rubric.quadrant_threshold == 80
    assert rubric.grades == (("优秀", 90), ("良好", 75), ("一般", 60), ("较差", 0))
    assert rubric.grade_of == "standardization"
    assert rubric.version == tomllib.loads(DEFAULT_TEXT)["version"]


def test_default_rubric_has_the_terms_grade_table_and_flag_threshold_of_the_spec():
    rubric = load_rubric()
    assert dict(rubric.indicator("S3").years) == {"党委": 5, "党总支": 3, "党支部": 3, "联合党支部": 3}
    assert dict(rubric.indicator("I6").table) == {"好": 1.0, "较好": 0.8, "一般": 0.5, "差": 0.0}
    assert rubric.indicator("S1").at_least == 3
    # SPEC §4.5: the annual items are judged in their window, Q4 or the next Q1
    assert [rubric.indicator(i).window for i in ("S9", "S10", "I6")] == [(4, 1)] * 3
    assert all(i.accumulate is None for i in rubric.indicators)


def test_default_rubric_applicability_rules_are_those_of_the_spec():
    rubric = load_rubric()
    rules = {i.id: i.applies for i in rubric.indicators if i.applies}
    assert set(rules) == {"S4", "S5", "S6", "S7", "S8", "S14", "I3", "I5", "I6"}
    # SPEC §4.5: the branch-level meeting counts S4–S8 apply to 党支部 and 联合党支部 only
    branch_only = ("党支部", "联合党支部")
    assert all(rules[i][0].org_types == branch_only for i in ("S4", "S5", "S6", "S7", "S8"))
    assert [len(rules[i]) for i in ("S5", "S7", "S8")] == [1, 1, 1]
    (_, s4) = rules["S4"]
    assert (s4.column, s4.at_least) == ("members_full", 7)
    (_, s6) = rules["S6"]
    assert (s6.column, s6.present) == ("group_meetings", True)
    assert [(c.column, c.greater_than) for c in rules["S14"] + rules["I3"] + rules["I5"]] == [
        ("dues_due", 0),
        ("members_total", 0),
        ("issues_found", 0),
    ]
    # SPEC §4.5: integration is not scored for 离退休 organizations, a rule of the whole composite
    assert dict(rubric.composite_applies) == {"integration": (Condition(categories=("在职",)),)}
    (i6,) = rules["I6"]
    assert (i6.column, i6.not_in) == ("secretary_review", ("未评",))


def test_load_rubric_reads_another_file(tmp_path: Path):
    path = tmp_path / "r.toml"
    path.write_text(edited('version = "2026.1"', 'version = "test-7"'), encoding="utf-8")
    assert load_rubric(path).version == "test-7"


def test_missing_rubric_file_is_a_chinese_rubric_error(tmp_path: Path):
    with pytest.raises(RubricError, match="无法读取评分细则文件"):
        load_rubric(tmp_path / "none.toml")


def test_every_rubric_column_exists_in_the_template():
    template = tomllib.loads((ROOT / "analytics" / "template.toml").read_text(encoding="utf-8"))
    names = {c["name"] for c in template["column"]}
    raw = tomllib.loads(DEFAULT_TEXT)["indicators"]
    used = {i[k] for i in raw for k in ("column", "numerator", "denominator") if k in i}
    used |= {c["column"] for i in raw for c in i.get("applies", []) if "column" in c}
    assert used - names == set()
    assert len(used) == 23  # 20 indicators, each share (S14, I3, I5) reading one more column


BAD_RUBRICS = [
    pytest.param(
        edited('kind = "count"\ncolumn = "committee_meetings"', 'kind = "counter"\ncolumn = "committee_meetings"'),
        "S4",
        "counter",
        id="unknown_kind",
    ),
    pytest.param(
        edited('column = "general_meetings"', 'column = "general_meeting"'),
        "S5",
        "general_meeting",
        id="unknown_column",
    ),
    pytest.param(
        edited(
            'column = "party_lectures"\ntarget = 1\nweight = 8', 'column = "party_lectures"\ntarget = 1\nweight = 0'
        ),
        "S7",
        "weight",
        id="zero_weight",
    ),
    pytest.param(
        edited(
            'column = "joint_meetings"\ntarget = 1\nweight = 20', 'column = "joint_meetings"\ntarget = 1\nweight = -5'
        ),
        "I1",
        "weight",
        id="negative_weight",
    ),
    pytest.param(
        edited('column = "theme_days"\ntarget = 3\n', 'column = "theme_days"\n'),
        "S8",
        "target",
        id="count_without_target",
    ),
    pytest.param(
        edited('denominator = "dues_due"\ntarget = 1.0\n', 'denominator = "dues_due"\n'),
        "S14",
        "target",
        id="share_without_target",
    ),
    pytest.param(
        edited('column = "study_rate"', 'column = "theme_days"'),
        "S12",
        "theme_days",
        id="rate_on_a_count_column",
    ),
    pytest.param(
        edited('column = "has_secretary"', 'column = "members_total"'),
        "S2",
        "members_total",
        id="yes_no_flag_on_a_number_column",
    ),
    pytest.param(
        edited('column = "secretary_review"\ntable', 'column = "model_level"\ntable'),
        "I6",
        "model_level",
        id="grade_on_another_choice_column",
    ),
    pytest.param(
        edited('kind = "term"\ncolumn = "last_election_date"', 'kind = "term"\ncolumn = "org_name"'),
        "S3",
        "org_name",
        id="term_on_a_text_column",
    ),
    pytest.param(
        edited('numerator = "vanguard_posts"', 'numerator = "secretary_review"'),
        "I3",
        "secretary_review",
        id="share_of_a_text_column",
    ),
    pytest.param(
        edited('{ column = "members_full", at_least = 7 }', '{ column = "members_full", at_leest = 7 }'),
        "S4",
        "at_leest",
        id="unknown_applicability_key",
    ),
    pytest.param(
        edited('{ column = "issues_found", greater_than = 0 }', '{ column = "issues_found", greater = 0 }'),
        "I5",
        "'greater':",
        id="another_unknown_applicability_key",
    ),
    pytest.param(
        edited('{ column = "dues_due", greater_than = 0 }', '{ column = "dues_du", greater_than = 0 }'),
        "S14",
        "dues_du",
        id="applicability_on_an_unknown_column",
    ),
    pytest.param(edited('id = "I6"', 'id = "I5"'), "I5", "重复", id="duplicate_id"),
    pytest.param(
        edited('table = { "好" = 1.0,', 'table = { "很好" = 1.0,'),
        "I6",
        "很好",
        id="grade_not_in_the_template",
    ),
    pytest.param(
        edited("weight = 4\nwindow = [4, 1]", "weight = 4\nwindow = [4, 2]"),
        "S10",
        "[4, 2]",
        id="window_of_quarters_that_do_not_follow",
    ),
    pytest.param(
        edited(
            'column = "online_record_rate"\ntarget = 100',
            'column = "online_record_rate"\ntarget = 100\nwindow = [4, 1]',
        ),
        "S11",
        "时间窗",
        id="window_on_a_rate",
    ),
    pytest.param(
        edited('"联合党支部" = 3 }', '"联合党支部" = 0 }'),
        "S3",
        "任期",
        id="term_of_zero_years",
    ),
]


@pytest.mark.parametrize(("text", "indicator", "detail"), BAD_RUBRICS)
def test_bad_rubric_is_refused_with_a_chinese_message_naming_the_indicator(text: str, indicator: str, detail: str):
    with pytest.raises(RubricError) as caught:
        parse_rubric(text)
    message = str(caught.value)
    assert re.search(rf"(?<![A-Z0-9]){indicator}(?![0-9])", message), message
    assert detail in message, message
    assert re.search(r"[\u4e00-\u9fff]{2}", message), message


def test_threshold_out_of_range_is_refused_in_chinese():
    with pytest.raises(RubricError, match="象限阈值"):
        parse_rubric(edited("quadrant_threshold = 80", "quadrant_threshold = 180"))


def test_grade_bounds_out_of_order_are_refused_in_chinese():
    text = edited('name = "良好"\nat_least = 75', 'name = "良好"\nat_least = 95')
    with pytest.raises(RubricError, match="等级划分"):
        parse_rubric(text)


def test_a_rubric_that_is_not_toml_is_refused_in_chinese():
    with pytest.raises(RubricError, match="格式错误"):
        parse_rubric(DEFAULT_TEXT + "\n[[indicators]\n")


def test_a_changed_rubric_text_parses_to_the_changed_values():
    text = edited('column = "theme_days"\ntarget = 3\nweight = 10', 'column = "theme_days"\ntarget = 4\nweight = 12')
    s8 = parse_rubric(text).indicator("S8")
    assert (s8.target, s8.weight) == (4, 12)


def test_an_edit_from_the_editor_keeps_every_comment_of_the_rubric_file():
    text = RUBRIC_PATH.read_text(encoding="utf-8")
    edited = rubric_versions.edited_text(text, {"S8": 12}, {"S11": 95}, {"version": "2024.2"})
    comments = [line for line in text.splitlines() if line.lstrip().startswith("#")]
    assert len(comments) > 10 and [line for line in edited.splitlines() if line.lstrip().startswith("#")] == comments
    rubric = parse_rubric(edited)
    assert (rubric.indicator("S8").weight, rubric.indicator("S11").target, rubric.version) == (12, 95, "2024.2")
