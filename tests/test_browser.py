"""One real-browser test: `streamlit run` on a free port, headless Chromium, upload, see it loaded."""

from __future__ import annotations

import contextlib
import json
import shutil
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import openpyxl
import pytest

from analytics.accounts import audit, auth, sessions
from analytics.ingest.records import ingest_bytes
from analytics.store import batches
from analytics.store import database as store
from pages._session import NAVIGATION
from tests.records import ODD_RATE, RATES, csv_bytes, odd_header_workbook, org
from tests.server import streamlit_server
from tests.sessions import browser_sign_in

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "browser-pass-1"
CHROMIUM = "/usr/bin/chromium"
pytestmark = pytest.mark.browser


@pytest.fixture
def server(tmp_path: Path):
    """The app on a temp database with one analyst; yields (url, db path); prints its output at the end."""
    db, log = tmp_path / "browser.duckdb", tmp_path / "server.log"
    with store.connect(db) as con:
        auth.add_user(con, "分析员甲", PASSWORD, "analyst", actor="tests")
    try:
        with streamlit_server(db, log) as url:
            yield url, db
    finally:
        print(log.read_text(errors="replace"))


def upload_on_the_page(page, path: Path, timeout: float = 30_000) -> None:
    """Open 数据上传, choose the file, press 确认载入 and wait (up to `timeout` ms a step) until it says it is loaded."""
    from playwright.sync_api import expect

    page.get_by_role("link", name="数据上传").click()
    page.get_by_test_id("stFileUploader").locator("input[type=file]").set_input_files(str(path))
    load = page.get_by_role("button", name="确认载入")
    expect(load).to_be_visible(timeout=timeout)
    load.click()
    expect(page.get_by_text(f"已载入「{path.name}」")).to_be_visible(timeout=timeout)


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
        upload_on_the_page(page, upload)
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


def test_an_item_created_from_a_warning_is_shown_fixed_once_the_next_quarter_is_loaded(server, tmp_path: Path):
    from playwright.sync_api import expect, sync_playwright

    url, db = server
    first = csv_bytes([org(1, has_secretary="否"), org(2)])  # 第1党支部: 书记空缺 in 2024Q1
    with store.connect(db) as con:
        batches.load_batch(con, ingest_bytes(first, "一季度.csv"), first, "tests")
    second = tmp_path / "2024年第二季度报表.csv"
    second.write_bytes(csv_bytes([org(1, has_secretary="是"), org(2)], "2024年第二季度"))
    with sync_playwright() as p:
        browser, page = browser_sign_in(p, url, "分析员甲", PASSWORD)
        page.get_by_role("link", name="预警").click()
        vacant = page.get_by_test_id("stExpander").filter(has_text="书记空缺（1）")
        grid = vacant.get_by_test_id("stDataFrame")
        expect(grid).to_be_visible(timeout=60_000)
        grid.click(position={"x": 14, "y": 35 + 17})  # the row's selection box, left of the first row
        create = page.get_by_role("button", name="为选中的 1 项创建整改事项")
        expect(create).to_be_visible(timeout=30_000)
        create.click()
        expect(page.get_by_text("已创建整改事项 1 项")).to_be_visible(timeout=30_000)
        upload_on_the_page(page, second)
        page.get_by_role("link", name="整改督办").click()
        evidence = page.get_by_text("2024Q2 是否配备书记 否 → 是")
        expect(evidence).to_be_visible(timeout=60_000)
        shown = dict(
            zip(
                page.get_by_test_id("stMetricLabel").all_inner_texts(),
                page.get_by_test_id("stMetricValue").all_inner_texts(),
                strict=True,
            )
        )
        page.screenshot(path=str(tmp_path / "rectify.png"), full_page=True)
        browser.close()
    assert shown["待核验"] == "1" and shown["待整改"] == "0"
    with store.connect(db) as con:
        log = audit.events(con)
    actions = list(zip(log["user_name"], log["action"], strict=True))
    assert ("分析员甲", "rectify_create") in actions and ("分析员甲", "upload") in actions


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
        # the uploader speaks Chinese: Streamlit's "Upload" and "100MB per file" are hidden, replaced by style
        zone = page.get_by_test_id("stFileUploaderDropzone")
        expect(zone).to_be_visible(timeout=30_000)
        shown = zone.inner_text()
        assert "Upload" not in shown and "per file" not in shown, shown
        after = "el => getComputedStyle(el, '::after').content"
        assert zone.locator("button [data-testid=stMarkdownContainer]").evaluate(after) == '"选择文件"'
        assert "100 MB" in page.get_by_test_id("stFileUploaderDropzoneInstructions").locator("div").first.evaluate(
            after
        )
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
        # issue 19: an anonymous browser opening any page's address sees the sign-in form and none of the data
        stranger = browser.new_context().new_page()
        for address in PAGE_ADDRESSES:
            stranger.goto(f"{url}/{address}", wait_until="domcontentloaded")
            expect(stranger.get_by_label("用户名")).to_be_visible(timeout=30_000)
            for element in ("stDataFrame", "stMetric", "stPlotlyChart", "stDownloadButton", "stFileUploader"):
                assert stranger.get_by_test_id(element).count() == 0, (address, element)
        browser.close()


PAGE_ADDRESSES = sorted(Path(p).stem for entries in NAVIGATION.values() for p, *_ in entries)


@pytest.fixture
def district_server(tmp_path: Path):
    """The app on a database with an analyst and one quarter of three units; with a short idle timeout when asked."""

    @contextlib.contextmanager
    def start(minutes: str | None = None):
        db, log = tmp_path / "district.duckdb", tmp_path / "district.log"
        with store.connect(db) as con:
            auth.add_user(con, "分析员甲", PASSWORD, "analyst", actor="tests")
            data = csv_bytes([org(i, unit=i % 3) for i in range(6)])
            batches.load_batch(con, ingest_bytes(data, "q1.csv"), data, "tester")
        try:
            with streamlit_server(db, log, {"DANGJIAN_SESSION_MINUTES": minutes} if minutes else None) as url:
                yield url
        finally:
            print(log.read_text(errors="replace"))

    return start


def chromium(p):
    return p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"])


def sign_in_here(page) -> None:
    page.get_by_label("用户名").fill("分析员甲")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()


def signed_in_at(browser, address: str, heading: str):
    """A new browser context that opened `address` signed out, signed in there and sees `heading`."""
    from playwright.sync_api import expect

    context = browser.new_context()
    page = context.new_page()
    page.goto(address, wait_until="domcontentloaded")
    sign_in_here(page)
    expect(page.get_by_role("heading", name=heading)).to_be_visible(timeout=30_000)
    return context, page


def session_cookie(context, timeout: float = 20) -> dict:
    """The HttpOnly session cookie the page's script obtained after the sign-in (waits for it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [c for c in context.cookies() if c["name"] == sessions.COOKIE]
        if found:
            return found[0]
        time.sleep(0.2)
    pytest.fail("no session cookie after the sign-in")


@pytest.mark.skipif(not shutil.which(CHROMIUM), reason="system chromium is installed by .ci/run")
def test_a_reload_keeps_the_page_a_link_signs_in_to_its_page_and_a_signed_out_token_is_refused(district_server):
    from playwright.sync_api import expect, sync_playwright

    with district_server() as url, sync_playwright() as p:
        browser = chromium(p)
        # a link opened signed out: the sign-in form at that address, then the page itself
        first, page = signed_in_at(browser, f"{url}/branch", "支部画像")
        assert urlsplit(page.url).path == "/branch"
        cookie = session_cookie(first)
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
        assert cookie["value"] not in page.content()
        # F5: still signed in, still on 支部画像, no sign-in form
        page.reload(wait_until="domcontentloaded")
        expect(page.get_by_role("heading", name="支部画像")).to_be_visible(timeout=30_000)
        expect(page.get_by_label("密码")).to_have_count(0)
        # a second tab of the same browser opens another page's link signed in
        other = first.new_page()
        other.goto(f"{url}/method", wait_until="domcontentloaded")
        expect(other.get_by_role("heading", name="方法说明")).to_be_visible(timeout=30_000)
        # 总览 lives at "/", yet its file's name is an address too: an old bookmark finds it, in Chinese
        other.goto(f"{url}/overview", wait_until="domcontentloaded")
        expect(other.get_by_role("heading", name="2024Q1 总览")).to_be_visible(timeout=30_000)
        expect(other.get_by_text("Page not found")).to_have_count(0)
        # 退出登录: the old token, replayed by another browser, opens nothing
        page.get_by_role("button", name="退出登录").click()
        expect(page.get_by_label("密码")).to_be_visible(timeout=30_000)
        replay = browser.new_context()
        replay.add_cookies([{k: cookie[k] for k in ("name", "value", "domain", "path")}])
        stale = replay.new_page()
        stale.goto(f"{url}/branch", wait_until="domcontentloaded")
        expect(stale.get_by_label("密码")).to_be_visible(timeout=30_000)
        expect(stale.get_by_role("heading", name="支部画像")).to_have_count(0)
        text = stale.locator("body").inner_text()
        assert "Page not found" not in text and "not exist" not in text
        browser.close()


@pytest.mark.skipif(not shutil.which(CHROMIUM), reason="system chromium is installed by .ci/run")
def test_a_session_idle_longer_than_the_timeout_is_refused_on_reload(district_server):
    from playwright.sync_api import expect, sync_playwright

    with district_server(minutes="0.05") as url, sync_playwright() as p:  # 3 seconds
        browser = chromium(p)
        context, page = signed_in_at(browser, f"{url}/method", "方法说明")
        session_cookie(context)
        time.sleep(4)
        page.reload(wait_until="domcontentloaded")
        expect(page.get_by_label("密码")).to_be_visible(timeout=30_000)
        expect(page.get_by_role("heading", name="方法说明")).to_have_count(0)
        browser.close()


def test_the_session_route_answers_only_the_apps_own_pages_and_only_for_a_valid_ticket(district_server):
    def post(url: str, path: str, headers: dict[str, str]) -> tuple[int, str | None]:
        request = urllib.request.Request(f"{url}{path}", data=b"", headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return answer.status, answer.headers.get("set-cookie")
        except urllib.error.HTTPError as refused:
            return refused.code, refused.headers.get("set-cookie")

    with district_server() as url:
        own = {"Origin": url}
        assert post(url, "/auth/session", {"X-Ticket": "x"}) == (403, None)  # no Origin: not our page
        assert post(url, "/auth/session", {"Origin": "http://evil.example", "X-Ticket": "x"}) == (403, None)
        assert post(url, "/auth/session", own | {"X-Ticket": "not-a-ticket"}) == (400, None)
        assert post(url, "/auth/session?ticket=not-a-ticket", own) == (400, None)  # never read from the address
        status, cookie = post(url, "/auth/logout", own)
        assert status == 200 and cookie.startswith(f"{sessions.COOKIE}=") and "Max-Age=0" in cookie


@pytest.mark.skipif(not shutil.which(CHROMIUM), reason="system chromium is installed by .ci/run")
def test_a_signed_in_walk_over_every_page_calls_no_other_host_and_metrics_and_media_are_closed(
    district_server, tmp_path: Path
):
    from playwright.sync_api import expect, sync_playwright

    with district_server() as url, sync_playwright() as p:
        browser = chromium(p)
        context = browser.new_context()
        requests: list[str] = []
        context.on("request", lambda r: requests.append(r.url))
        page = context.new_page()
        page.goto(url, wait_until="domcontentloaded")
        sign_in_here(page)
        expect(page.get_by_role("heading", name="2024Q1 总览")).to_be_visible(timeout=30_000)
        session_cookie(context)
        links = page.get_by_test_id("stSidebarNavLink")
        expect(links.first).to_be_visible(timeout=30_000)
        addresses = [links.nth(i).get_attribute("href") for i in range(links.count())]
        assert len(addresses) >= 9, addresses
        for address in addresses:  # 整改督办 and 年度考核 among them
            page.goto(address, wait_until="networkidle")
            expect(page.get_by_test_id("stHeading").first).to_be_visible(timeout=30_000)
            assert page.get_by_test_id("stException").count() == 0, address
        assert any(a.endswith("/annual") for a in addresses) and any(a.endswith("/rectify") for a in addresses)
        # a download (served from /media/) still reaches the signed-in browser
        page.goto(f"{url}/alerts", wait_until="domcontentloaded")
        with page.expect_download(timeout=30_000) as download:
            page.get_by_role("button", name="下载全部预警清单（XLSX）").click()
        assert Path(download.value.path()).read_bytes()[:2] == b"PK"
        # the original file of a batch, as uploaded, and audited like every read-out
        page.goto(f"{url}/batches", wait_until="domcontentloaded")
        # the tables' own toolbar offers no unaudited "Download as CSV" (client.disableDataExport)
        page.get_by_test_id("stDataFrame").first.hover()
        expect(page.get_by_role("button", name="Search").first).to_be_visible(timeout=30_000)
        assert page.get_by_role("button", name="Download as CSV").count() == 0
        with page.expect_download(timeout=30_000) as original:
            page.get_by_role("button", name="下载原始文件").click()
        assert "所属系统".encode() in Path(original.value.path()).read_bytes()  # the uploaded CSV, as it came
        here = urlsplit(url).netloc
        outside = sorted({urlsplit(r).netloc for r in requests if urlsplit(r).scheme in ("http", "https", "ws", "wss")}
                         - {here})  # fmt: skip
        assert outside == [], outside
        # the page icon is drawn in the page itself, not fetched from a font CDN
        assert "fonts.gstatic.com" not in page.content()
        browser.close()
        # without a session: no metrics, no media file
        for path, code in (("/_stcore/metrics", 404), ("/media/0123456789abcdef.png", 403)):
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(url + path, timeout=10)
            assert refused.value.code == code, path
    with store.connect(tmp_path / "district.duckdb") as con:
        read_outs = audit.events(con, user="分析员甲", action="download")
    assert [json.loads(d) for d in read_outs["detail"]] == [{"file": "q1.csv", "batch": 1}]
