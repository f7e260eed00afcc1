"""The checkpoint gallery: every model file of every run of the workspace, and what may be done to it."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.checkpoints import layout
from core.checkpoints.files import CheckpointInfo, CheckpointKind, list_checkpoints
from core.registry.process_identity import is_alive
from core.registry.records import list_run_ids, load_record, read_status
from core.base.workspace import Workspace


@dataclass(frozen=True)
class GalleryEntry:
    info: CheckpointInfo
    run_id: str | None  # the run record that wrote it, when known
    location: str  # run | kept | incomplete | ready | custom
    is_best: bool
    protected: bool  # the live run's newest checkpoint or best model: never deleted from the UI

    @property
    def path(self) -> Path:
        return self.info.path


def run_folders_by_run(ws: Workspace) -> dict[Path, str]:
    """Every trainer run folder of every output path the workspace's runs used -> a run id."""
    folders: dict[Path, str] = {}
    for run_id in reversed(list_run_ids(ws)):  # oldest first: a continued folder keeps its newest run id
        record = load_record(ws, run_id)
        if record is None:
            continue
        for folder in layout.trainer_run_folders(record.output_path):
            folders.setdefault(folder, run_id)
        trainer_folder = read_status(ws, run_id).run_folder
        if trainer_folder:
            folders[trainer_folder] = run_id
    return folders


def protected_paths(ws: Workspace) -> set[Path]:
    """Files a live run still needs: its newest checkpoint and its best model files."""
    protected: set[Path] = set()
    for run_id in list_run_ids(ws):
        record = load_record(ws, run_id)
        if record is None or not is_alive(record.identity):
            continue
        folder = read_status(ws, run_id).run_folder
        if folder is None:
            continue
        checkpoints = layout.periodic_checkpoints(folder)
        if checkpoints:
            protected.add(checkpoints[-1][1])
        protected.update(layout.best_model_files(folder))
    return protected


def gallery(ws: Workspace) -> list[GalleryEntry]:
    """All model files: run folders, kept/, incomplete/, ready/ of each output path, promoted custom models."""
    protected = protected_paths(ws)
    entries: list[GalleryEntry] = []
    seen: set[Path] = set()

    def add(infos: list[CheckpointInfo], run_id: str | None, location: str) -> None:
        best_steps = {i.step for i in infos if i.kind is CheckpointKind.BEST}
        for info in infos:
            if info.path in seen:
                continue
            seen.add(info.path)
            # A cut best_model.pth set aside in incomplete/ keeps its name but is nobody's best model.
            is_best = location != "incomplete" and (
                info.kind is CheckpointKind.BEST or (info.kind is CheckpointKind.BEST_STEP and info.step in best_steps))
            entries.append(GalleryEntry(info, run_id, location, is_best, info.path in protected))

    outputs: dict[Path, str] = {}
    for folder, run_id in run_folders_by_run(ws).items():
        add([i for i in list_checkpoints(folder) if i.path.parent == folder], run_id, "run")
        kept = layout.kept_dir(folder)
        add(list_checkpoints(kept) if kept.is_dir() else [], run_id, "kept")
        # Saves a crash cut short, set aside by a continue: listed (truncated) so they can be deleted.
        incomplete = layout.incomplete_dir(folder)
        add([i for i in list_checkpoints(incomplete) if i.path.parent == incomplete] if incomplete.is_dir() else [],
            run_id, "incomplete")
        output = layout.output_path_of(folder)
        if output is not None:
            outputs[output] = run_id
    for output, run_id in outputs.items():
        ready = layout.ready_dir(output)
        if ready.is_dir():
            add([i for i in list_checkpoints(ready) if i.path.parent == ready], run_id, "ready")
        previous = ready / layout.PREVIOUS_DIR
        for bundle in sorted(previous.iterdir()) if previous.is_dir() else ():
            if bundle.is_dir():  # bundles a later export set aside: promote or delete them from here
                add([i for i in list_checkpoints(bundle) if i.path.parent == bundle], run_id, "previous ready")
    custom = ws.custom_models_dir
    if custom.is_dir():
        add(list_checkpoints(custom), None, "custom")
    return entries


def default_promote_target(ws: Workspace, entry: GalleryEntry) -> Path:
    label = entry.run_id or "model"
    step = f"-step{entry.info.step}" if entry.info.step is not None else ""
    return ws.custom_models_dir / f"{label}{step}-{entry.info.path.stem}.pth"


@dataclass(frozen=True)
class CurveMark:
    step: int
    loss: float
    label: str
    is_best: bool


def checkpoint_marks(entries: list[GalleryEntry], steps, losses) -> list[CurveMark]:
    """Where each checkpoint sits on a loss curve: the curve's value at the checkpoint's step."""
    if len(steps) == 0:
        return []
    marks = []
    for entry in entries:
        if entry.info.step is None:
            continue
        loss = float(np.interp(entry.info.step, steps, losses))
        marks.append(CurveMark(entry.info.step, loss, f"{entry.info.path.name} ({entry.location})", entry.is_best))
    return marks
