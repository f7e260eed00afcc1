"""What became of each notification: the history's records folded into one line per event."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Iterable

from core.notify.events import NotificationEvent
from core.notify.history import Delivery, EventRecord

# A delivery process gives up on its own well before this (retry delays + timeouts + its alarm);
# an event still unsettled after it lost its sender (machine restarted, process killed).
SENDER_DEADLINE_S = 600.0


@dataclass(frozen=True)
class TargetState:
    target: str  # masked URL
    state: str  # sent | retrying | failed | lost
    attempts: int
    last_error: str = ""


@dataclass(frozen=True)
class NotificationSummary:
    event: NotificationEvent
    recorded_at_s: float
    targets: tuple[TargetState, ...]

    @property
    def pending(self) -> bool:
        return any(t.state == "retrying" for t in self.targets)

    @property
    def delivery_text(self) -> str:
        """One phrase for the history table: where it went."""
        if not self.targets:
            return "browser only (no Apprise services configured)"
        return "; ".join(_target_text(t) for t in self.targets)


def _target_text(target: TargetState) -> str:
    if target.state == "sent":
        return f"{target.target}: sent" + (f" (attempt {target.attempts})" if target.attempts > 1 else "")
    if target.state == "retrying":
        return f"{target.target}: sending" + (f", {target.attempts} attempt(s) failed" if target.attempts else "")
    if target.state == "lost":
        return f"{target.target}: not sent (its delivery process ended without a result)"
    reason = f": {target.last_error}" if target.last_error else ""
    return f"{target.target}: failed after {target.attempts} attempt(s){reason}"


def summarize(records: Iterable[EventRecord | Delivery], *, now_s: float | None = None,
              limit: int = 50) -> tuple[NotificationSummary, ...]:
    """The newest `limit` events with each channel's state, newest first."""
    now_s = time.time() if now_s is None else now_s
    events: dict[str, EventRecord] = {}
    deliveries: dict[tuple[str, str], list[Delivery]] = {}
    for record in records:
        if isinstance(record, EventRecord):
            events.setdefault(record.event.key, record)
        else:
            deliveries.setdefault((record.key, record.channel_id), []).append(record)
    summaries = []
    for key, record in events.items():
        states = []
        for channel_id, label in record.targets:
            tries = deliveries.get((key, channel_id), [])
            failed = sum(1 for d in tries if not d.ok)
            if any(d.ok for d in tries):
                states.append(TargetState(label, "sent", failed + 1))
            elif any(d.final for d in tries):
                states.append(TargetState(label, "failed", failed, tries[-1].error))
            elif now_s - record.time_s > SENDER_DEADLINE_S:
                states.append(TargetState(label, "lost", failed, tries[-1].error if tries else ""))
            else:
                states.append(TargetState(label, "retrying", failed, tries[-1].error if tries else ""))
        summaries.append(NotificationSummary(record.event, record.time_s, tuple(states)))
    summaries.sort(key=lambda s: s.recorded_at_s, reverse=True)
    return tuple(summaries[:limit])
