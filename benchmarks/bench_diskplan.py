"""Forecast vs reality: a real demo run sampled every few ms, against plan_disk and the guide's rule.

    .venv/bin/python benchmarks/bench_diskplan.py [--workspace DIR]

Ends with: diskplan: forecast_peak=<bytes> measured_peak=<bytes> error_pct=<x> naive_over_measured=<r>
where naive is the guide's "checkpoint size x save_n_checkpoints".
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.trainer.base_model import resolve_base_model  # noqa: E402
from core.trainer.dataset import read_dataset, steps_per_epoch  # noqa: E402
from core.trainer.demo import ensure_demo  # noqa: E402
from core.disk.planner import plan_run  # noqa: E402
from core.runs.launcher import start_run, wait_until_ended  # noqa: E402
from core.trainer.demo import demo_config  # noqa: E402
from core.base.workspace import Workspace  # noqa: E402


def folder_bytes(folder: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(folder):
        for name in files:
            try:
                total += os.stat(os.path.join(root, name)).st_size
            except FileNotFoundError:
                pass  # pruned between listing and stat
    return total


class Sampler(threading.Thread):
    """Bytes under the whole output folder (run/ and ready/), polled every `interval_s`."""

    def __init__(self, folder: Path, interval_s: float = 0.005):
        super().__init__(daemon=True)
        self.folder, self.interval_s = folder, interval_s
        self.peak_bytes, self.samples, self.done = 0, 0, threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            self.peak_bytes = max(self.peak_bytes, folder_bytes(self.folder))
            self.samples += 1
            time.sleep(self.interval_s)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workspace", default="")
    args = parser.parse_args()
    root = Path(args.workspace or tempfile.mkdtemp(prefix="bench-diskplan-"))
    ws = Workspace.at(root)
    demo = ensure_demo(ws.demo_dir)
    config = demo_config(ws, demo).with_changes(output_path=str(ws.outputs_dir / f"bench-{int(time.time())}"))
    base = resolve_base_model(config.base_model_dir)
    train = read_dataset(config.train_csv, "train_csv")
    started = time.perf_counter()
    plan = plan_run(config, base=base, steps_per_epoch=steps_per_epoch(len(train.clips), config.batch_size),
                        train=train, use_measured=False)
    plan_s = time.perf_counter() - started

    output = Path(config.output_path)
    output.mkdir(parents=True, exist_ok=True)
    sampler = Sampler(output)
    sampler.start()
    record = start_run(ws, config)
    phase = wait_until_ended(ws, record.run_id, 900)
    sampler.done.set()
    sampler.join()
    final = folder_bytes(output)
    measured_peak = max(sampler.peak_bytes, final)
    if phase.value != "finished":
        print(f"demo run ended {phase.value}", file=sys.stderr)
        return 1
    error_pct = 100 * (plan.peak_bytes - measured_peak) / measured_peak
    print(f"plan computed in {plan_s:.2f} s; {sampler.samples} samples")
    print(f"checkpoint file: forecast {plan.checkpoint_bytes:,} B ({plan.checkpoint_source})")
    print(f"final: forecast {plan.final_bytes:,} B measured {final:,} B "
          f"({100 * (plan.final_bytes - final) / final:+.3f}%)")
    print(f"diskplan: forecast_peak={plan.peak_bytes} measured_peak={measured_peak} "
          f"error_pct={error_pct:.3f} naive_over_measured={plan.naive_bytes / measured_peak:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
