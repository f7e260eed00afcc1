"""list_gpus against a stand-in for nvidia-ml-py (this machine has no GPU): one NVML pass, every device."""
from __future__ import annotations

import sys
import types
from types import SimpleNamespace

import pytest

from core.base.devices import Gpu, describe_device, list_gpus
from core.monitor.system_load import system_load


class NotSupported(Exception):
    pass


def fake_nvml(devices: list[dict], *, init_fails: bool = False) -> types.ModuleType:
    """A module with the few pynvml calls core.base.devices makes; counts init/shutdown pairs."""
    nvml = types.ModuleType("pynvml")
    nvml.calls = {"init": 0, "shutdown": 0}

    def init():
        if init_fails:
            raise RuntimeError("NVML Shared Library Not Found")
        nvml.calls["init"] += 1

    def utilisation(handle):
        if devices[handle].get("util") is None:
            raise NotSupported("Not Supported")
        return SimpleNamespace(gpu=devices[handle]["util"], memory=0)

    nvml.nvmlInit = init
    nvml.nvmlShutdown = lambda: nvml.calls.__setitem__("shutdown", nvml.calls["shutdown"] + 1)
    nvml.nvmlDeviceGetCount = lambda: len(devices)
    nvml.nvmlDeviceGetHandleByIndex = lambda index: index
    nvml.nvmlDeviceGetName = lambda handle: devices[handle]["name"]
    nvml.nvmlDeviceGetMemoryInfo = lambda handle: SimpleNamespace(**devices[handle]["memory"])
    nvml.nvmlDeviceGetUtilizationRates = utilisation
    return nvml


GIB = 2**30
TWO_GPUS = [
    {"name": b"NVIDIA H100 80GB HBM3", "util": 87, "memory": {"free": 30 * GIB, "used": 50 * GIB, "total": 80 * GIB}},
    {"name": "NVIDIA A100-SXM4-40GB MIG 3g.20gb", "util": None,  # MIG: no utilisation counters
     "memory": {"free": 19 * GIB, "used": 1 * GIB, "total": 20 * GIB}},
]


def test_every_gpu_with_memory_and_load_in_one_pass(monkeypatch):
    nvml = fake_nvml(TWO_GPUS)
    monkeypatch.setitem(sys.modules, "pynvml", nvml)
    assert list_gpus() == [
        Gpu(0, "NVIDIA H100 80GB HBM3", 30 * GIB, 80 * GIB, 50 * GIB, 87.0),
        Gpu(1, "NVIDIA A100-SXM4-40GB MIG 3g.20gb", 19 * GIB, 20 * GIB, 1 * GIB, None),
    ]
    assert nvml.calls == {"init": 1, "shutdown": 1}
    assert describe_device() == "GPU: 0: NVIDIA H100 80GB HBM3, 1: NVIDIA A100-SXM4-40GB MIG 3g.20gb"


def test_system_load_shows_the_same_gpus(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "pynvml", fake_nvml(TWO_GPUS))
    load = system_load(tmp_path)
    assert load.gpus == tuple(list_gpus())
    assert [g.index for g in load.gpus] == [0, 1]


@pytest.mark.parametrize("nvml", [fake_nvml([], init_fails=True), fake_nvml([])], ids=["no driver", "no GPU"])
def test_no_gpu_is_an_empty_list(monkeypatch, nvml):
    monkeypatch.setitem(sys.modules, "pynvml", nvml)
    assert list_gpus() == []
    assert system_load(None).gpus == ()
    assert describe_device() == "CPU (no GPU found)"
