"""Stop ends the whole process group: the trainer and its data-loader workers, no zombies left."""
from __future__ import annotations

import os
from pathlib import Path

import psutil

from core.runs.launcher import request_stop, start_run, wait_until_ended
from core.checkpoints.files import checkpoint_looks_complete
from core.registry.process_identity import group_members
from core.registry.state import EXIT_INTERRUPTED, RunPhase, read_run_state
from core.trainer.demo import demo_config
from core.base.workspace import Workspace
from tests.conftest import wait_for


def group_of(pgid: int) -> list[psutil.Process]:
    """Every process of the group, zombies included."""
    found = []
    for proc in psutil.process_iter():
        try:
            if os.getpgid(proc.pid) == pgid:
                found.append(proc)
        except (ProcessLookupError, PermissionError, psutil.NoSuchProcess):
            continue
    return found


def test_stop_ends_trainer_and_loader_workers(tmp_path, demo_workspace):
    ws = Workspace.at(tmp_path / "ws")
    config = demo_config(ws, demo_workspace[1]).with_changes(epochs=1, save_step=5000, num_loader_workers=2)
    record = start_run(ws, config)
    assert wait_for(lambda: read_run_state(ws, record.run_id).status.step >= 3), \
        "\n".join(read_run_state(ws, record.run_id).last_lines)
    members = group_members(record.pid)
    assert len(members) >= 3, f"expected the trainer and 2 loader workers, found {[p.pid for p in members]}"
    pids = {p.pid for p in members}

    request_stop(ws, record.run_id, grace_s=120)
    phase = wait_until_ended(ws, record.run_id, 180)
    state = read_run_state(ws, record.run_id)
    assert phase is RunPhase.STOPPED and state.exit_code == EXIT_INTERRUPTED, state.detail
    saved = state.status.last_checkpoint.path
    assert checkpoint_looks_complete(Path(saved))

    def gone(pid: int) -> bool:
        try:
            return psutil.Process(pid).status() == psutil.STATUS_DEAD
        except psutil.NoSuchProcess:
            return True

    def nothing_left() -> bool:
        # A zombie still has a pid and a group: both checks fail until it is reaped.
        return not group_of(record.pid) and all(gone(p) for p in pids)

    assert wait_for(nothing_left, 30), [(p.pid, p.status()) for p in group_of(record.pid)]
