"""What a notification says: one event, built where it happens, the same for every channel.

An event carries an idempotency `key`, "<subject id>:<kind>" (a run id and "finished", say). The
history refuses a key it already holds, so each event goes out at most once even when two
writers report it (a rank-group leader and its rank 0; a stop seen by the trainer's callback and
again by the process's exit path).

Kinds belong to a subject (`SubjectKind`). Today only runs send events. The overfitting watch,
dataset jobs and synthesis jobs do not exist yet: each will add its kinds to `EventKind` (e.g.
OVERFITTING_SUSPECTED about a run, DATASET_JOB_FINISHED about a dataset job), a builder beside
`run_events`, and call `Notifier.notify`; the history, the toasts, the panel and every Apprise
service carry them unchanged, because nothing downstream branches on the kind.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any, Mapping


class SubjectKind(str, Enum):
    RUN = "run"
    TEST = "test"  # the panel's "send a test notification"
    # Future: DATASET_JOB = "dataset job", SYNTHESIS_JOB = "synthesis job".


class EventKind(str, Enum):
    RUN_FINISHED = "finished"
    RUN_FAILED = "failed"
    RUN_STOPPED = "stopped"
    DISK_FULL_SOON = "disk_full_soon"
    TEST = "test"
    # Future: OVERFITTING_SUSPECTED, DATASET_JOB_FINISHED / _FAILED, SYNTHESIS_JOB_FINISHED / _FAILED.


class Level(str, Enum):
    """How the event reads: the toast's icon and the Apprise notification type (same names)."""
    INFO = "info"
    SUCCESS = "success"
    WARNING = "warning"
    FAILURE = "failure"


@dataclass(frozen=True)
class NotificationEvent:
    """One thing worth telling the user. `kind` and `subject` are plain strings on purpose: a
    history written by a newer version (with kinds this one lacks) still reads and shows."""
    key: str  # "<subject_id>:<kind>": recorded once, sent at most once
    kind: str  # an EventKind value
    subject: str  # a SubjectKind value
    subject_id: str  # the run id (or the test's id)
    title: str  # one line: the toast's first line, the notification's title
    body: str  # plain text; may hold several lines (a failed run's last log lines)
    level: Level = Level.INFO
    created_at_s: float = field(default_factory=time.time)
    facts: Mapping[str, Any] = field(default_factory=dict)  # best_loss, step, full_in_s...: for tests and tools

    def to_json(self) -> dict:
        data = asdict(self)
        data["level"] = self.level.value
        data["facts"] = dict(self.facts)
        return data

    @classmethod
    def from_json(cls, data: Any) -> "NotificationEvent | None":
        """The event in a history record, or None when it is malformed."""
        if not isinstance(data, dict):
            return None
        try:
            texts = {name: data[name] for name in ("key", "kind", "subject", "subject_id", "title", "body")}
            if not all(isinstance(value, str) for value in texts.values()):
                return None
            facts = data.get("facts") if isinstance(data.get("facts"), dict) else {}
            return cls(**texts, level=Level(data.get("level", "info")),
                       created_at_s=float(data.get("created_at_s", 0.0)), facts=facts)
        except (KeyError, ValueError, TypeError):
            return None


def event_key(subject_id: str, kind: EventKind) -> str:
    return f"{subject_id}:{kind.value}"
