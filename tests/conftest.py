"""Shared fixtures: one demo workspace and one real demo training run for the whole session.

A real trainer run takes about a minute on a CPU, so every test that needs checkpoints, event
files or a finished run reads the same one (`demo_run`). Tests that change a run start their own.
"""
from __future__ import annotations

import os
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import settings
from streamlit.testing.v1 import AppTest

# CI runs the property-based tests with a fixed seed so a green build stays green; locally they
# explore new cases on every run (set HYPOTHESIS_PROFILE=ci to reproduce CI).
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI") or os.environ.get("HYPOTHESIS_PROFILE") == "ci":
    settings.load_profile("ci")

from core.base.config import RunConfig
from core.trainer.demo import DemoAssets, ensure_demo
from core.runs.launcher import start_run, wait_until_ended
from core.registry.records import RunRecord
from core.registry.state import RunState, read_run_state
from core.trainer.demo import demo_config
from core.base.workspace import Workspace

DEMO_RUN_TIMEOUT_S = 900


def wait_for(predicate, timeout_s: float = 300.0, poll_s: float = 0.05) -> bool:
    """True as soon as `predicate()` is; False after `timeout_s` (tests await conditions, never sleep)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(poll_s)
    return False


@dataclass
class DiskSampler:
    """Polls the bytes under a folder often enough to see the trainer's transient peaks."""

    folder: Path
    interval_s: float = 0.01
    samples: list[tuple[float, int]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def bytes_now(self) -> int:
        total = 0
        for root, _dirs, files in os.walk(self.folder):
            for name in files:
                try:
                    total += os.stat(os.path.join(root, name)).st_size
                except FileNotFoundError:
                    pass  # deleted between listing and stat: the trainer pruning a checkpoint
        return total

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.time(), self.bytes_now()))
            time.sleep(self.interval_s)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self.samples.append((time.time(), self.bytes_now()))

    @property
    def peak_bytes(self) -> int:
        return max(b for _, b in self.samples)

    @property
    def final_bytes(self) -> int:
        return self.samples[-1][1]


@dataclass
class DemoRun:
    ws: Workspace
    demo: DemoAssets
    config: RunConfig
    record: RunRecord
    state: RunState
    run_folder: Path
    disk: DiskSampler  # bytes under <output>/run/training sampled during the run
    ready_bytes: int


@pytest.fixture(scope="session")
def demo_workspace(tmp_path_factory) -> tuple[Workspace, DemoAssets]:
    ws = Workspace.at(tmp_path_factory.mktemp("workspace"))
    return ws, ensure_demo(ws.demo_dir)


@pytest.fixture
def workspace(tmp_path, demo_workspace) -> Workspace:
    """A fresh workspace per test that shares the session's demo files (read-only)."""
    return Workspace.at(tmp_path / "ws")


@pytest.fixture(scope="session")
def demo_run(demo_workspace) -> DemoRun:
    """The demo configuration run to completion once: save_step=100, keep 2, 4 epochs x 60 steps."""
    ws, demo = demo_workspace
    config = demo_config(ws, demo)
    training_dir = Path(config.output_path) / "run" / "training"
    training_dir.mkdir(parents=True, exist_ok=True)
    sampler = DiskSampler(training_dir)
    sampler.start()
    record = start_run(ws, config)
    phase = wait_until_ended(ws, record.run_id, DEMO_RUN_TIMEOUT_S)
    sampler.stop()
    state = read_run_state(ws, record.run_id)
    assert phase.value == "finished", f"demo run ended {phase}: {state.detail}\n" + "\n".join(state.last_lines)
    ready = Path(config.output_path) / "ready"
    ready_bytes = sum(p.stat().st_size for p in ready.iterdir())
    return DemoRun(ws, demo, config, record, state, Path(state.status.trainer_run_folder), sampler, ready_bytes)


# Folders made by session-scoped fixtures (the demo workspace, the e2e dashboard): kept to the end.
SESSION_TMP_PREFIXES = ("workspace", "e2e", "tiny-whisper")


@pytest.fixture(scope="module", autouse=True)
def free_module_tmp_dirs(tmp_path_factory):
    """Delete what a test module's fixtures wrote under pytest's temp folder once the module is done.

    Each real run writes 1-2 GB of checkpoints; kept to the end of the session they add up to more
    than a CI machine's free disk. Set up before and torn down after every other module fixture,
    so the module's runs have ended when this runs. Function-level `tmp_path` folders of passed
    tests go even sooner (`tmp_path_retention_policy = failed` in pytest.ini).
    """
    base = tmp_path_factory.getbasetemp()
    before = set(base.iterdir())
    yield
    for path in set(base.iterdir()) - before:
        if path.is_dir() and not path.name.startswith(SESSION_TMP_PREFIXES):
            shutil.rmtree(path, ignore_errors=True)


PROJECT = Path(__file__).resolve().parents[1]


@pytest.fixture
def page(demo_workspace):
    """An AppTest for one page file, already pointed at the session's demo workspace."""
    ws, _demo = demo_workspace

    def make(name: str, root: Path | None = None) -> AppTest:
        at = AppTest.from_file(str(PROJECT / name), default_timeout=120)
        at.session_state["workspace_root"] = str(root or ws.root)
        return at

    return make
