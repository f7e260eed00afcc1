"""One run as a row of the Runs page and of `python -m core.cli list`.

Everything comes from files the run already has: the record (what was launched, its settings),
status.json (steps, best model, trainer folder), the outcome and the process table (through
core.registry.state), the bytes of its trainer folder + ready/ as core.disk.tracking measures
them, and the ready/ bundles of its output path (core.checkpoints.ready_bundles).
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

from core.checkpoints.layout import ready_dir
from core.checkpoints.ready_bundles import list_ready_bundles
from core.disk.tracking import DiskSample, measure_folders
from core.overview.datasets import DatasetSummaries, DatasetSummary
from core.registry.records import run_files
from core.registry.state import RunPhase, RunState, read_run_state
from core.trainer.base_model import DEMO_MARKER, xtts_v2_cache_dir
from core.base.workspace import Workspace

XTTS_V2_FOLDER = xtts_v2_cache_dir(Path()).name  # where the Train page downloads XTTS v2, in any workspace


@dataclass(frozen=True)
class ReadyBundleRef:
    """The ready/ bundle a run made, where it is now (ready/ itself or ready/previous/<time>/)."""
    folder: str
    label: str  # "ready/" or "ready/previous/<time>"
    step: int | None  # the step of the checkpoint it was made from, when its manifest says
    size_bytes: int


@dataclass(frozen=True)
class RunRow:
    run_id: str
    phase: RunPhase
    detail: str = ""
    exit_code: int | None = None
    mode: str = ""  # new | continue | restore
    output_path: str = ""
    base_model: str = ""  # in words: "demo", "XTTS v2", the folder's name; "+ <file>" for a custom start
    language: str = ""
    dataset: DatasetSummary | None = None
    step: int | None = None
    total_steps: int | None = None
    started_at_s: float | None = None
    duration_s: float | None = None  # to now while live, else to the last status update
    best_loss: float | None = None  # the best model's eval loss (its train loss when nothing was evaluated)
    best_step: int | None = None
    train_loss: float | None = None
    eval_loss: float | None = None
    eta_s: float | None = None  # as `status --json` gives it: steps left x seconds per step
    disk: DiskSample | None = None  # trainer folder + <output>/ready/ now
    ready_bundle: ReadyBundleRef | None = None
    trainer_run_folder: str | None = None
    world_size: int | None = None
    gpus: tuple[int, ...] | None = None
    config: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))  # as recorded at launch

    @property
    def disk_bytes(self) -> int | None:
        return self.disk.bytes_on_disk if self.disk else None

    @property
    def is_live(self) -> bool:
        return self.phase.is_live


def base_model_label(config: Mapping[str, Any]) -> str:
    """The base model in words: "demo", "XTTS v2" or the folder's name, and the custom model started from."""
    folder = str(config.get("base_model_dir") or "")
    if not folder:
        label = "-"
    elif (Path(folder) / DEMO_MARKER).is_file():
        label = "demo"
    elif Path(folder).name == XTTS_V2_FOLDER:
        label = "XTTS v2"
    else:
        label = Path(folder).name
    custom = str(config.get("custom_model_path") or "")
    return f"{label} + {Path(custom).name}" if custom else label


def _duration_s(ws: Workspace, state: RunState, now_s: float) -> tuple[float | None, float | None]:
    """(started, seconds): to now while live; else to the last status update, or the outcome's time."""
    started = state.status.started_at_s or (state.record.started_at if state.record else None)
    if started is None:
        return None, None
    end = now_s if state.phase.is_live else state.status.updated_at_s
    if end is None:
        try:
            end = os.stat(run_files(ws, state.run_id).outcome).st_mtime
        except OSError:
            return started, None
    return started, max(0.0, end - started)


def _ready_bundle(run_id: str, output_path: str, status_ready_folder: str | None) -> ReadyBundleRef | None:
    """The bundle whose manifest names this run (ready/ first); an old bundle without a manifest counts
    when the run's status says it wrote ready/ and nothing newer replaced it."""
    bundles = list_ready_bundles(output_path)
    ours = [b for b in bundles if b.manifest is not None and b.manifest.run_id == run_id]
    if not ours and status_ready_folder:
        ours = [b for b in bundles if b.is_current and b.manifest is None
                and Path(status_ready_folder).resolve() == b.folder.resolve()]
    if not ours:
        return None
    bundle = ours[0]
    label = "ready/" if bundle.is_current else f"ready/{bundle.label}"
    return ReadyBundleRef(str(bundle.folder), label, bundle.manifest.step if bundle.manifest else None,
                          bundle.size_bytes)


def read_run_row(ws: Workspace, run_id: str, datasets: DatasetSummaries | None = None, *,
                 now_s: float | None = None) -> RunRow:
    """The run's row, read from its files now (core.overview.reader caches these by file stamps)."""
    now_s = time.time() if now_s is None else now_s
    state = read_run_state(ws, run_id)
    record, status = state.record, state.status
    if record is None:
        return RunRow(run_id, state.phase, detail=state.detail)
    datasets = datasets or DatasetSummaries()
    config = MappingProxyType(dict(record.config))
    started, duration = _duration_s(ws, state, now_s)
    folder = status.run_folder
    best = status.best_model
    return RunRow(
        run_id=run_id, phase=state.phase, detail=state.detail, exit_code=state.exit_code, mode=record.mode,
        output_path=record.output_path, base_model=base_model_label(config), language=str(config.get("language", "")),
        dataset=datasets.get(str(config.get("train_csv") or "")), step=status.step, total_steps=status.total_steps,
        started_at_s=started, duration_s=duration, best_loss=best.loss if best else None,
        best_step=best.step if best else None, train_loss=status.train_loss, eval_loss=status.eval_loss,
        eta_s=status.eta_s,
        disk=measure_folders(folder, ready_dir(record.output_path), step=status.step, now_s=now_s),
        ready_bundle=_ready_bundle(run_id, record.output_path, status.ready.folder if status.ready else None),
        trainer_run_folder=str(folder) if folder else None, world_size=record.world_size, gpus=tuple(record.gpus),
        config=config)
