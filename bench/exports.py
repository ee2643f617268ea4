"""Exports benchmark: the full meeting deck of the demo district, and 20 chart PNGs warm vs cold.

Run `.venv/bin/python bench/exports.py [--runs 3] [--cold-images 20]`. The demo district is loaded into
bench/out/exports_demo.duckdb (reused when present). "Cold" renders each PNG with kaleido's one-shot
path, which starts and stops a Chromium per image (what `fig.to_image()` does); "warm" renders the
same figures inside analytics.images.warm_browser(), one Chromium for the batch. Figures go to
bench/exports.md by hand.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from analytics.charts import images  # noqa: E402
from analytics.demo import load_demo  # noqa: E402
from analytics.meeting import bulletin, exports, meeting, slides  # noqa: E402
from analytics.scoring.rubric import load_rubric  # noqa: E402
from analytics.store import database as store  # noqa: E402

OUT = ROOT / "bench" / "out"
QUARTER = "2024Q4"


def demo_db() -> Path:
    """The demo district in bench/out, loaded once."""
    path = OUT / "exports_demo.duckdb"
    if not path.exists():
        OUT.mkdir(parents=True, exist_ok=True)
        with store.connect(path) as con:
            load_demo(con, uploader="bench")
    return path


def timed(step, runs: int) -> tuple[float, object]:
    """Median seconds of `runs` calls, and the last result."""
    seconds, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = step()
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds), result


def main() -> None:
    """Print the timings as a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--cold-images", type=int, default=20)
    args = parser.parse_args()
    rubric = load_rubric()
    with store.connect(demo_db()) as con:
        build, m = timed(lambda: meeting.build(con, QUARTER, rubric), args.runs)
    figures = list(meeting.figures(m).values())[: args.cold_images]
    rows = [("meeting.build (scores, ranks with 1,000 weight draws, warnings)", build)]
    rows.append(
        (
            f"full deck, {13 + len(m.lagging)} slides, browser started by the deck",
            timed(lambda: slides.deck_bytes(m), args.runs)[0],
        )
    )
    rows.append(("DOCX 季度通报, browser started by it", timed(lambda: bulletin.bulletin_bytes(m), args.runs)[0]))
    rows.append(("XLSX workbook", timed(lambda: exports.meeting_xlsx(m), args.runs)[0]))
    rows.append(("all four formats (22 chart files)", timed(lambda: exports.export_files(m, exports.FORMATS), 1)[0]))

    def warm_batch() -> None:
        with images.warm_browser():
            for fig in figures:
                images.render(fig)

    warm = timed(warm_batch, args.runs)[0]
    cold = timed(lambda: [images.render(fig) for fig in figures], 1)[0]
    n = len(figures)
    rows += [(f"{n} PNGs, one warm browser (incl. its start)", warm), (f"{n} PNGs, a cold browser per image", cold)]
    print("| step | seconds |\n|---|---|")
    for label, seconds in rows:
        print(f"| {label} | {seconds:.2f} |")
    print(f"\ncold / warm = {cold / warm:.1f}×; per image warm {warm / n:.2f} s, cold {cold / n:.2f} s")


if __name__ == "__main__":
    main()
