"""Resume points of an output path: continue a run, or start anew from a checkpoint's weights.

With coqui-tts-trainer >= 0.3 `restore_path` loads weights only and resets the step to 0, so the
two choices are labelled differently: "continue" keeps step, optimizer and scheduler state.
"""
from __future__ import annotations

from pathlib import Path

from core.checkpoints.files import checkpoint_looks_complete
from core.checkpoints.layout import best_step_files, periodic_checkpoints, trainer_run_folders


def intact_checkpoints(folder: Path) -> list[Path]:
    """Complete checkpoint_<step>.pth and best_model_<step>.pth files, highest step first."""
    found = [(step, path) for step, path in periodic_checkpoints(folder) + best_step_files(folder)
             if checkpoint_looks_complete(path)]
    return [path for _, path in sorted(found, key=lambda pair: pair[0], reverse=True)]


def newest_resumable_folder(output_path: str | Path) -> Path | None:
    """The newest run folder holding at least one intact checkpoint (what 'continue' uses)."""
    for folder in trainer_run_folders(output_path):
        if intact_checkpoints(folder):
            return folder
    return None


def all_checkpoints(output_path: str | Path) -> list[Path]:
    """Every intact step checkpoint of every run folder of an output path, newest run first."""
    return [p for folder in trainer_run_folders(output_path) for p in intact_checkpoints(folder)]
