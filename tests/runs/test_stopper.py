"""Stop escalation run in this process against real child processes recorded as runs."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from core.base.atomic_io import read_json, write_json_atomic
from core.registry.process_identity import identify, is_alive
from core.registry.records import RunRecord, save_record, stop_path
from core.runs.stopper import escalate
from tests.conftest import wait_for

# Ignores SIGINT (a trainer stuck in a save), and says when its handler is in place.
STUBBORN = ("import signal, sys, time; signal.signal(signal.SIGINT, signal.SIG_IGN); "
            "open(sys.argv[1], 'w').close(); time.sleep(60)")
# Starts a worker in its process group (as a data loader is), writes its pid, exits when stdin closes.
LEAVES_A_WORKER = ("import subprocess, sys; w = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'], "
                   "stdin=subprocess.DEVNULL); open(sys.argv[1], 'w').write(str(w.pid)); sys.stdin.read()")


@dataclass
class Child:
    """A child process, reaped by a thread; what stop.json said when it died is noted at that moment."""
    proc: subprocess.Popen
    stop_file: Path
    stop_at_death: dict | None = None
    reaped: threading.Event = field(default_factory=threading.Event)

    def reap(self) -> None:
        self.proc.wait()
        self.stop_at_death = read_json(self.stop_file)
        self.reaped.set()


def spawn(code: str, marker: Path, stop_file: Path, stdin=subprocess.DEVNULL) -> Child:
    proc = subprocess.Popen([sys.executable, "-c", code, str(marker)], start_new_session=True, stdin=stdin)
    child = Child(proc, stop_file)
    threading.Thread(target=child.reap, daemon=True).start()
    return child


def record_run(ws, pid: int, run_id: str = "20260101-000000-stop00") -> RunRecord:
    identity = identify(pid)
    assert identity is not None
    record = RunRecord(run_id=run_id, output_path="/tmp/out", config={}, command=[], pid=pid,
                       process_start_time=identity.start_time, started_at=time.time())
    save_record(ws, record)
    return record


def request(ws, run_id: str, grace_s: float) -> None:
    write_json_atomic(stop_path(ws, run_id), {"requested_at": time.time(), "grace_s": grace_s, "signal": "SIGINT",
                                              "escalated": False})


@pytest.fixture
def children():
    made: list[Child] = []
    yield made
    for child in made:
        if child.proc.poll() is None:
            child.proc.kill()
        child.reaped.wait(10)


def test_a_child_that_ignores_sigint_is_killed_and_escalation_is_recorded_first(workspace, tmp_path, children):
    marker = tmp_path / "ready"
    child = spawn(STUBBORN, marker, stop_path(workspace, "20260101-000000-stop00"))
    children.append(child)
    assert wait_for(marker.exists, 30)  # its SIGINT handler is in place
    record = record_run(workspace, child.proc.pid)
    request(workspace, record.run_id, grace_s=0.5)
    os.kill(child.proc.pid, signal.SIGINT)
    escalate(workspace, record.run_id, poll_s=0.05)
    assert child.reaped.wait(30)
    assert child.proc.returncode == -signal.SIGKILL
    assert not is_alive(record.identity)
    stop = read_json(stop_path(workspace, record.run_id))
    assert stop["escalated"] is True and stop["grace_s"] == 0.5 and stop["signal"] == "SIGINT"
    assert isinstance(stop["escalated_at"], float)
    # Written before the kill: whoever saw the process gone already saw why.
    assert child.stop_at_death is not None and child.stop_at_death["escalated"] is True


def test_without_a_stop_request_escalate_does_nothing(workspace, tmp_path, children):
    marker = tmp_path / "ready"
    child = spawn(STUBBORN, marker, stop_path(workspace, "20260101-000000-stop00"))
    children.append(child)
    assert wait_for(marker.exists, 30)
    record = record_run(workspace, child.proc.pid)
    escalate(workspace, record.run_id, poll_s=0.05)
    assert child.proc.poll() is None and is_alive(record.identity)
    assert not stop_path(workspace, record.run_id).exists()


def test_an_unknown_run_is_left_alone(workspace):
    escalate(workspace, "20260101-000000-nosuch", poll_s=0.05)
    assert not stop_path(workspace, "20260101-000000-nosuch").exists()


def test_a_stop_request_for_a_reused_pid_never_kills_it(workspace, tmp_path, children):
    marker = tmp_path / "ready"
    child = spawn(STUBBORN, marker, stop_path(workspace, "20260101-000000-stop00"))
    children.append(child)
    assert wait_for(marker.exists, 30)
    real = identify(child.proc.pid)
    # The record is of an older process that had the same pid: not our run.
    record = RunRecord(run_id="20260101-000000-stop00", output_path="/tmp/out", config={}, command=[],
                       pid=real.pid, process_start_time=real.start_time - 1000, started_at=time.time())
    save_record(workspace, record)
    request(workspace, record.run_id, grace_s=0.1)
    escalate(workspace, record.run_id, poll_s=0.05)
    assert child.proc.poll() is None and is_alive(real)
    assert read_json(stop_path(workspace, record.run_id))["escalated"] is False


def test_workers_left_by_a_leader_that_exited_are_killed(workspace, tmp_path, children):
    pid_file = tmp_path / "worker.pid"
    leader = spawn(LEAVES_A_WORKER, pid_file, stop_path(workspace, "20260101-000000-stop00"), stdin=subprocess.PIPE)
    children.append(leader)
    record = record_run(workspace, leader.proc.pid)  # the leader waits on its stdin: still alive here
    assert wait_for(lambda: pid_file.exists() and pid_file.read_text() != "", 30)
    worker_pid = int(pid_file.read_text())
    worker = identify(worker_pid)
    assert worker is not None and os.getpgid(worker_pid) == leader.proc.pid
    leader.proc.stdin.close()  # the leader exits, its worker stays behind
    assert leader.reaped.wait(30) and leader.proc.returncode == 0
    assert is_alive(worker)
    try:
        request(workspace, record.run_id, grace_s=60)
        escalate(workspace, record.run_id, poll_s=0.05)  # the leader is gone: no waiting for the grace
        assert wait_for(lambda: not is_alive(worker), 30)
    finally:
        if is_alive(worker):
            os.kill(worker_pid, signal.SIGKILL)
    stop = read_json(stop_path(workspace, record.run_id))
    assert stop["orphans_killed"] == 1 and stop["escalated"] is False
