"""The events a training run sends, built from plain values the training process already has.

Kept free of the run registry and the trainer, so the training process, the rank-group leader and
tests all build the same text from the same facts.
"""
from __future__ import annotations

import re
import secrets
import time

from core.notify.events import EventKind, Level, NotificationEvent, SubjectKind, event_key
from core.registry.records import EXIT_INTERRUPTED
from core.base.text import format_duration_words

DISK_WARNING_HORIZON_S = 3600.0  # "the disk will be full within the next hour"
LAST_LINES = 12  # enough for a traceback's end; a chat message stays readable
MAX_LINE_CHARS = 300
_CARETS = re.compile(r"^\s*[\^~]+\s*$")  # a traceback's column markers: noise in a chat message
_EXCEPTION = re.compile(r"^[\w.]*(Error|Exception|Interrupt|Exit)\b.*")


def _event(run_id: str, kind: EventKind, title: str, body: str, level: Level, **facts) -> NotificationEvent:
    return NotificationEvent(event_key(run_id, kind), kind.value, SubjectKind.RUN.value, run_id, title, body,
                             level, time.time(), facts)


def run_finished(run_id: str, best_loss: float | None, best_step: int | None = None) -> NotificationEvent:
    loss = "no best model was saved" if best_loss is None else f"best loss {best_loss:.4f}" + (
        f" (step {best_step})" if best_step is not None else "")
    return _event(run_id, EventKind.RUN_FINISHED, f"Run {run_id} finished",
                  f"Run {run_id} finished: {loss}. Its ready/ bundle is written.", Level.SUCCESS,
                  best_loss=best_loss, best_step=best_step)


def run_failed(run_id: str, message: str, last_lines: list[str] | tuple[str, ...]) -> NotificationEvent:
    lines = [line.rstrip()[:MAX_LINE_CHARS] for line in last_lines if line.strip() and not _CARETS.match(line)]
    lines = lines[-LAST_LINES:]
    # The trainer reports most crashes as a bare "exit 1"; the log's last exception line says what it was.
    cause = next((line.strip() for line in reversed(lines) if _EXCEPTION.match(line.strip())), "")
    headline = f"Run {run_id} failed: {message}" + (f" ({cause})" if cause and cause not in message else "")
    body = headline + ("\n\nLast lines of its log:\n" + "\n".join(lines) if lines else "")
    return _event(run_id, EventKind.RUN_FAILED, f"Run {run_id} failed", body, Level.FAILURE,
                  message=message, cause=cause, last_lines=lines)


def run_stopped(run_id: str, message: str) -> NotificationEvent:
    return _event(run_id, EventKind.RUN_STOPPED, f"Run {run_id} stopped", f"Run {run_id} {message}.",
                  Level.WARNING, message=message)


def run_ended(run_id: str, exit_code: int, message: str, *, best_loss: float | None = None,
              best_step: int | None = None, last_lines: list[str] | tuple[str, ...] = ()) -> NotificationEvent:
    """The event for a run's exit status: finished (0), stopped (130) or failed (anything else)."""
    if exit_code == 0:
        return run_finished(run_id, best_loss, best_step)
    if exit_code == EXIT_INTERRUPTED:
        return run_stopped(run_id, message)
    return run_failed(run_id, message, last_lines)


def disk_full_soon(run_id: str, full_in_s: float | None, free_bytes: int | None) -> NotificationEvent | None:
    """The warning when the disk trend says the run's disk fills within the hour; None otherwise."""
    if full_in_s is None or full_in_s > DISK_WARNING_HORIZON_S:
        return None
    free = f"{free_bytes / 1e9:.2f} GB free" if free_bytes is not None else "free space unknown"
    when = format_duration_words(full_in_s)
    return _event(run_id, EventKind.DISK_FULL_SOON, f"Run {run_id}: disk full in about {when}",
                  f"At its current rate run {run_id} fills the disk in about {when} "
                  f"({free}). Free space or stop the run (see the Disk page).", Level.WARNING,
                  full_in_s=full_in_s, free_bytes=free_bytes)


def event_for_test_button() -> NotificationEvent:
    """The panel's test notification: a new key each time, so every press is sent."""
    test_id = f"test-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}"
    return NotificationEvent(event_key(test_id, EventKind.TEST), EventKind.TEST.value, SubjectKind.TEST.value,
                             test_id, "Test notification",
                             "This is a test from the XTTS fine-tuning dashboard: notifications reach you here.",
                             Level.INFO, time.time())
