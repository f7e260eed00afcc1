"""A process is identified by (pid, start time): a reused pid never passes for our run."""
from __future__ import annotations

import os
from dataclasses import dataclass

import psutil

# psutil reports create_time with ~10 ms resolution (clock ticks); allow for rounding.
START_TIME_TOLERANCE_S = 0.05


@dataclass(frozen=True)
class ProcessIdentity:
    pid: int
    start_time: float  # seconds since the epoch, psutil.Process.create_time()


def identify(pid: int) -> ProcessIdentity | None:
    """The identity of a live process, or None when there is no such process."""
    try:
        return ProcessIdentity(pid, psutil.Process(pid).create_time())
    except (psutil.NoSuchProcess, psutil.AccessDenied, ValueError):
        return None


def is_alive(identity: ProcessIdentity) -> bool:
    """True only when that very process (same pid and start time) still runs (zombies don't)."""
    try:
        proc = psutil.Process(identity.pid)
        if abs(proc.create_time() - identity.start_time) > START_TIME_TOLERANCE_S:
            return False
        return proc.status() != psutil.STATUS_ZOMBIE
    except (psutil.NoSuchProcess, psutil.AccessDenied, ValueError):
        return False


def group_members(pgid: int) -> list[psutil.Process]:
    """Live processes of a process group (the trainer plus its data-loader workers)."""
    members = []
    for proc in psutil.process_iter(["pid", "status"]):
        try:
            if os.getpgid(proc.pid) == pgid and proc.info["status"] != psutil.STATUS_ZOMBIE:
                members.append(proc)
        except (ProcessLookupError, PermissionError, psutil.NoSuchProcess):
            continue
    return members
