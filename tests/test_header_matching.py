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
from analytics.template import RESEMBLES, header_key, load_template, match_header, resembles, suggest_columns

# How unit offices really title the columns, each with the column a person reads it as (written by hand)
VARIANTS = [
    ("所属系统", "system"),
    ("*所属系统", "system"),
    ("1.所属系统", "system"),
    ("(1)所属系统", "system"),
    ("归口系统：", "system"),
    ("单位名称（全称）", "unit"),
    ("所在单位", "unit"),
    ("【必填】单位名称", "unit"),
    ("党组织名称\n（全称）", "org_name"),
    ("“党支部”名称", "org_name"),
    ("支部名称", "org_name"),
    ("组织类型（党委/党总支/党支部）", "org_type"),
    ("党组织类别", "org_category"),
    ("党员总数（人）", "members_total"),
    ("党员总数(含预备党员)", "members_total"),
    ("党员总人数", "members_total"),
    ("党员人数\n（人）", "members_total"),
    ("其中：正式党员（人）", "members_full"),
    ("其中:正式党员数", "members_full"),
    ("①其中，正式党员（名）", "members_full"),
    ("其中：预备党员（人）", "members_probationary"),
    ("其中预备党员人数", "members_probationary"),
    ("书记是否配备（是/否）", "has_secretary"),
    ("是否配备书记\n(是/否)", "has_secretary"),
    ("本届换届\n选举时间", "last_election_date"),
    ("换届选举日期（年月日）", "last_election_date"),
    ("换届选举时间", "last_election_date"),
    ("上次选举时间", "last_election_date"),
    ("选举时间（年/月/日）", "last_election_date"),
    ("支委会次数（次/季度）", "committee_meetings"),
    ("召开支委会次数(次)", "committee_meetings"),
    ("支部委员会会议次数", "committee_meetings"),
    ("“三会一课”党员大会次数", "general_meetings"),
    ("党员大会（次）", "general_meetings"),
    ("党员大会召开次数", "general_meetings"),
    ("党小组会次数【次】", "group_meetings"),
    ("党课次数（次）", "party_lectures"),
    ("讲党课次数", "party_lectures"),
    ("“主题党日”次数", "theme_days"),
    ("开展主题党日次数（次）", "theme_days"),
    ("组织生活会次数\n（全年累计）", "life_meetings"),
    ("民主评议党员是否完成（是/否）", "member_review_done"),
    ("“三会一课”线上录入率（%）", "online_record_rate"),
    ("'三会一课'线上录入率(%)", "online_record_rate"),
    ("〝三会一课〞线上录入率（％）", "online_record_rate"),
    ("线上录入率", "online_record_rate"),
    ("「学习强国」参学率（%）", "study_rate"),
    ("《学习强国》学习率", "study_rate"),
    ("学习强国参学率", "study_rate"),
    ("台账资料是否规范（是/否）", "records_standard"),
    ("党费应缴（元）", "dues_due"),
    ("党费应缴(元)", "dues_due"),
    ("应缴党费\n(元)", "dues_due"),
    ("党费应缴金额（元）", "dues_due"),
    ("党费实缴（元）", "dues_paid"),
    ("党费实缴\n（元）", "dues_paid"),
    ("实缴党费金额(元)", "dues_paid"),
    ("入党积极分子数（人）", "activists"),
    ("入党积极分子", "activists"),
    ("发展对象数（人）", "candidates"),
    ("发展对象", "candidates"),
    ("接收预备党员数（人）", "new_probationary"),
    ("新发展党员数", "new_probationary"),
    ("预备党员转正数（人）", "converted"),
    ("转正人数", "converted"),
    ("党建业务“同部署”次数", "joint_meetings"),
    ("同部署（次）", "joint_meetings"),
    ("“党建+”项目数（个）", "pb_plus_projects"),
    ("“党建＋”项目", "pb_plus_projects"),
    ("党员先锋岗数（个）", "vanguard_posts"),
    ("先锋岗（个）", "vanguard_posts"),
    ("业务目标完成率（%）", "business_completion"),
    ("业务工作完成率(%)", "business_completion"),
    ("检视问题数（个）", "issues_found"),
    ("检视问题", "issues_found"),
    ("已整改问题数（个）", "issues_fixed"),
    ("其中：整改问题数", "issues_fixed"),
    ("书记述职评议等次（好/较好/一般/差）", "secretary_review"),
    ("书记述职评议结果", "secretary_review"),
    ("创建等级（市级样板/区级示范/无）", "model_level"),
    ("示范创建等级", "model_level"),
]


def test_the_variant_corpus_covers_every_template_column():
    assert len(VARIANTS) >= 40
    assert {name for _, name in VARIANTS} == set(load_template().names)


@pytest.mark.parametrize(("header", "name"), VARIANTS)
def test_a_header_as_offices_write_it_names_its_column(header: str, name: str):
    assert match_header(header) == name


HINTS = ["（人）", "(个)", "（次）", "（次/季度）", "(%)", "（%）", "（元）", "（是/否）", "【必填】", "[单位：元]",
         "（含预备党员）", "〔人〕", "（单位：次【季度】）"]  # fmt: skip
QUOTES = [("“", "”"), ("‘", "’"), ('"', '"'), ("'", "'"), ("「", "」"), ("『", "』"), ("《", "》"), ("〈", "〉"),
          ("〝", "〞"), ("＂", "＂"), ("｢", "｣")]  # fmt: skip
LIST_NUMBERS = ["1.", "1、", "12.", "(1)", "（2）", "①", "⑴", "一、", "3)"]
ALL_TEXTS = [(text, col.name) for col in load_template().columns for text in (col.header, *col.synonyms)]


def full_width(text: str) -> str:
    """ASCII characters as their full-width forms (what a Chinese input method types)."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


@st.composite
def decorated(draw) -> tuple[str, str]:
    """A template header or synonym as an office might decorate it, and the column it names."""
    text, name = draw(st.sampled_from(ALL_TEXTS))
    if draw(st.booleans()) and len(text) > 1:  # quotes around a substring, maybe a hint after them
        i = draw(st.integers(0, len(text) - 1))
        j = draw(st.integers(i + 1, len(text)))
        left, right = draw(st.sampled_from(QUOTES))
        hint = draw(st.sampled_from(["", *HINTS]))
        text = text[:i] + left + text[i:j] + right + hint + text[j:]
    if draw(st.booleans()):
        text = draw(st.sampled_from(["其中：", "其中:", "其中", "其中，"])) + text
    if draw(st.booleans()):
        text = draw(st.sampled_from(LIST_NUMBERS)) + text
    text += "".join(draw(st.lists(st.sampled_from(HINTS), max_size=2))) + draw(st.sampled_from(["", "：", ":"]))
    if draw(st.booleans()):
        text = full_width(text)
    spaces = draw(
        st.lists(st.tuples(st.integers(0, len(text)), st.sampled_from([" ", "\n", "\u3000", "\t", "\r\n"])), max_size=4)
    )
    for at, space in sorted(spaces, reverse=True):
        text = text[:at] + space + text[at:]
    return text, name


@settings(max_examples=600, deadline=None)
@given(decorated())
def test_any_decoration_of_a_template_header_still_names_its_column(case: tuple[str, str]):
    text, name = case
    assert match_header(text) == name, (text, header_key(text))


@pytest.mark.parametrize(("text", "name"), ALL_TEXTS)
def test_every_header_and_synonym_survives_the_heaviest_decoration(text: str, name: str):
    heavy = f"①其中：「{text[:1]}」 {full_width(text[1:])}\n（单位：次【季度】）[必填]："
    assert match_header(heavy) == name, header_key(heavy)


OTHER_MEANINGS = ["备注", "联系人", "联系电话", "填表人", "审核人", "说明", "女党员数", "少数民族党员数", "党员年龄",
                  "单位负责人", "备注（其他情况）", "序号", "统计时间", "“备注”", "流动党员数", "党组织书记姓名",
                  "三会一课网上录入比例", "换届年月"]  # fmt: skip


@pytest.mark.parametrize("header", OTHER_MEANINGS)
def test_a_header_of_another_meaning_never_names_a_template_column(header: str):
    assert match_header(header) is None


# Group cells merged over leaves in two-row headers: a group that matched a column would hide the leaf row
@pytest.mark.parametrize(
    "group", ["三会一课", "党员情况", "党费收缴", "党员发展", "组织生活", "平台运用", "党建与业务融合", "问题整改"]
)
def test_a_group_cell_of_a_two_row_header_names_no_column(group: str):
    assert match_header(group) is None


def test_no_marker_word_names_a_template_column_but_the_stamp_line():
    markers = load_template().markers
    words = [*markers.index_headers, *markers.total_rows, *markers.note_prefixes, *markers.missing]
    # 单位（盖章） of a sign-off line reads as 单位: one cell, far from the MIN_HEADER_MATCHES a header row needs
    assert [w for w in words if match_header(w) is not None] == ["单位(盖章)"]


@pytest.mark.parametrize(
    "header", ["备注", "联系人", "联系电话", "填表人", "审核人", "序号", "说明", "联系方式", "手机号码", "其他"]
)
def test_a_header_of_another_meaning_resembles_nothing(header: str):
    assert suggest_columns(header) == [] and not resembles(header)


@pytest.mark.parametrize(
    ("header", "first"),
    [
        ("三会一课网上录入比例", "online_record_rate"),  # 网上 for 线上, 比例 for 率
        ("学习强国平台参学情况", "study_rate"),
        ("先锋岗设立数", "vanguard_posts"),
        ("党费实际缴纳", "dues_paid"),
        ("换届年月", "last_election_date"),  # 换届 of 换届日期: 2 × 2 / 8 = 0.5, right at the threshold
    ],
)
def test_a_header_that_only_resembles_a_column_is_suggested_first_never_matched(header: str, first: str):
    assert match_header(header) is None
    suggestions = suggest_columns(header)
    assert suggestions[0][0] == first and resembles(header)


@pytest.mark.parametrize(
    ("header", "first"),
    [
        ("三会一课录入率", "online_record_rate"),
        ("党员先锋岗", "vanguard_posts"),
        ("党员总人数（含预备）", "members_total"),
    ],
)
def test_a_header_that_matches_is_its_own_best_suggestion(header: str, first: str):
    assert suggest_columns(header)[0] == (first, 1.0)
    assert not resembles(header)  # it matched: nothing to ask


def test_an_office_column_like_female_members_is_asked_about_not_taken():
    # 女党员数 against 党员数: 党员数 matched, 2 × 3 / 7; against 正式党员数 and 预备党员数: 2 × 3 / 9, a tie that
    # keeps template order
    assert match_header("女党员数") is None and resembles("女党员数")
    names = [name for name, _ in suggest_columns("女党员数")]
    scores = [score for _, score in suggest_columns("女党员数")]
    assert names == ["members_total", "members_full", "members_probationary"]
    assert scores == pytest.approx([6 / 7, 6 / 9, 6 / 9], abs=1e-3)
    assert suggest_columns("女党员数", limit=1) == suggest_columns("女党员数")[:1]


def test_every_template_text_suggests_its_own_column_first():
    assert [suggest_columns(text)[0] for text, _ in ALL_TEXTS] == [(name, 1.0) for _, name in ALL_TEXTS]


TEMPLATE_CHARS = sorted({c for text, _ in ALL_TEXTS for c in text} | set("女年龄备注联系人电话"))


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=TEMPLATE_CHARS, max_size=12), st.integers(1, 5))
def test_suggestions_are_distinct_ranked_bounded_and_agree_with_resembles(text: str, limit: int):
    suggestions = suggest_columns(text, limit)
    scores = [score for _, score in suggestions]
    assert len(suggestions) <= limit and len({name for name, _ in suggestions}) == len(suggestions)
    assert scores == sorted(scores, reverse=True) and all(RESEMBLES <= s <= 1 for s in scores)
    assert resembles(text) == (match_header(text) is None and bool(suggest_columns(text)))


def test_header_key_is_idempotent_and_width_blind():
    for text, _ in ALL_TEXTS:
        key = header_key(text)
        assert header_key(key) == key
        assert header_key(full_width(text)) == key == header_key(unicodedata.normalize("NFKC", text))


@pytest.mark.parametrize(("header", "key"), [("（人）", "(人)"), ("【必填】", "【必填】"), ("其中：", "其中:")])
def test_a_header_that_is_only_decoration_keeps_its_less_stripped_text(header: str, key: str):
    assert header_key(header) == key and match_header(header) is None


# Every column decorated the way one office writes it: quotes, 其中, list numbers, hints, units, line breaks
DECORATED = {
    "system": "1.所属系统\n【必填】",
    "unit": "“单位”名称（全称）",
    "org_name": "党组织\n名称（全称）",
    "org_type": "组织类型\n（党委/党总支/党支部/联合党支部）",
    "members_total": "党员总数\n（人）",
    "members_full": "其中：正式党员（人）",
    "members_probationary": "其中：预备党员（人）",
    "has_secretary": "书记是否配备\n（是/否）",
    "last_election_date": "本届换届\n选举时间",
    "committee_meetings": "“三会一课”支委会次数（次）",
    "general_meetings": "“三会一课”党员大会次数（次）",
    "group_meetings": "“三会一课”党小组会次数（次）",
    "party_lectures": "“三会一课”党课次数（次）",
    "theme_days": "“主题党日”次数（次）",
    "life_meetings": "组织生活会\n次数（次）",
    "member_review_done": "民主评议党员\n是否完成（是/否）",
    "online_record_rate": "“三会一课”线上录入率（%）",
    "study_rate": "「学习强国」参学率（%）",
    "records_standard": "台账资料是否规范\n（是/否）",
    "dues_due": "党费应缴\n（元）",
    "dues_paid": "党费实缴\n（元）",
    "activists": "入党积极分子数\n（人）",
    "candidates": "发展对象数（人）",
    "new_probationary": "接收预备党员数（人）",
    "converted": "其中：预备党员转正数（人）",
    "joint_meetings": "党建业务“同部署”次数（次）",
    "pb_plus_projects": "“党建＋”项目数（个）",
    "vanguard_posts": "“党员先锋岗”数（个）",
    "business_completion": "业务目标\n完成率（%）",
    "issues_found": "检视问题数（个）",
    "issues_fixed": "其中：已整改问题数（个）",
    "secretary_review": "书记述职评议等次\n（好/较好/一般/差/未评）",
    "model_level": "创建等级：\n（市级样板/区级示范/无）",
    "org_category": "党组织类别\n（在职/离退休）",
}


def workbook(headers: list[str], rows: list[list]) -> bytes:
    """A real xlsx: a title line, the header row, the rows."""
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
    assert set(DECORATED) == set(template.names)
    assert all(DECORATED[c.name] != c.header for c in template.columns)
    values = {"system": "经济系统", "unit": "区财政局", "org_type": "党支部", "members_total": 12, "members_full": 10,
              "members_probationary": 2, "has_secretary": "是", "last_election_date": dt.datetime(2023, 3, 15),
              "online_record_rate": 85, "study_rate": 92.5, "dues_due": 1200.5, "dues_paid": 1180,
              "secretary_review": "好", "model_level": "区级示范", "member_review_done": "否", "records_standard": "是",
              "org_category": "在职"}  # fmt: skip
    rows = [
        [values.get(c.name, f"第{i}党支部" if c.name == "org_name" else i) for c in template.columns] for i in range(5)
    ]
    clean = ingest_bytes(workbook([c.header for c in template.columns], rows), "clean.xlsx", quarter="2024Q1")
    messy = ingest_bytes(workbook([DECORATED[c.name] for c in template.columns], rows), "messy.xlsx", quarter="2024Q1")
    assert clean.errors == [] and messy.errors == [] and messy.unmapped == []
    assert not [p for p in messy.problems if "未识别" in p.message]
    pd.testing.assert_frame_equal(messy.records, clean.records)
    assert len(messy.records) == 5 and set(template.names) <= set(messy.records.columns)
