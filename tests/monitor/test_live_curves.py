"""RunCurves on real event files: kept up to date from the new points only, equal to a build in one go."""
from __future__ import annotations

import numpy as np

from core.monitor.downsample import ema_smooth
from core.monitor.events import RunEventReader
from core.monitor.live_curves import RunCurves, live_chart_curves

from tests.monitor.test_curves import append

LOSS, LR = "TrainIterStats/loss", "TrainIterStats/current_lr"


def noisy_loss(first: int, last: int, seed: int = 0):
    rng = np.random.default_rng(seed + first)
    for step in range(first, last):
        value = 5.0 / (1 + step / 500) + rng.normal(0, 0.05)
        if step == 3333:
            value = 40.0  # a spike a chart must show
        if step == 4444:
            value = -3.0
        yield LOSS, step, float(value), 1000.0 + step


def built_at_once(run_dir, **kwargs):
    reader = RunEventReader(run_dir)
    reader.refresh()
    (curve,) = RunCurves(reader).curves((LOSS,), **kwargs)
    return curve


def test_refreshes_in_small_batches_give_the_curve_of_one_read(tmp_path):
    run_dir = tmp_path / "run"
    reader = RunEventReader(run_dir)
    curves = RunCurves(reader)
    for first in range(0, 6000, 137):  # 44 refreshes of uneven batches, the bucket width doubling on the way
        append(run_dir, noisy_loss(first, min(first + 137, 6000)))
        reader.refresh()
        (live,) = curves.curves((LOSS,), ema_weight=0.9)
    once = built_at_once(run_dir, ema_weight=0.9)
    np.testing.assert_array_equal(live.x, once.x)
    np.testing.assert_array_equal(live.raw, once.raw)
    np.testing.assert_allclose(live.smoothed, once.smoothed, rtol=1e-9)


def test_kept_points_are_the_real_ones_with_the_extremes_and_both_ends(tmp_path):
    append(tmp_path, noisy_loss(0, 6000))
    curve = built_at_once(tmp_path, ema_weight=0.9)
    reader = RunEventReader(tmp_path)
    reader.refresh()
    full = reader.series(LOSS)
    at = np.searchsorted(full.steps, curve.x)
    np.testing.assert_array_equal(full.steps[at], curve.x)
    np.testing.assert_array_equal(full.values[at], curve.raw)
    np.testing.assert_allclose(ema_smooth(full.values, 0.9)[at], curve.smoothed, rtol=1e-9)
    assert curve.x[0] == 0 and curve.x[-1] == 5999
    assert 40.0 in curve.raw and -3.0 in curve.raw
    assert 300 <= len(curve.x) <= 3 * 200 + 1


def test_an_update_fetches_only_the_new_points(tmp_path):
    append(tmp_path, noisy_loss(0, 20_000))
    reader = RunEventReader(tmp_path)
    reader.refresh()
    fetched = []
    real_tail = reader.series_tail

    def counting_tail(tag, start=0, generation=-1):
        tail = real_tail(tag, start, generation)
        fetched.append(len(tail.steps))
        return tail

    reader.series_tail = counting_tail
    curves = RunCurves(reader)
    curves.curves((LOSS,), ema_weight=0.6)
    assert fetched == [20_000]
    append(tmp_path, noisy_loss(20_000, 20_050))
    reader.refresh()
    (curve,) = curves.curves((LOSS,), ema_weight=0.6)
    assert fetched[1:] == [50]
    assert curve.x[-1] == 20_049
    curves.curves((LOSS,), ema_weight=0.6)  # nothing new: nothing copied
    assert fetched[2:] == [0]


def test_a_restart_purge_rebuilds_once_and_matches_a_fresh_reader(tmp_path):
    append(tmp_path, noisy_loss(0, 3000))
    reader = RunEventReader(tmp_path)
    reader.refresh()
    curves = RunCurves(reader)
    curves.curves((LOSS,), ema_weight=0.6)
    append(tmp_path, noisy_loss(2000, 2500, seed=7))  # resumed from step 2000: later points are orphans
    reader.refresh()
    (after,) = curves.curves((LOSS,), ema_weight=0.6)
    assert after.x[-1] == 2499
    once = built_at_once(tmp_path, ema_weight=0.6)
    np.testing.assert_array_equal(after.x, once.x)
    np.testing.assert_allclose(after.smoothed, once.smoothed, rtol=1e-9)


def test_smoothing_weights_x_axes_and_missing_values(tmp_path):
    points = list(noisy_loss(0, 50)) + [(LR, step, 1e-5, 990.0 + step) for step in range(50)]
    points[10] = (LOSS, 10, float("nan"), 1010.0)
    append(tmp_path, points)
    reader = RunEventReader(tmp_path)
    reader.refresh()
    curves = RunCurves(reader)
    (raw,) = curves.curves((LOSS,), ema_weight=0.0)
    np.testing.assert_array_equal(raw.raw, raw.smoothed)  # weight 0: no smoothing
    (smooth,) = curves.curves((LOSS,), ema_weight=0.5)
    assert np.isnan(smooth.smoothed[10]) and np.isfinite(smooth.smoothed[11:]).all()
    (since,) = curves.curves((LOSS,), ema_weight=0.5, x_mode="time since start")
    assert since.x[0] == 10.0  # the learning rate was logged 10 s before the first loss
    (wall,) = curves.curves((LOSS,), ema_weight=0.5, x_mode="wall time")
    assert wall.x.dtype.kind == "M"
    assert curves.curves(("TrainIterStats/unknown",), ema_weight=0.5) == []


def test_several_runs_are_labelled_by_run(tmp_path):
    for name in ("a", "b"):
        append(tmp_path / name, noisy_loss(0, 20))
    runs = {}
    for name in ("a", "b"):
        reader = RunEventReader(tmp_path / name)
        reader.refresh()
        runs[name] = RunCurves(reader)
    assert [c.label for c in live_chart_curves(runs, (LOSS,), ema_weight=0.6)] == ["a · loss", "b · loss"]
    assert [c.label for c in live_chart_curves({"a": runs["a"]}, (LOSS,), ema_weight=0.6)] == ["loss"]
