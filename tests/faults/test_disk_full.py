"""Disk full during a checkpoint save (the real trainer on a small tmpfs) and during promote.

A tmpfs of limited size gives a real ENOSPC (mounting needs root; the test is skipped without
it). RLIMIT_FSIZE gives EFBIG to one process without root; Python ignores SIGXFSZ, so the
write fails with an OSError instead of killing the process.
"""
from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from core.checkpoints.files import FRESH_WRITE_S, Integrity, read_checkpoint_info
from core.checkpoints.ops import clean_stale_temp_files, promote
from core.checkpoints.gallery import gallery
from core.runs.launcher import start_run, wait_until_ended
from core.checkpoints.files import checkpoint_looks_complete
from core.registry.state import RunPhase, read_run_state
from core.trainer.demo import demo_config
from core.base.workspace import Workspace
from tests.checkpoints.test_files import make_checkpoint, save_checkpoint
from tests.conftest import wait_for

PROJECT = Path(__file__).resolve().parents[2]
DEMO_CHECKPOINT_BYTES = 310 * 10**6  # docs/trainer-facts.md: one demo checkpoint


def mount_tmpfs(path: Path, size_bytes: int) -> None:
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_bytes}", "tmpfs", str(path)],
                          capture_output=True, text=True)
    if done.returncode:
        pytest.skip(f"cannot mount a small tmpfs here (needs root): {done.stderr.strip()}")


def unmount(path: Path) -> None:
    subprocess.run(["umount", "-l", str(path)], check=False)


@pytest.fixture
def small_disk(tmp_path):
    mounted = []

    def make(size_bytes: int) -> Path:
        path = tmp_path / f"disk{len(mounted)}"
        mount_tmpfs(path, size_bytes)
        mounted.append(path)
        return path

    yield make
    for path in mounted:
        unmount(path)


def test_trainer_runs_out_of_disk_during_a_checkpoint_save(tmp_path, demo_workspace, small_disk):
    # Room for best_model_60.pth and its best_model.pth copy, not for checkpoint_100.pth as well.
    disk = small_disk(2 * DEMO_CHECKPOINT_BYTES + 100 * 10**6)
    ws = Workspace.at(tmp_path / "ws")
    config = demo_config(ws, demo_workspace[1]).with_changes(
        epochs=2, save_step=100, save_n_checkpoints=2, output_path=str(disk / "out"))
    # The disk forecast would refuse this launch; the override stands for a disk that fills up
    # after the check (another program writing, a forecast that was too low).
    record = start_run(ws, config, disk_override=True)
    phase = wait_until_ended(ws, record.run_id, 300)
    state = read_run_state(ws, record.run_id)
    assert phase is RunPhase.FAILED and state.exit_code == 1, state.detail
    assert "disk looks full" in state.detail
    tail = "\n".join(state.last_lines)
    # torch.save reports a full disk only as a zip-writer error ("unexpected pos ..."), not ENOSPC.
    assert "save_checkpoint" in tail and "torch.save" in tail and "RuntimeError" in tail, tail
    folder = Path(state.status.trainer_run_folder)
    assert checkpoint_looks_complete(folder / "best_model_60.pth")
    assert checkpoint_looks_complete(folder / "best_model.pth")
    cut = folder / "checkpoint_100.pth"
    assert cut.is_file() and not checkpoint_looks_complete(cut)
    aged = read_checkpoint_info(cut, now_s=cut.stat().st_mtime + FRESH_WRITE_S + 1)
    assert aged.integrity is Integrity.TRUNCATED

    def flagged() -> Integrity | None:
        entry = next((e for e in gallery(ws) if e.path == cut), None)
        return entry.info.integrity if entry else None

    assert wait_for(lambda: flagged() is Integrity.TRUNCATED, FRESH_WRITE_S + 30, 0.5)


PROMOTE_UNDER_LIMIT = """
import resource, signal, sys
from core.checkpoints.ops import promote
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
limit = int(sys.argv[3])
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
try:
    promote(sys.argv[1], sys.argv[2], overwrite=True)
except OSError as exc:
    print("OSError", exc.errno, exc.strerror, flush=True)
    sys.exit(3)
print("promoted", flush=True)
"""


def big_checkpoint(path: Path, megabytes: int) -> Path:
    checkpoint = make_checkpoint(step=300)
    checkpoint["model"]["xtts.hifigan_decoder.big"] = torch.zeros(megabytes * 2**20 // 4)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(checkpoint, path)
    return path


def test_promote_past_the_file_size_limit_fails_clearly_and_leaves_no_partial_file(tmp_path):
    src = big_checkpoint(tmp_path / "run" / "checkpoint_300.pth", 4)
    custom = tmp_path / "custom"
    target = save_checkpoint(custom / "voice.pth", step=100)
    neighbour = save_checkpoint(custom / "other.pth", step=50)
    before = {p: p.read_bytes() for p in (target, neighbour)}
    done = subprocess.run([sys.executable, "-c", PROMOTE_UNDER_LIMIT, str(src), str(target),
                           str(src.stat().st_size // 2)], cwd=PROJECT, capture_output=True, text=True,
                          timeout=120, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    assert done.returncode == 3, done.stdout + done.stderr
    assert done.stdout.split()[:2] == ["OSError", str(errno.EFBIG)], done.stdout
    assert "File too large" in done.stdout
    assert {p: p.read_bytes() for p in before} == before, "earlier files changed"
    clean_stale_temp_files(custom)
    assert sorted(p.name for p in custom.iterdir()) == ["other.pth", "voice.pth"]
    assert read_checkpoint_info(target).step == 100


def test_promote_onto_a_full_disk_fails_clearly_and_leaves_no_partial_file(tmp_path, small_disk):
    disk = small_disk(3 * 2**20)
    src = big_checkpoint(tmp_path / "run" / "checkpoint_300.pth", 4)
    earlier = save_checkpoint(disk / "custom" / "earlier.pth", step=10)
    kept = earlier.read_bytes()
    with pytest.raises(OSError) as failed:
        promote(src, disk / "custom" / "new.pth")
    assert failed.value.errno == errno.ENOSPC
    assert not (disk / "custom" / "new.pth").exists()
    assert earlier.read_bytes() == kept
    clean_stale_temp_files(disk / "custom")
    assert sorted(p.name for p in (disk / "custom").iterdir()) == ["earlier.pth"]
