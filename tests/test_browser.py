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

import pytest

from analytics import store
from tests.records import csv_bytes, org

ROOT = Path(__file__).resolve().parent.parent
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
def test_upload_a_workbook_in_a_real_browser_and_see_it_loaded(server, tmp_path: Path):
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
        page.goto(f"{url}/upload", wait_until="domcontentloaded")
        page.get_by_test_id("stFileUploader").locator("input[type=file]").set_input_files(str(upload))
        load = page.get_by_role("button", name="确认载入")
        expect(load).to_be_visible(timeout=30_000)
        load.click()
        expect(page.get_by_text("已载入「2024年第一季度报表.csv」")).to_be_visible(timeout=30_000)
        values = page.get_by_test_id("stMetricValue").all_inner_texts()
        page.screenshot(path=str(tmp_path / "upload.png"), full_page=True)
        browser.close()
    assert "6" in values
    with store.connect(db) as con:
        assert len(store.quarter_records(con, "2024Q1")) == 6
