"""Each tag's scalar points: purged after restarts and capped in memory, as TensorBoard does.

Two rules come from TensorBoard's event loading. A step that goes backwards means the trainer
resumed from an earlier checkpoint, so the points after that step are orphans and go. And memory
is capped per tag: TensorBoard keeps a random reservoir of N points that always holds the newest.
Here the sample is deterministic instead: a point is kept when its arrival number is a multiple
of a stride, the stride doubles whenever the tag would pass its cap (thinning the whole history
to every 2nd, 4th, ... point, evenly from the first point on), and the newest point is always
kept. A deterministic sample gives the same curve however the file was cut into reads, so a
chart does not jitter between refreshes and a second reader agrees with the first.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# 100,000 steps of a tag stay unthinned; a full tag holds 32 bytes a point, about 6.4 MB.
MAX_POINTS_PER_TAG = 200_000

_INT64_MIN, _INT64_MAX = np.iinfo(np.int64).min, np.iinfo(np.int64).max


@dataclass(frozen=True)
class ScalarSeries:
    """One tag's points in step order, after orphaned points of restarts were purged."""

    tag: str
    steps: np.ndarray  # int64
    values: np.ndarray  # float64
    wall_times_s: np.ndarray  # float64, Unix time the trainer logged each point


@dataclass(frozen=True)
class SeriesTail:
    """One tag's points from index `start` on, for a reader of its own that keeps up incrementally.

    `generation` changes whenever points already handed out were removed or moved (a restart's
    purge, thinning past the cap): a consumer that saw another generation must start over, and
    then `start` is 0."""

    tag: str
    generation: int
    start: int
    steps: np.ndarray
    values: np.ndarray
    wall_times_s: np.ndarray


class SeriesBuffer:
    """One tag's points in growable arrays: amortised appends, restart purge, memory cap."""

    def __init__(self, max_points: int = MAX_POINTS_PER_TAG) -> None:
        if max_points < 2:
            raise ValueError(f"max_points must be at least 2 (the first and the newest point), not {max_points}")
        self.max_points = max_points
        self.count = 0
        self.stride = 1  # kept: points whose arrival number is a multiple of it, and the newest
        self.generation = 0  # bumped whenever a stored point is removed or moved
        self._next_arrival = 0
        self.steps = np.zeros(0, np.int64)
        self.values = np.zeros(0, np.float64)
        self.walls = np.zeros(0, np.float64)
        self.arrivals = np.zeros(0, np.int64)

    def extend(self, steps: np.ndarray, walls: np.ndarray, values: np.ndarray) -> None:
        """Append points in the order they were logged."""
        if not len(steps):
            return
        # A point j survives unless a later point i went backwards (step_i < step_{i-1}) to a
        # step <= step_j: that is what TensorBoard's sequential purge leaves behind.
        last = self.steps[self.count - 1:self.count] if self.count else [_INT64_MIN]
        if steps[0] >= last[0] and np.all(steps[1:] >= steps[:-1]):
            self._append(steps, walls, values)  # the usual case: nothing went backwards
            return
        prev = np.concatenate([last, steps[:-1]])
        went_back = np.where(steps < prev, steps, _INT64_MAX)
        later_min = np.minimum.accumulate(went_back[::-1])[::-1]
        self.count = int(np.searchsorted(self.steps[:self.count], later_min[0], "left"))
        self.generation += 1
        # The restarted points take the arrival numbers of the purged ones.
        self._next_arrival = int(self.arrivals[self.count - 1]) + 1 if self.count else 0
        self.stride = self.stride if self.count else 1
        keep = steps < np.r_[later_min[1:], _INT64_MAX]
        self._append(steps[keep], walls[keep], values[keep])

    def snapshot(self, tag: str) -> ScalarSeries:
        """A copy of the points, safe to hand to another thread."""
        n = self.count
        return ScalarSeries(tag, self.steps[:n].copy(), self.values[:n].copy(), self.walls[:n].copy())

    def tail(self, tag: str, start: int, generation: int) -> SeriesTail:
        """A copy of the points from `start` on, or of all of them when `generation` is not current."""
        if generation != self.generation or start > self.count:
            start = 0
        n = self.count
        return SeriesTail(tag, self.generation, start, self.steps[start:n].copy(), self.values[start:n].copy(),
                          self.walls[start:n].copy())

    def _append(self, steps: np.ndarray, walls: np.ndarray, values: np.ndarray) -> None:
        if not len(steps):
            return
        if self.count and self.arrivals[self.count - 1] % self.stride:
            self.count -= 1  # kept off the stride only while it was the newest point
            self.generation += 1
        arrivals = np.arange(self._next_arrival, self._next_arrival + len(steps), dtype=np.int64)
        self._next_arrival += len(steps)
        if self.stride > 1 or self.count + len(steps) > self.max_points:
            while True:
                on = arrivals % self.stride == 0
                on[-1] = True
                if self.count + int(on.sum()) <= self.max_points:
                    break
                self.stride *= 2
                self._thin()
            steps, walls, values, arrivals = steps[on], walls[on], values[on], arrivals[on]
        need = self.count + len(steps)
        if need > len(self.steps):
            cap = min(max(need, 2 * len(self.steps), 1024), self.max_points)
            for name in ("steps", "values", "walls", "arrivals"):
                grown = np.empty(cap, getattr(self, name).dtype)
                grown[:self.count] = getattr(self, name)[:self.count]
                setattr(self, name, grown)
        self.steps[self.count:need], self.walls[self.count:need] = steps, walls
        self.values[self.count:need], self.arrivals[self.count:need] = values, arrivals
        self.count = need

    def _thin(self) -> None:
        """Drop the stored points that are off the (new, doubled) stride."""
        on = np.flatnonzero(self.arrivals[:self.count] % self.stride == 0)
        self.generation += 1
        for array in (self.steps, self.values, self.walls, self.arrivals):
            array[:len(on)] = array[on]
        self.count = len(on)


class SeriesStore:
    """Every tag's buffer; a tag's slot number, given at first sight, is what decoders emit."""

    def __init__(self, max_points_per_tag: int = MAX_POINTS_PER_TAG) -> None:
        self.max_points_per_tag = max_points_per_tag
        self._buffers: list[SeriesBuffer] = []
        self._slots: dict[str, int] = {}

    def slot(self, tag: str) -> int:
        """The slot number of a tag, made on first sight."""
        if tag not in self._slots:
            self._slots[tag] = len(self._buffers)
            self._buffers.append(SeriesBuffer(self.max_points_per_tag))
        return self._slots[tag]

    def add(self, tag_ids: np.ndarray, steps: np.ndarray, walls: np.ndarray, values: np.ndarray) -> int:
        """Append points given in logged order with their tags' slots; returns how many were given."""
        order = np.argsort(tag_ids.astype(np.uint16), kind="stable")  # radix sort
        bounds = np.flatnonzero(np.diff(tag_ids[order])) + 1
        for group in np.split(order, bounds) if len(order) else []:
            self._buffers[tag_ids[group[0]]].extend(steps[group], walls[group], values[group])
        return len(order)

    def tags(self) -> list[str]:
        """Tags that hold at least one point, sorted."""
        return sorted(tag for tag, slot in self._slots.items() if self._buffers[slot].count)

    def series(self, tag: str) -> ScalarSeries:
        """A copy of one tag's points (empty if the tag is unknown)."""
        slot = self._slots.get(tag)
        return (self._buffers[slot] if slot is not None else SeriesBuffer()).snapshot(tag)

    def tail(self, tag: str, start: int, generation: int) -> SeriesTail:
        """One tag's points from `start` on (see SeriesTail); all of them for an unknown generation."""
        slot = self._slots.get(tag)
        return (self._buffers[slot] if slot is not None else SeriesBuffer()).tail(tag, start, generation)

    def first_wall_time_s(self) -> float:
        """The earliest first wall time of any tag (0.0 when nothing is held)."""
        firsts = [float(b.walls[0]) for b in self._buffers if b.count]
        return min(firsts, default=0.0)

    def points(self) -> int:
        """Points held, after purges and thinning."""
        return sum(buffer.count for buffer in self._buffers)
