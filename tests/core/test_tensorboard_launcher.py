import os
import signal

from torch.utils.tensorboard import SummaryWriter

from core.tensorboard_launcher import ensure_tensorboard


def test_launch_then_reuse_bound_to_localhost(tmp_path):
    writer = SummaryWriter(str(tmp_path / "run"))
    writer.add_scalar("TrainIterStats/loss", 1.0, 1)
    writer.close()
    first = ensure_tensorboard(tmp_path / "run", tmp_path / "state")
    try:
        assert first.kind == "launched", first.message
        assert first.url.startswith("http://127.0.0.1:")
        again = ensure_tensorboard(tmp_path / "run", tmp_path / "state")
        assert (again.kind, again.url, again.pid) == ("reused", first.url, first.pid)
    finally:
        os.killpg(first.pid, signal.SIGKILL)
