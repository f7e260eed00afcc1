"""System load for the Monitor page: CPU, RAM and free disk (psutil), and every GPU (core.base.devices)."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from core.base.devices import Gpu, list_gpus
from core.base.machine import disk_space

FIRST_SPAN_S = 0.2  # the first reading of a process waits this long: there is nothing earlier to compare with
MIN_SPAN_S = 1.0  # a reading sooner than this after the last one repeats it (tabs refreshing close together)


@dataclass(frozen=True)
class SystemLoad:
    cpu_pct: float
    ram_used_bytes: int
    ram_total_bytes: int
    disk_free_bytes: int | None
    disk_total_bytes: int | None
    gpus: tuple[Gpu, ...]  # every visible GPU; empty: none


def _busy_and_total_s(times) -> tuple[float, float]:
    """psutil's own split: guest time is already counted in user and nice; idle and iowait are not busy."""
    total = sum(times) - getattr(times, "guest", 0.0) - getattr(times, "guest_nice", 0.0)
    return total - times.idle - getattr(times, "iowait", 0.0), total


class CpuMeter:
    """The machine's CPU use in % since the previous reading, for any number of callers (thread-safe).

    psutil.cpu_percent(interval=None) answers 0.0 on its first call and, shared by every browser tab,
    measures whatever sliver of time passed since another tab's refresh; this meter waits FIRST_SPAN_S
    once, then measures spans of at least MIN_SPAN_S and repeats the last reading within one.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._since: tuple[float, float, float] | None = None  # (monotonic s, busy CPU s, total CPU s)
        self._last_pct = 0.0

    @staticmethod
    def _sample() -> tuple[float, float, float]:
        return (time.monotonic(), *_busy_and_total_s(psutil.cpu_times()))

    def read_pct(self) -> float:
        with self._lock:
            if self._since is None:
                self._since = self._sample()
                time.sleep(FIRST_SPAN_S)
            elif time.monotonic() - self._since[0] < MIN_SPAN_S:
                return self._last_pct
            now = self._sample()
            busy_s, total_s = now[1] - self._since[1], now[2] - self._since[2]
            if total_s > 0:
                self._last_pct = max(0.0, min(100.0, 100 * busy_s / total_s))
                self._since = now
            return self._last_pct


_machine_cpu = CpuMeter()


def system_load(output_path: str | Path | None) -> SystemLoad:
    """One snapshot (the first of a process waits FIRST_SPAN_S for its CPU reading, later ones never block)."""
    memory = psutil.virtual_memory()
    free = total = None
    if output_path:
        space = disk_space(output_path)
        free, total = space.free_bytes, space.total_bytes
    return SystemLoad(_machine_cpu.read_pct(), int(memory.total - memory.available), int(memory.total),
                      free, total, tuple(list_gpus()))
