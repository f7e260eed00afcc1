"""Gradient averaging across two real gloo ranks on the CPU, with a toy model shaped like GPTTrainer."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import torch

from core.base.machine import free_port
from core.runs.distributed import GradientSync, RankEnv, weights_fingerprint

PROJECT = Path(__file__).resolve().parents[2]


class Toy(torch.nn.Module):
    """A trained part and a frozen part, and a train_step(batch, criterion) like coqui models."""

    def __init__(self, rank: int):
        super().__init__()
        torch.manual_seed(0)
        self.frozen = torch.nn.Linear(4, 4)  # not in the optimizer; loaded alike on every rank, like the DVAE
        torch.manual_seed(100 + rank)
        self.trained = torch.nn.Linear(4, 1, bias=False)  # different per rank: DDP must make it equal

    def train_step(self, batch, criterion):
        with torch.no_grad():
            x = self.frozen(batch["x"])
        loss = self.trained(x).pow(2).mean()
        return {"model_outputs": None}, {"loss": loss}


def batch_of(rank: int) -> dict:
    return {"x": torch.arange(8, dtype=torch.float32).reshape(2, 4) * (rank + 1)}


def run_rank(rank: int, port: int, sync: bool, out: str) -> None:
    """One rank, in its own process (see two_ranks); writes what the test checks to `out`."""
    import os

    import torch.distributed as dist

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=2)
    model = Toy(rank)
    optimizer = torch.optim.SGD(model.trained.parameters(), lr=0.01)
    step_model = GradientSync(model, [optimizer], use_cuda=False) if sync else model
    result = {}
    for step in range(3):
        _, losses = step_model.train_step(batch_of(rank), None)
        losses["loss"].backward()
        if step == 0:
            result["grad"] = model.trained.weight.grad.clone()
            result["weight0"] = model.trained.weight.detach().clone()
        optimizer.step()
        optimizer.zero_grad()
    result["fingerprint"] = weights_fingerprint([optimizer])
    torch.save(result, out)
    dist.barrier()
    dist.destroy_process_group()


def two_ranks(sync: bool, tmp_path: Path) -> dict:
    # Plain subprocesses, not multiprocessing's spawn: that re-runs __main__, which after an
    # AppTest in the same pytest session is a Streamlit page.
    port = free_port()
    code = "import sys; from tests.runs.test_distributed import run_rank; run_rank(int(sys.argv[1]), {}, {}, sys.argv[2])"
    procs = [subprocess.Popen([sys.executable, "-c", code.format(port, sync), str(r), str(tmp_path / f"rank{r}.pt")],
                              cwd=PROJECT) for r in range(2)]
    for proc in procs:
        assert proc.wait(timeout=300) == 0
    return {r: torch.load(tmp_path / f"rank{r}.pt", weights_only=False) for r in range(2)}


def local_grad(weight: torch.Tensor, rank: int) -> torch.Tensor:
    w = weight.clone().requires_grad_(True)
    with torch.no_grad():
        x = Toy(0).frozen(batch_of(rank)["x"])
    (x @ w.T).pow(2).mean().backward()
    return w.grad


def test_gradient_sync_averages_gradients_and_keeps_ranks_equal(tmp_path):
    results = two_ranks(True, tmp_path)
    weight = results[0]["weight0"]
    # DDP broadcast rank 0's trained weights when wrapping: both ranks start equal.
    assert torch.equal(weight, Toy(0).trained.weight.detach())
    assert torch.equal(results[1]["weight0"], weight)
    mean = (local_grad(weight, 0) + local_grad(weight, 1)) / 2
    assert not torch.allclose(local_grad(weight, 0), mean)  # the data differ, so averaging shows
    for rank in (0, 1):
        assert torch.allclose(results[rank]["grad"], mean)
    assert results[0]["fingerprint"] == results[1]["fingerprint"]


def test_without_sync_ranks_diverge(tmp_path):
    """The control: the bare model (what coqui-tts-trainer 0.4's DDP mode trains) is not synchronised."""
    results = two_ranks(False, tmp_path)
    assert not torch.allclose(results[0]["grad"], results[1]["grad"])
    assert results[0]["fingerprint"] != results[1]["fingerprint"]


def test_rank_env_from_torchrun_variables():
    env = {"RANK": "3", "WORLD_SIZE": "4", "LOCAL_RANK": "1", "MASTER_ADDR": "head", "MASTER_PORT": "29400"}
    assert RankEnv.from_env(env) == RankEnv(3, 4, 1, "head", 29400)
    assert RankEnv.from_env({"RANK": "0", "WORLD_SIZE": "1"}) is None
    assert RankEnv.from_env({}) is None
