"""The trainer SIGKILLed in the middle of writing a checkpoint: nothing intact is lost.

The real trainer writes checkpoint_<step>.pth in place (310 MB for the demo model); a thread
stats the file every millisecond and kills the whole process group the moment it has bytes,
which lands well inside the write (it takes a few hundred milliseconds at disk speed).

Each case runs at keep=2 and keep=1: after a continue the trainer saves the cut step again and
prunes with keep_n_checkpoints, which at keep=1 deleted the fresh file when the cut one was left in
the run folder under a `checkpoint_*` name (docs/trainer-facts.md).
"""
from __future__ import annotations

import os
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

from core.checkpoints.files import FRESH_WRITE_S, Integrity, read_checkpoint_info
from core.checkpoints.gallery import gallery
from core.checkpoints.layout import incomplete_dir
from core.runs.launcher import start_run, wait_until_ended
from core.checkpoints.files import checkpoint_looks_complete
from core.checkpoints.resume import newest_resumable_folder
from core.registry.records import RunRecord, log_path
from core.registry.state import RunPhase, read_run_state
from core.trainer.demo import demo_config
from core.base.workspace import Workspace
from tests.conftest import wait_for


class KillWhenWriting(threading.Thread):
    """SIGKILLs a process group as soon as `path` exists with some bytes in it."""

    def __init__(self, path: Path, pgid: int):
        super().__init__(daemon=True)
        self.path, self.pgid = path, pgid
        self.size_at_kill: int | None = None
        self.done = threading.Event()

    def run(self) -> None:
        try:
            while not self.done.is_set():
                try:
                    size = os.stat(self.path).st_size
                except FileNotFoundError:
                    size = 0
                if size > 0:
                    os.killpg(self.pgid, signal.SIGKILL)
                    self.size_at_kill = size
                    return
                time.sleep(0.001)
        finally:
            self.done.set()


@dataclass
class KilledRun:
    ws: Workspace
    config: object
    record: RunRecord
    folder: Path  # the trainer's run folder
    cut: Path  # the checkpoint that was being written
    size_at_kill: int


@pytest.fixture(scope="module", params=[2, 1], ids=["keep2", "keep1"])
def killed(request, tmp_path_factory, demo_workspace) -> KilledRun:
    ws = Workspace.at(tmp_path_factory.mktemp(f"killws-keep{request.param}"))
    # Epoch 1 ends at step 60 with best_model_60.pth; the checkpoint at step 100 is the one we cut.
    # The continue resumes from best_model_60 and ends before step 200: step 100 is its last periodic
    # save, so what the trainer's pruning left after saving it again is what the tests see.
    config = demo_config(ws, demo_workspace[1]).with_changes(epochs=2, save_step=100,
                                                             save_n_checkpoints=request.param)
    record = start_run(ws, config)
    assert wait_for(lambda: read_run_state(ws, record.run_id).status.trainer_run_folder
                    or not read_run_state(ws, record.run_id).phase.is_live)
    folder = Path(read_run_state(ws, record.run_id).status.trainer_run_folder)
    cut = folder / "checkpoint_100.pth"
    killer = KillWhenWriting(cut, record.pid)
    killer.start()
    assert wait_for(lambda: killer.done.is_set() or not read_run_state(ws, record.run_id).phase.is_live)
    killer.done.set()
    killer.join()
    assert killer.size_at_kill, "the run ended before it wrote checkpoint_100.pth:\n" + "\n".join(
        read_run_state(ws, record.run_id).last_lines)
    wait_until_ended(ws, record.run_id, 30)
    return KilledRun(ws, config, record, folder, cut, killer.size_at_kill)


def test_cut_file_is_incomplete_and_every_earlier_file_is_intact(killed):
    fresh = read_checkpoint_info(killed.cut)
    assert fresh.integrity is Integrity.BEING_WRITTEN, "a just-cut file cannot be told from one still written"
    aged = read_checkpoint_info(killed.cut, now_s=killed.cut.stat().st_mtime + FRESH_WRITE_S + 1)
    assert aged.integrity is Integrity.TRUNCATED and "cut off" in aged.error
    assert killed.cut.stat().st_size < (killed.folder / "best_model_60.pth").stat().st_size
    for name in ("best_model_60.pth", "best_model.pth"):
        assert checkpoint_looks_complete(killed.folder / name), name
    state = read_run_state(killed.ws, killed.record.run_id)
    assert state.phase is RunPhase.FAILED and "killed or crashed" in state.detail


def test_gallery_flags_the_cut_file_truncated_once_it_ages(killed):
    def integrity() -> Integrity | None:
        entry = next((e for e in gallery(killed.ws) if e.path == killed.cut), None)
        return entry.info.integrity if entry else None

    assert integrity() in (Integrity.BEING_WRITTEN, Integrity.TRUNCATED)
    assert wait_for(lambda: integrity() is Integrity.TRUNCATED, FRESH_WRITE_S + 30, 0.5)
    intact = {e.path.name for e in gallery(killed.ws) if e.info.is_complete}
    assert {"best_model_60.pth", "best_model.pth"} <= intact


def in_trainers_reach(folder: Path) -> list[Path]:
    """What the trainer's globs can prune or resume from: checkpoint_* and best_model* in the run folder."""
    return sorted({*folder.glob("checkpoint_*"), *folder.glob("best_model*")})


@pytest.fixture(scope="module")
def continued(killed):
    ws, config = killed.ws, killed.config
    assert newest_resumable_folder(config.output_path) == killed.folder
    # Read before resuming: the resumed run's own best-model saves delete best_model_60.pth.
    restored = read_checkpoint_info(killed.folder / "best_model_60.pth")
    resumed = start_run(ws, config, mode="continue", resume_from=str(killed.folder))
    phase = wait_until_ended(ws, resumed.run_id, 300)
    state = read_run_state(ws, resumed.run_id)
    assert phase is RunPhase.FINISHED, state.detail + "\n" + "\n".join(state.last_lines)
    return resumed, state, restored


def test_continue_resumes_from_the_newest_intact_checkpoint(killed, continued):
    resumed, state, restored = continued
    assert state.status.trainer_settings["continue_run"] is True
    assert state.status.trainer_run_folder == str(killed.folder)
    log = log_path(killed.ws, resumed.run_id).read_text(errors="replace")
    assert "Skipping incomplete checkpoint checkpoint_100.pth" in log
    assert "best_model_60.pth" in log  # restored from the newest intact file
    # The trainer resumes at the checkpoint's step + 1 and redoes its epoch from the start.
    assert state.status.step == 60 + 1 + (killed.config.epochs - restored.epoch) * 60


def test_the_step_saved_again_survives_the_trainers_pruning(killed, continued):
    # The data-loss bug: at keep=1 the trainer kept the cut file and deleted this one.
    again = killed.folder / "checkpoint_100.pth"
    assert f"> CHECKPOINT : {again}" in log_path(killed.ws, continued[0].run_id).read_text(errors="replace")
    assert again.is_file(), f"checkpoint_100.pth was pruned; the run folder holds {in_trainers_reach(killed.folder)}"
    assert checkpoint_looks_complete(again)
    assert read_checkpoint_info(again).step == 100


def test_the_cut_file_is_kept_out_of_the_trainers_reach(killed, continued):
    moved = incomplete_dir(killed.folder) / "checkpoint_100.pth"
    assert moved.is_file() and moved.stat().st_size >= killed.size_at_kill, "the cut file is kept, set aside"
    for path in in_trainers_reach(killed.folder):
        assert checkpoint_looks_complete(path), f"{path.name} is not a complete file"
    entry = next(e for e in gallery(killed.ws) if e.path == moved)
    assert (entry.location, entry.info.integrity, entry.is_best, entry.protected) == \
        ("incomplete", Integrity.TRUNCATED, False, False)


def test_every_file_the_gallery_calls_complete_loads(killed, continued):
    complete = [e for e in gallery(killed.ws) if e.info.is_complete]
    assert {killed.folder / "checkpoint_100.pth", killed.folder / "best_model.pth"} <= {e.path for e in complete}
    for entry in complete:
        state = torch.load(entry.path, weights_only=True, map_location="cpu", mmap=True)
        assert state["step"] == entry.info.step, entry.path
