"""A hostile user's moves (issue 19): the first-run admin race, formulas in CSV read-outs, names written as markdown
or chart HTML. Each is the reproduction from the issue, failing before its fix."""

from __future__ import annotations

import csv
import io
import threading
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from analytics.accounts import audit, auth, throttle
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


def test_a_scoped_analyst_cannot_pull_down_another_systems_unit_of_the_same_name(demo_db: Path):
    """The issue's reproduction: the 经济系统 analyst uploads 经济系统 rows under 区人民检察院 (a 政法系统 unit).
    A unit is (system, unit): the 政法 unit keeps its organizations, mean and rank; the new rows are another unit."""
    from analytics.accounts import access
    from analytics.meeting import meeting

    rubric = load_rubric()
    with store.connect(demo_db) as con:
        before = meeting.build(con, "2024Q4", rubric).units.set_index("unit")
        target = before.loc["区人民检察院"]
        weak = [
            org(i, org_name=f"区人民检察院第{i}支部", committee_meetings=0, theme_days=0, online_record_rate=0,
                has_secretary="否", last_election_date="2015-01-01") | {"system": "经济系统", "unit": "区人民检察院"}
            for i in range(12)
        ]  # fmt: skip
        data = csv_bytes(weak)
        report = validate_uploads_one(con, data)
        warned = [p.message for p in report.problems if p.field == "unit"]
        assert warned and "同名单位属于政法系统" in warned[0] and "分别计分" in warned[0]
        analyst = auth.User("经济系统分析员", "analyst", ("经济系统",))
        access.load_as(con, analyst, [(report, data)])
        after = meeting.build(con, "2024Q4", rubric)
    units = after.units.set_index("unit")
    ours, theirs = units.loc["区人民检察院（政法系统）"], units.loc["区人民检察院（经济系统）"]
    assert "区人民检察院" not in units.index
    assert ours["system"] == "政法系统" and theirs["system"] == "经济系统"
    assert ours["organizations"] == target["organizations"] == 6 and theirs["organizations"] == 12
    assert ours["standardization"] == pytest.approx(target["standardization"])
    # the new unit ranks below every demo unit, so no demo unit moves: the 政法 unit keeps its rank
    assert ours["standardization_rank"] == target["standardization_rank"]
    assert theirs["standardization_rank"] == len(units)
    with store.connect(demo_db) as con:  # a filter on the unit is a filter on (system, unit)
        scoped = meeting.build(con, "2024Q4", rubric, {"unit": "区人民检察院（政法系统）"})
        dumped = store.quarter_records(con, "2024Q4")
    assert set(scoped.frame["system"]) == {"政法系统"} and len(scoped.frame) == 6
    # the dump keeps the unit as typed, so it uploads back as it was
    assert set(dumped[dumped["unit"].str.startswith("区人民检察院")]["unit"]) == {"区人民检察院"}


def validate_uploads_one(con, data: bytes):
    from analytics.uploads import validate_uploads

    (report,) = validate_uploads(con, [("经济系统.csv", data)], "2024Q4")
    assert not report.errors, report.errors[:2]
    return report


# Peak RSS of this process from VmHWM (its own memory since exec): getrusage's ru_maxrss keeps the high-water mark of
# the process image before exec, here the pytest worker that started the probe
MEMORY_PROBE = """
import json, sys, time
from analytics.ingest.records import ingest_bytes
data = open(sys.argv[1], "rb").read()
start = time.monotonic()
report = ingest_bytes(data, "上报.csv")
peak = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({"errors": [p.message for p in report.errors], "seconds": time.monotonic() - start, "self_kb": peak}))
"""


@pytest.mark.parametrize(
    "body",
    [b"\n" * (95 << 20), b"1,2,3,4,5,6,7,8,9,10\n" * (4 << 20), (b"1," * 300 + b"\n") * 150_000],
    ids=["blank-lines", "many-rows", "many-cells"],
)
def test_a_big_csv_is_refused_without_taking_the_servers_memory(tmp_path: Path, body: bytes):
    """The issue's finding: a 95 MB CSV of blank lines took the server from 0.31 GB to 7.6 GB. CSV is read in the
    memory-limited child and stops at the row limit: the process that asked (the server) stays small."""
    import json
    import subprocess
    import sys

    path = tmp_path / "上报.csv"
    path.write_bytes(body)
    done = subprocess.run(
        [sys.executable, "-c", MEMORY_PROBE, str(path)], capture_output=True, text=True, cwd=ROOT, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert len(answer["errors"]) == 1 and "超过上限" in answer["errors"][0], answer["errors"]
    # the file itself (≤ 95 MB) and the interpreter with pandas, DuckDB and Arrow loaded: well under 1 GB
    assert answer["self_kb"] < 1_000_000, answer


def test_a_zip_bomb_that_lies_about_its_sizes_is_refused_before_any_reader_inflates_it():
    """The issue's finding: a bomb whose headers declare 1 MB passed the declared-size check and cost ≈ 2.8 GB inside
    the reader. The package check inflates each part itself, to the end of its deflate stream, and stops the
    moment the real ratio passes the limit: a few MB of work, and the reader never runs."""
    import resource
    import time

    from analytics.ingest.sheets import package
    from tests.corpus import make_corpus

    bomb = make_corpus.zip_bomb(declared=1 << 20)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    problem = package.package_problem(bomb)
    elapsed = time.perf_counter() - start
    assert problem is not None and "压缩炸弹" in problem and "sheet1.xml" in problem
    assert elapsed < 5  # not a timing goal: 3.6 GB inflated would take half a minute here
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 100_000  # kB: nothing big was held
    report = ingest_bytes(bomb, "炸弹.xlsx")
    assert [p.message for p in report.errors] == [problem]


@pytest.mark.parametrize(
    "placed",
    [
        lambda dtd, xml: xml.replace(b"?>", b"?><!--" + b"x" * 200_000 + b"-->" + dtd, 1),  # after a long comment
        lambda dtd, xml: xml.replace(b"?>", b"?><!-- <a> -->" + dtd, 1),  # after a comment holding a tag
        lambda dtd, xml: xml + dtd,  # after the root element
    ],
    ids=["after-long-comment", "after-tag-in-comment", "after-root"],
)
def test_a_dtd_anywhere_in_any_part_is_refused(placed):
    from analytics.ingest.sheets import package
    from tests.corpus import make_corpus

    dtd = b'<!DOCTYPE sst [<!ENTITY a "ha">]>'
    book = make_corpus.repacked(make_corpus.report_book(), {"xl/sharedStrings.xml": lambda xml: placed(dtd, xml)})
    problem = package.package_problem(book)
    assert problem is not None and "DTD" in problem and "sharedStrings.xml" in problem
    # the same part in UTF-16, as a few tools write XML
    utf16 = make_corpus.repacked(
        make_corpus.report_book(),
        {"xl/sharedStrings.xml": lambda xml: b"\xff\xfe" + placed(dtd, xml).decode().encode("utf-16-le")},
    )
    assert "DTD" in (package.package_problem(utf16) or "")
    assert package.package_problem(make_corpus.report_book()) is None  # the plain workbook passes


def _store_state(con) -> dict:
    tables = (
        "records", "organizations", "batches", "users", "rubric_versions", "header_mappings", "rectifications",
        "rectification_history",
    )  # fmt: skip
    state = {t: con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in tables}
    state["active"] = con.execute("SELECT count(*) FROM batches WHERE status = 'active'").fetchall()[0][0]
    state["users"] = con.execute("SELECT name, disabled, password_hash FROM users ORDER BY name").fetchall()
    return state


def _user_functions() -> set[str]:
    """Every public function of analytics/ that takes a signed-in User (module.function), checks aside."""
    import importlib
    import inspect
    import pkgutil

    import analytics

    found = set()
    for info in pkgutil.walk_packages(analytics.__path__, "analytics."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            if fn.__module__ != module.__name__ or name.startswith("_"):
                continue
            if any("User" in str(p.annotation) for p in inspect.signature(fn).parameters.values()):
                found.add(f"{module.__name__.rsplit('.', 1)[-1]}.{name}")
    return found - {"access.can", "access.require", "access.outside_scope", "access.check_scope"}


def test_a_leader_or_scoped_analyst_calling_every_state_changing_function_directly_changes_nothing(demo_db: Path):
    """Issue 19 item 6: the library, not only the pages, refuses. Every public function taking a User is called
    as a leader and as the 经济系统 analyst with what they may not do; each is refused and the store is unchanged."""
    from analytics import mappings, uploads
    from analytics.accounts import access
    from analytics.rectify import items
    from analytics.scoring import rubric_versions
    from analytics.scoring.rubric import RUBRIC_PATH

    leader, analyst = auth.User("领导甲", "leader"), auth.User("经济分析员", "analyst", ("经济系统",))
    rows = [org(i) | {"system": "政法系统", "unit": "区人民法院"} for i in range(3)]
    data = csv_bytes(rows)
    text = RUBRIC_PATH.read_text(encoding="utf-8").replace('version = "', 'version = "hostile-', 1)
    with store.connect(demo_db) as con:
        auth.add_user(con, "管理员", "correct-horse-1", "admin")
        mappings.save(con, auth.User("管理员", "admin"), {"本支部党员数（人）": "members_total"})
        report = ingest_bytes(data, "政法.csv", "2024Q4")
        politics = con.execute(
            "SELECT DISTINCT r.batch_id FROM records r JOIN organizations o USING (org_id) WHERE o.system = '政法系统'"
        ).fetchall()[0][0]
        key = con.execute("SELECT header_key FROM header_mappings").fetchall()[0][0]
        problem = items.NewItem("units_falling", "2024Q4", "政法系统", "区人民法院")
        [item] = items.create(con, auth.User("管理员", "admin"), [problem]).item_ids
        other = items.NewItem("late_report", "2024Q4", "政法系统", "区人民法院")
        calls = {
            "access.load_as": lambda u: access.load_as(con, u, [(report, data)]),
            "access.rollback_as": lambda u: access.rollback_as(con, u, politics),
            "rubric_versions.save": lambda u: rubric_versions.save(con, u, text),
            "mappings.save": lambda u: mappings.save(con, u, {"发展对象预备人数": "members_probationary"}),
            "mappings.remove": lambda u: mappings.remove(con, u, key),
            "auth.reset_password": lambda u: auth.reset_password(con, u, "管理员", "another-horse-2"),
            "auth.set_disabled": lambda u: auth.set_disabled(con, u, "管理员", True),
            "uploads.load_as": lambda u: uploads.load_as(con, u, [(report, data)]),
            "uploads.rollback_as": lambda u: uploads.rollback_as(con, u, politics),
            "items.create": lambda u: items.create(con, u, [other]),
            "items.change": lambda u: items.change(con, u, [item], "in_progress", "越权"),
        }
        assert set(calls) == _user_functions()  # a new function taking a User must be added here
        allowed = {(analyst.name, "mappings.save")}  # an analyst confirms headers while uploading
        before = _store_state(con)
        for user in (leader, analyst):
            for name, call in calls.items():
                if (user.name, name) in allowed:
                    continue
                with pytest.raises(store.StoreError):  # AuthError is a StoreError: a Chinese message
                    call(user)
                assert _store_state(con) == before, (user.name, name)
        denied = audit.events(con, action="denied")
    assert set(denied["user_name"]) == {leader.name, analyst.name}
