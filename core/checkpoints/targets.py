"""Where our own writes (promote, optimize, export) may go: never into the trainer's run folders.

coqui's trainer owns <output>/run/training/ (docs/trainer-facts.md "What the trainer writes"): its
rotation deletes any `best_model*` or `checkpoint_*` file in a run folder, counts ours among the N
it keeps, and `continue_path` may pick one up although it holds no optimizer state. kept/ and the
set-aside folders inside a run folder are ours but still the trainer's territory to look at. So
anything under a run/training folder is refused, and an optimized model goes to the run's
ready/model.pth (the guide's place) by default.
"""
from __future__ import annotations

import os
from pathlib import Path

from core.checkpoints.files import CheckpointError
from core.checkpoints.layout import OPTIMIZED_MODEL_NAME, READY_DIR, TRAINING_SUBPATH, ready_dir
from core.checkpoints.ready_bundles import is_bundle_folder


class TrainerFolderTargetError(CheckpointError):
    pass


def _training_index(folder: Path) -> int | None:
    """Where run/training starts in a folder's parts (the last such place), else None."""
    parts, n = folder.parts, len(TRAINING_SUBPATH)
    hits = [i for i in range(len(parts) - n + 1) if parts[i:i + n] == TRAINING_SUBPATH]
    return hits[-1] if hits else None


def in_trainer_area(path: str | os.PathLike[str]) -> bool:
    """True for a file anywhere under a run/training folder, by its written path or through symlinks."""
    path = Path(path).expanduser()
    folders = {Path(os.path.abspath(path)).parent, path.resolve().parent}
    return any(_training_index(folder) is not None for folder in folders)


def refuse_trainer_area(target: str | os.PathLike[str]) -> None:
    """Raise TrainerFolderTargetError, saying why and where to write instead, for a target in the trainer's folders."""
    if in_trainer_area(target):
        raise TrainerFolderTargetError(
            f"{target} is inside the trainer's run folders (under run/training): its checkpoint rotation "
            "deletes or miscounts files there, and a continue could pick a file of ours up as a checkpoint.",
            f"Choose the run's {READY_DIR}/ folder (<output>/{READY_DIR}/{OPTIMIZED_MODEL_NAME}) "
            "or the custom models folder.")


def default_optimize_target(source: str | os.PathLike[str]) -> Path:
    """Where optimize writes by default: the run's ready/model.pth for a file of its run folders
    (kept/ included), model.pth beside a bundle's own model, else <stem>-optimized.pth beside it."""
    source = Path(source)
    index = _training_index(source.parent)
    if index is not None:
        return ready_dir(Path(*source.parent.parts[:index])) / OPTIMIZED_MODEL_NAME
    if is_bundle_folder(source.parent):
        return source.parent / OPTIMIZED_MODEL_NAME
    return source.with_name(f"{source.stem}-optimized.pth")
