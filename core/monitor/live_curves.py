"""Chart curves kept up to date with work proportional to the new points, not to the run's length.

`curves.chart_curves` smooths and downsamples a tag's whole series at every call: fine for a
finished run, but on a live page a 100,000-step run would redo 100,000 points every refresh to
add a hundred. Here each (tag, smoothing weight) has a tracker that keeps two small states:

- the smoothing's running value (TensorBoard's debiased EMA is a recurrence: the carry and the
  count of finite points are all it needs to continue);
- a fixed number of buckets over the points in arrival order, each holding its first point and
  the points with its lowest and highest raw value (a loss spike never disappears). A bucket is
  `width` points wide; when there would be more buckets than allowed, neighbours merge pairwise
  and the width doubles. The buckets a series ends with depend only on its points, never on how
  the reads were cut, so a live chart does not jitter between refreshes.

New points are fetched with `RunEventReader.series_tail`, which copies only what was added; a
restart's purge (or thinning past the reader's cap) changes the reader's generation and the
tracker starts over once.
"""
from __future__ import annotations

import threading

import numpy as np

from core.monitor.curves import Curve, x_values
from core.monitor.downsample import biased_ema
from core.monitor.events import RunEventReader

BUCKETS_PER_SERIES = 200  # three points each: 600 points, as many as a 900-pixel chart shows

# Columns of a bucket's kept points: index in the series, step, wall time, raw value, smoothed value.
_FIELDS = ("index", "step", "wall", "raw", "smooth")


class _Smoother:
    """TensorBoard's debiased EMA (core.monitor.downsample.ema_smooth), continued batch by batch."""

    def __init__(self, weight: float) -> None:
        if not 0.0 <= weight <= 1.0:
            raise ValueError("weight must be within [0, 1]")
        self.weight = weight
        self.carry = 0.0  # the biased average after the finite points seen so far
        self.finite_seen = 0

    def push(self, values: np.ndarray) -> np.ndarray:
        w, out = self.weight, values.astype(np.float64, copy=True)
        finite = np.isfinite(values)
        v = values[finite]
        if not len(v) or w == 0.0:
            return out
        if w == 1.0:  # TensorBoard skips debiasing here: the average stays at its zero start
            out[finite] = 0.0
            return out
        ranks = np.arange(1, len(v) + 1)
        biased = biased_ema(v, w) + self.carry * w ** ranks  # the recurrence from zero, plus the carry fading
        out[finite] = biased / (1.0 - w ** (self.finite_seen + ranks))
        self.carry, self.finite_seen = float(biased[-1]), self.finite_seen + len(v)
        return out


class _Buckets:
    """First, lowest and highest point of each `width`-point bucket, at most `limit` buckets."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.width = 1
        self.count = 0  # points taken in
        # kept[k] is a (3, 5) array: rows first / lowest / highest, columns _FIELDS.
        self.kept = np.zeros((0, 3, len(_FIELDS)))

    def push(self, start: int, steps, walls, raw, smooth) -> None:
        n = len(steps)
        if not n:
            return
        rows = np.column_stack([np.arange(start, start + n, dtype=np.float64), steps.astype(np.float64),
                                walls, raw, smooth])
        total = start + n
        while -(-total // self.width) > self.limit:
            self._merge_pairs()
        first_new_bucket = start // self.width
        # The last bucket may be partly filled: take it back and rebuild it with the new points.
        if len(self.kept) > first_new_bucket:
            rows = np.vstack([self._bucket_rows(first_new_bucket), rows])
            self.kept = self.kept[:first_new_bucket]
        bucket_of = rows[:, 0].astype(np.int64) // self.width
        bounds = np.flatnonzero(np.diff(bucket_of)) + 1
        self.kept = np.concatenate([self.kept, np.stack([_summarise(group) for group in np.split(rows, bounds)])])
        self.count = total

    def _bucket_rows(self, k: int) -> np.ndarray:
        rows = self.kept[k]
        return rows[np.unique(rows[:, 0], return_index=True)[1]]

    def _merge_pairs(self) -> None:
        self.width *= 2
        merged = [_summarise(np.vstack([self.kept[k], self.kept[k + 1]]) if k + 1 < len(self.kept) else self.kept[k])
                  for k in range(0, len(self.kept), 2)]
        self.kept = np.stack(merged) if merged else self.kept

    def points(self) -> np.ndarray:
        """The kept points, one row each (_FIELDS), in series order, the newest point included."""
        if not len(self.kept):
            return np.zeros((0, len(_FIELDS)))
        rows = self.kept.reshape(-1, len(_FIELDS))
        return rows[np.unique(rows[:, 0], return_index=True)[1]]


def _summarise(rows: np.ndarray) -> np.ndarray:
    """A bucket's (first, lowest, highest) rows, ties to the earliest point; rows in series order or
    a union of two buckets' kept rows (any order)."""
    rows = rows[np.argsort(rows[:, 0], kind="stable")]
    raw = rows[:, 3]
    finite = np.isfinite(raw)
    if not finite.any():
        return np.stack([rows[0], rows[0], rows[0]])  # nothing to rank: the first point (a gap in the line)
    ranked = np.where(finite, raw, np.nan)
    return np.stack([rows[0], rows[int(np.nanargmin(ranked))], rows[int(np.nanargmax(ranked))]])


class _TagTracker:
    def __init__(self, tag: str, weight: float, buckets: int) -> None:
        self.tag = tag
        self.generation = -1
        self.seen = 0
        self.last = np.zeros(len(_FIELDS))  # the newest point, shown even when no bucket keeps it
        self._weight, self._limit = weight, buckets
        self._reset()

    def _reset(self) -> None:
        self.smoother, self.buckets, self.seen = _Smoother(self._weight), _Buckets(self._limit), 0

    def update(self, reader: RunEventReader) -> None:
        tail = reader.series_tail(self.tag, self.seen, self.generation)
        if tail.generation != self.generation or tail.start != self.seen:
            self._reset()
            self.generation = tail.generation
        if not len(tail.steps):
            return
        smooth = self.smoother.push(tail.values)
        self.buckets.push(tail.start, tail.steps, tail.wall_times_s, tail.values, smooth)
        self.seen = tail.start + len(tail.steps)
        self.last = np.array([self.seen - 1, tail.steps[-1], tail.wall_times_s[-1], tail.values[-1], smooth[-1]],
                             np.float64)

    def points(self) -> np.ndarray:
        rows = self.buckets.points()
        if self.seen and (not len(rows) or rows[-1, 0] != self.last[0]):
            rows = np.vstack([rows, self.last])
        return rows


class RunCurves:
    """The chart curves of one run's event reader, each brought up to date incrementally.

    Thread-safe: the Monitor page keeps one per run folder for every browser session."""

    def __init__(self, reader: RunEventReader, buckets_per_series: int = BUCKETS_PER_SERIES) -> None:
        self.reader = reader
        self.buckets_per_series = buckets_per_series
        self._lock = threading.Lock()
        self._trackers: dict[tuple[str, float], _TagTracker] = {}

    def curves(self, tags: tuple[str, ...], *, ema_weight: float, x_mode: str = "step",
               label_prefix: str = "") -> list[Curve]:
        """One curve per tag present, in `tags` order, from the points the reader holds now."""
        with self._lock:
            known = set(self.reader.tags())
            present = [t for t in tags if t in known]
            tracked = [self._tracker(t, ema_weight) for t in present]
            for tracker in tracked:
                tracker.update(self.reader)
            start_s = self.reader.first_wall_time_s() if x_mode == "time since start" else 0.0
            out = []
            for tracker in tracked:
                rows = tracker.points()
                steps, walls = rows[:, 1].astype(np.int64), rows[:, 2]
                out.append(Curve(label_prefix + tracker.tag.split("/", 1)[1], x_values(steps, walls, x_mode, start_s),
                                 rows[:, 3].copy(), rows[:, 4].copy()))
            return out

    def _tracker(self, tag: str, weight: float) -> _TagTracker:
        key = (tag, float(weight))
        if key not in self._trackers:
            # A new smoothing weight starts its own trackers; the old ones go (a slider has one value).
            for old in [k for k in self._trackers if k[0] == tag]:
                del self._trackers[old]
            self._trackers[key] = _TagTracker(tag, weight, self.buckets_per_series)
        return self._trackers[key]


def live_chart_curves(runs: dict[str, RunCurves], tags: tuple[str, ...], *, ema_weight: float,
                      x_mode: str = "step") -> list[Curve]:
    """chart_curves for live pages: one curve per (run, tag) present, labelled as chart_curves does."""
    curves = []
    for run_label, run in runs.items():
        prefix = "" if len(runs) == 1 else f"{run_label} · "
        curves += run.curves(tags, ema_weight=ema_weight, x_mode=x_mode, label_prefix=prefix)
    return curves
