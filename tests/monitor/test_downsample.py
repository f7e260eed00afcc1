"""LTTB bounds and keeps extremes; EMA equals TensorBoard's loop."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import arrays

from core.monitor.downsample import downsample, ema_smooth, lttb_indices


@settings(max_examples=150, deadline=None)
@given(arrays(np.float64, st.integers(1, 3000), elements=st.floats(-1e6, 1e6)), st.integers(4, 500))
def test_keeps_first_last_min_max_within_bound(y, max_points):
    x = np.arange(len(y), dtype=np.float64)
    idx = lttb_indices(x, y, max_points)
    assert len(idx) <= max_points
    assert np.all(np.diff(idx) > 0)
    assert idx[0] == 0 and idx[-1] == len(y) - 1
    assert y[idx].min() == y.min() and y[idx].max() == y.max()


def test_short_series_is_returned_whole():
    x, y = np.arange(10.0), np.arange(10.0) ** 2
    dx, dy = downsample(x, y, 10)
    assert dx.tolist() == x.tolist() and dy.tolist() == y.tolist()


def test_spike_survives_and_shape_is_kept():
    x = np.arange(100_000, dtype=np.float64)
    y = np.exp(-x / 30_000)
    y[54_321] = 50.0  # one divergent step
    dx, dy = downsample(x, y, 1000)
    assert len(dx) <= 1000 and 54_321 in dx
    far_from_spike = np.abs(x - 54_321) > 500
    assert np.abs(np.interp(x, dx, dy) - y)[far_from_spike].max() < 1e-3


def test_non_finite_values_do_not_break_the_pick():
    y = np.linspace(0, 1, 5000)
    y[100], y[200] = np.nan, np.inf
    idx = lttb_indices(np.arange(5000.0), y, 100)
    assert len(idx) <= 100 and idx[0] == 0 and idx[-1] == 4999


def test_too_small_bound_is_rejected():
    with pytest.raises(ValueError):
        lttb_indices(np.arange(10.0), np.arange(10.0), 3)


def tensorboard_smoothing(values, weight):
    """The loop in TensorBoard's scalar dashboard (vz_line_chart2 resmoothDataset)."""
    last, num_accum, out = 0.0, 0, []
    is_constant = all(v == values[0] for v in values)
    for v in values:
        if is_constant or not math.isfinite(v):
            out.append(v)
        else:
            last = last * weight + (1 - weight) * v
            num_accum += 1
            debias = 1 - weight ** num_accum if weight != 1 else 1
            out.append(last / debias)
    return out


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(st.floats(-1e3, 1e3), st.just(math.nan), st.just(math.inf)), max_size=600),
       st.sampled_from([0.0, 0.3, 0.6, 0.9, 0.99, 0.999, 1.0]))
def test_ema_matches_tensorboard(values, weight):
    expected = tensorboard_smoothing(values, weight)
    got = ema_smooth(np.array(values, np.float64), weight)
    assert len(got) == len(expected)
    for g, e in zip(got.tolist(), expected):
        assert (math.isnan(g) and math.isnan(e)) or g == pytest.approx(e, rel=1e-9, abs=1e-9)
