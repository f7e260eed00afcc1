"""Resume points of an output path: continue a run, or start anew from a checkpoint's weights.

With coqui-tts-trainer >= 0.3 `restore_path` loads weights only and resets the step to 0, so the
two choices are labelled differently: "continue" keeps step, optimizer and scheduler state.
"""
from __future__ import annotations

import re
from pathlib import Path

from core.preflight import checkpoint_looks_complete
from core.trainer_setup import trainer_output_dir

STEP_IN_NAME = re.compile(r"(?:checkpoint|best_model)_(\d+)\.pth$")


def checkpoint_step(path: Path) -> int | None:
    match = STEP_IN_NAME.search(path.name)
    return int(match.group(1)) if match else None


def run_folders(output_path: str | Path) -> list[Path]:
    """The trainer's run folders under <output>/run/training, newest first."""
    root = trainer_output_dir(output_path)
    if not root.is_dir():
        return []
    return sorted((p for p in root.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime, reverse=True)


def intact_checkpoints(folder: Path) -> list[Path]:
    """Complete checkpoint_<step>.pth and best_model_<step>.pth files, highest step first."""
    found = [p for p in folder.glob("*.pth") if checkpoint_step(p) is not None and checkpoint_looks_complete(p)]
    return sorted(found, key=lambda p: checkpoint_step(p), reverse=True)


def newest_resumable_folder(output_path: str | Path) -> Path | None:
    """The newest run folder holding at least one intact checkpoint (what 'continue' uses)."""
    for folder in run_folders(output_path):
        if intact_checkpoints(folder):
            return folder
    return None


def all_checkpoints(output_path: str | Path) -> list[Path]:
    """Every intact step checkpoint of every run folder of an output path, newest run first."""
    return [p for folder in run_folders(output_path) for p in intact_checkpoints(folder)]
