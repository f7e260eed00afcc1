"""The overfitting watch: signs, at the latest evaluation, that the model learns its training clips by heart.

Two signs, checked on the losses the trainer logs once per epoch (`EvalStats/avg_loss` after each
evaluation, `TrainEpochStats/avg_loss` at the same step):

- the eval loss rose in each of the last K evaluations (K = `overfit_patience_evals`);
- the eval loss pulled away above the train loss: the gap (eval minus train) grew, since it was
  narrowest, by more than `overfit_gap_ratio` times the train loss (from the third evaluation on,
  so that one pair of numbers never decides alone). A gap below zero counts as zero: an eval loss
  under the train loss (the demo's, where the train average trails the improving weights) is no
  sign of overfitting, however its distance changes.

The verdict is about now: a run whose eval loss turns down again loses its warning. Its
`started_step` is the last good evaluation (the lowest eval loss, or the narrowest gap, before the
turn): the checkpoint worth going back to. The same function serves the training process (which
stops the run on it when `stop_on_overfit` is set) and the pages, so both say the same thing.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.base.config import RunConfig
from core.monitor.events import RunEventReader
from core.monitor.series import ScalarSeries
from core.base.atomic_io import read_json
from core.registry.records import run_files
from core.registry.status import OverfitWarning, RunStatus
from core.base.workspace import Workspace

__all__ = ["EVAL_LOSS_TAG", "TRAIN_EPOCH_LOSS_TAG", "OverfitRule", "OverfitWarning", "detect_overfitting",
           "overfit_warning_in", "overfit_warning_for_run"]

EVAL_LOSS_TAG = "EvalStats/avg_loss"
TRAIN_EPOCH_LOSS_TAG = "TrainEpochStats/avg_loss"
GAP_MIN_EVALS = 3


@dataclass(frozen=True)
class OverfitRule:
    patience_evals: int = 3  # rises in a row that make a warning
    gap_ratio: float = 0.5  # gap growth, as a share of the train loss, that makes a warning; 0: off

    @classmethod
    def from_config(cls, config: RunConfig) -> "OverfitRule":
        return cls(config.overfit_patience_evals, config.overfit_gap_ratio)


def _finite(steps: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    keep = np.isfinite(values)
    return steps[keep], values[keep]


def _rising(steps: np.ndarray, losses: np.ndarray, patience: int) -> OverfitWarning | None:
    rises = 0
    while rises < len(losses) - 1 and losses[-1 - rises] > losses[-2 - rises]:
        rises += 1
    if patience < 1 or rises < patience:
        return None
    low = len(losses) - 1 - rises
    return OverfitWarning("eval_rising", int(steps[low]), int(steps[-1]), (
        f"the eval loss rose in each of the last {rises} evaluations, from {losses[low]:.4g} at step "
        f"{int(steps[low])} to {losses[-1]:.4g} at step {int(steps[-1])}"))


def _gap_growing(steps: np.ndarray, losses: np.ndarray, train: ScalarSeries | None,
                 ratio: float) -> OverfitWarning | None:
    if train is None or ratio <= 0:
        return None
    train_steps, train_losses = _finite(np.asarray(train.steps), np.asarray(train.values, float))
    if not len(train_steps):
        return None
    # Each evaluation against the newest train average logged at or before its step.
    at = np.searchsorted(train_steps, steps, side="right") - 1
    paired = at >= 0
    steps, losses, train_at = steps[paired], losses[paired], train_losses[at[paired]]
    if len(steps) < GAP_MIN_EVALS:
        return None
    gaps = np.maximum(losses - train_at, 0.0)
    narrowest = int(np.argmin(gaps[:-1]))
    growth = gaps[-1] - gaps[narrowest]
    limit = ratio * abs(train_at[-1])
    if not growth > limit:
        return None
    return OverfitWarning("gap_growing", int(steps[narrowest]), int(steps[-1]), (
        f"the eval loss pulled away from the train loss: the gap grew from {gaps[narrowest]:.4g} at step "
        f"{int(steps[narrowest])} to {gaps[-1]:.4g} at step {int(steps[-1])}, by more than {ratio:g} x the "
        f"train loss ({train_at[-1]:.4g})"))


def detect_overfitting(eval_loss: ScalarSeries, train_loss: ScalarSeries | None,
                       rule: OverfitRule = OverfitRule()) -> OverfitWarning | None:
    """The overfitting warning at the latest evaluation, or None (no sign, or too few evaluations).

    `eval_loss` holds one point per evaluation, `train_loss` the train loss at (or before) those
    steps; both in step order, as `ScalarSeries` from the event reader. Non-finite losses are
    ignored. When both signs show, the rising eval loss is reported: it is the more direct one."""
    steps, losses = _finite(np.asarray(eval_loss.steps), np.asarray(eval_loss.values, float))
    return _rising(steps, losses, rule.patience_evals) or _gap_growing(steps, losses, train_loss, rule.gap_ratio)


def overfit_warning_in(reader: RunEventReader, rule: OverfitRule) -> OverfitWarning | None:
    """The warning for what `reader` has read so far (call `reader.refresh()` first)."""
    return detect_overfitting(reader.series(EVAL_LOSS_TAG), reader.series(TRAIN_EPOCH_LOSS_TAG), rule)


def overfit_warning_for_run(ws: Workspace, run_id: str) -> OverfitWarning | None:
    """The warning the run's training process recorded at its latest evaluation (status.json).

    Costs one small file read, for the Train status and run lists; a page that already reads the
    run's events live can call `overfit_warning_in` instead (the same verdict)."""
    return RunStatus.from_json(read_json(run_files(ws, run_id).status)).overfit_warning
