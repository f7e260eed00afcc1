"""Leftovers of interrupted promotes are swept at startup, and no file in a run folder is trusted.

`clean_leftovers` (core.checkpoints.leftovers) runs once when the dashboard starts. The checkpoint browser only
ever reads a .pth with the weights-only unpickler: a malicious pickle is listed as unreadable and
its payload never runs, whichever action touches it.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.checkpoints.files import CheckpointError, Integrity
from core.checkpoints.ops import optimize, promote, temp_path_for
from core.base.errors import ConfigInvalid
from core.checkpoints.gallery import gallery
from core.runs.launcher import start_run
from core.checkpoints.layout import KEPT_DIR
from core.registry.records import RunRecord, new_run_id, save_record
from core.checkpoints.leftovers import clean_leftovers
from core.trainer.demo import demo_config
from core.base.workspace import Workspace
from tests.checkpoints.test_files import _Payload, _write_torch_like_zip, save_checkpoint

import pickle
from tests.conftest import wait_for

PROJECT = Path(__file__).resolve().parents[2]
# One process, several promotes at once, each stalled after its first chunk: then SIGKILLed.
STALLED_PROMOTES = """
import sys, threading, time
from pathlib import Path
from core.checkpoints.ops import promote
src, marks, targets = sys.argv[1], Path(sys.argv[2]), sys.argv[3:]
def run(i, target):
    def stall(done, total):
        (marks / str(i)).touch()
        time.sleep(600)
    promote(src, target, progress=stall, chunk_bytes=512)
threads = [threading.Thread(target=run, args=(i, target)) for i, target in enumerate(targets)]
for thread in threads:
    thread.start()
for thread in threads:  # the main thread stays: torch is imported by the first read, in these threads
    thread.join()
"""


def finished_run(ws: Workspace, output: Path) -> tuple[RunRecord, Path]:
    """A run record of a process that has ended, and its trainer run folder with one checkpoint."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    run_id = new_run_id()
    record = RunRecord(run_id=run_id, output_path=str(output), config={}, command=["x"], pid=proc.pid,
                       process_start_time=0.0, started_at=time.time(), trainer_run_name=f"GPT-{run_id}")
    save_record(ws, record)
    folder = output / "run" / "training" / f"GPT-{run_id}-May-01-2025_10+00AM-0000000"
    save_checkpoint(folder / "checkpoint_100.pth", step=100)
    return record, folder


def test_temp_files_of_a_killed_promote_are_cleaned_at_startup_and_never_listed(tmp_path):
    ws = Workspace.at(tmp_path / "ws")
    output = tmp_path / "out"
    _record, folder = finished_run(ws, output)
    src = folder / "checkpoint_100.pth"
    targets = [ws.custom_models_dir / "voice.pth", output / "ready" / "unoptimize_model.pth"]
    # Promote refuses targets in a trainer run folder; a retention link killed mid-way leaves the same
    # kind of temp file there, made here by hand for the same (soon dead) writer.
    by_hand = [folder / KEPT_DIR / "checkpoint_100.pth", folder / "best_model.pth"]
    for target in targets + by_hand:
        target.parent.mkdir(parents=True, exist_ok=True)
    marks = tmp_path / "marks"
    marks.mkdir()
    child = subprocess.Popen([sys.executable, "-c", STALLED_PROMOTES, str(src), str(marks), *map(str, targets)],
                             cwd=PROJECT)
    try:
        assert wait_for(lambda: len(list(marks.iterdir())) == len(targets) or child.poll() is not None)
        assert child.poll() is None, "the promote child ended before it was killed"
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    for target in by_hand:
        target.with_name(f".{target.name}.partial-{child.pid}").write_bytes(b"cut")
    leftovers = [t.with_name(f".{t.name}.partial-{child.pid}") for t in targets + by_hand]
    assert all(p.is_file() for p in leftovers)
    assert not any(t.exists() for t in targets + by_hand), "no half file under a final name"
    listed = {e.path for e in gallery(ws)}
    assert listed == {src}, "temp files are never listed as models"

    mine = temp_path_for(ws.custom_models_dir / "in-progress.pth")  # a live writer: this process
    mine.write_bytes(b"x")
    assert sorted(clean_leftovers(ws)) == sorted(leftovers)
    assert not any(p.exists() for p in leftovers)
    assert mine.exists(), "a temp file whose writer is alive is left alone"
    assert {e.path for e in gallery(ws)} == {src}
    assert clean_leftovers(ws) == []


def test_clean_leftovers_on_an_empty_workspace(tmp_path):
    assert clean_leftovers(Workspace.at(tmp_path / "ws")) == []


@pytest.fixture
def malicious(tmp_path):
    """A run folder holding a .pth whose pickle would create a marker file if it were ever run."""
    ws = Workspace.at(tmp_path / "ws")
    _record, folder = finished_run(ws, tmp_path / "out")
    marker = tmp_path / "pwned"
    armed = folder / "checkpoint_200.pth"
    _write_torch_like_zip(armed, pickle.dumps({"model": {}, "step": 200, "x": _Payload(marker)}, protocol=2))
    return ws, armed, marker


def test_malicious_pickle_is_listed_unreadable_and_never_runs(malicious):
    ws, armed, marker = malicious
    entry = next(e for e in gallery(ws) if e.path == armed)
    assert entry.info.integrity is Integrity.UNREADABLE and "weights-only" in entry.info.error
    assert not marker.exists()


def test_no_action_on_a_malicious_file_runs_its_payload(malicious, tmp_path, demo_workspace):
    ws, armed, marker = malicious
    with pytest.raises(CheckpointError):
        promote(armed, tmp_path / "promoted.pth")
    with pytest.raises(CheckpointError):
        optimize(armed, tmp_path / "model.pth")
    config = demo_config(ws, demo_workspace[1]).with_changes(output_path=str(tmp_path / "out2"))
    only_armed = tmp_path / "only-armed"  # a run folder whose only checkpoint is the malicious one
    only_armed.mkdir()
    os.link(armed, only_armed / armed.name)
    for kwargs in ({"config": config.with_changes(custom_model_path=str(armed))},
                   {"config": config, "mode": "restore", "resume_from": str(armed)},
                   {"config": config, "mode": "continue", "resume_from": str(only_armed)}):
        with pytest.raises(ConfigInvalid):
            start_run(ws, **kwargs)
    assert not marker.exists()
    assert not (tmp_path / "out2").exists() and len(list(ws.runs_dir.iterdir())) == 1  # only finished_run's
