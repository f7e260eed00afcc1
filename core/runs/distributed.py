"""One training rank of a DDP run: its place in the group, the process group, gradient averaging.

Used inside the training process only (core.runs.train_process imports it when a run has several
ranks). Every rank sees at most one GPU (its own, through CUDA_VISIBLE_DEVICES), so coqui's
Trainer always runs in its single-device mode and we add the distributed part ourselves:

- coqui-tts-trainer 0.4 turns DDP on only when it sees more than one GPU, asserts CUDA in
  `init_distributed`, and after wrapping the model keeps `ddp_model.module`, i.e. the bare model:
  its train steps never go through `DistributedDataParallel.forward`, so DDP's reducer never
  expects a backward pass and no gradient is ever all-reduced. The ranks would silently train
  diverging copies (docs/trainer-facts.md, "Multi-GPU"). `GradientSync` routes the train step
  through a real DDP forward instead.
- The same code runs on GPUs (nccl) and on the CPU (gloo, used by the tests).
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from typing import Any, Mapping

from core.base.devices import list_gpus


@dataclass(frozen=True)
class RankEnv:
    """Where this process sits in the group, as torchrun (or core.runs.rank_group) sets it in the environment."""
    rank: int
    world_size: int
    local_rank: int
    master_addr: str
    master_port: int

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> "RankEnv | None":
        """The rank of a multi-rank run, or None for a plain single-process run."""
        try:
            world = int(env.get("WORLD_SIZE", "1"))
        except ValueError:
            return None
        if world < 2 or "RANK" not in env:
            return None
        rank = int(env["RANK"])
        return cls(rank, world, int(env.get("LOCAL_RANK", rank)), env.get("MASTER_ADDR", "127.0.0.1"),
                   int(env.get("MASTER_PORT", "29500")))


def pin_local_gpu(local_rank: int, env: dict[str, str] | None = None) -> str | None:
    """Leave this rank only its own GPU visible; returns that device's id, None without GPUs.

    Must run before CUDA is initialised. With one visible GPU the trainer uses cuda:0 and never
    enters its own (unsynchronised) DDP path. Under torchrun all of a node's GPUs are visible and
    LOCAL_RANK picks one; under core.runs.rank_group the GPU is already the only one visible.
    """
    env = os.environ if env is None else env
    visible = [v.strip() for v in env.get("CUDA_VISIBLE_DEVICES", "").split(",") if v.strip()]
    if env.get("CUDA_VISIBLE_DEVICES") is None:
        visible = [str(g.index) for g in list_gpus()]
    if not visible or visible == ["-1"]:
        return None
    mine = visible[local_rank % len(visible)] if len(visible) > 1 else visible[0]
    env["CUDA_DEVICE_ORDER"] = "PCI_BUS_ID"  # the order nvidia-smi and core.base.devices use
    env["CUDA_VISIBLE_DEVICES"] = mine
    return mine


def init_group(rank_env: RankEnv, use_cuda: bool) -> str:
    """Join the process group (env:// rendezvous on MASTER_ADDR:MASTER_PORT); returns the backend."""
    import torch.distributed as dist

    backend = "nccl" if use_cuda else "gloo"
    os.environ.setdefault("MASTER_ADDR", rank_env.master_addr)
    os.environ.setdefault("MASTER_PORT", str(rank_env.master_port))
    dist.init_process_group(backend, init_method="env://", rank=rank_env.rank, world_size=rank_env.world_size)
    return backend


def leave_group() -> None:
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def _train_step_module(model, params):
    import torch.nn as nn

    class TrainStep(nn.Module):
        """What DDP wraps: the optimizer's parameters, and a forward that is the model's train step.

        Only the parameters the optimizer steps are registered (for XTTS: the GPT; the DVAE,
        mel extractors and HiFi-GAN decoder are frozen), so DDP broadcasts and averages exactly
        those. The model is kept outside the module tree so its frozen parts are not DDP's business.
        """

        def __init__(self):
            super().__init__()
            self.trained = nn.ParameterList(params)  # the same Parameter objects, not copies
            self._model = (model,)

        def forward(self, batch, criterion, *rest):
            return self._model[0].train_step(batch, criterion, *rest)

    return TrainStep()


class GradientSync:
    """Stands in for the model as `trainer.wrapped_model` so that train steps are synchronised.

    The trainer calls `_get_model().train_step(batch, criterion)`; here that call goes through
    `DistributedDataParallel.forward`, so the backward pass all-reduces (averages) the gradients
    of every trained parameter across the ranks before the optimizer steps. Everything else
    (format_batch, eval_step, state_dict for checkpoints, ...) goes to the bare model, so
    checkpoints keep their usual keys and evaluation needs no communication.
    """

    def __init__(self, model, optimizers, use_cuda: bool):
        from torch.nn.parallel import DistributedDataParallel

        params, seen = [], set()
        for optimizer in optimizers:
            for group in optimizer.param_groups:
                for param in group["params"]:
                    if param.requires_grad and id(param) not in seen:
                        seen.add(id(param))
                        params.append(param)
        # DDP broadcasts rank 0's values of these parameters here, so every rank starts equal.
        # find_unused_parameters: a train step need not touch every GPT parameter (XTTS v2 has
        # conditioning paths that a config can switch off); without it DDP would wait forever.
        self._ddp = DistributedDataParallel(_train_step_module(model, params), device_ids=[0] if use_cuda else None,
                                            broadcast_buffers=False, find_unused_parameters=True)
        self._model = model

    def train_step(self, batch, criterion, *rest):
        return self._ddp(batch, criterion, *rest)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._model, name)


def weights_fingerprint(optimizers) -> str:
    """A short hash of the trained parameters: equal on every rank when gradients were averaged."""
    digest = hashlib.sha256()
    for optimizer in optimizers:
        for group in optimizer.param_groups:
            for param in group["params"]:
                digest.update(param.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]
