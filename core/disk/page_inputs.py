"""Disk plans for what the dashboard asks about: the Disk page's form, the guide's presets, a launched run.

Each resolves its inputs (base model, dataset, settings) and calls the one planner, core.disk.planner.plan_run.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from core.base.config import PRESETS, Preset, validate_config
from core.disk.plan import DiskPlan
from core.checkpoints.resume import newest_resumable_folder
from core.disk.planner import plan_preflighted, plan_run
from core.base.errors import ConfigInvalid, FieldError
from core.registry.records import load_record
from core.trainer.base_model import BaseModelFiles, resolve_base_model, xtts_v2_cache_dir
from core.trainer.dataset import read_dataset, steps_per_epoch
from core.trainer.preflight import preflight
from core.base.workspace import Workspace

XTTS_V2_ARCHITECTURE = "xtts_v2"  # `PlanInputs.base`: the XTTS v2 architecture, files not needed


def plan_recorded_run(ws: Workspace, run_id: str) -> DiskPlan:
    """The disk plan of a launched run, re-made from its record's config (preflight + planner)."""
    record = load_record(ws, run_id)
    if record is None:
        raise ConfigInvalid([FieldError("run", f"run {run_id} has no readable record.json")])
    # Ranks change only the steps per epoch: rank 0 alone writes checkpoints.
    checked = preflight(validate_config(record.config), world_size=record.world_size)
    return plan_preflighted(checked)


@dataclass(frozen=True)
class PlanInputs:
    """What the Disk page asks for; `base` is a base-model folder or XTTS_V2_ARCHITECTURE."""
    save_step: int
    save_n_checkpoints: int
    epochs: int
    batch_size: int
    train_csv: str
    output_path: str
    base: str
    keep_best_k: int = 0
    milestone_every_steps: int = 0
    optimize_ready: bool = False


def _resolve_base(ws: Workspace, base: str) -> BaseModelFiles | None:
    if base == XTTS_V2_ARCHITECTURE:
        try:  # a copy already in the workspace is measured, not guessed (as the CLI does)
            return resolve_base_model(xtts_v2_cache_dir(ws.models_dir))
        except ConfigInvalid:
            return None  # planned from the architecture and coqui's published file sizes
    return resolve_base_model(base, field="base_model_dir")


def _check_output(value: str) -> None:
    if not value.strip():
        raise ConfigInvalid([FieldError("output_path", "choose the folder the run will write to")])
    path = Path(value).expanduser()
    if path.exists() and not path.is_dir():
        raise ConfigInvalid([FieldError("output_path", f"{path} is a file; choose a folder")])


def plan_page_inputs(ws: Workspace, inputs: PlanInputs) -> DiskPlan:
    """Plan the Disk page's inputs; ConfigInvalid names every bad field at once."""
    errors: list[FieldError] = []

    def collect(check):
        try:
            return check()
        except ConfigInvalid as exc:
            errors.extend(exc.errors)
            return None

    base = collect(lambda: _resolve_base(ws, inputs.base))
    train = collect(lambda: read_dataset(inputs.train_csv, "train_csv"))
    collect(lambda: _check_output(inputs.output_path))
    config = collect(lambda: validate_config({
        "save_step": inputs.save_step, "save_n_checkpoints": inputs.save_n_checkpoints, "epochs": inputs.epochs,
        "batch_size": inputs.batch_size, "keep_best_k": inputs.keep_best_k,
        "milestone_every_steps": inputs.milestone_every_steps, "train_csv": inputs.train_csv,
        "output_path": inputs.output_path, "base_model_dir": str(base.folder) if base else ""}))
    if errors:
        raise ConfigInvalid(errors)
    return plan_run(config, base=base, steps_per_epoch=steps_per_epoch(len(train.clips), config.batch_size),
                    train=train, optimize_ready=inputs.optimize_ready)


def preset_plans(ws: Workspace, inputs: PlanInputs) -> tuple[tuple[Preset, DiskPlan], ...]:
    """The guide's presets planned for the same base, dataset and output (retention extras off)."""
    return tuple((preset, plan_page_inputs(ws, replace(inputs, save_step=preset.save_step,
                                                  save_n_checkpoints=preset.save_n_checkpoints,
                                                  keep_best_k=0, milestone_every_steps=0)))
                 for preset in PRESETS)


def plan_form(raw: dict, *, world_size: int = 1, gpus: tuple[int, ...] = ()) -> DiskPlan:
    """The Train form's disk plan: its values validated and preflighted, then planned."""
    return plan_preflighted(preflight(validate_config(dict(raw)), world_size=world_size, gpus=gpus))


def plan_form_continue(raw: dict, *, world_size: int = 1, gpus: tuple[int, ...] = ()) -> tuple[str, DiskPlan] | None:
    """What Continue would do with the Train form's values (the continuation in words, its disk plan);
    None when the output path has no run with an intact checkpoint."""
    config = dict(raw)
    folder = newest_resumable_folder(config["output_path"]) if config.get("output_path") else None
    if folder is None:
        return None
    checked = preflight(validate_config(config), mode="continue", resume_from=str(folder), world_size=world_size,
                        gpus=gpus)
    return checked.continuation.describe(), plan_preflighted(checked)
