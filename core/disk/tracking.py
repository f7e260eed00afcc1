"""A run's disk use as it happens, next to its forecast.

- `sample_run_disk` measures the bytes of a run's trainer folder plus `<output>/ready/`, counting a
  hard-linked file once (core.checkpoints.retention links kept/ files) and skipping files the trainer deletes
  while we walk.
- `record_sample` appends to a small per-run history, `runs/<run_id>/disk_samples.jsonl`, at most
  once every `min_interval_s`, and halves it when it grows past `max_bytes`; `SampleReader` reads
  it from the last offset, leaving a half-written last line for the next call.
- `disk_trend` turns recent samples into bytes/s and "disk full in about X".

Only the training process writes the history (core.runs.status_reporter); pages read it.
"""
from __future__ import annotations

import json
import os
import stat
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable, Sequence

from core.checkpoints.layout import ready_dir
from core.base.errors import ConfigInvalid, FieldError
from core.registry.records import load_record, read_status, run_files
from core.base.workspace import Workspace

MIN_SAMPLE_INTERVAL_S = 5.0  # a live page refreshes every few seconds; one line per refresh at most
MAX_HISTORY_BYTES = 256 * 1024  # about 2,000 samples; older ones are thinned, never the newest
TREND_WINDOW_S = 300.0  # long enough to span a checkpoint save and its pruning


@dataclass(frozen=True)
class DiskSample:
    """Bytes of one run at one moment; `step` is status.json's step at that moment."""
    time_s: float
    step: int | None
    bytes_on_disk: int  # trainer_bytes + ready_bytes, each inode once
    trainer_bytes: int
    ready_bytes: int
    files: int

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, line: str | bytes) -> "DiskSample | None":
        """The sample on one history line, or None for a malformed line."""
        try:
            data = json.loads(line)
            sample = cls(float(data["time_s"]), None if data["step"] is None else int(data["step"]),
                         int(data["bytes_on_disk"]), int(data["trainer_bytes"]), int(data["ready_bytes"]),
                         int(data["files"]))
        except (ValueError, KeyError, TypeError):
            return None
        return sample


@dataclass(frozen=True)
class DiskTrend:
    """Growth over the last `window_s`; `full_in_s` is set only when it heads past free space."""
    bytes_per_s: float | None  # None: fewer than two samples in the window
    window_s: float  # time between the first and last sample used
    samples_used: int
    free_bytes: int | None
    full_in_s: float | None


def _tree_bytes(folder: Path, seen: set[tuple[int, int]]) -> tuple[int, int]:
    """(bytes, files) of regular files under `folder`, skipping inodes in `seen` and adding new ones.

    A file or folder that disappears between listing and stat (the trainer pruning a checkpoint,
    best_model.pth being replaced) is skipped: the next sample sees the new state.
    """
    total = files = 0
    stack = [folder]
    while stack:
        current = stack.pop()
        try:
            entries = list(os.scandir(current))
        except (FileNotFoundError, NotADirectoryError, PermissionError):
            continue
        for entry in entries:
            try:
                info = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue
            if stat.S_ISDIR(info.st_mode):
                stack.append(Path(entry.path))
            elif stat.S_ISREG(info.st_mode):
                key = (info.st_dev, info.st_ino)
                if key in seen:
                    continue  # a hard link of a file already counted (kept/ links)
                seen.add(key)
                total += info.st_size
                files += 1
    return total, files


def measure_folders(trainer_folder: Path | None, ready_folder: Path | None, *, step: int | None = None,
                    now_s: float | None = None) -> DiskSample:
    """A sample of two folders, each inode counted once across both."""
    seen: set[tuple[int, int]] = set()
    trainer, trainer_files = _tree_bytes(trainer_folder, seen) if trainer_folder else (0, 0)
    ready, ready_files = _tree_bytes(ready_folder, seen) if ready_folder else (0, 0)
    return DiskSample(time.time() if now_s is None else now_s, step, trainer + ready, trainer, ready,
                      trainer_files + ready_files)


def sample_run_disk(ws: Workspace, run_id: str, *, now_s: float | None = None) -> DiskSample:
    """Bytes of the run's trainer folder (once the trainer made it) + its output's ready/ now."""
    record = load_record(ws, run_id)
    if record is None:
        raise ConfigInvalid([FieldError("run", f"run {run_id} has no readable record.json")])
    status = read_status(ws, run_id)
    return measure_folders(status.run_folder, ready_dir(record.output_path), step=status.step, now_s=now_s)


def samples_path(ws: Workspace, run_id: str) -> Path:
    return run_files(ws, run_id).disk_samples


def _last_line(path: Path, max_bytes: int = 4096) -> bytes:
    with open(path, "rb") as handle:
        handle.seek(0, os.SEEK_END)
        size = handle.tell()
        handle.seek(max(0, size - max_bytes))
        lines = handle.read().split(b"\n")
    complete = [line for line in lines[:-1] if line.strip()]  # the part after the last newline may be half-written
    return complete[-1] if complete else b""


def record_sample(path: Path, sample: DiskSample, *, min_interval_s: float = MIN_SAMPLE_INTERVAL_S,
                  max_bytes: int = MAX_HISTORY_BYTES) -> bool:
    """Append `sample` unless the last one is younger than `min_interval_s`; True when written.

    Past `max_bytes` the history is thinned (every other old sample dropped, the first and the
    newest kept) and rewritten atomically, so it covers the whole run in bounded space.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        last = DiskSample.from_json(_last_line(path))
        if last is not None and 0 <= sample.time_s - last.time_s < min_interval_s:
            return False
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(sample.to_json() + "\n")
    if path.stat().st_size > max_bytes:
        _compact(path, max_bytes)
    return True


def _compact(path: Path, max_bytes: int) -> None:
    samples = read_samples(path)
    while samples and sum(len(s.to_json()) + 1 for s in samples) > max_bytes // 2:
        if len(samples) <= 2:
            break
        samples = [*samples[:-1:2], samples[-1]]
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text("".join(s.to_json() + "\n" for s in samples), encoding="utf-8")
    os.replace(tmp, path)


def read_samples(path: Path) -> list[DiskSample]:
    """Every complete sample in a history file (a small, bounded file)."""
    reader = SampleReader(path)
    return list(reader.load())


class SampleReader:
    """Reads a history file from where it left off; starts over when the file was rewritten."""

    def __init__(self, path: Path, max_samples: int = 10_000) -> None:
        self.path = Path(path)
        self.max_samples = max_samples
        self._offset = 0
        self._inode: tuple[int, int] | None = None
        self._samples: list[DiskSample] = []

    def load(self) -> tuple[DiskSample, ...]:
        """All samples read so far, after reading what was appended since the last call."""
        try:
            info = self.path.stat()
        except FileNotFoundError:
            self._reset(None)
            return ()
        inode = (info.st_dev, info.st_ino)
        if inode != self._inode or info.st_size < self._offset:
            self._reset(inode)  # compacted (replaced) or truncated: read it again from the start
        if info.st_size > self._offset:
            with open(self.path, "rb") as handle:
                handle.seek(self._offset)
                data = handle.read(info.st_size - self._offset)
            end = data.rfind(b"\n") + 1  # a half-written last line waits for the next call
            for line in data[:end].split(b"\n"):
                if line.strip() and (sample := DiskSample.from_json(line)) is not None:
                    self._samples.append(sample)
            self._offset += end
            if len(self._samples) > self.max_samples:
                self._samples = self._samples[-self.max_samples:]
        return tuple(self._samples)

    def _reset(self, inode: tuple[int, int] | None) -> None:
        self._inode, self._offset, self._samples = inode, 0, []


def disk_trend(samples: Sequence[DiskSample], free_bytes: int | None, *, window_s: float = TREND_WINDOW_S,
               horizon_s: float | None = None) -> DiskTrend:
    """Bytes/s over the last `window_s` (least squares, so one save-and-prune does not dominate).

    `full_in_s` is the time until the free space is used up at that rate; None when the trend is
    flat or shrinking, free space is unknown, or (given `horizon_s`, the run's remaining time) the
    disk would fill only after the run ends.
    """
    if not samples:
        return DiskTrend(None, 0.0, 0, free_bytes, None)
    end = samples[-1].time_s
    recent = [s for s in samples if end - s.time_s <= window_s]
    span = recent[-1].time_s - recent[0].time_s
    if len(recent) < 2 or span <= 0:
        return DiskTrend(None, 0.0, len(recent), free_bytes, None)
    rate = _slope([(s.time_s - recent[0].time_s, s.bytes_on_disk) for s in recent])
    full_in = None
    if rate > 0 and free_bytes is not None:
        full_in = max(free_bytes, 0) / rate
        if horizon_s is not None and full_in > horizon_s:
            full_in = None
    return DiskTrend(rate, span, len(recent), free_bytes, full_in)


def _slope(points: Iterable[tuple[float, float]]) -> float:
    points = list(points)
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    var = sum((x - mean_x) ** 2 for x, _ in points)
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / var if var else 0.0
