"""When each checkpoint and best model was really saved.

The trainer's log lines carry no time, and a tail that opens a finished run's log reads every line
at once, so the time a line was read says nothing about when it was written. In order of trust:
the saved file's own mtime (exact, while the file exists: the trainer prunes older ones), the
TensorBoard wall time of the last logged point at or before the save's step (the trainer logs
scalars every plot_step), and only then the log line's time.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from core.monitor.events import RunEventReader
from core.monitor.log_tail import CheckpointEvent

WALL_TIME_TAG = "TrainIterStats/loss"


@dataclass(frozen=True)
class SavedAt:
    time_s: float
    source: str  # "file" | "event file" | "log"


def saved_at(event: CheckpointEvent, reader: RunEventReader | None = None) -> SavedAt:
    """The best known time `event`'s file was saved."""
    try:
        return SavedAt(os.stat(event.path).st_mtime, "file")
    except OSError:
        pass  # pruned by the trainer since, or the run folder moved
    if reader is not None and WALL_TIME_TAG in reader.tags():
        series = reader.series(WALL_TIME_TAG)
        index = int(np.searchsorted(series.steps, event.step, side="right")) - 1
        if index >= 0:
            return SavedAt(float(series.wall_times_s[index]), "event file")
    return SavedAt(event.time_s, "log")
