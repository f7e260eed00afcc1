"""RunStatus: what the training process says about its progress, in `runs/<run_id>/status.json`.

Written only by the training process (core.runs.status_reporter), read by every page and the CLI.
The file is parsed once here; a missing, older or newer file reads as defaults for what it lacks,
never a KeyError, so a page never breaks on a status written by another version.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Mapping

# Older status files used these names; they are read as the new ones.
_RENAMED = {"started_at": "started_at_s", "updated_at": "updated_at_s", "sec_per_step": "s_per_step"}


@dataclass(frozen=True)
class SavedModel:
    """A model file the trainer saved: the newest checkpoint, or the best model."""
    step: int
    path: str
    loss: float | None = None


@dataclass(frozen=True)
class ReadyExport:
    """The ready/ bundle the run wrote when it ended, and the checkpoint it came from."""
    folder: str
    source: str


@dataclass(frozen=True)
class OverfitWarning:
    """The overfitting watch's verdict at the latest evaluation (core.monitor.overfit finds it)."""
    kind: str  # "eval_rising" | "gap_growing"
    started_step: int  # the last good evaluation: the lowest eval loss (or narrowest gap) before the turn
    detected_step: int  # the evaluation that completed the pattern
    reason: str  # what was seen, in plain words, with the numbers


@dataclass(frozen=True)
class RunStatus:
    phase: str = "unknown"  # initialising | training | exporting | finished | stopped | failed
    started_at_s: float | None = None
    updated_at_s: float | None = None
    step: int = 0
    epoch: int = 0
    total_epochs: int | None = None
    steps_per_epoch: int | None = None
    total_steps: int | None = None
    s_per_step: float | None = None  # smoothed wall time of one training step
    train_loss: float | None = None
    train_loss_text_ce: float | None = None
    train_loss_mel_ce: float | None = None
    eval_loss: float | None = None
    trainer_run_folder: str = ""  # the trainer's run folder, once it exists
    device: str = ""
    world_size: int = 1
    backend: str = ""
    last_checkpoint: SavedModel | None = None
    best_model: SavedModel | None = None
    ready: ReadyExport | None = None
    adjustments: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    # Read back from the live trainer (grad_accum_steps, train_samples, continue_run, ...).
    trainer_settings: Mapping[str, Any] = field(default_factory=dict)
    overfit_warning: OverfitWarning | None = None  # as of the latest evaluation; None: no sign of it
    overfit_stop_step: int | None = None  # the step at which the watch stopped the run (stop_on_overfit)

    @property
    def steps_left(self) -> int | None:
        if not self.total_steps:
            return None
        return max(0, self.total_steps - self.step)

    @property
    def progress_fraction(self) -> float | None:
        """Share of the planned steps done, never above 1 (a continue can run past the plan)."""
        if not self.total_steps:
            return None
        return min(1.0, max(0.0, self.step / self.total_steps))

    @property
    def eta_s(self) -> float | None:
        """Seconds to the planned last step at the current speed; None while unknown."""
        if self.s_per_step is None or self.steps_left is None:
            return None
        return self.steps_left * self.s_per_step

    @property
    def run_folder(self) -> Path | None:
        return Path(self.trainer_run_folder) if self.trainer_run_folder else None

    def with_changes(self, **changes: Any) -> "RunStatus":
        return replace(self, **changes)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Any) -> "RunStatus":
        """The status in a parsed status.json; anything missing or malformed reads as its default."""
        if not isinstance(data, Mapping):
            return cls()
        data = {_RENAMED.get(key, key): value for key, value in data.items()}
        values: dict[str, Any] = {}
        for spec in fields(cls):
            if spec.name in data:
                parsed = _PARSERS.get(spec.name, _keep)(data[spec.name])
                if parsed is not _INVALID:
                    values[spec.name] = parsed
        return cls(**values)


_INVALID = object()


def _keep(value: Any) -> Any:
    return value


# Counts (steps, epochs, ranks) are non-negative and small enough for float arithmetic.
_MAX_COUNT = 2**53


def _number(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return _INVALID
    try:
        number = float(value)  # an int from a long digit string may not fit a float
    except OverflowError:
        return _INVALID
    return number if math.isfinite(number) else _INVALID


def _count(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _MAX_COUNT:
        return _INVALID
    return value


def _text(value: Any) -> Any:
    return value if isinstance(value, str) else _INVALID


def _texts(value: Any) -> Any:
    return tuple(str(v) for v in value) if isinstance(value, (list, tuple)) else _INVALID


def _saved_model(value: Any) -> Any:
    if value is None:
        return None
    if not isinstance(value, Mapping) or _count(value.get("step")) in (None, _INVALID) or not isinstance(value.get("path"), str):
        return _INVALID
    loss = _number(value.get("loss"))
    return SavedModel(value["step"], value["path"], None if loss is _INVALID else loss)


def _ready(value: Any) -> Any:
    if value is None:
        return None
    if not isinstance(value, Mapping) or not isinstance(value.get("folder"), str):
        return _INVALID
    return ReadyExport(value["folder"], str(value.get("source", "")))


def _overfit_warning(value: Any) -> Any:
    if value is None:
        return None
    if not isinstance(value, Mapping) or not isinstance(value.get("kind"), str) or not isinstance(value.get("reason"), str):
        return _INVALID
    started, detected = _count(value.get("started_step")), _count(value.get("detected_step"))
    if started in (None, _INVALID) or detected in (None, _INVALID):
        return _INVALID
    return OverfitWarning(value["kind"], started, detected, value["reason"])


def _settings(value: Any) -> Any:
    return dict(value) if isinstance(value, Mapping) else _INVALID


def _required_count(value: Any) -> Any:
    parsed = _count(value)
    return _INVALID if parsed is None else parsed


_PARSERS = {
    "phase": _text, "trainer_run_folder": _text, "device": _text, "backend": _text,
    "started_at_s": _number, "updated_at_s": _number, "s_per_step": _number, "train_loss": _number,
    "train_loss_text_ce": _number, "train_loss_mel_ce": _number, "eval_loss": _number,
    "step": _required_count, "epoch": _required_count, "world_size": _required_count,
    "total_epochs": _count, "steps_per_epoch": _count, "total_steps": _count,
    "last_checkpoint": _saved_model, "best_model": _saved_model, "ready": _ready,
    "adjustments": _texts, "warnings": _texts, "trainer_settings": _settings,
    "overfit_warning": _overfit_warning, "overfit_stop_step": _count,
}
