"""Filtering, sorting and comparing run rows, and the row as the CLI prints it.

Settings are named as the Train page names them (`FieldSpec.form_label`: "Checkpoint save
frequency (steps)"), never by their config key, and only the ones that differ are shown: with
twenty-five settings per run, a full side-by-side hides the one change that mattered.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Sequence

from core.base.config import FIELDS
from core.overview.rows import RunRow

# Sort choices in words -> the row's value; runs without the value go last whichever the direction.
SORT_KEYS: dict[str, Callable[[RunRow], Any]] = {
    "started": lambda r: r.started_at_s,
    "state": lambda r: r.phase.value,
    "best loss": lambda r: r.best_loss,
    "steps done": lambda r: r.step,
    "duration": lambda r: r.duration_s,
    "disk used": lambda r: r.disk_bytes,
    "base model": lambda r: r.base_model,
    "dataset hours": lambda r: r.dataset.hours if r.dataset else None,
}


@dataclass(frozen=True)
class RunFilter:
    """Empty sets keep every run; `text` matches run id, dataset, base model or output folder."""
    phases: frozenset[str] = frozenset()
    base_models: frozenset[str] = frozenset()
    languages: frozenset[str] = frozenset()
    text: str = ""


@dataclass(frozen=True)
class SettingDifference:
    """One setting whose value is not the same in every compared run."""
    name: str  # the config key (for --set and JSON)
    label: str  # what people read: "Checkpoints kept"
    values: Mapping[str, Any] = field(default_factory=dict)  # run id -> value


def filter_rows(rows: Iterable[RunRow], wanted: RunFilter) -> list[RunRow]:
    text = wanted.text.strip().lower()

    def keep(row: RunRow) -> bool:
        haystack = " ".join([row.run_id, row.base_model, row.output_path, row.dataset.name if row.dataset else "",
                             row.dataset.csv_path if row.dataset else ""]).lower()
        return ((not wanted.phases or row.phase.value in wanted.phases)
                and (not wanted.base_models or row.base_model in wanted.base_models)
                and (not wanted.languages or row.language in wanted.languages)
                and (not text or text in haystack))

    return [row for row in rows if keep(row)]


def sort_rows(rows: Iterable[RunRow], by: str, *, descending: bool = False) -> list[RunRow]:
    """Rows sorted by one of SORT_KEYS; rows without that value last, in their given order."""
    if by not in SORT_KEYS:
        raise ValueError(f"cannot sort by {by!r}; choose one of: {', '.join(SORT_KEYS)}")
    value = SORT_KEYS[by]
    rows = list(rows)
    known = sorted((r for r in rows if value(r) is not None), key=value, reverse=descending)
    return known + [r for r in rows if value(r) is None]


def differing_settings(rows: Sequence[RunRow]) -> list[SettingDifference]:
    """The settings whose recorded values differ between `rows`, in the Train form's order.

    A setting an older record lacks counts as its default (what that run trained with).
    """
    if len(rows) < 2:
        return []
    differences = []
    for spec in FIELDS:
        values = {row.run_id: row.config.get(spec.name, spec.default) for row in rows}
        if len({repr(v) for v in values.values()}) > 1:
            differences.append(SettingDifference(spec.name, spec.form_label, values))
    return differences


def setting_text(value: Any) -> str:
    """A setting's value for people: on/off, numbers without float noise, "-" for empty."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float):
        return f"{value:g}"
    if value in ("", None):
        return "-"
    return str(value)


def row_json(row: RunRow, differences: Sequence[SettingDifference] = ()) -> dict[str, Any]:
    """The row as `python -m core.cli --json list` prints it: flat keys, units in their names.

    Keeps the keys of `status --json` (run_id, phase, step, total_steps, output_path, world_size, ...)
    and adds the overview's columns; `differing_settings` maps each config key that differs between
    the listed runs to this run's value.
    """
    dataset, disk, ready = row.dataset, row.disk, row.ready_bundle
    return {
        "run_id": row.run_id, "phase": row.phase.value, "exit_code": row.exit_code, "detail": row.detail,
        "output_path": row.output_path or None, "step": row.step, "total_steps": row.total_steps,
        "train_loss": row.train_loss, "eval_loss": row.eval_loss, "trainer_run_folder": row.trainer_run_folder,
        "eta_s": row.eta_s, "world_size": row.world_size, "gpus": list(row.gpus) if row.gpus is not None else None,
        "mode": row.mode or None, "base_model": row.base_model or None, "language": row.language or None,
        "dataset_name": dataset.name if dataset else None, "dataset_csv": dataset.csv_path if dataset else None,
        "dataset_clips": dataset.clips if dataset else None,
        "dataset_hours": round(dataset.hours, 4) if dataset else None,
        "started_at_s": row.started_at_s, "duration_s": row.duration_s,
        "best_loss": row.best_loss, "best_step": row.best_step,
        "disk_bytes": disk.bytes_on_disk if disk else None, "trainer_bytes": disk.trainer_bytes if disk else None,
        "ready_bytes": disk.ready_bytes if disk else None,
        "ready_bundle": ready.folder if ready else None, "ready_bundle_step": ready.step if ready else None,
        "differing_settings": {d.name: d.values.get(row.run_id) for d in differences},
    }
