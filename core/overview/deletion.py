"""Deleting a run: its record folder, its trainer run folder(s) and, when no other run uses its output
folder, that output's ready/.

What belongs to a run and what it shares:
- `workspace/runs/<id>/` (record, status, logs, disk history) is its own.
- Its trainer folder is the one status.json names, plus `<output>/run/training/<run name>-<id>-*`
  (the trainer names folders after our run id). A continue trains in the folder it continues, so a
  folder that another run's status or resume point names is shared: it is kept and the plan says so.
- `<output>/ready/` (with ready/previous/) belongs to the output folder: deleted only when no other
  run of the workspace has that output path.
Only folders laid out as `<output>/run/training/<folder>` are ever removed as trainer folders, so a
hand-edited status.json cannot point the deletion anywhere else, and only inside the workspace roots.

A run that trains (running or stopping) is refused, and the output path's lock (the one a training
process holds for its life) is held during the deletion, so no run can start there meanwhile.
Bytes freed count each file once and only when all its names go (core.checkpoints.deletion's rule:
a kept/ retention link or a promoted copy's hard link elsewhere frees nothing).
"""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from core.checkpoints.deletion import bytes_freed_by_deleting
from core.checkpoints.layout import output_path_of, ready_dir, trainer_output_dir, trainer_run_folders
from core.base.path_guard import EXTRA_ROOTS_HINT, is_inside_roots
from core.registry.output_lock import OutputBusy, try_lock_output
from core.registry.records import list_run_ids, load_record, read_status, run_dir
from core.registry.state import read_run_state
from core.base.workspace import Workspace


class RunActionRefused(Exception):
    """An action on a run that was not done; `fix` says what to do instead, in plain words."""

    def __init__(self, problem: str, fix: str):
        super().__init__(f"{problem} {fix}")
        self.problem = problem
        self.fix = fix

    def __reduce__(self):  # rebuilt from its parts when it crosses a process line (core.offload)
        return type(self), (self.problem, self.fix)


@dataclass(frozen=True)
class RunDeletionPlan:
    run_id: str
    record_folder: Path
    trainer_folders: tuple[Path, ...]
    ready_folder: Path | None  # None: there is none, or another run uses the output folder
    kept: tuple[str, ...]  # what stays, and why, one sentence each
    bytes_freed: int  # what deleting would free now

    @property
    def folders(self) -> tuple[Path, ...]:
        """Everything removed, the record folder last (a deletion cut short leaves the run listed)."""
        return (*self.trainer_folders, *((self.ready_folder,) if self.ready_folder else ()), self.record_folder)


@dataclass(frozen=True)
class RunDeleted:
    run_id: str
    removed: tuple[Path, ...]
    kept: tuple[str, ...]
    bytes_freed: int


def _resolved(path: str | Path | None) -> Path | None:
    return Path(path).expanduser().resolve() if path else None


def _record_folder(ws: Workspace, run_id: str) -> Path:
    folder = run_dir(ws, run_id)
    if run_id in ("", ".", "..") or folder.parent.resolve() != ws.runs_dir.resolve() or not folder.is_dir():
        raise RunActionRefused(f"There is no run {run_id!r} in this workspace.",
                               "The Runs page and `python -m core.cli list` show its runs.")
    return folder


def _uses_of_others(ws: Workspace, run_id: str) -> tuple[dict[Path, str], dict[Path, list[str]]]:
    """(trainer folder -> another run that trains or continues in it, output path -> other runs using it)."""
    folders: dict[Path, str] = {}
    outputs: dict[Path, list[str]] = {}
    for other in list_run_ids(ws):
        record = load_record(ws, other) if other != run_id else None
        if record is None:
            continue
        outputs.setdefault(_resolved(record.output_path), []).append(other)
        for folder in (read_status(ws, other).run_folder, record.resume_from if record.mode == "continue" else None):
            if folder:
                folders.setdefault(_resolved(folder), other)
    return folders, outputs


def _files_under(folders: tuple[Path, ...]) -> list[Path]:
    found = []
    for folder in folders:
        for root, _dirs, names in os.walk(folder):
            found.extend(Path(root) / name for name in names)
    return found


def plan_run_deletion(ws: Workspace, run_id: str) -> RunDeletionPlan:
    """What deleting the run would remove, keep and free; refuses a training run or folders outside the roots."""
    record_folder = _record_folder(ws, run_id)
    state = read_run_state(ws, run_id)
    if state.phase.is_live:
        raise RunActionRefused(f"Run {run_id} is {state.phase.value}; a run is never deleted while it trains.",
                               f"Stop it first (Train or Monitor page, or `python -m core.cli stop {run_id}`) "
                               "and delete it once it has ended.")
    record = state.record
    if record is None:
        return RunDeletionPlan(run_id, record_folder, (), None,
                               ("Its record is unreadable, so its trainer folders are unknown: only the record "
                                "folder is removed.",), bytes_freed_by_deleting(_files_under((record_folder,))))
    output = _resolved(record.output_path)
    training = trainer_output_dir(output) if output else None
    candidates: list[Path] = []
    for folder in (state.status.run_folder, record.resume_from if record.mode == "continue" else None):
        if folder and _resolved(folder) not in candidates:
            candidates.append(_resolved(folder))
    if output and record.trainer_run_name:
        prefix = f"{record.trainer_run_name}-"
        candidates += [f.resolve() for f in trainer_run_folders(output)
                       if f.name.startswith(prefix) and f.resolve() not in candidates]
    others_folders, others_outputs = _uses_of_others(ws, run_id)
    trainer_folders, kept = [], []
    for folder in candidates:
        if not folder.is_dir():
            continue
        if training is None or output_path_of(folder) != output:
            kept.append(f"{folder} is not a trainer folder of {record.output_path} (<output>/run/training/); left alone.")
        elif folder in others_folders:
            kept.append(f"{folder} is kept: run {others_folders[folder]} trains or continues in it too.")
        else:
            trainer_folders.append(folder)
    ready = ready_dir(output) if output else None
    if ready is not None and ready.is_dir():
        sharing = others_outputs.get(output, [])
        if sharing:
            kept.append(f"{ready} is kept: run{'s' if len(sharing) > 1 else ''} {', '.join(sharing)} also "
                        f"use{'' if len(sharing) > 1 else 's'} this output folder.")
            ready = None
    else:
        ready = None
    plan_folders = (*trainer_folders, *((ready,) if ready else ()))
    outside = [f for f in plan_folders if not is_inside_roots(ws, f)]
    if outside:
        raise RunActionRefused(f"Not deleted: {', '.join(map(str, outside))} is outside the workspace roots.",
                               f"Delete it by hand, or {EXTRA_ROOTS_HINT}.")
    freed = bytes_freed_by_deleting(_files_under((*plan_folders, record_folder)))
    return RunDeletionPlan(run_id, record_folder, tuple(trainer_folders), ready, tuple(kept), freed)


def _remove_empty_parents(training: Path) -> None:
    """<output>/run/training and <output>/run, when nothing is left in them (the output folder stays)."""
    for folder in (training, training.parent):
        try:
            folder.rmdir()
        except OSError:
            return  # not empty, or already gone


def delete_run(ws: Workspace, run_id: str) -> RunDeleted:
    """Delete the run as `plan_run_deletion` describes it, holding its output path's lock meanwhile.

    Raises RunActionRefused when it trains, when another run trains in its output folder, or when
    a folder could not be removed (the record then stays, so the run is still listed and can be
    deleted again).
    """
    _record_folder(ws, run_id)
    record = load_record(ws, run_id)
    output = Path(record.output_path).expanduser() if record and record.output_path else None
    lock = None
    if output is not None and output.is_dir():
        try:
            lock = try_lock_output(output, run_id)
        except OutputBusy as busy:
            raise RunActionRefused(f"Not deleted: run {busy.holder_run_id} is training in {output}.",
                                   "Delete this run after that one has ended, or stop it first.") from None
    try:
        plan = plan_run_deletion(ws, run_id)  # under the lock: nothing starts in this output meanwhile
        failed: list[str] = []
        for folder in plan.folders:
            if failed and folder == plan.record_folder:
                break
            if folder.exists():  # onerror, not onexc: this project runs on Python 3.11
                shutil.rmtree(folder, onerror=lambda _f, path, info: failed.append(f"{path} ({info[1]})"))
        if output is not None:
            _remove_empty_parents(trainer_output_dir(output))
    finally:
        if lock is not None:
            lock.release()
    if failed:
        raise RunActionRefused(f"Run {run_id} was deleted only in part; these could not be removed: "
                               + "; ".join(failed[:5]) + ".",
                               "Check their permissions and delete the run again (it stays listed until then).")
    return RunDeleted(run_id, plan.folders, plan.kept, plan.bytes_freed)
