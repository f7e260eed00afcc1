"""Retention beyond the trainer's "keep the newest N": best-K models and every-K-th-step milestones.

Policies users know from HF Trainer, Lightning and Orbax. The trainer prunes every
`checkpoint_*.pth` and `best_model*.pth` in the run folder, so kept files live in `kept/`, as
hard links made right after the trainer finished writing (no extra bytes while the original
exists; the data survives when the trainer deletes the original). Nothing here ever touches a
file the trainer may still be writing: only complete files are linked, and only files in kept/
are deleted.
"""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from core.base.atomic_io import read_json, write_json_atomic
from core.checkpoints.files import checkpoint_looks_complete
from core.checkpoints.layout import best_step_files, checkpoint_name, kept_dir as kept_dir_of, step_of

INDEX = "index.json"


@dataclass(frozen=True)
class RetentionPolicy:
    keep_best_k: int = 0
    milestone_every_steps: int = 0

    @property
    def active(self) -> bool:
        return bool(self.keep_best_k or self.milestone_every_steps)


def _link(src: Path, dst: Path) -> None:
    dst.parent.mkdir(exist_ok=True)
    tmp = dst.with_name(f".{dst.name}.partial-{os.getpid()}")
    try:
        os.link(src, tmp)
    except OSError:  # another filesystem or no hard links: fall back to a real copy
        shutil.copyfile(src, tmp)
    os.replace(tmp, dst)


def keep_milestone(run_folder: Path, step: int, policy: RetentionPolicy) -> Path | None:
    """Keep checkpoint_<step>.pth in kept/ when `step` is a milestone."""
    if not policy.milestone_every_steps or step <= 0 or step % policy.milestone_every_steps:
        return None
    src = run_folder / checkpoint_name(step)
    if not src.is_file() or not checkpoint_looks_complete(src):
        return None
    dst = kept_dir_of(run_folder) / src.name
    if not dst.exists():
        _link(src, dst)
    return dst


def keep_best(run_folder: Path, loss: float | None, policy: RetentionPolicy) -> list[Path]:
    """Keep the newest best_model_<step>.pth in kept/, then drop kept best models beyond K by loss."""
    if not policy.keep_best_k:
        return []
    best = best_step_files(run_folder)
    if not best:
        return []
    src = best[-1][1]
    kept_dir = kept_dir_of(run_folder)
    index = read_json(kept_dir / INDEX) or {}
    if src.name not in index and checkpoint_looks_complete(src):
        _link(src, kept_dir / src.name)
        index[src.name] = loss if loss is not None else float("inf")
    ranked = sorted(index.items(), key=lambda item: (item[1], -(step_of(Path(item[0])) or 0)))
    for name, _ in ranked[policy.keep_best_k:]:
        (kept_dir / name).unlink(missing_ok=True)
        del index[name]
    write_json_atomic(kept_dir / INDEX, index)
    return [kept_dir / name for name, _ in ranked[: policy.keep_best_k]]
