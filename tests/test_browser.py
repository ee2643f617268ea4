"""One real-browser test: `streamlit run` on a free port, headless Chromium, upload, see it loaded."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import openpyxl
import pytest

from analytics.accounts import audit, auth
from analytics.store import database as store
from tests.records import ODD_RATE, RATES, csv_bytes, odd_header_workbook, org
from tests.sessions import browser_sign_in

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "browser-pass-1"
CHROMIUM = "/usr/bin/chromium"
pytestmark = pytest.mark.browser


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(tmp_path: Path):
    """A streamlit server on a temp database; yields (url, db path); prints its output on failure."""
    port = free_port()
    db = tmp_path / "browser.duckdb"
    log = tmp_path / "server.log"
    env = os.environ | {"DANGJIAN_DB": str(db)}
    with store.connect(db) as con:
        auth.add_user(con, "分析员甲", PASSWORD, "analyst", actor="tests")
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                "app.py",
                "--server.headless",
                "true",
                "--server.port",
                str(port),
                "--server.address",
                "127.0.0.1",
                "--browser.gatherUsageStats",
                "false",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                time.sleep(0.3)
        else:
            pytest.fail("streamlit did not start:\n" + log.read_text(errors="replace"))
        yield url, db
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        print(log.read_text(errors="replace"))


@pytest.mark.skipif(not shutil.which(CHROMIUM), reason="system chromium is installed by .ci/run")
def test_sign_in_upload_a_workbook_and_see_the_chart_in_a_real_browser(server, tmp_path: Path):
    from playwright.sync_api import expect, sync_playwright

    url, db = server
    upload = tmp_path / "2024年第一季度报表.csv"
    upload.write_bytes(csv_bytes([org(i, unit=i % 3) for i in range(6)]))
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
        )
        page = browser.new_page()
        page.goto(url, wait_until="domcontentloaded")
        page.get_by_label("用户名").fill("分析员甲")
        page.get_by_label("密码").fill("wrong-password")
        page.get_by_role("button", name="登录").click()
        expect(page.get_by_text("用户名或密码不正确")).to_be_visible(timeout=30_000)
        page.get_by_label("密码").fill(PASSWORD)
        page.get_by_role("button", name="登录").click()
        page.get_by_role("link", name="数据上传").click()
        page.get_by_test_id("stFileUploader").locator("input[type=file]").set_input_files(str(upload))
        load = page.get_by_role("button", name="确认载入")
        expect(load).to_be_visible(timeout=30_000)
        load.click()
        expect(page.get_by_text("已载入「2024年第一季度报表.csv」")).to_be_visible(timeout=30_000)
        values = page.get_by_test_id("stMetricValue").all_inner_texts()
        page.get_by_role("link", name="总览").click()
        expect(page.get_by_test_id("stPlotlyChart").first).to_be_visible(timeout=60_000)
        expect(page.get_by_text("2024Q1 总览")).to_be_visible()
        shown = page.get_by_test_id("stMetricValue").all_inner_texts()
        page.screenshot(path=str(tmp_path / "overview.png"), full_page=True)
        page.get_by_role("link", name="预警").click()
        with page.expect_download(timeout=60_000) as fetched:  # the workbook is written on the click
            page.get_by_role("button", name="下载全部预警清单（XLSX）").click()
        saved = tmp_path / "alerts.xlsx"
        fetched.value.save_as(saved)
        offered = fetched.value.suggested_filename
        browser.close()
    assert offered == "2024Q1_预警清单.xlsx"
    assert openpyxl.load_workbook(saved).sheetnames[:2] == ["换届超期", "半年内到期换届"]
    assert "6" in values
    assert "6 个" in shown  # 参评党组织 on 总览
    with store.connect(db) as con:
        assert len(store.quarter_records(con, "2024Q1")) == 6
        log = audit.events(con)
    actions = list(zip(log["user_name"], log["action"], strict=True))
    assert ("分析员甲", "login_failed") in actions and ("分析员甲", "login_ok") in actions
    assert ("分析员甲", "upload") in actions
    assert ("分析员甲", "export") in actions  # the download of the alert lists is audited


@pytest.mark.skipif(not shutil.which(CHROMIUM), reason="system chromium is installed by .ci/run")
def test_an_unrecognized_header_is_confirmed_once_in_a_real_browser(server, tmp_path: Path):
    from playwright.sync_api import expect, sync_playwright

    url, db = server
    first, second = tmp_path / "一季度.xlsx", tmp_path / "二季度.xlsx"
    first.write_bytes(odd_header_workbook("2024年第一季度", extra=False))
    second.write_bytes(odd_header_workbook("2024年第二季度", extra=False))
    with sync_playwright() as p:
        browser, page = browser_sign_in(p, url, "分析员甲", PASSWORD)
        page.get_by_role("link", name="数据上传").click()
        uploader = page.get_by_test_id("stFileUploader").locator("input[type=file]")
        uploader.set_input_files(str(first))
        expect(page.get_by_text("确认未识别的列")).to_be_visible(timeout=30_000)
        choice = page.get_by_role("combobox", name=f"「{ODD_RATE}」对应模板中的")
        expect(choice).to_have_value("三会一课线上录入率(%)")  # the suggestion is preselected
        expect(page.get_by_role("button", name="确认载入")).to_have_count(0)
        page.get_by_role("button", name="确认对应关系").click()
        page.get_by_role("button", name="确认载入").click()
        expect(page.get_by_text("已载入「一季度.xlsx」")).to_be_visible(timeout=30_000)
        page.get_by_role("link", name="批次管理").click()  # away and back: a fresh uploader, as next quarter
        expect(page.get_by_role("heading", name="批次管理")).to_be_visible(timeout=30_000)
        page.get_by_role("link", name="数据上传").click()
        page.get_by_test_id("stFileUploader").locator("input[type=file]").set_input_files(str(second))
        load = page.get_by_role("button", name="确认载入")
        expect(load).to_be_visible(timeout=30_000)
        asked = page.get_by_text("确认未识别的列").count()
        load.click()
        expect(page.get_by_text("已载入「二季度.xlsx」")).to_be_visible(timeout=30_000)
        browser.close()
    assert asked == 0
    with store.connect(db) as con:
        for quarter in ("2024Q1", "2024Q2"):
            rates = store.quarter_records(con, quarter).sort_values("org_name")["online_record_rate"].tolist()
            assert rates == RATES
        log = audit.events(con)
    assert ("分析员甲", "mapping_save") in set(zip(log["user_name"], log["action"], strict=True))


@pytest.mark.skipif(not shutil.which(CHROMIUM), reason="system chromium is installed by .ci/run")
def test_a_page_address_opened_first_on_a_fresh_server_shows_the_sign_in_form(server):
    # Until a session has run app.py, Streamlit treats pages/ as a legacy page folder: /upload would run
    # pages/upload.py without the frame, so without the sign-in form
    from playwright.sync_api import expect, sync_playwright

    url, _ = server
    with sync_playwright() as p:
        browser, page = browser_sign_in(p, f"{url}/upload", "分析员甲", PASSWORD)
        expect(page.get_by_role("link", name="数据上传")).to_be_visible(timeout=30_000)
        page.get_by_role("link", name="数据上传").click()
        expect(page.get_by_test_id("stFileUploader")).to_be_visible(timeout=30_000)
        browser.close()
