"""Resident memory of the dashboard's UI server against TensorBoard's, on the same run, same browser.

    .venv/bin/python benchmarks/bench_memory.py

A workspace with a finished demo run (made once under benchmarks/.cache/), the dashboard started as
`make run` starts it, Debian's Chromium opening each page in turn and then watching a live demo
run on Monitor; the Streamlit process's RSS is sampled all along (its worker processes, which hold
torch, are reported apart: they are not the UI server). Then TensorBoard serves the same run folder
to the same browser until its first chart is drawn. `cold_start_s` is the dashboard's start to its
first rendered page. Target: dashboard_mb < 300. The last line is machine-readable.
"""
from __future__ import annotations

import tempfile
import threading
import time
from pathlib import Path

from dashboard_harness import (PAGES, chromium, children_rss_mb, dashboard, demo_workspace, open_page, pick_run, rss_mb,
                               delete_live_run, start_live_run, stop_run, tensorboard, wait_for_page)

WATCH_LIVE_S = 30.0


class PeakSampler:
    """Peak RSS of one process (and of its children) sampled every `every_s` in a thread."""

    def __init__(self, pid: int, every_s: float = 0.25) -> None:
        self.pid, self.every_s = pid, every_s
        self.peak_mb = self.children_peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.peak_mb = max(self.peak_mb, rss_mb(self.pid))
                self.children_peak_mb = max(self.children_peak_mb, children_rss_mb(self.pid))
            except Exception:  # noqa: BLE001 - a child ending between listing and reading
                pass
            self._stop.wait(self.every_s)

    def __enter__(self) -> "PeakSampler":
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        self._thread.join()


def measure_dashboard(root: Path, logs: Path) -> tuple[float, float, float]:
    with dashboard(root, logs / "streamlit.log") as (server, url, started), chromium() as browser:
        with PeakSampler(server.pid) as sampler:
            tab = browser.new_page(viewport={"width": 1400, "height": 1800})
            tab.goto(url)
            wait_for_page(tab, "Train", timeout_ms=300_000)
            cold_start_s = time.monotonic() - started
            for title in PAGES:
                open_page(tab, title)
            live = start_live_run(root)
            try:
                tab.goto(url)  # a new session: its run picker lists the live run
                wait_for_page(tab, "Train")
                pick_run(tab, live)
                open_page(tab, "Monitor")
                time.sleep(WATCH_LIVE_S)
            finally:
                stop_run(root, live)
                delete_live_run(root, live)
        print(f"dashboard: peak {sampler.peak_mb:.0f} MB in the Streamlit process; its worker processes "
              f"(torch, coqui) peaked at {sampler.children_peak_mb:.0f} MB together, apart from the UI server")
    return sampler.peak_mb, sampler.children_peak_mb, cold_start_s


def measure_tensorboard(run_folder: Path, logs: Path) -> tuple[float, float]:
    with tensorboard(run_folder, logs / "tensorboard.log") as (server, url, started), chromium() as browser:
        with PeakSampler(server.pid) as sampler:
            tab = browser.new_page(viewport={"width": 1400, "height": 1800})
            tab.goto(url)
            tab.locator("tf-scalar-card, .scalar-card, canvas").first.wait_for(timeout=120_000)
            first_chart_s = time.monotonic() - started
            time.sleep(5)  # let its loader finish reading the folder, as a user keeps it open
    return sampler.peak_mb, first_chart_s


def main() -> None:
    from core.registry.records import read_status
    from core.base.workspace import Workspace

    root, run_id = demo_workspace()
    run_folder = Path(read_status(Workspace.at(root), run_id).trainer_run_folder)
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
        dashboard_mb, _workers_mb, cold_start_s = measure_dashboard(root, Path(tmp))
        tensorboard_mb, tb_first_chart_s = measure_tensorboard(run_folder, Path(tmp))
    print(f"tensorboard: peak {tensorboard_mb:.0f} MB, first chart {tb_first_chart_s:.1f} s after its start")
    print(f"memory: dashboard_mb={dashboard_mb:.0f} tensorboard_mb={tensorboard_mb:.0f} "
          f"ratio={dashboard_mb / tensorboard_mb:.2f} cold_start_s={cold_start_s:.1f}")


if __name__ == "__main__":
    main()
