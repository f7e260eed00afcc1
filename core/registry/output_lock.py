"""One run per output path, enforced by an flock the training process holds for its lifetime.

The launcher takes the lock, then hands the locked file descriptor to the child; the kernel
releases it when the last holder exits, even on SIGKILL. No check-then-act race: whoever gets
the flock owns the output path.
"""
from __future__ import annotations

import fcntl
import os
from dataclasses import dataclass
from pathlib import Path

LOCK_NAME = ".xtts-dashboard.lock"


@dataclass
class OutputLock:
    fd: int
    path: Path

    def release(self) -> None:
        """Drop our copy of the descriptor (the child keeps its own)."""
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


class OutputBusy(RuntimeError):
    def __init__(self, output_path: Path, holder_run_id: str):
        self.output_path = output_path
        self.holder_run_id = holder_run_id
        super().__init__(f"{output_path} is in use by run {holder_run_id or '(unknown)'}; "
                         "stop that run or choose another output path")

    def __reduce__(self):  # rebuilt from its parts when it crosses a process line (core.offload)
        return type(self), (self.output_path, self.holder_run_id)


def lock_path(output_path: Path) -> Path:
    return Path(output_path) / LOCK_NAME


def try_lock_output(output_path: Path, run_id: str) -> OutputLock:
    """Take the output path's lock for `run_id`, or raise OutputBusy naming the holder."""
    path = lock_path(output_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip()
        os.close(fd)
        raise OutputBusy(Path(output_path), holder) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, run_id.encode(), 0)
    return OutputLock(fd, path)


def output_holder(output_path: Path) -> str | None:
    """The run id holding the output path, or None when it is free."""
    path = lock_path(output_path)
    if not path.exists():
        return None
    try:
        lock = try_lock_output(output_path, "")
    except OutputBusy as busy:
        return busy.holder_run_id or "(unknown)"
    lock.release()
    return None
