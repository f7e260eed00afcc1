"""The overfitting watch inside the training process (rank 0), run after each epoch's evaluation.

It reads the run's own event files incrementally (core.monitor.events), the same series the
Monitor page reads, and asks core.monitor.overfit for the verdict: the Train status, the Monitor
page and the decision to stop all rest on one function over one set of numbers. A continued run
writes its new event file into the same folder, so the history before the restart counts too.

Stopping goes through `request_stop`, as the Stop button does (stop.json, the SIGKILL escalation
after the grace time, then SIGINT): the trainer saves a checkpoint on the KeyboardInterrupt and our
`on_keyboard_interrupt` callback records why it stopped.
"""
from __future__ import annotations

from pathlib import Path

from core.monitor.events import RunEventReader
from core.monitor.overfit import OverfitRule, OverfitWarning, overfit_warning_in
from core.registry.records import RunFiles
from core.runs.launcher import request_stop
from core.base.workspace import Workspace

OVERFIT_STOP_REASON = "overfitting"


class OverfitWatch:
    """The verdict after each evaluation, from the trainer's event files."""

    def __init__(self, rule: OverfitRule) -> None:
        self.rule = rule
        self.reader: RunEventReader | None = None

    def check(self, trainer) -> OverfitWarning | None:
        """Flush the trainer's TensorBoard writer, read what it added, and judge."""
        logger = getattr(trainer, "dashboard_logger", None)
        if logger is not None and hasattr(logger, "flush"):
            logger.flush()  # the trainer flushes after train steps only; the eval losses may still be buffered
        if self.reader is None:
            # Audio clips are not needed here: only their places are kept, not their bytes.
            self.reader = RunEventReader(Path(trainer.output_path), max_audio_held_per_tag=0)
        self.reader.refresh()
        return overfit_warning_in(self.reader, self.rule)


def stop_for_overfitting(files: RunFiles) -> None:
    """Stop this run the way the Stop button does. In the training process itself, the
    KeyboardInterrupt arrives before this returns (a rank-group leader forwards it to rank 0)."""
    # The run folder is <workspace>/runs/<run id>, as core.runs.status_reporter reads it too.
    request_stop(Workspace(files.folder.parent.parent), files.folder.name, reason=OVERFIT_STOP_REASON)
