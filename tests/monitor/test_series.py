"""The series store's memory cap: thinned evenly, newest point kept, on its own and in the reader."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from torch.utils.tensorboard import SummaryWriter

from core.monitor import events
from core.monitor.events import RunEventReader
from core.monitor.series import SeriesBuffer

from tests.monitor.test_events import TAGS, accumulator_scalars, write_steps


def feed(buffer: SeriesBuffer, steps: np.ndarray, cuts=()) -> None:
    for part in np.split(steps, sorted(cuts)):
        buffer.extend(part, part * 10.0, part / 2)


def test_cap_holds_and_keeps_the_newest_point():
    buffer = SeriesBuffer(max_points=100)
    for end in range(1, 10_001):  # one point at a time, as a live run logs them
        feed(buffer, np.array([end]))
        assert buffer.count <= 100
        assert buffer.steps[buffer.count - 1] == end
    s = buffer.snapshot("t")
    assert 50 < len(s.steps) <= 100
    assert s.steps[0] == 1 and s.steps[-1] == 10_000
    gaps = np.diff(s.steps[:-1])
    assert (gaps == gaps[0]).all() and gaps[0] > 1  # thinned evenly over the whole history
    assert (s.values == s.steps / 2).all() and (s.wall_times_s == s.steps * 10.0).all()


def test_under_the_cap_nothing_is_thinned():
    buffer = SeriesBuffer(max_points=1000)
    feed(buffer, np.arange(1000), cuts=[10, 500])
    assert buffer.snapshot("t").steps.tolist() == list(range(1000))


@settings(max_examples=50, deadline=None)
@given(st.integers(2, 40), st.lists(st.integers(0, 3000), max_size=12))
def test_the_sample_does_not_depend_on_how_reads_were_cut(cap, cuts):
    steps = np.arange(1, 3001)
    whole, pieces = SeriesBuffer(cap), SeriesBuffer(cap)
    feed(whole, steps)
    feed(pieces, steps, cuts)
    assert pieces.count <= cap and pieces.steps[pieces.count - 1] == 3000
    assert pieces.snapshot("t").steps.tolist() == whole.snapshot("t").steps.tolist()


def test_restart_after_thinning_still_purges_orphans():
    buffer = SeriesBuffer(max_points=50)
    feed(buffer, np.arange(1, 1001))
    feed(buffer, np.arange(600, 1201))  # resumed from a step-600 checkpoint
    s = buffer.snapshot("t")
    assert len(s.steps) <= 50 and s.steps[-1] == 1200
    assert (np.diff(s.steps) > 0).all()  # no point of the first attempt past step 599 is left
    assert (s.values == s.steps / 2).all()


def test_a_cap_below_two_points_is_refused():
    with pytest.raises(ValueError, match="at least 2"):
        SeriesBuffer(max_points=1)


@pytest.mark.parametrize("chunk_bytes", [None, 700])
def test_reader_caps_each_tag_of_a_real_event_file(tmp_path, monkeypatch, chunk_bytes):
    w = SummaryWriter(str(tmp_path))
    write_steps(w, range(1, 2001))
    reader = RunEventReader(tmp_path, max_points_per_tag=300)
    if chunk_bytes:
        monkeypatch.setattr(events, "_CHUNK_BYTES", chunk_bytes)
    assert reader.refresh() == 2000 * len(TAGS)  # every point was read, fewer are held
    write_steps(w, range(2001, 2101))
    reader.refresh()
    w.close()
    expected = accumulator_scalars(tmp_path)
    for tag in TAGS:
        s = reader.series(tag)
        assert len(s.steps) <= 300
        assert s.steps[0] == 1 and s.steps[-1] == 2100
        by_step = {step: (value, wall) for step, value, wall in expected[tag]}
        assert [by_step[step] for step in s.steps.tolist()] == list(zip(s.values.tolist(), s.wall_times_s.tolist()))
    assert reader.status().points == sum(len(reader.steps(t)) for t in TAGS)
