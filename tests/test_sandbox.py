"""The limited child hands its answer over through shared memory: Arrow and numpy buffers arrive mapped, not copied,
and equal to what the function computes in this process."""

from __future__ import annotations

import os

import numpy as np
import pyarrow as pa
import pytest

from analytics.ingest.sheets.sandbox import LimitExceeded, run_limited


def _table(rows: int) -> pa.Table:
    return pa.table(
        {
            "text": pa.array([f"第{i}党支部" if i % 7 else None for i in range(rows)], pa.string()),
            "number": pa.array(np.arange(rows, dtype=np.float64) / 3),
        }
    )


def _mapped_ranges() -> list[tuple[int, int]]:
    """Address ranges of this process mapped from the child's shared file."""
    ranges = []
    with open("/proc/self/maps") as maps:
        for line in maps:
            if "dangjian-read" in line:
                start, end = (int(x, 16) for x in line.split()[0].split("-"))
                ranges.append((start, end))
    return ranges


def test_an_arrow_table_from_the_child_equals_the_one_computed_here():
    assert run_limited(_table, 100_000).equals(_table(100_000))


@pytest.mark.skipif(not hasattr(os, "memfd_create"), reason="shared memory file needs Linux")
def test_the_columns_of_the_answer_live_in_the_shared_mapping():
    table = run_limited(_table, 200_000)
    ranges = _mapped_ranges()
    chunk = table.column("text").chunk(0)
    characters = chunk.buffers()[2]
    assert any(start <= characters.address < end for start, end in ranges), "the text buffer was copied"


def test_numpy_arrays_nested_values_and_empty_answers_round_trip():
    value = {"a": np.arange(10), "b": [pa.array([1, None, 3]), "文字"], "c": None}
    result = run_limited(lambda: value)
    assert result["a"].tolist() == list(range(10))
    assert result["b"][0].to_pylist() == [1, None, 3] and result["b"][1] == "文字"
    assert run_limited(lambda: None) is None
    assert run_limited(lambda: pa.table({})).num_rows == 0


def test_an_exception_of_the_child_is_raised_here_and_a_crash_is_a_limit():
    with pytest.raises(KeyError, match="缺少"):
        run_limited(lambda: {}["缺少"])
    with pytest.raises(LimitExceeded) as ended:
        run_limited(os._exit, 3)  # ends without an answer
    assert ended.value.kind == "crash"


def test_each_way_a_child_fails_is_reported_as_what_it_was():
    with pytest.raises(LimitExceeded) as memory:
        run_limited(lambda: bytearray(1 << 40), memory=256 << 20)  # a terabyte under a 256 MB cap: MemoryError
    assert memory.value.kind == "memory"
    with pytest.raises(LimitExceeded) as answer:
        run_limited(Unpicklable)  # its answer pickles in the child but cannot be unpickled here
    assert answer.value.kind == "answer"


class Unpicklable:
    """An object whose unpickling fails."""

    def __reduce__(self):
        return (_refuse, ())


def _refuse():
    raise RuntimeError("cannot be rebuilt")


def test_the_answer_can_be_modified_here_without_touching_shared_memory():
    array = run_limited(lambda: np.zeros(1_000_000))
    array[0] = 1.0  # a private mapping: this write copies one page
    assert array[0] == 1.0 and array[1:].sum() == 0
