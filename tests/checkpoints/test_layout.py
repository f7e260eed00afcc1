"""The trainer's folder and file names, on real folders in tmp_path."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from core.checkpoints.layout import (
    best_model_files,
    best_step_files,
    best_step_name,
    checkpoint_name,
    kept_dir,
    output_path_of,
    parse_step_file,
    periodic_checkpoints,
    ready_dir,
    step_of,
    trainer_output_dir,
    trainer_run_folders,
)


def touch(path: Path, mtime_s: float | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    if mtime_s is not None:
        os.utime(path, (mtime_s, mtime_s))
    return path


def test_paths_of_an_output_path_and_back(tmp_path):
    output = tmp_path / "out"
    assert trainer_output_dir(output) == output / "run" / "training"
    assert trainer_output_dir(str(output)) == output / "run" / "training"
    assert ready_dir(output) == output / "ready"
    folder = trainer_output_dir(output) / "GPT_XTTS_FT-May-01-2025_10+00AM-abc"
    assert kept_dir(folder) == folder / "kept"
    assert output_path_of(folder) == output
    assert output_path_of(trainer_output_dir(str(output)) / "x") == output


@pytest.mark.parametrize("name, parsed", [
    ("checkpoint_200.pth", ("checkpoint", 200)),
    ("best_model_240.pth", ("best_model", 240)),
    ("checkpoint_0.pth", ("checkpoint", 0)),
    ("checkpoint_1000000.pth", ("checkpoint", 1_000_000)),
    ("best_model.pth", None),
    ("checkpoint_200.pth.incomplete", None),
    ("checkpoint_x.pth", None),
    ("checkpoint_.pth", None),
    ("checkpoint_-5.pth", None),
    ("checkpoint_200.pt", None),
    (".checkpoint_200.pth.partial-123", None),
    ("my_checkpoint_200.pth", None),
    ("best_model_240-optimized.pth", None),
    ("unoptimize_model.pth", None),
])
def test_parse_step_file(name, parsed):
    assert parse_step_file(name) == parsed
    assert step_of(Path("/o") / name) == (parsed[1] if parsed else None)


def test_names_parse_back_to_their_step():
    for step in (0, 7, 200, 123456):
        assert parse_step_file(checkpoint_name(step)) == ("checkpoint", step)
        assert parse_step_file(best_step_name(step)) == ("best_model", step)


def test_step_files_are_sorted_numerically_and_by_kind(tmp_path):
    for name in ("checkpoint_1000.pth", "checkpoint_200.pth", "checkpoint_30.pth", "checkpoint_200.pth.incomplete",
                 "checkpoint_x.pth", "best_model.pth", "best_model_1000.pth", "best_model_240.pth",
                 "best_model_9.pth", "config.json"):
        touch(tmp_path / name)
    (tmp_path / "kept").mkdir()
    touch(tmp_path / "kept" / "checkpoint_5000.pth")  # ours, in a subfolder: not the trainer's
    assert periodic_checkpoints(tmp_path) == [(30, tmp_path / "checkpoint_30.pth"),
                                              (200, tmp_path / "checkpoint_200.pth"),
                                              (1000, tmp_path / "checkpoint_1000.pth")]
    assert best_step_files(tmp_path) == [(9, tmp_path / "best_model_9.pth"), (240, tmp_path / "best_model_240.pth"),
                                         (1000, tmp_path / "best_model_1000.pth")]
    assert set(best_model_files(tmp_path)) == {tmp_path / n for n in ("best_model.pth", "best_model_1000.pth",
                                                                         "best_model_240.pth", "best_model_9.pth")}


def test_step_files_of_a_missing_or_empty_folder(tmp_path):
    assert periodic_checkpoints(tmp_path / "gone") == [] and best_step_files(tmp_path / "gone") == []
    assert periodic_checkpoints(tmp_path) == [] and best_step_files(tmp_path) == []


def test_trainer_run_folders_newest_first(tmp_path):
    output = tmp_path / "out"
    root = trainer_output_dir(output)
    for name, mtime in (("GPT-a", 1_000), ("GPT-c", 3_000), ("GPT-b", 2_000)):
        (root / name).mkdir(parents=True)
        os.utime(root / name, (mtime, mtime))
    touch(root / "stray.txt")  # a file beside the folders is not a run folder
    assert trainer_run_folders(output) == [root / "GPT-c", root / "GPT-b", root / "GPT-a"]
    assert trainer_run_folders(str(output)) == [root / "GPT-c", root / "GPT-b", root / "GPT-a"]


def test_trainer_run_folders_of_a_missing_output(tmp_path):
    assert trainer_run_folders(tmp_path / "never") == []
    (tmp_path / "bare").mkdir()
    assert trainer_run_folders(tmp_path / "bare") == []
