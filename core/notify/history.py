"""The notification history: `notify/history.jsonl`, one JSON record per line, appended.

Two record types: "event" (written once per key by `claim`, before anything is sent: this is
what makes each event go out at most once, and what the browser toasts show) and "delivery" (one
per attempt per channel, written by the delivery process). Several processes append (training
processes, delivery processes, the dashboard's test button), so every check-and-append happens
under an flock, and each record is one short line written in one call.

Readers follow TensorBoard's loaders: `read_new_events` reads only past the caller's offset and
leaves a half-written last line for the next call; the file is bounded (`MAX_HISTORY_BYTES`, the
oldest half dropped by an atomic rewrite, which readers notice by its new inode).
"""
from __future__ import annotations

import fcntl
import json
import os
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Iterator

from core.notify.events import NotificationEvent
from core.notify.files import NotifyFiles

MAX_HISTORY_BYTES = 512 * 1024  # thousands of notifications; an old run's key may be forgotten, never a live one's


@dataclass(frozen=True)
class Delivery:
    """One attempt to send event `key` to channel `channel_id` (shown as `target`, a masked URL)."""
    key: str
    channel_id: str
    target: str
    attempt: int
    ok: bool
    final: bool  # True: no further attempt will follow (sent, or given up)
    error: str = ""  # redacted: never holds the URL or a piece of it
    retry_in_s: float | None = None
    time_s: float = 0.0


@dataclass(frozen=True)
class EventRecord:
    """An event as claimed, with the channels it was to go to (masked)."""
    event: NotificationEvent
    targets: tuple[tuple[str, str], ...]  # (channel_id, masked label)
    time_s: float


@dataclass(frozen=True)
class HistoryCursor:
    """How far a reader has read: the file's identity and the offset past the last whole line."""
    inode: tuple[int, int] | None = None
    offset: int = 0


@contextmanager
def _locked(files: NotifyFiles) -> Iterator[None]:
    files.ensure()
    with open(files.lock, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _append(files: NotifyFiles, record: dict) -> None:
    line = (json.dumps(record, separators=(",", ":"), default=str) + "\n").encode("utf-8")
    fd = os.open(files.history, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)
    if os.stat(files.history).st_size > MAX_HISTORY_BYTES:
        _compact(files)


def _compact(files: NotifyFiles) -> None:
    lines = files.history.read_bytes().splitlines(keepends=True)
    kept = lines[len(lines) // 2:]
    tmp = files.history.with_name(f".{files.history.name}.{os.getpid()}.tmp")
    tmp.write_bytes(b"".join(kept))
    os.replace(tmp, files.history)


def _parse(line: bytes) -> EventRecord | Delivery | None:
    try:
        data = json.loads(line)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    if data.get("record") == "event":
        event = NotificationEvent.from_json(data.get("event"))
        targets = data.get("targets") if isinstance(data.get("targets"), list) else []
        if event is None:
            return None
        return EventRecord(event, tuple((str(t[0]), str(t[1])) for t in targets if isinstance(t, list) and len(t) == 2),
                           float(data.get("time_s") or 0.0))
    if data.get("record") == "delivery":
        try:
            return Delivery(str(data["key"]), str(data["channel_id"]), str(data["target"]), int(data["attempt"]),
                            bool(data["ok"]), bool(data["final"]), str(data.get("error", "")),
                            None if data.get("retry_in_s") is None else float(data["retry_in_s"]),
                            float(data.get("time_s") or 0.0))
        except (KeyError, ValueError, TypeError):
            return None
    return None


def read_history(files: NotifyFiles) -> tuple[EventRecord | Delivery, ...]:
    """Every whole record in the (bounded) history, oldest first."""
    try:
        data = files.history.read_bytes()
    except FileNotFoundError:
        return ()
    end = data.rfind(b"\n") + 1
    return tuple(r for line in data[:end].splitlines() if (r := _parse(line)) is not None)


def claim(files: NotifyFiles, event: NotificationEvent, targets: tuple[tuple[str, str], ...] = ()) -> bool:
    """Record `event` unless its key is already recorded; True when this call recorded it.

    The caller sends only after a True: the record comes first, so a crash between the two loses a
    notification rather than repeating it.
    """
    with _locked(files):
        if any(isinstance(r, EventRecord) and r.event.key == event.key for r in read_history(files)):
            return False
        _append(files, {"record": "event", "event": event.to_json(), "targets": [list(t) for t in targets],
                        "time_s": time.time()})
    return True


def record_delivery(files: NotifyFiles, delivery: Delivery) -> None:
    with _locked(files):
        _append(files, {"record": "delivery", **asdict(delivery)})


def find_event(files: NotifyFiles, key: str) -> EventRecord | None:
    return next((r for r in read_history(files) if isinstance(r, EventRecord) and r.event.key == key), None)


def end_cursor(files: NotifyFiles) -> HistoryCursor:
    """A cursor past everything recorded so far: a new browser tab toasts only what comes next."""
    try:
        info = files.history.stat()
    except FileNotFoundError:
        return HistoryCursor()
    with open(files.history, "rb") as handle:
        data = handle.read(info.st_size)
    return HistoryCursor((info.st_dev, info.st_ino), data.rfind(b"\n") + 1)


def read_new_events(files: NotifyFiles, cursor: HistoryCursor) -> tuple[tuple[NotificationEvent, ...], HistoryCursor]:
    """Events recorded after `cursor`, and the cursor to pass next time. Costs one stat when nothing changed.

    After a compaction (new inode) or a truncation the reader resumes at the end: the few events
    that came in during that moment are not worth toasting the whole history again.
    """
    try:
        info = files.history.stat()
    except FileNotFoundError:
        return (), HistoryCursor()
    inode = (info.st_dev, info.st_ino)
    if cursor.inode is not None and (inode != cursor.inode or info.st_size < cursor.offset):
        return (), end_cursor(files)
    if info.st_size == cursor.offset and cursor.inode == inode:
        return (), cursor
    with open(files.history, "rb") as handle:
        handle.seek(cursor.offset)
        data = handle.read(info.st_size - cursor.offset)
    end = data.rfind(b"\n") + 1  # a half-written last line waits for the next call
    records = [_parse(line) for line in data[:end].splitlines()]
    events = tuple(r.event for r in records if isinstance(r, EventRecord))
    return events, HistoryCursor(inode, cursor.offset + end)
