"""Which accelerator a run will use, found without importing torch into the dashboard."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Gpu:
    index: int
    name: str
    free_bytes: int
    total_bytes: int


def list_gpus() -> list[Gpu]:
    """NVIDIA GPUs via nvidia-ml-py; an empty list when there is no driver or no GPU."""
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
            gpus.append(Gpu(index, name.decode() if isinstance(name, bytes) else name,
                            int(memory.free), int(memory.total)))
        return gpus
    except Exception:
        return []
    finally:
        try:
            pynvml.nvmlShutdown()
        except Exception:
            pass


def describe_device(env_overrides: dict[str, str] | None = None) -> str:
    """'GPU: <name>' or 'CPU (no GPU found)', honouring CUDA_VISIBLE_DEVICES='' overrides."""
    visible = (env_overrides or {}).get("CUDA_VISIBLE_DEVICES")
    if visible is not None and visible.strip() in ("", "-1"):
        return "CPU (GPUs hidden by CUDA_VISIBLE_DEVICES)"
    gpus = list_gpus()
    if not gpus:
        return "CPU (no GPU found)"
    return "GPU: " + ", ".join(f"{g.index}: {g.name}" for g in gpus)
