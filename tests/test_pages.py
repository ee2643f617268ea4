"""The pages under streamlit.testing.v1.AppTest, on a real temp DuckDB file."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from analytics.ingest.records import ingest_bytes
from analytics.store import batches
from analytics.store import database as store
from tests.records import csv_bytes, org
from tests.sessions import as_user

ROOT = Path(__file__).resolve().parent.parent
CSV_MIME = "text/csv"
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def app_on(page: str | None = None) -> AppTest:
    at = as_user(AppTest.from_file(str(ROOT / "app.py"), default_timeout=60))
    at.run()
    if page:
        at.switch_page(page)
        at.run()
    assert not at.exception, at.exception
    return at


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def seed(db_path: Path, rows: list[dict], title: str = "2024年第一季度") -> batches.LoadResult:
    data = csv_bytes(rows, title)
    with store.connect(db_path) as con:
        return batches.load_batch(con, ingest_bytes(data, "seed.csv"), data, "tester")


def test_home_without_data_tells_the_user_to_upload(db_path: Path):
    at = app_on("pages/home.py")
    assert any("还没有任何数据" in i.value for i in at.info)


def test_home_shows_what_is_loaded(db_path: Path):
    seed(db_path, [org(i, unit=i % 4) for i in range(7)])
    seed(db_path, [org(i) for i in range(3)], "2024年第二季度")
    shown = metrics(app_on("pages/home.py"))
    assert shown["已有季度"] == "2 个"
    assert shown["2024Q2 党组织数"] == "3"
    assert shown["2024Q2 单位数"] == "1"


def test_upload_page_validates_then_loads_the_file_and_shows_the_count(db_path: Path):
    data = csv_bytes([org(i, unit=i % 3) for i in range(5)])
    at = app_on("pages/upload.py")
    at.file_uploader(key="files").upload("季度报表.csv", data, CSV_MIME)
    at.run()
    assert metrics(at)["可载入的党组织"] == "5"
    assert metrics(at)["季度"] == "2024Q1"
    with store.connect(db_path) as con:
        assert batches.history(con).empty  # validation alone stores nothing
    at.button(key="load").click().run()
    assert not at.exception
    assert metrics(at)["本次载入党组织数"] == "5"
    with store.connect(db_path) as con:
        assert len(store.quarter_records(con, "2024Q1")) == 5


def test_upload_page_lists_every_problem_and_loads_nothing(db_path: Path):
    rows = [org(1), org(2, members_full=20), org(3, online_record_rate=130)]
    at = app_on("pages/upload.py")
    at.file_uploader(key="files").upload("bad.csv", csv_bytes(rows), CSV_MIME)
    at.run()
    assert metrics(at)["错误"] == "2"
    table = at.dataframe[0].value
    problems = table[table["类别"] == "错误"]
    assert set(problems["行号"]) == {"4", "5"}  # title line 1, header line 2, data from line 3
    assert set(problems["列"]) == {"正式党员数", "三会一课线上录入率(%)"}
    assert not at.button  # no load button while errors block
    assert any("未载入任何数据" in e.value for e in at.error)


def test_a_file_that_cannot_be_read_shows_its_problem_for_the_whole_file_not_a_row(db_path: Path):
    at = app_on("pages/upload.py")
    at.file_uploader(key="files").upload("坏文件.xlsx", b"PK\x03\x04 not really a workbook", XLSX_MIME)
    at.run()
    # the whole message in one line of its own, not cut off in a table cell with a row number
    assert not at.dataframe
    assert [e.value for e in at.error if "损坏" in e.value] == [
        "无法打开该文件：文件已损坏（压缩包结构不完整，可能下载或拷贝时被截断），请重新导出后上传。"
    ]


def test_a_file_over_the_limit_is_refused_by_the_app_in_chinese_not_by_the_uploader_in_english(db_path: Path):
    import tomllib

    from analytics.ingest.sheets.workbook import MAX_BYTES

    # the server lets a file somewhat over the ingest's limit through, so the app is the one that says no
    server = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))["server"]
    assert server["maxUploadSize"] * 1024 * 1024 > MAX_BYTES + 20 * 1024 * 1024
    at = app_on("pages/upload.py")
    at.file_uploader(key="files").upload("全年汇总.xlsx", b"PK\x03\x04" + bytes(MAX_BYTES + 1024 * 1024), XLSX_MIME)
    at.run()
    assert [e.value for e in at.error if "超过上限" in e.value] == ["文件大小 101 MB，超过上限 100 MB，请拆分后上传。"]


def test_upload_page_can_load_only_the_valid_rows(db_path: Path):
    rows = [org(1), org(2, members_full=20), org(3)]
    at = app_on("pages/upload.py")
    at.file_uploader(key="files").upload("bad.csv", csv_bytes(rows), CSV_MIME)
    at.run()
    at.checkbox(key="valid_only").check().run()
    at.button(key="load").click().run()
    with store.connect(db_path) as con:
        assert sorted(store.quarter_records(con, "2024Q1")["org_name"]) == ["第1党支部", "第3党支部"]
        assert batches.history(con)["skipped_count"].tolist() == [1]


def test_upload_page_asks_for_the_quarter_when_it_cannot_be_detected(db_path: Path):
    data = csv_bytes([org(1)], quarter_title="某某")
    at = app_on("pages/upload.py")
    at.file_uploader(key="files").upload("无季度.csv", data, CSV_MIME)
    at.run()
    assert metrics(at)["季度"] == "未识别"
    assert any("无法识别季度" in w.value for w in at.warning)
    at.text_input(key="quarter").input("2023q4").run()
    assert metrics(at)["季度"] == "2023Q4"
    at.button(key="load").click().run()
    with store.connect(db_path) as con:
        assert store.quarters(con) == ["2023Q4"]


def test_a_file_that_cannot_be_read_gets_one_clear_message_and_no_advice_about_quarters_or_rows(db_path: Path):
    at = app_on("pages/upload.py")
    at.file_uploader(key="files").upload("报表.xlsx", b"%PDF-1.4 not a workbook", XLSX_MIME)
    at.file_uploader(key="files").upload("空文件.csv", b"", CSV_MIME)
    at.run()
    errors = [e.value for e in at.error]
    assert "文件内容不是有效的表格，而是PDF 文件；请上传 .xlsx、.xls、.ods 或 .csv 文件。" in errors
    assert "文件为空（0 字节），请重新导出后上传。" in errors
    assert not metrics(at) and not at.warning  # no 季度 未识别, no counts of a file that was never read
    (summary,) = [e for e in errors if e.startswith("未载入任何数据")]
    assert "无法读取" in summary and "重新导出" in summary
    assert "只载入无错误的行" not in summary and "季度" not in summary
    # ticking 只载入无错误的行 changes nothing: the same message, nothing loaded
    at.checkbox(key="valid_only").check().run()
    assert any(e.value.startswith("未载入任何数据") for e in at.error) and "load" not in [b.key for b in at.button]
    with store.connect(db_path) as con:
        assert store.quarters(con) == []


def test_upload_page_shows_how_the_file_differs_from_stored_data(db_path: Path):
    seed(db_path, [org(1), org(2)])
    at = app_on("pages/upload.py")
    at.file_uploader(key="files").upload("新.csv", csv_bytes([org(1), org(2, theme_days=0), org(3)]), CSV_MIME)
    at.run()
    assert any("新增 1 个，变更 1 个，未变 1 个" in m.value for m in at.markdown)


def test_batches_page_rolls_back_only_after_confirmation(db_path: Path):
    seed(db_path, [org(1, theme_days=1)])
    second = seed(db_path, [org(1, theme_days=2), org(2)], "2024Q1")
    at = app_on("pages/batches.py")
    assert at.selectbox(key="batch").value == second.batch_id
    assert at.button(key="rollback").disabled
    at.checkbox(key="confirm").check().run()
    at.button(key="rollback").click().run()
    assert any(f"批次 {second.batch_id} 已回退" in s.value for s in at.success)
    with store.connect(db_path) as con:
        frame = store.quarter_records(con, "2024Q1")
    assert frame["theme_days"].tolist() == [1]


def test_the_method_page_states_the_values_the_rubric_and_the_robustness_check_use(db_path: Path, monkeypatch):
    from analytics.scoring import robustness

    monkeypatch.setattr(robustness, "DRAWS", 500)  # the page reads it where it is declared, not a copy
    text = " ".join(m.value for m in app_on("pages/method.py").markdown)
    assert "重算 500 次" in text and "±25%" in text
    assert "党委 5 年" in text and "党支部 3 年" in text  # data/rubric.toml: S3 years
