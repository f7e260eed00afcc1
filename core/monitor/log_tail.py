"""Incremental tail of the trainer's log (trainer_0_log.txt or the captured stdout).

Each refresh reads only the bytes appended since the last one, so a page can poll a log of any
size every second. The trainer colours its output with ANSI codes, which are stripped; the
checkpoint lines it prints become typed events.
"""

from __future__ import annotations

import enum
import os
import re
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from core.checkpoints.layout import parse_step_file
from core.base.text import strip_ansi

_READ_BYTES = 1 << 20  # a first read of a long log goes through memory in slices of this size
# The trainer's save lines; the file name itself is parsed by core.checkpoints.layout.
_SAVED = re.compile(r" > (?P<what>CHECKPOINT|BEST MODEL) : (?P<path>.+?)\s*$")
_SAVED_KINDS = {"CHECKPOINT": "checkpoint", "BEST MODEL": "best_model"}
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}")
# "     | > loss: 0.41  (0.44)" after train steps, "     | > avg_loss: 0.39 ..." after epochs.
_LOSS = re.compile(r"\| > (?P<name>avg_loss|loss): (?P<value>[-+0-9.eEinfa]+)")
_PROBLEM = re.compile(r"warn|error|exception|traceback|critical|fatal|\bnan\b", re.IGNORECASE)


class LogFilter(enum.Enum):
    """Which lines a log view shows."""

    ALL = "all"
    WARNINGS = "warnings and errors"
    CHECKPOINTS = "checkpoint events"


class EventKind(enum.Enum):
    CHECKPOINT = "checkpoint"
    BEST_MODEL = "best_model"


@dataclass(frozen=True)
class CheckpointEvent:
    """A checkpoint or best model the trainer announced in its log."""

    kind: EventKind
    step: int
    path: str
    loss: float | None  # the last loss the log printed before the event; None if none yet
    time_s: float  # the line's own timestamp if it has one, else when the tail read it

    @property
    def message(self) -> str:
        what = "Checkpoint saved" if self.kind is EventKind.CHECKPOINT else "Best model updated"
        return f"{what} at step {self.step}"


def is_problem_line(line: str) -> bool:
    """Whether a line belongs in the warnings-and-errors view."""
    return bool(_PROBLEM.search(line))


class LogTail:
    """The last `max_lines` lines of one log file, read incrementally; safe to share across threads."""

    def __init__(self, path: Path | str, max_lines: int = 2000, max_events: int = 1000) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._lines: deque[str] = deque(maxlen=max_lines)
        self._events: deque[CheckpointEvent] = deque(maxlen=max_events)
        self._offset = 0
        self._inode: int | None = None
        self._partial = b""  # an unfinished last line waits for its newline
        self._last_loss: float | None = None
        self._last_avg_loss: float | None = None
        self.missing = False
        self.restarts = 0  # times the file was truncated or replaced and read again from the start

    def refresh(self) -> int:
        """Read what was appended since the last call; returns the number of new complete lines."""
        with self._lock:
            try:
                f = open(self.path, "rb")
            except OSError:
                self.missing = True
                return 0
            with f:
                self.missing = False
                st = os.fstat(f.fileno())
                if self._inode is not None and (st.st_ino != self._inode or st.st_size < self._offset):
                    # Rotated or truncated: what follows belongs to a new file.
                    self._offset, self._partial = 0, b""
                    self.restarts += 1
                self._inode = st.st_ino
                f.seek(self._offset)
                added = 0
                while chunk := f.read(_READ_BYTES):
                    self._offset += len(chunk)
                    *complete, self._partial = (self._partial + chunk).split(b"\n")
                    if len(self._partial) > _READ_BYTES:  # no newline for 1 MB: show it anyway
                        complete.append(self._partial)
                        self._partial = b""
                    added += len(complete)
                    for raw in complete:
                        self._add_line(raw.decode("utf-8", "replace"), time.time())
                return added

    def lines(self, which: LogFilter = LogFilter.ALL) -> list[str]:
        """The kept lines (oldest first), ANSI codes removed, filtered."""
        with self._lock:
            if which is LogFilter.ALL:
                return list(self._lines)
            if which is LogFilter.WARNINGS:
                return [line for line in self._lines if is_problem_line(line)]
            return [line for line in self._lines if _saved_file(line)]

    def events(self) -> list[CheckpointEvent]:
        """Checkpoint and best-model events seen so far, oldest first."""
        with self._lock:
            return list(self._events)

    def _add_line(self, text: str, read_at_s: float) -> None:
        # A progress bar rewrites its line with \r; a terminal would show only the last part.
        line = strip_ansi(text).rstrip("\r").rsplit("\r", 1)[-1]
        self._lines.append(line)
        if loss := _LOSS.search(line):
            try:
                value = float(loss["value"])
            except ValueError:
                value = None
            if loss["name"] == "loss":
                self._last_loss = value
            else:
                self._last_avg_loss = value
        if saved := _saved_file(line):
            kind, step, path = saved
            # The best model is chosen on the average loss; a checkpoint has the step's loss.
            loss = self._last_avg_loss if kind is EventKind.BEST_MODEL else self._last_loss
            self._events.append(CheckpointEvent(kind, step, path, loss, _line_time_s(line) or read_at_s))


def _saved_file(line: str) -> tuple[EventKind, int, str] | None:
    """(kind, step, path) of a trainer line announcing a saved checkpoint or best model."""
    match = _SAVED.search(line)
    if match is None:
        return None
    parsed = parse_step_file(Path(match["path"]).name)
    if parsed is None or parsed[0] != _SAVED_KINDS[match["what"]]:
        return None
    kind = EventKind.CHECKPOINT if parsed[0] == "checkpoint" else EventKind.BEST_MODEL
    return kind, parsed[1], match["path"]


def _line_time_s(line: str) -> float | None:
    stamp = _TIMESTAMP.search(line)
    if stamp is None:
        return None
    try:
        return datetime.fromisoformat(stamp.group(0).replace("T", " ")).timestamp()
    except ValueError:
        return None
