"""The overfitting watch on crafted loss series, and on series read back from real event files."""
from __future__ import annotations

import math

import numpy as np
import pytest
from torch.utils.tensorboard import SummaryWriter

from core.base.config import RunConfig, validate_config
from core.monitor.events import RunEventReader
from core.monitor.overfit import (EVAL_LOSS_TAG, TRAIN_EPOCH_LOSS_TAG, OverfitRule, detect_overfitting,
                                  overfit_warning_for_run, overfit_warning_in)
from core.monitor.series import ScalarSeries
from core.registry.records import run_files
from core.registry.status import OverfitWarning, RunStatus
from core.base.atomic_io import write_json_atomic
from core.base.workspace import Workspace


def series(values, steps=None, tag="t") -> ScalarSeries:
    steps = list(steps) if steps is not None else [100 * (i + 1) for i in range(len(values))]
    return ScalarSeries(tag, np.array(steps, np.int64), np.array(values, float), np.zeros(len(values)))


FLAT_TRAIN = series([2.0] * 12)


def test_eval_rising_k_times_in_a_row_warns_from_the_last_low_point():
    eval_loss = series([3.0, 2.6, 2.4, 2.45, 2.5, 2.52])  # lowest at step 300, then three rises
    warning = detect_overfitting(eval_loss, None, OverfitRule(patience_evals=3, gap_ratio=0))
    assert warning == OverfitWarning("eval_rising", 300, 600, warning.reason)
    assert "3 evaluations" in warning.reason and "step 300" in warning.reason and "step 600" in warning.reason
    # One rise fewer than the patience: no warning yet.
    assert detect_overfitting(series([3.0, 2.6, 2.4, 2.45, 2.5]), None, OverfitRule(3, 0)) is None


def test_a_longer_rise_starts_where_it_turned():
    warning = detect_overfitting(series([3.0, 2.0, 2.1, 2.2, 2.3, 2.4, 2.5]), None, OverfitRule(3, 0))
    assert (warning.started_step, warning.detected_step) == (200, 700) and "last 5 evaluations" in warning.reason


def test_the_warning_is_about_now_a_recovered_run_has_none():
    rose_then_fell = series([3.0, 2.0, 2.1, 2.2, 2.3, 1.9])
    assert detect_overfitting(rose_then_fell, None, OverfitRule(3, 0)) is None


def test_noisy_but_falling_eval_loss_is_not_overfitting():
    rng = np.random.default_rng(0)
    # A falling trend with noise: rises come one or two at a time, never three in a row here.
    noisy = 3.0 * np.exp(-np.arange(40) / 15) + 1.0 + rng.normal(0, 0.02, 40)
    rises = np.diff(noisy) > 0
    assert rises.any()
    runs = max(len(r) for r in "".join("1" if x else "0" for x in rises).split("0"))
    assert runs < 3
    train = series(3.0 * np.exp(-np.arange(40) / 15) + 0.95)  # the gap stays about constant
    assert detect_overfitting(series(noisy), train, OverfitRule(3, 0.5)) is None


def test_too_few_evaluations_give_no_warning():
    assert detect_overfitting(series([]), None) is None
    assert detect_overfitting(series([2.0]), FLAT_TRAIN) is None
    assert detect_overfitting(series([2.0, 2.1, 2.2]), None, OverfitRule(3, 0)) is None  # 2 rises of 3
    # The gap check needs three evaluations, however wide the gap opens.
    assert detect_overfitting(series([2.0, 9.0]), series([2.0, 2.0]), OverfitRule(50, 0.5)) is None


def test_the_gap_growing_past_the_ratio_warns():
    eval_loss = series([3.0, 2.9, 2.9, 2.85, 2.9])  # flat-ish: never rises 3 times in a row
    train = series([2.8, 2.5, 2.1, 1.8, 1.5])  # keeps falling: the model learns its clips by heart
    warning = detect_overfitting(eval_loss, train, OverfitRule(3, 0.5))
    # gaps 0.2, 0.4, 0.8, 1.05, 1.4: narrowest at step 100; 1.4 - 0.2 = 1.2 > 0.5 * 1.5.
    assert warning.kind == "gap_growing" and (warning.started_step, warning.detected_step) == (100, 500)
    assert "step 100" in warning.reason and "0.5 x the train loss" in warning.reason
    # A ratio just above the growth's share of the train loss (1.2 / 1.5 = 0.8) does not warn; 0 is off.
    assert detect_overfitting(eval_loss, train, OverfitRule(3, 0.81)) is None
    assert detect_overfitting(eval_loss, train, OverfitRule(3, 0)) is None


def test_an_eval_loss_below_the_train_loss_is_no_gap():
    # The demo's shape: the epoch's train average trails the improving weights, so eval sits below it.
    eval_loss = series([6.28, 5.26, 4.14, 3.37, 2.96])
    train = series([6.90, 6.32, 5.42, 4.55, 3.70])
    assert detect_overfitting(eval_loss, train, OverfitRule(3, 0.001)) is None


def test_train_points_pair_with_the_newest_at_or_before_each_evaluation():
    eval_loss = series([3.0, 2.9, 2.9, 2.9], steps=[10, 20, 30, 40])
    train = series([2.8, 2.6, 2.0, 1.0, 0.5], steps=[5, 10, 25, 39, 41])  # 41 is after the last eval
    warning = detect_overfitting(eval_loss, train, OverfitRule(3, 0.5))
    # Pairs: (10: 2.6) (20: 2.6) (30: 2.0) (40: 1.0) -> gaps 0.4, 0.3, 0.9, 1.9; growth 1.6 > 0.5.
    assert warning.kind == "gap_growing" and warning.started_step == 20 and "(1)" in warning.reason


def test_non_finite_losses_are_ignored():
    eval_loss = series([3.0, 2.0, math.nan, 2.1, math.inf, 2.2, 2.3])
    warning = detect_overfitting(eval_loss, None, OverfitRule(3, 0))
    assert (warning.started_step, warning.detected_step) == (200, 700)


def test_a_rising_eval_loss_is_reported_before_a_growing_gap():
    eval_loss = series([3.0, 2.5, 2.6, 2.7, 2.8])
    train = series([2.9, 2.0, 1.5, 1.0, 0.5])
    assert detect_overfitting(eval_loss, train, OverfitRule(3, 0.1)).kind == "eval_rising"


def test_the_rule_comes_from_the_run_config():
    config = validate_config({"overfit_patience_evals": 5, "overfit_gap_ratio": 0.25, "stop_on_overfit": True})
    assert OverfitRule.from_config(config) == OverfitRule(5, 0.25) and config.stop_on_overfit
    assert OverfitRule.from_config(RunConfig()) == OverfitRule(3, 0.5)


def test_the_same_verdict_from_real_event_files(tmp_path):
    writer = SummaryWriter(str(tmp_path))
    for step, (ev, tr) in zip((60, 120, 180, 240, 300), ((3.0, 3.2), (2.5, 2.8), (2.6, 2.3), (2.7, 2.0), (2.8, 1.7))):
        writer.add_scalar(TRAIN_EPOCH_LOSS_TAG, tr, step)
        writer.add_scalar(EVAL_LOSS_TAG, ev, step)
    writer.close()
    reader = RunEventReader(tmp_path)
    reader.refresh()
    rule = OverfitRule(3, 0.5)
    expected = detect_overfitting(series([3.0, 2.5, 2.6, 2.7, 2.8], [60, 120, 180, 240, 300]),
                                  series([3.2, 2.8, 2.3, 2.0, 1.7], [60, 120, 180, 240, 300]), rule)
    assert overfit_warning_in(reader, rule) == expected and expected.started_step == 120


def test_the_warning_for_a_run_is_the_one_its_training_process_recorded(tmp_path):
    ws = Workspace.at(tmp_path / "ws")
    files = run_files(ws, "r1")
    files.folder.mkdir(parents=True)
    assert overfit_warning_for_run(ws, "r1") is None  # no status yet
    warning = OverfitWarning("eval_rising", 120, 300, "the eval loss rose ...")
    write_json_atomic(files.status, RunStatus(step=300, overfit_warning=warning, overfit_stop_step=300).to_json())
    assert overfit_warning_for_run(ws, "r1") == warning


@pytest.mark.parametrize("bad", [{"kind": "eval_rising"}, {"kind": 3, "reason": "x", "started_step": 1,
                                                            "detected_step": 2}, "text", [1]])
def test_a_damaged_warning_in_status_json_reads_as_none(bad):
    assert RunStatus.from_json({"overfit_warning": bad, "step": 5}).overfit_warning is None
