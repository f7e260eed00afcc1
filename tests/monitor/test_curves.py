"""chart_curves on real event files: which curves, their labels, x axes, smoothing and downsampling."""
from __future__ import annotations

import numpy as np
import pytest
from tensorboard.compat.proto.event_pb2 import Event
from tensorboard.compat.proto.summary_pb2 import Summary
from torch.utils.tensorboard import SummaryWriter

from core.monitor.curves import CHART_TAGS, chart_curves
from core.monitor.events import RunEventReader

from tests.monitor.test_events import _record

LOSS, MEL, GRAD = "TrainIterStats/loss", "TrainIterStats/loss_mel_ce", "TrainIterStats/grad_norm"


def append(run_dir, points) -> None:
    """Append (tag, step, value, wall time) records to the run's event file, as the trainer does."""
    run_dir.mkdir(parents=True, exist_ok=True)
    with open(run_dir / "events.out.tfevents.1000.host", "ab") as f:
        for tag, step, value, wall_s in points:
            summary = Summary(value=[Summary.Value(tag=tag, simple_value=value)])
            f.write(_record(Event(wall_time=wall_s, step=step, summary=summary)))


def write_run(run_dir, points) -> RunEventReader:
    """append(), then a refreshed reader of the run folder."""
    append(run_dir, points)
    reader = RunEventReader(run_dir)
    reader.refresh()
    return reader


def debiased_ema(values, weight):
    """TensorBoard's smoothing, one point at a time (the reference for the vectorised one)."""
    last, out = 0.0, []
    for i, v in enumerate(values, start=1):
        last = last * weight + (1 - weight) * v
        out.append(last / (1 - weight**i))
    return out


def test_one_curve_per_present_tag_in_chart_order_labelled_by_name(tmp_path):
    reader = write_run(tmp_path, [(tag, step, value, 1000.0 + step) for step in range(1, 6)
                                  for tag, value in ((MEL, step * 0.25), (GRAD, 9.0), (LOSS, 5.0 - step))])
    curves = chart_curves({"run-a": reader}, CHART_TAGS["Train loss"], ema_weight=0.0)
    assert [c.label for c in curves] == ["loss", "loss_mel_ce"]  # no loss_text_ce logged, grad_norm not in it
    assert curves[0].x.tolist() == [1, 2, 3, 4, 5]
    assert curves[0].raw.tolist() == [4.0, 3.0, 2.0, 1.0, 0.0]
    assert curves[1].raw.tolist() == [0.25, 0.5, 0.75, 1.0, 1.25]
    assert curves[0].smoothed.tolist() == curves[0].raw.tolist()  # weight 0: no smoothing
    assert chart_curves({"run-a": reader}, CHART_TAGS["Eval loss"], ema_weight=0.6) == []


def test_smoothing_is_tensorboards_debiased_ema(tmp_path):
    values = [1.0, 3.0, 2.0, 8.0, 0.5]
    reader = write_run(tmp_path, [(LOSS, step, v, 1000.0 + step) for step, v in enumerate(values, start=1)])
    (curve,) = chart_curves({"run-a": reader}, (LOSS,), ema_weight=0.5)
    assert curve.smoothed.tolist() == pytest.approx([1.0, 7 / 3, 15 / 7, debiased_ema(values, 0.5)[3],
                                                     debiased_ema(values, 0.5)[4]])
    assert curve.raw.tolist() == values


@pytest.mark.parametrize("x_mode, expected", [
    ("step", [10, 20, 30]),
    ("wall time", np.array([1_700_000_100, 1_700_000_160, 1_700_000_220], "datetime64[s]").tolist()),
    ("time since start", [100.0, 160.0, 220.0]),  # from the run's first point, of any tag (grad_norm)
])
def test_x_modes(tmp_path, x_mode, expected):
    t0 = 1_700_000_000.0
    reader = write_run(tmp_path, [(GRAD, 0, 1.0, t0)] + [(LOSS, step, 1.0 / step, t0 + 40 + 6 * step)
                                                         for step in (10, 20, 30)])
    (curve,) = chart_curves({"run-a": reader}, (LOSS,), ema_weight=0.0, x_mode=x_mode)
    assert curve.x.tolist() == expected
    if x_mode == "wall time":
        assert curve.x.dtype == np.dtype("datetime64[s]")


def test_two_runs_overlay_each_against_its_own_start(tmp_path):
    a = write_run(tmp_path / "a", [(LOSS, s, 4.0 - s, 5000.0 + 10 * s) for s in range(1, 4)])
    b = write_run(tmp_path / "b", [(LOSS, s, 1.0 / s, 9000.0 + 20 * s) for s in range(1, 5)]
                  + [(MEL, s, 0.5, 9000.0 + 20 * s) for s in range(1, 5)])
    curves = chart_curves({"first": a, "resumed": b}, CHART_TAGS["Train loss"], ema_weight=0.0,
                          x_mode="time since start")
    assert [c.label for c in curves] == ["first · loss", "resumed · loss", "resumed · loss_mel_ce"]
    assert curves[0].x.tolist() == [0.0, 10.0, 20.0]
    assert curves[1].x.tolist() == [0.0, 20.0, 40.0, 60.0]
    assert curves[0].raw.tolist() == [3.0, 2.0, 1.0]
    assert curves[1].raw.tolist() == [1.0, 0.5, np.float32(1 / 3), 0.25]


def test_long_series_are_downsampled_after_smoothing_on_every_point(tmp_path):
    w = SummaryWriter(str(tmp_path))
    values = [1.0 + 0.5 * np.sin(step / 50) for step in range(1, 5001)]
    values[3332] = 40.0  # a loss spike at step 3333
    for step, value in enumerate(values, start=1):
        w.add_scalar(LOSS, value, step)
    w.close()
    reader = RunEventReader(tmp_path)
    reader.refresh()
    values = reader.values(LOSS).tolist()  # float32, as logged
    (curve,) = chart_curves({"run-a": reader}, (LOSS,), ema_weight=0.9, max_points=100)
    assert 4 <= len(curve.x) <= 100
    assert {1, 3333, 5000} <= set(curve.x.tolist())  # first, spike, newest
    kept = curve.x - 1
    assert curve.raw.tolist() == [values[i] for i in kept]
    assert curve.smoothed.tolist() == pytest.approx([debiased_ema(values, 0.9)[i] for i in kept])
    assert curve.smoothed[-1] != pytest.approx(debiased_ema(curve.raw.tolist(), 0.9)[-1])


def test_runs_without_points_give_no_curves(tmp_path):
    empty = RunEventReader(tmp_path / "not yet written")
    empty.refresh()
    assert chart_curves({"run-a": empty}, CHART_TAGS["Train loss"], ema_weight=0.6) == []
