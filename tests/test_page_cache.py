"""pages/_cache.kept_read: one cached read per kept result, each with its own cache, one computation per key however
many sessions ask at once, and a result kept in the store read back instead of computed."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pandas as pd

from analytics.scoring import kept as derived
from analytics.store import database as store
from pages._cache import kept_read


def test_two_reads_of_the_same_shape_keep_separate_caches(db_path: Path):
    with store.connect(db_path):
        pass  # a migrated, empty store
    first = kept_read("test_first", lambda con, *key: pd.DataFrame({"v": [1]}))
    second = kept_read("test_second", lambda con, *key: pd.DataFrame({"v": [2]}))
    args = (str(db_path), 0, "rubric text")
    assert first(*args)["v"].tolist() == [1] and second(*args)["v"].tolist() == [2]


def test_sessions_asking_at_once_share_one_computation(db_path: Path):
    with store.connect(db_path):
        pass
    calls, lock = [], threading.Lock()

    def slow(con, db, version, text, quarter):
        with lock:
            calls.append(quarter)
        time.sleep(0.5)  # long enough for every thread to ask while the first computes
        return pd.DataFrame({"quarter": [quarter]})

    read = kept_read("test_slow", slow, arg=str)
    results = []
    threads = [threading.Thread(target=lambda: results.append(read(str(db_path), 1, "t", "2024Q1"))) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert calls == ["2024Q1"] and len(results) == 6
    assert all(r["quarter"].tolist() == ["2024Q1"] for r in results)


def test_a_result_kept_for_this_state_is_read_back_not_computed(db_path: Path):
    kept = pd.DataFrame({"org_id": [1, 2], "stability": [1.0, 0.5]})
    with store.connect(db_path) as con:
        derived.keep(con, derived.Key.of(store.data_version(con), "rubric text"), {("stability", "2024Q1"): kept})
        version = store.data_version(con)

    def never(*_):
        raise AssertionError("computed although kept")

    read = kept_read("stability", never, arg=str)
    pd.testing.assert_frame_equal(read(str(db_path), version, "rubric text", "2024Q1"), kept)
