"""`Notifier`: record an event (at most once per key) and start its delivery, without waiting for it.

The training process, the rank-group leader and the dashboard's test button each hold one. The
browser channel needs nothing more than the history record (every open tab polls it); the Apprise
channels are served by a detached `core.notify.delivery` process.
"""
from __future__ import annotations

import os
import subprocess
import sys
import threading

from core.notify.channels import read_channels
from core.notify.events import NotificationEvent
from core.notify.files import NotifyFiles
from core.notify.history import claim
from core.base.workspace import PROJECT_DIR


def start_delivery(files: NotifyFiles, key: str, python: str) -> subprocess.Popen:
    """Start the delivery process for `key` in its own session; returns at once."""
    files.ensure()
    log = os.open(files.sender_log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        # Own session: a stop's SIGKILL of the run's process group must not cut a delivery short.
        # close_fds (the default) matters: the training process holds the output path's flock, and a
        # delivery retrying for minutes must not keep that path locked.
        proc = subprocess.Popen([python, "-m", "core.notify.delivery", str(files.folder), key], cwd=PROJECT_DIR,
                                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True, close_fds=True)
    finally:
        os.close(log)
    # In a long-lived process (the dashboard) reap it when it ends; a training process exits first anyway.
    threading.Thread(target=proc.wait, daemon=True, name=f"notify-reaper-{key}").start()
    return proc


class Notifier:
    """Sends events from one process; never raises and never blocks on a service."""

    def __init__(self, files: NotifyFiles, python: str = sys.executable):
        self.files = files
        self.python = python

    def notify(self, event: NotificationEvent) -> bool:
        """Record `event` and start sending it; False when its key was already recorded (or recording failed)."""
        try:
            channels = read_channels(self.files).channels
            targets = tuple((c.channel_id, c.label) for c in channels)
            if not claim(self.files, event, targets):
                return False
            if targets:
                start_delivery(self.files, event.key, self.python)
            return True
        except Exception as exc:  # noqa: BLE001 - a full disk or a bad file must not fail a training run
            print(f" > NOTE: notification {event.key} could not be recorded or sent ({type(exc).__name__})", flush=True)
            return False
