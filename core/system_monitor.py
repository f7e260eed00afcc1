"""System load for the Monitor page: GPU (nvidia-ml-py), CPU, RAM and free disk (psutil)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import psutil


@dataclass(frozen=True)
class GpuLoad:
    index: int
    name: str
    utilisation_pct: float
    memory_used_bytes: int
    memory_total_bytes: int


@dataclass(frozen=True)
class SystemLoad:
    cpu_pct: float
    ram_used_bytes: int
    ram_total_bytes: int
    disk_free_bytes: int | None
    disk_total_bytes: int | None
    gpus: tuple[GpuLoad, ...]  # empty: no GPU


def nearest_existing(path: Path) -> Path:
    """The path itself or its closest existing parent (an output path may not exist yet)."""
    path = Path(path).expanduser().absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def disk_free_bytes(path: str | Path) -> tuple[int, int]:
    usage = psutil.disk_usage(str(nearest_existing(Path(path))))
    return int(usage.free), int(usage.total)


def gpu_loads() -> tuple[GpuLoad, ...]:
    try:
        import pynvml

        pynvml.nvmlInit()
    except Exception:
        return ()
    try:
        loads = []
        for index in range(pynvml.nvmlDeviceGetCount()):
            handle = pynvml.nvmlDeviceGetHandleByIndex(index)
            name = pynvml.nvmlDeviceGetName(handle)
            util = pynvml.nvmlDeviceGetUtilizationRates(handle)
            memory = pynvml.nvmlDeviceGetMemoryInfo(handle)
            loads.append(GpuLoad(index, name.decode() if isinstance(name, bytes) else name, float(util.gpu),
                                 int(memory.used), int(memory.total)))
        return tuple(loads)
    except Exception:
        return ()
    finally:
        try:
            pynvml.nvmlShutdown()
        except Exception:
            pass


def system_load(output_path: str | Path | None) -> SystemLoad:
    """One snapshot; cpu_percent(None) compares with the previous call, so it never blocks."""
    memory = psutil.virtual_memory()
    free = total = None
    if output_path:
        free, total = disk_free_bytes(output_path)
    return SystemLoad(psutil.cpu_percent(interval=None), int(memory.total - memory.available), int(memory.total),
                      free, total, gpu_loads())
