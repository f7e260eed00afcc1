"""Facts about this machine that several packages ask for: a free TCP port, free disk space.

(GPUs have their own module, core.base.devices.)
"""
from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path

import psutil


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def nearest_existing(path: str | os.PathLike) -> Path:
    """The path itself or its closest existing parent (an output path may not exist yet)."""
    probe = Path(path).expanduser().absolute()
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    return probe


@dataclass(frozen=True)
class DiskSpace:
    free_bytes: int
    total_bytes: int
    measured_at: Path  # the existing folder whose file system was measured


def disk_space(path: str | os.PathLike) -> DiskSpace:
    """Free and total bytes of the file system that holds (or will hold) `path`."""
    probe = nearest_existing(path)
    usage = psutil.disk_usage(str(probe))
    return DiskSpace(int(usage.free), int(usage.total), probe)
