"""System load for the Monitor page: CPU, RAM and free disk (psutil), and every GPU (core.base.devices)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import psutil

from core.base.devices import Gpu, list_gpus
from core.base.machine import disk_space


@dataclass(frozen=True)
class SystemLoad:
    cpu_pct: float
    ram_used_bytes: int
    ram_total_bytes: int
    disk_free_bytes: int | None
    disk_total_bytes: int | None
    gpus: tuple[Gpu, ...]  # every visible GPU; empty: none


def system_load(output_path: str | Path | None) -> SystemLoad:
    """One snapshot; cpu_percent(None) compares with the previous call, so it never blocks."""
    memory = psutil.virtual_memory()
    free = total = None
    if output_path:
        space = disk_space(output_path)
        free, total = space.free_bytes, space.total_bytes
    return SystemLoad(psutil.cpu_percent(interval=None), int(memory.total - memory.available), int(memory.total),
                      free, total, tuple(list_gpus()))
