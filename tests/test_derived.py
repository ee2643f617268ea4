"""Kept results (analytics/scoring/kept.py): what the pages read back equals what they would compute, for the state
it was computed from and no other."""

from __future__ import annotations

import threading
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from analytics import cli
from analytics.scoring import alerts as warnings
from analytics.scoring import kept as derived
from analytics.scoring import robustness, rubric_versions, scores
from analytics.scoring import views as dashboard
from analytics.scoring.rubric import parse_rubric
from analytics.store import database as store
from tests.records import csv_bytes, load, org
from tests.sessions import as_user

ROOT = Path(__file__).resolve().parent.parent
LATEST = "2024Q4"


def state(db: Path) -> tuple[derived.Key, str]:
    with store.connect(db) as con:
        text = rubric_versions.active_text(con)
        return derived.Key.of(store.data_version(con), text), text


def kept_rows(db: Path) -> list[tuple]:
    with store.connect(db) as con:
        return con.execute("SELECT data_version, rubric_sha, name, arg FROM derived ORDER BY ALL").fetchall()


def test_every_kept_result_equals_the_same_result_computed_by_the_analytics_functions(demo_db: Path):
    done = derived.refresh(str(demo_db))
    key, text = state(demo_db)
    assert done is not None and done.key == key and done.quarter == LATEST
    assert done.stored == len(derived.latest_names(LATEST)) == 4 + 9 + 4  # 9 warning lists, 2 × 2 rank tables
    rubric = parse_rubric(text)
    with store.connect(demo_db) as con:
        now, before = scores.for_quarter(con, LATEST, rubric), scores.for_quarter(con, "2024Q3", rubric)
        summary = dashboard.all_scores_summary(con, rubric)
        expected = {
            ("summary", ""): summary,
            ("trend", ""): dashboard.quarter_trend(summary),
            ("quarter", LATEST): now,
            ("stability", LATEST): robustness.quadrant_stability(now, rubric),
            ("ranks", derived.ranks_arg(LATEST, "system", "integration")): robustness.rank_intervals(
                now, rubric, "system", "integration"
            ),
        }
        lists = warnings.warnings_for_quarter(con, LATEST, rubric, now=now, before=before)
        for (name, arg), frame in expected.items():
            pd.testing.assert_frame_equal(derived.fetch(con, key, name, arg), frame, check_exact=True, obj=name)
        kept_lists = derived.fetch_warnings(con, key, LATEST)
    assert list(kept_lists) == list(warnings.WARNINGS)
    for kind, frame in lists.items():
        pd.testing.assert_frame_equal(kept_lists[kind], frame, check_exact=True, obj=kind)
    assert sum(len(f) for f in kept_lists.values()) > 0  # the demo plants warnings: not a comparison of empties


def test_a_second_refresh_stores_nothing_and_the_rows_belong_to_the_current_state(demo_db: Path):
    derived.refresh(str(demo_db))
    again = derived.refresh(str(demo_db))
    key, _ = state(demo_db)
    assert again is not None and again.stored == 0
    rows = kept_rows(demo_db)
    assert {(v, r) for v, r, _, _ in rows} == {(key.version, key.rubric)}
    assert {(n, a) for _, _, n, a in rows} == derived.latest_names(LATEST)


def test_a_new_upload_makes_the_old_results_unreachable_and_the_next_refresh_drops_them(demo_db: Path):
    derived.refresh(str(demo_db))
    old, _ = state(demo_db)
    with store.connect(demo_db) as con:
        load(con, [org(1, unit=99)], name="extra.csv")
    new, _ = state(demo_db)
    assert new.version == old.version + 1
    with store.connect(demo_db) as con:
        assert derived.fetch(con, new, "summary") is None  # pages compute instead of showing the old state
    derived.refresh(str(demo_db))
    assert {v for v, _, _, _ in kept_rows(demo_db)} == {new.version}


def test_another_rubric_text_finds_nothing_kept(demo_db: Path):
    derived.refresh(str(demo_db))
    key, text = state(demo_db)
    other = derived.Key.of(key.version, text + "\n# 改过的细则\n")
    assert other.version == key.version and other.rubric != key.rubric
    with store.connect(demo_db) as con:
        assert derived.fetch(con, key, "summary") is not None
        assert derived.fetch(con, other, "summary") is None


def test_results_of_a_state_that_changed_meanwhile_are_not_kept(demo_db: Path, monkeypatch: pytest.MonkeyPatch):
    real_latest = derived.latest

    def upload_during_the_computation(sources, quarter):
        with store.connect(demo_db) as other:  # another session commits while the refresh reads its snapshot
            load(other, [org(1, unit=99)], name="meanwhile.csv")
        return real_latest(sources, quarter)

    monkeypatch.setattr(derived, "latest", upload_during_the_computation)
    before, _ = state(demo_db)
    done = derived.refresh(str(demo_db))
    assert done is not None and done.key.version == before.version and done.stored == 0
    assert kept_rows(demo_db) == []
    with store.connect(demo_db) as con:
        assert len(store.quarter_records(con, "2024Q1")) == 150 + 1  # the upload itself landed


def test_a_refresh_reads_one_state_even_when_an_upload_commits_in_the_middle(demo_db: Path, monkeypatch):
    real_summary = dashboard.all_scores_summary
    seen = {}

    def upload():
        with store.connect(demo_db) as other:
            load(other, [org(1, unit=99)], name="meanwhile.csv")

    def summary_after_a_commit(con, rubric):
        worker = threading.Thread(target=upload)
        worker.start()
        worker.join()
        seen["summary"] = real_summary(con, rubric)
        return seen["summary"]

    monkeypatch.setattr(dashboard, "all_scores_summary", summary_after_a_commit)
    derived.refresh(str(demo_db))
    assert (seen["summary"]["quarter"] == "2024Q1").sum() == 150  # the new organization was not half-seen


def test_nested_snapshots_share_the_outer_state(db_path: Path):
    with store.connect(db_path) as con:
        load(con, [org(1)])
        with store.snapshot(con):
            with store.snapshot(con):
                assert len(store.quarter_records(con, "2024Q1")) == 1
            assert len(store.quarter_records(con, "2024Q1")) == 1
        load(con, [org(2)], name="g.csv")  # the snapshot has ended: writes work again
        assert len(store.quarter_records(con, "2024Q1")) == 2


def test_pages_read_kept_results_without_computing_them(demo_db: Path, monkeypatch: pytest.MonkeyPatch):
    computed = at_overview().metric
    expected = {m.label: m.value for m in computed}
    derived.refresh(str(demo_db))
    import streamlit as st

    st.cache_data.clear()
    st.cache_resource.clear()

    def refuse(*_args, **_kwargs):
        raise AssertionError("computed although kept")

    for module, name in [(scores, "for_quarter"), (dashboard, "all_scores_summary"), (dashboard, "quarter_trend"),
                         (robustness, "quadrant_stability"), (robustness, "rank_intervals"),
                         (warnings, "warnings_for_quarter")]:  # fmt: skip
        monkeypatch.setattr(module, name, refuse)
    for page in ("overview", "imbalance", "alerts", "standardization"):
        at = at_overview() if page == "overview" else at_page(page)
        assert not at.exception, (page, at.exception)
    assert {m.label: m.value for m in at_overview().metric} == expected


def at_overview() -> AppTest:
    at = as_user(AppTest.from_file(str(ROOT / "app.py"), default_timeout=120), "leader")
    return at.run()


def at_page(name: str) -> AppTest:
    at = at_overview()
    at.switch_page(f"pages/{name}.py")
    return at.run()


def test_the_cli_keeps_results_after_a_change_unless_told_not_to(db_path: Path, capsys):
    source = db_path.parent / "q1.csv"
    source.write_bytes(csv_bytes([org(1), org(2, unit=1)]))
    assert cli.main(["ingest", str(source), "--db", str(db_path), "--no-refresh"]) == 0
    assert kept_rows(db_path) == []
    assert cli.main(["refresh", "--db", str(db_path)]) == 0
    assert "已预先计算看板数据：2024Q1" in capsys.readouterr().out
    key, _ = state(db_path)
    assert {(v, n, a) for v, _, n, a in kept_rows(db_path)} == {
        (key.version, n, a) for n, a in derived.latest_names("2024Q1")
    }
    assert cli.main(["refresh", "--db", str(db_path)]) == 0
    assert "已是最新" in capsys.readouterr().out

    source.write_bytes(csv_bytes([org(1, theme_days=0), org(3)]))
    assert cli.main(["ingest", str(source), "--db", str(db_path), "--json"]) == 0
    new, _ = state(db_path)
    assert new.version == key.version + 1 and {v for v, _, _, _ in kept_rows(db_path)} == {new.version}


def test_a_failed_refresh_leaves_the_change_and_the_exit_code_alone(db_path: Path, monkeypatch, capsys):
    def broken(_db):
        raise store.StoreError("磁盘空间不足")

    monkeypatch.setattr(derived, "refresh", broken)
    source = db_path.parent / "q1.csv"
    source.write_bytes(csv_bytes([org(1)]))
    assert cli.main(["ingest", str(source), "--db", str(db_path)]) == 0
    err = capsys.readouterr().err
    assert "数据已保存，但看板数据未能预先计算（磁盘空间不足）" in err and "Traceback" not in err
    with store.connect(db_path) as con:
        assert len(store.quarter_records(con, "2024Q1")) == 1


def test_a_frame_survives_the_round_trip_with_its_dtypes_and_index():
    frame = pd.DataFrame(
        {
            "a": [1.5, None],
            "b": pd.array(["x", None], dtype="str"),
            "c": [True, False],
            "d": pd.to_datetime(["2024-01-01", None]),
        },
        index=[5, 7],
    )
    back = derived.frame_of(derived.frame_bytes(frame))
    pd.testing.assert_frame_equal(back, frame, check_exact=True)


def test_a_store_above_the_size_limit_is_not_refreshed(db_path: Path, monkeypatch: pytest.MonkeyPatch, capsys):
    with store.connect(db_path) as con:
        load(con, [org(1), org(2), org(3)])
    monkeypatch.setattr(derived, "REFRESH_MAX_ORGANIZATIONS", 2)  # 3 organizations: over the limit
    done = derived.refresh(str(db_path))
    assert done is not None and done.too_big and done.stored == 0
    assert kept_rows(db_path) == []
    assert cli.main(["refresh", "--db", str(db_path)]) == 0
    assert "超过 2 个，看板数据不预先计算" in capsys.readouterr().out
    monkeypatch.setattr(derived, "REFRESH_MAX_ORGANIZATIONS", 3)  # exactly at the limit: kept
    assert derived.refresh(str(db_path)).stored == len(derived.latest_names("2024Q1"))
