"""The Runs page's read of 100 finished runs: first read, cached re-read, and an uncached read.

    .venv/bin/python benchmarks/bench_runs.py [--runs 100] [--clips 200]

Makes (in a temp folder) a workspace of fake finished runs on real files, laid out as the launcher,
the trainer and our callbacks write them (record, status, outcome, a trainer folder with checkpoints
and a kept/ link, a ready/ bundle with its manifest; one shared dataset of WAV clips). Then, side by
side in this process: `read_rows` (no cache: every record, status, outcome, folder and manifest
read again, what a page without the reader would do on each rerun), `OverviewReader.rows()` the
first time (the same reads, filling the cache) and again (only stamps checked). The page's budget
is under 1 s for the first read of 100 runs.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from core.overview.reader import OverviewReader, read_rows  # noqa: E402
from core.base.workspace import Workspace  # noqa: E402
from tests.overview.fake_runs import ended_identity, fake_dataset, fake_run  # noqa: E402


def make_runs(ws: Workspace, runs: int, clips: int) -> None:
    dataset = fake_dataset(ws.root / "data", clips=clips)
    for i in range(runs):
        fake_run(ws, f"20260101-{i // 60:02d}{i % 60:02d}00-{i:06x}", ended_identity(), output_name=f"voice-{i:03d}",
                 dataset=dataset, config={"epochs": 2 + i % 5, "learning_rate": 1e-6 * (1 + i % 3)},
                 best=(200 + i, 0.5 + i / 1000))


def timed(fn, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--clips", type=int, default=200, help="clips in the shared dataset")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-runs-") as tmp:
        ws = Workspace.at(Path(tmp) / "ws")
        make_runs(ws, args.runs, args.clips)
        uncached = timed(lambda: read_rows(ws), 3)
        reader = OverviewReader(ws)
        start = time.perf_counter()
        first = reader.rows()
        first_s = time.perf_counter() - start
        cached = timed(reader.rows, 20)
        again = reader.rows()
        assert len(first) == args.runs and again == first and reader.rows_read == args.runs, "the cache re-read a run"
        uncached_s, cached_s = statistics.median(uncached), statistics.median(cached)
        print(f"uncached read of {args.runs} runs: median {uncached_s:.3f} s over 3; first read {first_s:.3f} s; "
              f"cached re-read: median {cached_s * 1000:.1f} ms over 20")
        print(f"runs: rows={len(first)} first_s={first_s:.3f} cached_ms={cached_s * 1000:.1f} "
              f"uncached_s={uncached_s:.3f} cached_speedup={uncached_s / cached_s:.0f}")


if __name__ == "__main__":
    main()
