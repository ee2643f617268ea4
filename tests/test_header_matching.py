"""Header matching reads like a person (SPEC §3.1): decoration that carries no meaning is ignored, headers of
another meaning never match, and headers that only resemble a template column are suggested, never guessed."""

from __future__ import annotations

import datetime as dt
import io
import unicodedata

import openpyxl
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.ingest.records import ingest_bytes
from analytics.template import header_key, load_template, match_header, resembles, suggest_columns

# How unit offices really title the columns, each with the column a person reads it as (written by hand)
VARIANTS = [
    ("所属系统", "system"),
    ("*所属系统", "system"),
    ("1.所属系统", "system"),
    ("单位名称（全称）", "unit"),
    ("所在单位", "unit"),
    ("党组织名称\n（全称）", "org_name"),
    ("“党支部”名称", "org_name"),
    ("组织类型（党委/党总支/党支部）", "org_type"),
    ("党员总数（人）", "members_total"),
    ("党员总数(含预备党员)", "members_total"),
    ("其中：正式党员（人）", "members_full"),
    ("其中:正式党员数", "members_full"),
    ("其中：预备党员（人）", "members_probationary"),
    ("书记是否配备（是/否）", "has_secretary"),
    ("是否配备书记\n(是/否)", "has_secretary"),
    ("本届换届\n选举时间", "last_election_date"),
    ("换届选举日期（年月日）", "last_election_date"),
    ("支委会次数（次/季度）", "committee_meetings"),
    ("召开支委会次数(次)", "committee_meetings"),
    ("“三会一课”党员大会次数", "general_meetings"),
    ("党员大会（次）", "general_meetings"),
    ("党小组会次数【次】", "group_meetings"),
    ("党课次数（次）", "party_lectures"),
    ("讲党课次数", "party_lectures"),
    ("“主题党日”次数", "theme_days"),
    ("开展主题党日次数（次）", "theme_days"),
    ("组织生活会次数\n（全年累计）", "life_meetings"),
    ("民主评议党员是否完成（是/否）", "member_review_done"),
    ("“三会一课”线上录入率（%）", "online_record_rate"),
    ("'三会一课'线上录入率(%)", "online_record_rate"),
    ("「学习强国」参学率（%）", "study_rate"),
    ("《学习强国》学习率", "study_rate"),
    ("台账资料是否规范（是/否）", "records_standard"),
    ("党费应缴（元）", "dues_due"),
    ("应缴党费\n(元)", "dues_due"),
    ("党费实缴（元）", "dues_paid"),
    ("实缴党费金额(元)", "dues_paid"),
    ("入党积极分子数（人）", "activists"),
    ("发展对象数（人）", "candidates"),
    ("接收预备党员数（人）", "new_probationary"),
    ("预备党员转正数（人）", "converted"),
    ("党建业务“同部署”次数", "joint_meetings"),
    ("“党建+”项目数（个）", "pb_plus_projects"),
    ("党员先锋岗数（个）", "vanguard_posts"),
    ("业务目标完成率（%）", "business_completion"),
    ("检视问题数（个）", "issues_found"),
    ("已整改问题数（个）", "issues_fixed"),
    ("书记述职评议等次（好/较好/一般/差）", "secretary_review"),
    ("创建等级（市级样板/区级示范/无）", "model_level"),
]


def test_the_variant_corpus_covers_every_template_column():
    assert len(VARIANTS) >= 40
    assert {name for _, name in VARIANTS} == set(load_template().names)


@pytest.mark.parametrize(("header", "name"), VARIANTS)
def test_a_header_as_offices_write_it_names_its_column(header: str, name: str):
    assert match_header(header) == name


HINTS = [
    "（人）",
    "(个)",
    "（次）",
    "（次/季度）",
    "(%)",
    "（%）",
    "（元）",
    "（是/否）",
    "【必填】",
    "[单位：元]",
    "（含预备党员）",
]
QUOTES = [("“", "”"), ("‘", "’"), ('"', '"'), ("'", "'"), ("「", "」"), ("『", "』"), ("《", "》"), ("〈", "〉")]


def full_width(text: str) -> str:
    """ASCII characters as their full-width forms (what a Chinese input method types)."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


@st.composite
def decorated(draw) -> tuple[str, str]:
    """A template header or synonym as an office might decorate it, and the column it names."""
    col = draw(st.sampled_from(load_template().columns))
    text = draw(st.sampled_from((col.header, *col.synonyms)))
    if draw(st.booleans()) and len(text) > 1:  # quotes around a substring
        i = draw(st.integers(0, len(text) - 1))
        j = draw(st.integers(i + 1, len(text)))
        left, right = draw(st.sampled_from(QUOTES))
        text = text[:i] + left + text[i:j] + right + text[j:]
    if draw(st.booleans()):
        text = draw(st.sampled_from(["其中：", "其中:", "其中"])) + text
    text += "".join(draw(st.lists(st.sampled_from(HINTS), max_size=2)))
    if draw(st.booleans()):
        text = full_width(text)
    spaces = draw(
        st.lists(st.tuples(st.integers(0, len(text)), st.sampled_from([" ", "\n", "\u3000", "\t"])), max_size=3)
    )
    for at, space in sorted(spaces, reverse=True):
        text = text[:at] + space + text[at:]
    return text, col.name


@settings(max_examples=400, deadline=None)
@given(decorated())
def test_any_decoration_of_a_template_header_still_names_its_column(case: tuple[str, str]):
    text, name = case
    assert match_header(text) == name, (text, header_key(text))


OTHER_MEANINGS = ["备注", "联系人", "联系电话", "填表人", "审核人", "说明", "女党员数", "少数民族党员数", "党员年龄",
                  "单位负责人", "备注（其他情况）", "序号", "统计时间", "“备注”"]  # fmt: skip


@pytest.mark.parametrize("header", OTHER_MEANINGS)
def test_a_header_of_another_meaning_never_names_a_template_column(header: str):
    assert match_header(header) is None


@pytest.mark.parametrize("header", ["备注", "联系人", "联系电话", "填表人", "说明", "统计时间"])
def test_a_header_of_another_meaning_resembles_nothing(header: str):
    assert suggest_columns(header) == [] and not resembles(header)


@pytest.mark.parametrize(
    ("header", "first"),
    [
        ("三会一课网上录入比例", "online_record_rate"),  # 网上 for 线上, 比例 for 率
        ("学习强国平台参学情况", "study_rate"),
        ("先锋岗设立数", "vanguard_posts"),
        ("党费实际缴纳", "dues_paid"),
    ],
)
def test_a_header_that_only_resembles_a_column_is_suggested_first_never_matched(header: str, first: str):
    assert match_header(header) is None
    suggestions = suggest_columns(header)
    assert suggestions[0][0] == first and resembles(header)
    scores = [score for _, score in suggestions]
    assert scores == sorted(scores, reverse=True) and all(0.5 < s <= 1 for s in scores)


def test_an_office_column_like_female_members_is_asked_about_not_taken():
    assert match_header("女党员数") is None
    assert "members_total" in [name for name, _ in suggest_columns("女党员数")]


def test_header_key_is_idempotent_and_width_blind():
    for col in load_template().columns:
        for text in (col.header, *col.synonyms):
            key = header_key(text)
            assert header_key(key) == key
            assert header_key(full_width(text)) == key == header_key(unicodedata.normalize("NFKC", text))


def workbook(headers: list[str], rows: list[list]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["2024年第一季度区直机关基层党组织建设情况统计表"])
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_a_file_with_every_header_decorated_loads_exactly_as_its_clean_twin():
    template = load_template()
    decorated_header = {name: header for header, name in reversed(VARIANTS)}  # the first variant of each column
    values = {"system": "经济系统", "unit": "区财政局", "org_type": "党支部", "members_total": 12, "members_full": 10,
              "members_probationary": 2, "has_secretary": "是", "last_election_date": dt.datetime(2023, 3, 15),
              "online_record_rate": 85, "study_rate": 92, "dues_due": 1200.5, "dues_paid": 1200.5,
              "secretary_review": "好", "model_level": "无", "member_review_done": "否", "records_standard": "是"}  # fmt: skip
    rows = [
        [values.get(c.name, f"第{i}党支部" if c.name == "org_name" else i) for c in template.columns] for i in range(5)
    ]
    clean = ingest_bytes(workbook([c.header for c in template.columns], rows), "clean.xlsx")
    messy = ingest_bytes(workbook([decorated_header[c.name] for c in template.columns], rows), "messy.xlsx")
    assert clean.errors == [] and messy.errors == [] and messy.unmapped == []
    assert not [p for p in messy.warnings if "未识别" in p.message]
    pd.testing.assert_frame_equal(messy.records, clean.records)
    assert len(messy.records) == 5
