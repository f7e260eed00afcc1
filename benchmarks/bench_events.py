"""RunEventReader against TensorBoard's EventAccumulator on a long training run's event file.

    .venv/bin/python benchmarks/bench_events.py [--steps 100000]

Writes once (into benchmarks/.cache/, git-ignored) an event file of --steps steps
x the trainer's 7 TrainIterStats scalars with torch's SummaryWriter, then in this one process:
  (a) full load: RunEventReader.refresh() (best of 3 fresh readers) vs
      EventAccumulator(size_guidance={"scalars": 0}).Reload() (once: it takes seconds);
  (b) refresh after 1,000 scalars were appended to the file (ms, best of 5);
  (c) peak memory allocated during a full load (tracemalloc, MB), arrays kept at the end included;
  (d) one rerun of pages/monitor.py in Streamlit's AppTest (nan while that page is missing).
The last line is machine-readable.
"""

from __future__ import annotations

import argparse
import math
import random
import shutil
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
CACHE_DIR = REPO_ROOT / "benchmarks" / ".cache"
TAGS = [f"TrainIterStats/{name}" for name in
        ("loss", "loss_text_ce", "loss_mel_ce", "current_lr", "grad_norm", "step_time", "loader_time")]


def cached_run(steps: int) -> Path:
    """A folder holding one event file of `steps` x 7 scalars, written by torch's SummaryWriter."""
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    run = CACHE_DIR / f"events_{steps}_steps"
    if run.is_dir() and any(run.glob("events.out.tfevents.*")) and (run / "complete").exists():
        return run
    shutil.rmtree(run, ignore_errors=True)
    from torch.utils.tensorboard import SummaryWriter

    print(f"writing {steps} x {len(TAGS)} scalars into {run} ...", flush=True)
    writer = SummaryWriter(str(run), max_queue=1000)
    rng = random.Random(0)
    for step in range(1, steps + 1):
        loss = 3.0 * math.exp(-step / 30_000) + rng.random() * 0.1
        for tag, value in zip(TAGS, (loss, loss * 0.1, loss * 0.9, 5e-6, rng.random() * 10,
                                     0.5 + rng.random(), rng.random() * 0.01)):
            writer.add_scalar(tag, value, step)
    writer.close()
    (run / "complete").touch()
    return run


def append_scalars(event_file: Path, first_step: int, count: int) -> None:
    """Append `count` scalars to an existing event file the way SummaryWriter writes them."""
    from tensorboard.compat.proto.event_pb2 import Event
    from tensorboard.summary.writer.record_writer import RecordWriter
    from torch.utils.tensorboard.summary import scalar

    with open(event_file, "ab") as f:
        out = RecordWriter(f)
        for i in range(count):
            event = Event(wall_time=time.time(), step=first_step + i // len(TAGS),
                          summary=scalar(TAGS[i % len(TAGS)], 0.5))
            out.write(event.SerializeToString())


def finished_run_workspace(run_dir: Path, root: Path) -> tuple[Path, str]:
    """A workspace whose one finished run has `run_dir` as its trainer folder (a real record)."""
    import subprocess

    from core.base.atomic_io import write_json_atomic
    from core.registry.records import RunRecord, new_run_id, outcome_path, save_record, status_path
    from core.base.workspace import Workspace

    ws = Workspace.at(root)
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()  # an ended process: the record reads as finished, not running
    run_id = new_run_id()
    save_record(ws, RunRecord(run_id=run_id, output_path=str(root / "out"), config={}, command=["bench"],
                              pid=child.pid, process_start_time=0.0, started_at=time.time()))
    write_json_atomic(status_path(ws, run_id), {"trainer_run_folder": str(run_dir), "step": 100_000,
                                                "total_steps": 100_000, "phase": "finished"})
    write_json_atomic(outcome_path(ws, run_id), {"exit_code": 0, "message": "finished"})
    return ws.root, run_id


def measure_page_rerun_ms(run_dir: Path) -> float:
    """Milliseconds for one rerun of the Monitor page in AppTest, the run's events already loaded."""
    import tempfile

    from streamlit.testing.v1 import AppTest

    root, run_id = finished_run_workspace(run_dir, Path(tempfile.mkdtemp(prefix="bench-ws-")))
    at = AppTest.from_file(str(REPO_ROOT / "pages" / "monitor.py"), default_timeout=300)
    at.session_state["workspace_root"] = str(root)
    at.session_state["selected_run_id"] = run_id
    at.run()  # first run: imports, caches and the full event load
    assert not at.exception, at.exception
    assert len(at.get("plotly_chart")) >= 2, "the Monitor page drew no curves"
    start = time.perf_counter()
    at.run()
    return (time.perf_counter() - start) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100_000)
    args = parser.parse_args()
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from core.monitor.events import RunEventReader

    source = cached_run(args.steps)
    (event_file,) = source.glob("events.out.tfevents.*")
    print(f"event file: {event_file.stat().st_size / 1e6:.1f} MB, {args.steps * len(TAGS)} scalars")

    loads = []
    for _ in range(3):
        reader = RunEventReader(source)
        start = time.perf_counter()
        points = reader.refresh()
        loads.append(time.perf_counter() - start)
    load_s = min(loads)
    assert points == args.steps * len(TAGS) and reader.corrupt_records == 0, (points, reader.corrupt_records)
    print(f"(a) RunEventReader full load: {load_s:.3f} s (runs: {', '.join(f'{t:.3f}' for t in loads)})")

    start = time.perf_counter()
    acc = EventAccumulator(str(event_file), size_guidance={"scalars": 0})
    acc.Reload()
    tb_load_s = time.perf_counter() - start
    expected = acc.Scalars(TAGS[0])
    assert reader.values(TAGS[0]).tolist() == [e.value for e in expected], "values differ"
    assert reader.steps(TAGS[0]).tolist() == [e.step for e in expected], "steps differ"
    print(f"(a) EventAccumulator full load: {tb_load_s:.3f} s -> {tb_load_s / load_s:.0f}x")

    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp)
        shutil.copy(event_file, run / event_file.name)
        reader = RunEventReader(run)
        reader.refresh()
        refreshes, step = [], args.steps + 1
        for _ in range(5):
            append_scalars(run / event_file.name, step, 1000)
            step += 1000 // len(TAGS) + 1
            start = time.perf_counter()
            added = reader.refresh()
            refreshes.append((time.perf_counter() - start) * 1000)
            assert added == 1000, added
        refresh_ms = min(refreshes)
        print(f"(b) refresh after appending 1,000 scalars: {refresh_ms:.2f} ms")
        page_rerun_ms = measure_page_rerun_ms(run)

    tracemalloc.start()
    reader = RunEventReader(source)
    reader.refresh()
    peak_mb = tracemalloc.get_traced_memory()[1] / 1e6
    kept_mb = tracemalloc.get_traced_memory()[0] / 1e6
    tracemalloc.stop()
    print(f"(c) peak memory during a full load: {peak_mb:.1f} MB (kept afterwards: {kept_mb:.1f} MB; "
          f"the 8 MB CRC tables are built at import and not included)")
    print(f"(d) Monitor page rerun: {page_rerun_ms:.1f} ms")
    print(f"events: load_s={load_s:.3f} tb_load_s={tb_load_s:.2f} speedup={tb_load_s / load_s:.1f} "
          f"refresh_ms={refresh_ms:.2f} peak_mb={peak_mb:.1f} page_rerun_ms={page_rerun_ms:.1f}")


if __name__ == "__main__":
    main()
