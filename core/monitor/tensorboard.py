"""Start (or reuse) a TensorBoard for a run folder, bound to localhost, output to a file.

Modelled on tensorboard/manager.py: the child's output goes to a log file, the child is
recorded in a validated JSON info file, and callers get one of four outcome types to branch on
(isinstance or match), each carrying only what that outcome has: a reused TensorBoard has no exit
code, a failed one no url worth showing.
"""
from __future__ import annotations

import hashlib
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from core.base.atomic_io import read_json, write_json_atomic
from core.base.machine import free_port
from core.registry.process_identity import ProcessIdentity, identify, is_alive

STARTUP_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class TensorBoardLaunched:
    """A new TensorBoard answers at `url`."""

    url: str
    pid: int


@dataclass(frozen=True)
class TensorBoardReused:
    """The TensorBoard already serving this folder, started earlier (by this or another session)."""

    url: str
    pid: int


@dataclass(frozen=True)
class TensorBoardFailed:
    """The child exited before it answered; `output` is the end of its log."""

    exit_code: int
    output: str

    @property
    def message(self) -> str:
        return f"exited with status {self.exit_code}: {self.output}"


@dataclass(frozen=True)
class TensorBoardTimedOut:
    """The child did not answer in time and was killed."""

    message: str


TensorBoardOutcome = TensorBoardLaunched | TensorBoardReused | TensorBoardFailed | TensorBoardTimedOut


def _info_path(state_dir: Path, logdir: Path) -> Path:
    digest = hashlib.sha1(str(logdir.resolve()).encode()).hexdigest()[:12]
    return state_dir / f"tensorboard-{digest}.json"


def _responds(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def ensure_tensorboard(logdir: Path, state_dir: Path, python: str = sys.executable,
                       timeout_s: float = STARTUP_TIMEOUT_S) -> TensorBoardOutcome:
    """Reuse the TensorBoard already serving `logdir`, or start one on a free localhost port."""
    state_dir.mkdir(parents=True, exist_ok=True)
    info_file = _info_path(state_dir, logdir)
    info = read_json(info_file)
    if isinstance(info, dict) and {"pid", "start_time", "port"} <= set(info):
        if is_alive(ProcessIdentity(int(info["pid"]), float(info["start_time"]))):
            url = f"http://127.0.0.1:{info['port']}/"
            return TensorBoardReused(url, int(info["pid"]))
    port = free_port()
    log_file = info_file.with_suffix(".log")
    with open(log_file, "ab") as log:
        proc = subprocess.Popen([python, "-m", "tensorboard.main", "--logdir", str(logdir), "--host", "127.0.0.1",
                                 "--port", str(port)], stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
    identity = identify(proc.pid)
    threading.Thread(target=proc.wait, daemon=True).start()  # reap it when it ends: no zombie
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return TensorBoardFailed(proc.returncode, log_file.read_text(errors="replace")[-2000:])
        if _responds(url):
            write_json_atomic(info_file, {"pid": proc.pid, "start_time": identity.start_time if identity else 0,
                                          "port": port, "logdir": str(logdir)})
            return TensorBoardLaunched(url, proc.pid)
        time.sleep(0.3)
    proc.kill()
    return TensorBoardTimedOut(f"no answer within {timeout_s:g} s")


LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1", "[::1]")


def remote_access_hint(url: str, browser_host: str | None) -> str | None:
    """How a browser on another machine reaches the TensorBoard at `url`; None when it is local.

    TensorBoard has no password of its own, so it listens on 127.0.0.1 only, also when the dashboard
    is opened to the network (`make run-remote`): the way in is an SSH tunnel to the training box.
    `browser_host` is the Host the browser used for the dashboard ("box.example:8501").
    """
    if not browser_host:
        return None
    host = browser_host.rsplit(":", 1)[0] if browser_host.count(":") == 1 else browser_host
    if host.startswith("[") and "]" in host:  # [ipv6]:port
        host = host[: host.index("]") + 1]
    if host in LOOPBACK_HOSTS:
        return None
    port = url.rstrip("/").rsplit(":", 1)[1]
    return (f"TensorBoard listens on the training box only (127.0.0.1:{port}, no password of its own). From your "
            f"computer run `ssh -N -L {port}:127.0.0.1:{port} <you>@{host.strip('[]')}` and open "
            f"http://127.0.0.1:{port}/ there.")
