"""The checkpoint gallery: every model file of every run of the workspace, and what may be done to it."""
from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

from core.base_model import resolve_base_model
from core.checkpoint_files import CheckpointInfo, CheckpointKind, list_checkpoints
from core.config import RunConfig
from core.dataset import read_dataset
from core.process_identity import is_alive
from core.ready_export import ReadyBundle, export_ready
from core.retention import KEPT_DIR
from core.run_records import list_run_ids, load_record, read_status
from core.trainer_setup import ready_dir, trainer_output_dir
from core.workspace import Workspace


@dataclass(frozen=True)
class GalleryEntry:
    info: CheckpointInfo
    run_id: str | None  # the run record that wrote it, when known
    location: str  # run | kept | ready | custom
    is_best: bool
    protected: bool  # the live run's newest checkpoint or best model: never deleted from the UI

    @property
    def path(self) -> Path:
        return self.info.path


def custom_models_dir(ws: Workspace) -> Path:
    return ws.models_dir / "custom"


def _run_folders(ws: Workspace) -> dict[Path, str]:
    """Every trainer run folder of every output path the workspace's runs used -> a run id."""
    folders: dict[Path, str] = {}
    for run_id in reversed(list_run_ids(ws)):  # oldest first: a continued folder keeps its newest run id
        record = load_record(ws, run_id)
        if record is None:
            continue
        root = trainer_output_dir(record.output_path)
        if root.is_dir():
            for folder in root.iterdir():
                if folder.is_dir():
                    folders.setdefault(folder, run_id)
        trainer_folder = read_status(ws, run_id).get("trainer_run_folder")
        if trainer_folder:
            folders[Path(trainer_folder)] = run_id
    return folders


def protected_paths(ws: Workspace) -> set[Path]:
    """Files a live run still needs: its newest checkpoint and its best model files."""
    protected: set[Path] = set()
    for run_id in list_run_ids(ws):
        record = load_record(ws, run_id)
        if record is None or not is_alive(record.identity):
            continue
        folder = read_status(ws, run_id).get("trainer_run_folder")
        if not folder:
            continue
        folder = Path(folder)
        steps = sorted((int(m.group(1)), p) for p in folder.glob("checkpoint_*.pth")
                       if (m := re.fullmatch(r"checkpoint_(\d+)\.pth", p.name)))
        if steps:
            protected.add(steps[-1][1])
        protected.update(folder.glob("best_model*.pth"))
    return protected


def gallery(ws: Workspace) -> list[GalleryEntry]:
    """All model files: run folders, kept/, ready/ of each output path, promoted custom models."""
    protected = protected_paths(ws)
    entries: list[GalleryEntry] = []
    seen: set[Path] = set()

    def add(infos: list[CheckpointInfo], run_id: str | None, location: str) -> None:
        best_steps = {i.step for i in infos if i.kind is CheckpointKind.BEST}
        for info in infos:
            if info.path in seen:
                continue
            seen.add(info.path)
            is_best = info.kind is CheckpointKind.BEST or (info.kind is CheckpointKind.BEST_STEP and info.step in best_steps)
            entries.append(GalleryEntry(info, run_id, location, is_best, info.path in protected))

    outputs: dict[Path, str] = {}
    for folder, run_id in _run_folders(ws).items():
        add([i for i in list_checkpoints(folder) if i.path.parent == folder], run_id, "run")
        add(list_checkpoints(folder / KEPT_DIR) if (folder / KEPT_DIR).is_dir() else [], run_id, "kept")
        outputs[folder.parent.parent.parent] = run_id
    for output, run_id in outputs.items():
        ready = ready_dir(output)
        if ready.is_dir():
            add([i for i in list_checkpoints(ready) if i.path.parent == ready], run_id, "ready")
    custom = custom_models_dir(ws)
    if custom.is_dir():
        add(list_checkpoints(custom), None, "custom")
    return entries


def run_config(ws: Workspace, run_id: str) -> RunConfig:
    record = load_record(ws, run_id)
    if record is None:
        raise ValueError(f"run {run_id} has no readable record")
    return RunConfig(**record.config)


def export_ready_from(ws: Workspace, run_id: str, checkpoint: Path, ready: Path | None = None) -> ReadyBundle:
    """The guide's ready/ bundle from any checkpoint, using the base model and data of its run."""
    config = run_config(ws, run_id)
    base = resolve_base_model(config.base_model_dir)
    train = read_dataset(config.train_csv, "train_csv")
    vocab = Path(config.vocab_path) if config.vocab_path else base.vocab_json
    return export_ready(checkpoint, ready or ready_dir(config.output_path), base, vocab, train)


def default_promote_target(ws: Workspace, entry: GalleryEntry) -> Path:
    label = entry.run_id or "model"
    step = f"-step{entry.info.step}" if entry.info.step is not None else ""
    return custom_models_dir(ws) / f"{label}{step}-{entry.info.path.stem}.pth"


def describe_age(mtime_s: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(mtime_s))


@dataclass(frozen=True)
class CurveMark:
    step: int
    loss: float
    label: str
    is_best: bool


def checkpoint_marks(entries: list[GalleryEntry], steps, losses) -> list[CurveMark]:
    """Where each checkpoint sits on a loss curve: the curve's value at the checkpoint's step."""
    import numpy as np

    if len(steps) == 0:
        return []
    marks = []
    for entry in entries:
        if entry.info.step is None:
            continue
        loss = float(np.interp(entry.info.step, steps, losses))
        marks.append(CurveMark(entry.info.step, loss, f"{entry.info.path.name} ({entry.location})", entry.is_best))
    return marks
