"""Many leaders at once (issue 20): K leaders sign in together in headless Chromium against a real
`streamlit run serve.py`, each waits for 总览 with its charts, then opens 单位不平衡; a soak of 16 sessions clicking
through the leader pages; 4 leaders exporting the meeting files at once.

The measure is the server process's CPU seconds per session, read from /proc (the browser shares the two cores,
so wall times include its work too: they are context, not the goal). Run:

    .venv/bin/python bench/load.py                         # demo district, 1/4/8/16 leaders, 5-minute soak
    .venv/bin/python bench/load.py --store 200000          # the synthetic 200k store (built once by bench/scale.py)
    .venv/bin/python bench/load.py --settings before       # the Streamlit defaults (polling watcher, per-run GC)
    .venv/bin/python bench/load.py --quick                 # 1/4 leaders, 30-second soak, 2 exports

Figures go to stdout as a table and to bench/out/load_<store>_<settings>.json; bench/load.md keeps them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
import scale  # noqa: E402  (bench/scale.py: the synthetic stores and their leader account)

OUT = ROOT / "bench" / "out"
CHROMIUM = "/usr/bin/chromium"
LEADER, PASSWORD = scale.LEADER, "bench-password-1"  # the account scale.finish_store opens
# (link text, what the page's first heading contains) of the leader pages the soak clicks through
LEADER_PAGES = [("总览", "总览"), ("标准化建设", "标准化"), ("党建业务融合", "融合"), ("单位不平衡", "不平衡"),
                ("支部画像", "画像"), ("预警", "预警")]  # fmt: skip
# Streamlit's defaults, as the server ran before issue 20 (.streamlit/config.toml now turns both off)
BEFORE = ["--server.fileWatcherType", "auto", "--server.runOnSave", "false", "--runner.postScriptGC", "true"]
TICK = os.sysconf("SC_CLK_TCK")


# --- the store -------------------------------------------------------------------------------------------------


def demo_store() -> Path:
    """The demo district in its own file (make run's data untouched), with the leader account."""
    from analytics.demo import load_demo
    from analytics.store import database as store

    db = OUT / "load_demo.duckdb"
    if not db.exists():
        with store.connect(db) as con:
            load_demo(con, uploader="bench")
        scale.finish_store(db, 0)
    return db


def synthetic_store(n: int) -> Path:
    """The synthetic store of n organizations, made by bench/scale.py's direct fill (reused once made)."""
    scale.OUT.mkdir(parents=True, exist_ok=True)
    db = scale.OUT / f"scale_{n}.duckdb"
    if not scale.has_tag(db, n):
        scale.fresh(db)
        scale.child("direct", str(db), str(n))
        scale.finish_store(db, n)
    return db


# --- the server and its CPU ------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(db: Path, settings: str, log: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    args = [sys.executable, "-m", "streamlit", "run", "serve.py", "--server.headless", "true", "--server.port",
            str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"]  # fmt: skip
    if settings == "before":
        args += BEFORE
    env = os.environ | {"DANGJIAN_DB": str(db), "DANGJIAN_SESSION_MINUTES": "60"}
    proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                return proc, url
        except OSError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            raise SystemExit("streamlit did not start:\n" + log.read_text(errors="replace")[-3000:])
        time.sleep(0.3)


def cpu_seconds(pid: int) -> float:
    """User + system CPU of the process itself (its threads included), from /proc/PID/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# --- leaders in the browser ------------------------------------------------------------------------------------


async def settled(page, heading: str, timeout: float = 120_000) -> None:
    """The page shows a heading containing `heading`, its charts (if any) are drawn and the script has finished."""
    await page.get_by_test_id("stHeading").filter(has_text=heading).first.wait_for(timeout=timeout)
    await page.wait_for_function(
        """() => !document.querySelector('[data-testid="stStatusWidget"]')
                 && document.querySelectorAll('[data-testid="stSkeleton"]').length === 0""",
        timeout=timeout,
    )
    charts = page.get_by_test_id("stPlotlyChart")
    if await charts.count():
        await charts.first.locator(".main-svg").first.wait_for(timeout=timeout)


async def browser_of_a_leader(browser, url: str, returning: bool):
    """A leader's own browser (context: own cookies and cache). returning: it has used the dashboard before (signed
    in, saw 总览, signed out), so the app's script files (hashed, served as immutable: about 7 MB, Plotly's 4.7 MB
    among them) are in its cache, as on a meeting morning; otherwise a first visit fetches them all."""
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    if returning:
        page, _ = await sign_in(context, url)
        await page.get_by_role("button", name="退出登录").click()
        await page.get_by_label("用户名").wait_for(timeout=120_000)
        await page.close()
    return context


async def sign_in(context, url: str) -> tuple[object, float]:
    """The leader signs in and waits for 总览 with its charts."""
    page = await context.new_page()
    start = time.perf_counter()
    await page.goto(url, wait_until="domcontentloaded")
    await page.get_by_label("用户名").fill(LEADER)
    await page.get_by_label("密码").fill(PASSWORD)
    await page.get_by_role("button", name="登录").click()
    await settled(page, "总览")
    return page, time.perf_counter() - start


async def open_page(page, link: str, heading: str) -> float:
    start = time.perf_counter()
    await page.get_by_test_id("stSidebarNavLink").filter(has_text=link).first.click()
    await settled(page, heading)
    return time.perf_counter() - start


def quantiles(values: list[float]) -> dict:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"p50": round(statistics.median(ordered), 2), "p95": round(p95, 2), "max": round(ordered[-1], 2)}


async def wave(browser, url: str, pid: int, k: int, returning: bool = True) -> dict:
    """k leaders at once: sign-in + 总览, then 单位不平衡; server CPU per session for each step."""
    contexts = [await browser_of_a_leader(browser, url, returning) for _ in range(k)]
    await asyncio.sleep(3)  # the priming sessions' runs are over before the measure starts
    before = cpu_seconds(pid)
    results = await asyncio.gather(*(sign_in(c, url) for c in contexts), return_exceptions=True)
    failures = [repr(r) for r in results if isinstance(r, BaseException)]
    pages = [r for r in results if not isinstance(r, BaseException)]
    middle = cpu_seconds(pid)
    second = await asyncio.gather(*(open_page(p, "单位不平衡", "不平衡") for p, _ in pages), return_exceptions=True)
    failures += [repr(r) for r in second if isinstance(r, BaseException)]
    after = cpu_seconds(pid)
    for page, _ in pages:
        await page.context.close()
    return {
        "leaders": k,
        "returning": returning,
        "ok": len(pages) - sum(isinstance(r, BaseException) for r in second),
        "failures": failures[:3],
        "overview_wall": quantiles([w for _, w in pages]) if pages else None,
        "overview_cpu_per_session": round((middle - before) / k, 3),
        "imbalance_wall": quantiles([w for w in second if not isinstance(w, BaseException)]) if pages else None,
        "imbalance_cpu_per_session": round((after - middle) / k, 3),
    }


async def soak(browser, url: str, pid: int, sessions: int, seconds: float) -> dict:
    """`sessions` leaders clicking through the leader pages for `seconds`; the server's RSS every 5 seconds."""
    contexts = [await browser_of_a_leader(browser, url, True) for _ in range(sessions)]
    signed = await asyncio.gather(*(sign_in(c, url) for c in contexts))
    pages = [p for p, _ in signed]
    clicks, errors, samples = [0], [], []
    end = time.monotonic() + seconds

    async def walk(page, offset: int) -> None:
        i = offset
        while time.monotonic() < end:
            link, heading = LEADER_PAGES[i % len(LEADER_PAGES)]
            try:
                await open_page(page, link, heading)
                clicks[0] += 1
            except Exception as exc:  # counted and reported, the soak goes on
                errors.append(repr(exc)[:200])
            i += 1

    async def sample() -> None:
        start = time.monotonic()
        while time.monotonic() < end:
            samples.append((round(time.monotonic() - start, 1), round(rss_mb(pid), 1)))
            await asyncio.sleep(5)
        samples.append((round(time.monotonic() - start, 1), round(rss_mb(pid), 1)))

    cpu_before = cpu_seconds(pid)
    await asyncio.gather(sample(), *(walk(p, i) for i, p in enumerate(pages)))
    cpu = cpu_seconds(pid) - cpu_before
    for page in pages:
        await page.context.close()
    last = [rss for t, rss in samples if t >= samples[-1][0] - min(180, seconds * 0.6)]
    return {
        "sessions": sessions, "seconds": seconds, "clicks": clicks[0], "errors": len(errors), "first_errors": errors[:3],
        "cpu_per_click": round(cpu / max(clicks[0], 1), 3), "rss_start_mb": samples[0][1], "rss_end_mb": samples[-1][1],
        "rss_growth_last_window_pct": round(100 * (last[-1] - last[0]) / last[0], 1) if last else None,
        "rss_samples": samples,
    }  # fmt: skip


async def exports(browser, url: str, k: int) -> dict:
    """k leaders on 导出 press 生成 at once (deck, workbook and bulletin by default) and wait for the files."""

    async def one() -> float:
        page, _ = await sign_in(await browser_of_a_leader(browser, url, True), url)
        await open_page(page, "导出", "导出")
        start = time.perf_counter()
        await page.get_by_role("button", name="生成").click()
        await page.get_by_text("已生成，请下载").wait_for(timeout=300_000)
        await page.get_by_test_id("stDownloadButton").first.wait_for(timeout=60_000)
        names = await page.get_by_test_id("stDownloadButton").all_inner_texts()
        await page.context.close()
        assert any(".pptx" in n for n in names), names
        return time.perf_counter() - start

    results = await asyncio.gather(*(one() for _ in range(k)), return_exceptions=True)
    walls = [r for r in results if not isinstance(r, BaseException)]
    return {"exports": k, "ok": len(walls), "failures": [repr(r)[:300] for r in results if isinstance(r, BaseException)],
            "wall": quantiles(walls) if walls else None}  # fmt: skip


async def run(url: str, pid: int, args: argparse.Namespace) -> dict:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        warm = await wave(browser, url, pid, 1)  # the first leader fills the caches (and is reported apart)
        waves = [await wave(browser, url, pid, k) for k in args.leaders]
        # the same leaders on a first visit: the browser fetches the app's script files too (about 6 MB)
        first = [await wave(browser, url, pid, k, returning=False) for k in args.leaders[-1:]]
        exported = await exports(browser, url, args.exports) if args.exports else None
        soaked = await soak(browser, url, pid, args.soak_sessions, args.soak_seconds) if args.soak_seconds else None
        await browser.close()
    return {"warm_up": warm, "waves": waves, "first_visit": first, "exports": exported, "soak": soaked}


def print_report(name: str, settings: str, report: dict) -> None:
    print(f"\n## {name}, settings {settings}\n")
    print("| leaders at once | all saw 总览 | 总览 wall p50 / p95 (s) | server CPU per session: sign-in + 总览 (s) "
          "| 单位不平衡 wall p50 (s) | server CPU per session: 单位不平衡 (s) |")  # fmt: skip
    print("|---|---|---|---|---|---|")
    for w in [report["warm_up"], *report["waves"], *report["first_visit"]]:
        label = f"{w['leaders']} (warm-up)" if w is report["warm_up"] else str(w["leaders"])
        label += "" if w["returning"] else " (first visit: empty browser cache)"
        o, i = w["overview_wall"] or {}, w["imbalance_wall"] or {}
        print(f"| {label} | {w['ok']}/{w['leaders']} | {o.get('p50')} / {o.get('p95')} | "
              f"{w['overview_cpu_per_session']} | {i.get('p50')} | {w['imbalance_cpu_per_session']} |")  # fmt: skip
    if e := report["exports"]:
        print(f"\nexports at once: {e['ok']}/{e['exports']} succeeded, wall {e['wall']}; failures {e['failures']}")
    if s := report["soak"]:
        print(f"\nsoak: {s['sessions']} sessions × {s['seconds']} s, {s['clicks']} page opens, {s['errors']} errors, "
              f"{s['cpu_per_click']} s server CPU per page open; RSS {s['rss_start_mb']} → {s['rss_end_mb']} MB, "
              f"growth over the last window {s['rss_growth_last_window_pct']} %")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", default="demo", help="demo, or a number of organizations (bench/scale.py)")
    parser.add_argument("--settings", choices=("production", "before"), default="production")
    parser.add_argument("--leaders", default="1,4,8,16")
    parser.add_argument("--soak-sessions", type=int, default=16)
    parser.add_argument("--soak-seconds", type=float, default=300)
    parser.add_argument("--exports", type=int, default=4)
    parser.add_argument("--quick", action="store_true", help="1 and 4 leaders, a 30-second soak of 4, 2 exports")
    args = parser.parse_args()
    if args.quick:
        args.leaders, args.soak_sessions, args.soak_seconds, args.exports = "1,4", 4, 30, 2
    args.leaders = [int(k) for k in args.leaders.split(",") if k]
    if not shutil.which(CHROMIUM):
        raise SystemExit(f"{CHROMIUM} is needed (apt-get install chromium)")
    OUT.mkdir(parents=True, exist_ok=True)
    db = demo_store() if args.store == "demo" else synthetic_store(int(args.store))
    log = OUT / f"load_{args.store}_{args.settings}.log"
    proc, url = start_server(db, args.settings, log)
    try:
        report = asyncio.run(run(url, proc.pid, args))
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    report |= {"store": args.store, "settings": args.settings, "cores": os.cpu_count()}
    (OUT / f"load_{args.store}_{args.settings}.json").write_text(json.dumps(report, ensure_ascii=False, indent=1))
    print_report(args.store, args.settings, report)


if __name__ == "__main__":
    main()
