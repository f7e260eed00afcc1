import os
import signal
import stat

from torch.utils.tensorboard import SummaryWriter

from core.monitor.tensorboard import (TensorBoardFailed, TensorBoardLaunched, TensorBoardReused, TensorBoardTimedOut,
                                      ensure_tensorboard)


def test_launch_then_reuse_bound_to_localhost(tmp_path):
    writer = SummaryWriter(str(tmp_path / "run"))
    writer.add_scalar("TrainIterStats/loss", 1.0, 1)
    writer.close()
    first = ensure_tensorboard(tmp_path / "run", tmp_path / "state")
    try:
        assert isinstance(first, TensorBoardLaunched), first
        assert first.url.startswith("http://127.0.0.1:")
        again = ensure_tensorboard(tmp_path / "run", tmp_path / "state")
        assert again == TensorBoardReused(first.url, first.pid)
    finally:
        os.killpg(first.pid, signal.SIGKILL)


def fake_python(tmp_path, body: str) -> str:
    """An executable that stands in for `python -m tensorboard.main ...`."""
    path = tmp_path / "fake-python"
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def test_a_child_that_exits_is_a_failure_with_its_exit_code_and_output(tmp_path):
    python = fake_python(tmp_path, "echo 'no module named tensorboard' >&2; exit 3")
    outcome = ensure_tensorboard(tmp_path / "run", tmp_path / "state", python=python)
    assert outcome == TensorBoardFailed(3, "no module named tensorboard\n")
    assert outcome.message == "exited with status 3: no module named tensorboard\n"
    assert not list((tmp_path / "state").glob("*.json"))  # nothing recorded to reuse


def test_a_child_that_never_answers_times_out(tmp_path):
    python = fake_python(tmp_path, "exec sleep 30")
    outcome = ensure_tensorboard(tmp_path / "run", tmp_path / "state", python=python, timeout_s=0.5)
    assert outcome == TensorBoardTimedOut("no answer within 0.5 s")
    assert not list((tmp_path / "state").glob("*.json"))


def test_a_remote_browser_is_told_how_to_reach_tensorboard():
    from core.monitor.tensorboard import remote_access_hint

    url = "http://127.0.0.1:6123/"
    for local in (None, "", "127.0.0.1:8501", "localhost:8501", "[::1]:8501", "localhost"):
        assert remote_access_hint(url, local) is None
    hint = remote_access_hint(url, "trainbox.lan:8501")
    assert "ssh -N -L 6123:127.0.0.1:6123 <you>@trainbox.lan" in hint and "http://127.0.0.1:6123/" in hint
    assert "ssh -N -L 6123:127.0.0.1:6123 <you>@fe80::1" in remote_access_hint(url, "[fe80::1]:8501")
    assert "@10.0.0.5`" in remote_access_hint(url, "10.0.0.5")
