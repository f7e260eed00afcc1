"""Resume points on real checkpoint files: truncated ones are skipped, steps ordered numerically."""
from __future__ import annotations

import os
from pathlib import Path

from core.checkpoints.layout import trainer_output_dir
from core.checkpoints.resume import all_checkpoints, intact_checkpoints, newest_resumable_folder
from tests.checkpoints.test_files import age, save_checkpoint


def truncated(path: Path, like: Path) -> Path:
    """What a crash mid-save leaves: the first half of a real checkpoint, no longer being written."""
    data = like.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    age(path)
    return path


def set_mtime(folder: Path, mtime_s: float) -> None:
    os.utime(folder, (mtime_s, mtime_s))


def test_intact_checkpoints_skips_truncated_and_orders_by_step(tmp_path):
    folder = tmp_path / "run"
    c100 = save_checkpoint(folder / "checkpoint_100.pth", step=100)
    c200 = save_checkpoint(folder / "checkpoint_200.pth", step=200)
    b240 = save_checkpoint(folder / "best_model_240.pth", step=240)
    save_checkpoint(folder / "best_model.pth", step=240)  # no step in its name: not a resume point
    truncated(folder / "checkpoint_1000.pth", c200)  # the highest step, but cut off
    save_checkpoint(folder / "kept" / "checkpoint_5000.pth", step=5000)  # ours, not the trainer's
    (folder / "checkpoint_300.pth.incomplete").write_bytes(c200.read_bytes())  # set aside by a continue
    assert intact_checkpoints(folder) == [b240, c200, c100]


def test_intact_checkpoints_orders_steps_numerically_not_by_name(tmp_path):
    folder = tmp_path / "run"
    paths = {step: save_checkpoint(folder / f"checkpoint_{step}.pth", step=step) for step in (9, 1000, 200)}
    assert intact_checkpoints(folder) == [paths[1000], paths[200], paths[9]]


def test_intact_checkpoints_of_a_folder_with_none(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    assert intact_checkpoints(folder) == []
    (folder / "checkpoint_100.pth").write_bytes(b"not a checkpoint at all")
    age(folder / "checkpoint_100.pth")
    assert intact_checkpoints(folder) == []
    assert intact_checkpoints(tmp_path / "missing") == []


def test_newest_resumable_folder_skips_a_newer_folder_with_only_a_truncated_file(tmp_path):
    output = tmp_path / "out"
    root = trainer_output_dir(output)
    older, newer = root / "GPT-older", root / "GPT-newer"
    good = save_checkpoint(older / "checkpoint_100.pth", step=100)
    newer.mkdir(parents=True)
    truncated(newer / "checkpoint_200.pth", good)
    set_mtime(older, 1_000)
    set_mtime(newer, 2_000)
    assert newest_resumable_folder(output) == older
    # Once the newer folder holds an intact checkpoint, it is the one to continue.
    save_checkpoint(newer / "checkpoint_150.pth", step=150)
    set_mtime(newer, 2_000)
    assert newest_resumable_folder(output) == newer


def test_newest_resumable_folder_none_without_intact_checkpoints(tmp_path):
    output = tmp_path / "out"
    assert newest_resumable_folder(output) is None
    folder = trainer_output_dir(output) / "GPT-only-cut"
    good = save_checkpoint(tmp_path / "elsewhere" / "checkpoint_1.pth", step=1)
    folder.mkdir(parents=True)
    truncated(folder / "checkpoint_1.pth", good)
    assert newest_resumable_folder(output) is None


def test_all_checkpoints_newest_run_first_then_highest_step(tmp_path):
    output = tmp_path / "out"
    root = trainer_output_dir(output)
    a100 = save_checkpoint(root / "GPT-a" / "checkpoint_100.pth", step=100)
    a200 = save_checkpoint(root / "GPT-a" / "checkpoint_200.pth", step=200)
    b50 = save_checkpoint(root / "GPT-b" / "checkpoint_50.pth", step=50)
    b60 = save_checkpoint(root / "GPT-b" / "best_model_60.pth", step=60)
    truncated(root / "GPT-b" / "checkpoint_70.pth", a100)
    (root / "GPT-empty").mkdir()
    set_mtime(root / "GPT-a", 1_000)
    set_mtime(root / "GPT-b", 3_000)
    set_mtime(root / "GPT-empty", 2_000)
    assert all_checkpoints(output) == [b60, b50, a200, a100]
    assert all_checkpoints(tmp_path / "nothing-here") == []
