"""What every output must do on any valid store (the any-data issue), as checks a property test runs on a
generated store: each CLI command, each export, each page as leader and as admin, and the 通报's narrative."""

from __future__ import annotations

import contextlib
import io
import json
import re
from pathlib import Path

import pandas as pd
from streamlit.testing.v1 import AppTest

from analytics import cli
from analytics.meeting import bulletin_text, meeting
from analytics.scoring.rubric import COMPOSITES, load_rubric
from analytics.store import database as store
from pages._session import navigation_for
from tests.sessions import as_user, ensure_user
from tests.test_bulletin_story import assert_heading_follows_the_changes, assert_no_unit_praised_and_blamed

ROOT = Path(__file__).resolve().parent.parent
LEAKS = re.compile(r"\bNone\b|\bnan\b|\bNaN\b|\binf\b|Traceback|程序内部错误")


def run_cli(*args: str) -> tuple[int, str, str]:
    """One command run in this process (as `python -m analytics`): exit code, stdout, stderr."""
    out, err = (io.TextIOWrapper(io.BytesIO(), encoding="utf-8") for _ in range(2))
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(list(args))
    texts = []
    for stream in (out, err):
        stream.flush()
        texts.append(stream.buffer.getvalue().decode("utf-8"))
    return code, *texts


def check_cli(db: Path, quarter: str, folder: Path, deck: bool) -> None:
    """Every read command exits 0 with nothing leaked; export writes every format; rollback undoes a batch."""
    base, system = ["--db", str(db)], None
    for args in (
        ["batches"],
        ["batches", "--json"],
        ["dump", "--quarter", quarter],
        ["scores", "--quarter", quarter],
        ["scores", "--quarter", quarter, "--format", "json"],
        ["imbalance", "--quarter", quarter],
        ["imbalance", "--quarter", quarter, "--by", "system", "--score", "integration", "--format", "json"],
        ["refresh"],
    ):
        code, out, err = run_cli(*args[:1], *base, *args[1:])
        assert code == 0, (args, err)
        assert not LEAKS.search(err), (args, err)
        if "json" in args or "--json" in args:
            parsed = json.loads(out)
            if args[0] == "scores":
                system = sorted({row["system"] for row in parsed})[-1]  # a system of this store, any shape of name
        elif args[0] == "imbalance":
            assert not LEAKS.search(out), out
    kinds = ("pptx", "xlsx", "docx") if deck else ("xlsx", "docx")
    files = {k: folder / f"out.{k}" for k in kinds}
    for scope in ([], ["--system", system]):
        args = [
            "export",
            *base,
            "--quarter",
            quarter,
            *scope,
            *(x for k, p in files.items() for x in (f"--{k}", str(p))),
        ]
        if deck and not scope:
            args += ["--png", str(folder / "png"), "--svg"]
        code, out, err = run_cli(*args)
        assert code == 0, (scope, err)
        assert all(p.stat().st_size > 0 for p in files.values())
    if deck:
        assert any((folder / "png").glob("*.svg")) and any((folder / "png").glob("*.png"))
    check_year(db, int(quarter[:4]), folder)


def check_year(db: Path, year: int, folder: Path) -> None:
    """The year's command and its 述职 draft answer on any store, and the draft's sentences hold on its numbers."""
    from analytics.meeting import annual_report
    from analytics.scoring import annual, views

    code, out, err = run_cli("annual", "--db", str(db), "--year", str(year), "--format", "json")
    assert code == 0 and not LEAKS.search(err), err
    json.loads(out)
    files = ["--docx", str(folder / "year.docx"), "--xlsx", str(folder / "year.xlsx")]
    code, _, err = run_cli("export", "--db", str(db), "--year", str(year), *files)
    assert code == 0, err
    rubric = load_rubric()
    with store.connect(db) as con:
        report = annual.year_report(con, year, rubric)
        stuck = annual.persistent(views.all_scores_summary(con, rubric), year)
    parts = annual_report.highlights(report, rubric) + annual_report.plans(report)
    text = "".join(h + t for h, t in parts) + "".join(annual_report.problems(report, rubric, stuck))
    assert not LEAKS.search(text), LEAKS.search(text)
    means = report["units"].dropna(subset=["standardization"])
    if "最高的" in text:  # the best and the worst unit (either of a tie) are named with their own means
        top, low = means["standardization"].max(), means["standardization"].min()
        assert any(f"最高的{u}{top:.1f}分" in text for u in means.loc[means["standardization"] == top, "unit"])
        assert any(f"最低的{u}{low:.1f}分" in text for u in means.loc[means["standardization"] == low, "unit"])
    # 比上年提高 / 下降 only as last year's mean says, by the amount it says
    said = re.search(r"年度平均([\d.]+)分，比上年(提高|下降)([\d.]+)分", annual_report.highlights(report, rubric)[2][1])
    if said:
        now, before = report["district"]["standardization"], report["district"]["standardization_previous"]
        assert before is not None and (said[2] == "提高") == (now > before)
        assert float(said[3]) == round(abs(now - before), 1)


def check_rollback(db: Path) -> None:
    """The newest batch rolls back, and the commands still answer on what is left."""
    with store.connect(db) as con:
        newest = con.execute("SELECT max(batch_id) FROM batches").fetchall()[0][0]
    code, _, err = run_cli("rollback", "--db", str(db), str(newest))
    assert code == 0, err
    code, _, err = run_cli("refresh", "--db", str(db))
    assert code == 0, err


def page_texts(at: AppTest) -> list[str]:
    kinds = ("title", "header", "subheader", "markdown", "caption", "info", "warning", "success", "text")
    return [str(e.value) for kind in kinds for e in getattr(at, kind)] + [f"{m.label} {m.value}" for m in at.metric]


def check_pages(role: str) -> None:
    """Every page the role may open runs without an exception or an error box and shows no None/nan."""
    at = as_user(AppTest.from_file(str(ROOT / "app.py"), default_timeout=120), role).run()
    assert not at.exception, at.exception
    paths = [path for entries in navigation_for(ensure_user(role)).values() for path, *_ in entries]
    for path in paths:
        at.switch_page(path).run()
        assert not at.exception, (role, path, at.exception)
        assert not at.error, (role, path, [e.value for e in at.error])
        leaks = [t for t in page_texts(at) if LEAKS.search(t)]
        assert not leaks, (role, path, leaks[:3])
    assert len(paths) >= 9


def check_narrative(db: Path, quarter: str, units: set[str]) -> None:
    """The 通报 says nothing its numbers contradict (issue item 3); `units`: every unit of the store."""
    rubric = load_rubric()
    with store.connect(db) as con:
        m = meeting.build(con, quarter, rubric)
    assert_no_unit_praised_and_blamed(m)
    if len(m.units) > 1:
        assert_heading_follows_the_changes(m)
    parts = bulletin_text.achievements(m) + bulletin_text.problems(m) + bulletin_text.suggestions(m)
    text = bulletin_text.intro(m) + "".join(bulletin_text.basics(m)) + "".join(h + t for h, t in parts)
    assert not LEAKS.search(text), LEAKS.search(text)
    # a unit that reported nothing this quarter is never ranked, praised or blamed by its score
    silent = units - set(m.frame["unit"])
    assert not [u for u in silent if f"{u}支部标准化建设平均" in text or f"{u}党建与业务融合平均" in text]
    means = {s: m.frame[s].mean() for s in COMPOSITES}
    # a lagging unit is below the district mean on the score it lags on
    for row in m.lagging.itertuples():
        assert pd.isna(means[row.weak]) or row.weak_score < means[row.weak] + 1e-9, (row.unit, row.weak_score)
    # 位居前列 / 先进 only for a unit above the mean
    if "位居前列" in text or "先进" in text:
        top = m.units[(m.units["standardization"] > means["standardization"])]
        assert len(top) or "先进" not in text.replace("先进单位示范带动", "")
