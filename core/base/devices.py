"""Which accelerators there are and how busy they are, found without importing torch into the dashboard.

One NVML pass reads everything a page needs about each GPU (name, memory, utilisation): the
Train page's picker and the Monitor page's load panel then show the same devices, numbered the
same way (NVML's order, which is nvidia-smi's and the one CUDA_DEVICE_ORDER=PCI_BUS_ID gives).
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Gpu:
    """One GPU as NVML sees it, read in a single pass (no torch, no CUDA context)."""

    index: int
    name: str
    free_bytes: int  # device memory, as NVML counts it
    total_bytes: int
    used_bytes: int
    utilisation_pct: float | None  # None: the device does not report it (MIG instances, some vGPUs)


def list_gpus() -> list[Gpu]:
    """NVIDIA GPUs via nvidia-ml-py, with their memory and load now; [] when there is no driver or no GPU."""
    try:
        import pynvml

        pynvml.nvmlInit()
    except Exception:
        return []
    try:
        gpus = []
        for index in range(pynvml.nvmlDeviceGetCount()):
            handle = pynvml.nvmlDeviceGetHandleByIndex(index)
            name = pynvml.nvmlDeviceGetName(handle)
            memory = pynvml.nvmlDeviceGetMemoryInfo(handle)
            gpus.append(Gpu(index, name.decode() if isinstance(name, bytes) else name, int(memory.free),
                            int(memory.total), int(memory.used), _utilisation_pct(pynvml, handle)))
        return gpus
    except Exception:
        return []
    finally:
        try:
            pynvml.nvmlShutdown()
        except Exception:
            pass


def _utilisation_pct(pynvml, handle) -> float | None:
    # Its own guard: a device without utilisation counters must still be listed (the Train page
    # offers it and preflight checks indices against this list).
    try:
        return float(pynvml.nvmlDeviceGetUtilizationRates(handle).gpu)
    except Exception:
        return None


def describe_device(env_overrides: dict[str, str] | None = None) -> str:
    """'GPU: <name>' or 'CPU (no GPU found)', honouring CUDA_VISIBLE_DEVICES='' overrides."""
    visible = (env_overrides or {}).get("CUDA_VISIBLE_DEVICES")
    if visible is not None and visible.strip() in ("", "-1"):
        return "CPU (GPUs hidden by CUDA_VISIBLE_DEVICES)"
    gpus = list_gpus()
    if not gpus:
        return "CPU (no GPU found)"
    return "GPU: " + ", ".join(f"{g.index}: {g.name}" for g in gpus)
