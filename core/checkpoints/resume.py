"""Resume points of an output path: continue a run, or start anew from a checkpoint's weights.

With coqui-tts-trainer >= 0.3 `restore_path` loads weights only and resets the step to 0, so the
two choices are labelled differently: "continue" keeps step, optimizer and scheduler state.

A save a crash cut short must not be resumed from, and must not stay where the trainer looks: its
pruning globs `checkpoint_*` and `best_model*` in the run folder whatever the suffix, and sorts by
(step, path), so a cut `checkpoint_200.pth.incomplete` beside the fresh `checkpoint_200.pth` made it
delete the fresh file at keep=1. Cut files therefore move to the run folder's incomplete/ (the
trainer never looks in subfolders), under their own names, and are never deleted here.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from core.checkpoints.files import checkpoint_looks_complete
from core.checkpoints.layout import (INCOMPLETE_SUFFIX, best_step_files, incomplete_dir, incomplete_names,
                                     name_without_incomplete_suffix, periodic_checkpoints, trainer_run_folders)


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


@dataclass(frozen=True)
class MovedCutSave:
    """A cut save moved out of the trainer's reach."""
    original: Path  # where it was, in the run folder
    moved_to: Path  # where it is now, in incomplete/


def cut_saves(run_folder: Path) -> list[Path]:
    """Files of a run folder the trainer must not see: incomplete model files, and "<name>.incomplete"
    leftovers of earlier versions (renamed in place, still matched by the trainer's pruning)."""
    cut = [p for p in run_folder.glob("*.pth") if p.is_file() and not checkpoint_looks_complete(p)]
    leftovers = [p for p in run_folder.glob(f"*{INCOMPLETE_SUFFIX}") if p.is_file()]
    return sorted(cut + leftovers)


def set_aside_cut_saves(run_folder: Path) -> tuple[MovedCutSave, ...]:
    """Move every cut save of a run folder into its incomplete/ folder; nothing is replaced.

    Only call this while no trainer writes the folder (a continue holds the output lock): a file
    still being written looks cut too.
    """
    moved = []
    for path in cut_saves(run_folder):
        target = _move_without_replacing(path, incomplete_dir(run_folder), name_without_incomplete_suffix(path.name))
        moved.append(MovedCutSave(path, target))
    return tuple(moved)


def _move_without_replacing(path: Path, folder: Path, name: str) -> Path:
    folder.mkdir(exist_ok=True)
    for candidate in incomplete_names(name):
        target = folder / candidate
        try:
            # link() refuses an existing name, so a file set aside earlier is never replaced, even
            # by a racing mover; the source goes only once the new name holds the data (a crash in
            # between leaves both names, never neither).
            os.link(path, target)
        except FileExistsError:
            continue
        except OSError:  # no hard links on this filesystem: a checked rename, safe under the output lock
            if target.exists():
                continue
            path.rename(target)
            return target
        path.unlink()
        return target
    raise AssertionError("unreachable: incomplete_names never runs out")
