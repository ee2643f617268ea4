"""A hostile user's moves (issue 19): the first-run admin race, formulas in CSV read-outs, names written as markdown
or chart HTML. Each is the reproduction from the issue, failing before its fix."""

from __future__ import annotations

import csv
import io
import threading
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from analytics.accounts import auth, throttle
from analytics.charts import charts, images
from analytics.ingest.records import ingest_bytes
from analytics.scoring.rubric import load_rubric
from analytics.scoring.scores import for_quarter
from analytics.store import batches
from analytics.store import database as store
from pages._ui import plain
from tests.anydata import run_cli
from tests.records import csv_bytes, org
from tests.sessions import as_user

ROOT = Path(__file__).resolve().parent.parent
FORMULAS = ['=HYPERLINK("http://evil.example","点我")', "+cmd|' /C calc'!A0", "@SUM(1)", "-2+3"]
MARKDOWN = "![x](http://evil.example/a.png) **粗体** $x^2$ :red[红字] <b>标签</b>"
LINK = "<a href='http://evil.example/'>恶意链接</a>"


def test_four_browsers_creating_the_first_admin_at_once_make_one_admin(tmp_path: Path):
    outcomes: list[str] = []
    with store.connect(tmp_path / "a.duckdb") as con:
        cursors = [con.cursor() for _ in range(4)]

        def submit(i: int) -> None:
            try:
                auth.add_user(cursors[i], f"管理员{i}", "correct-horse-1", "admin", actor=f"管理员{i}", first=True)
                outcomes.append("created")
            except auth.AuthError as exc:
                outcomes.append(str(exc))

        threads = [threading.Thread(target=submit, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert con.execute("SELECT count(*) FROM users").fetchall() == [(1,)]
    assert sorted(outcomes) == ["created"] + ["管理员账户已经创建，请直接登录。"] * 3


def loaded(path: Path, names: list[str], unit: str = "单位0") -> None:
    rows = [org(i, org_name=name) | {"unit": unit} for i, name in enumerate(names)]
    data = csv_bytes(rows)
    with store.connect(path) as con:
        report = ingest_bytes(data, "q1.csv")
        assert not report.errors, report.errors[:2]
        batches.load_batch(con, report, data, "tester")


@pytest.mark.parametrize("command", ["dump", "scores"])
def test_formula_names_come_out_of_the_cli_csv_as_text(tmp_path: Path, command: str):
    loaded(db := tmp_path / "a.duckdb", FORMULAS)
    code, out, err = run_cli(command, "--db", str(db), "--quarter", "2024Q1")
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    names = sorted(r["org_name"] for r in rows)
    assert names == sorted("'" + f for f in FORMULAS)  # a spreadsheet shows them, never runs them


def test_an_organization_name_on_the_branch_page_is_shown_as_typed_not_as_markdown(db_path: Path):
    loaded(db_path, [MARKDOWN])
    at = as_user(AppTest.from_file(str(ROOT / "app.py"), default_timeout=120), "leader").run()
    at.switch_page("pages/branch.py").run()
    assert not at.exception, at.exception
    heading = at.subheader[0].value
    assert heading.startswith(plain(MARKDOWN) + "（")
    # every markdown sign of the name is escaped: nothing left to render an image, bold, LaTeX or colour
    name = heading[: heading.rindex("（")]
    assert all(name[i - 1] == "\\" for i, ch in enumerate(name) if ch in "![]()*$:<>"), name


def test_plain_escapes_every_markdown_sign_and_keeps_the_text():
    text = plain(MARKDOWN)
    assert text.replace("\\", "") == MARKDOWN
    assert all(text[i - 1] == "\\" for i, ch in enumerate(text) if ch in "![]()*$:<>")


@pytest.mark.chromium
def test_a_link_in_a_unit_name_is_plain_text_on_the_chart_and_in_the_exported_svg(tmp_path: Path):
    loaded(db := tmp_path / "a.duckdb", ["第一党支部"], unit=LINK)
    with store.connect(db) as con:
        frame = for_quarter(con, "2024Q1", load_rubric())
    fig = charts.quadrant_scatter(frame)
    assert all(
        "<a " not in str(v) for t in fig.data for v in (t.customdata.ravel() if t.customdata is not None else [])
    )
    svg = images.render(charts.score_distribution(frame, "unit", "standardization"), "svg")
    text = svg.decode("utf-8")
    # the name is there as text (its angle brackets written as character references), never as an <a> element
    assert "&#60;a href='http://evil.example/'&#62;恶意链接" in text
    assert "<a " not in text and "<a>" not in text


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_guesses_from_one_session_wait_twice_as_long_after_each_failure_then_are_blocked():
    clock = Clock()
    guard, keys = throttle.Throttle(clock), [("session", "s1")]
    waits = []
    for _ in range(throttle.BLOCK_AFTER["session"]):
        waits.append(guard.wait(keys))
        guard.failed(keys)
    # three free tries, then 2, 4, 8, 16, 32, 60, 60 seconds after the previous failure (no time passed here)
    assert waits == [0, 0, 0, 2, 4, 8, 16, 32, 60, 60]
    assert guard.wait(keys) == throttle.BLOCK_FOR  # the tenth failure blocks for 15 minutes
    clock.now += throttle.BLOCK_FOR
    assert guard.wait(keys) == 0
    guard.failed(keys)
    assert guard.wait(keys) == 2  # after a block the next failures are slowed at once, not free again


def test_a_success_clears_the_session_but_not_the_address_shared_by_an_office():
    guard = throttle.Throttle(Clock())
    keys = [("session", "s1"), ("address", "10.0.0.8")]
    for _ in range(5):
        guard.failed(keys)
    guard.succeeded(keys)
    assert guard.wait([("session", "s1")]) == 0
    assert guard.wait([("address", "10.0.0.8")]) == 8
    assert guard.wait(keys) == 8  # a new session from the same address waits as the address does


def test_a_spray_over_many_accounts_from_one_browser_is_refused_before_the_password_is_checked(db_path: Path):
    with store.connect(db_path) as con:
        for name in ("甲", "乙", "丙", "丁"):
            auth.add_user(con, name, "correct-horse-1", "analyst", actor="tests")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    for name in ("甲", "乙", "丙"):  # one wrong guess each: no account comes near its own lockout
        at.text_input(key="login_name").input(name)
        at.text_input(key="login_password").input("wrong-password-1")
        at.button[0].click().run()
        assert any("用户名或密码不正确" in e.value for e in at.error)
    at.text_input(key="login_name").input("丁")
    at.text_input(key="login_password").input("correct-horse-1")  # even the right password waits
    at.button[0].click().run()
    assert any("秒后再试" in e.value for e in at.error) and "user" not in at.session_state
    with store.connect(db_path) as con:
        assert con.execute("SELECT failed_logins FROM users WHERE name = '丁'").fetchall() == [(0,)]


def test_every_cli_read_out_and_change_is_audited(tmp_path: Path):
    loaded(db := tmp_path / "a.duckdb", ["第一党支部"])
    for args in (["dump", "--quarter", "2024Q1"], ["scores", "--quarter", "2024Q1"],
                 ["term", "--system", "系统0", "--unit", "单位0", "--org", "第一党支部", "--years", "5"]):  # fmt: skip
        code, _, err = run_cli(args[0], "--db", str(db), *args[1:])
        assert code == 0, err
    with store.connect(db) as con:
        rows = con.execute("SELECT user_name, action, detail FROM audit_log ORDER BY event_id").fetchall()
    assert [(u, a) for u, a, _ in rows] == [("cli", "data_read"), ("cli", "data_read"), ("cli", "term_change")]
    assert '"command": "dump"' in rows[0][2] and '"rows": 1' in rows[0][2] and '"command": "scores"' in rows[1][2]
    assert "任期设为 5 年" in rows[2][2]
