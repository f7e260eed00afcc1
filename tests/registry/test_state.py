"""Run records, state derivation, the output lock and stop escalation, with real processes."""
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from core.base.atomic_io import write_json_atomic
from core.runs.launcher import request_stop
from core.registry.output_lock import OutputBusy, output_holder, try_lock_output
from core.registry.process_identity import identify, is_alive
from core.registry.records import RunRecord, load_record, new_run_id, outcome_path, save_record, stop_path
from core.registry.state import RunPhase, read_run_state
from tests.conftest import wait_for

IGNORE_SIGINT = ("import signal, sys, time; signal.signal(signal.SIGINT, signal.SIG_IGN); "
                 "open(sys.argv[1], 'w').close(); time.sleep(600)")
SLEEPER = "import time; time.sleep(600)"


def spawn(code: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", code, *args], start_new_session=True)


def record_for(ws, proc_pid: int, start_time: float | None = None) -> RunRecord:
    identity = identify(proc_pid)
    record = RunRecord(run_id=new_run_id(), output_path="/tmp/out", config={"epochs": 1}, command=["x"],
                       pid=proc_pid, process_start_time=start_time if start_time is not None else identity.start_time,
                       started_at=time.time())
    save_record(ws, record)
    return record


def test_record_round_trip(workspace):
    proc = spawn(SLEEPER)
    try:
        record = record_for(workspace, proc.pid)
        assert load_record(workspace, record.run_id) == record
    finally:
        proc.kill()
        proc.wait()


def test_malformed_record_reads_as_unknown(workspace):
    folder = workspace.runs_dir / "broken"
    folder.mkdir(parents=True)
    (folder / "record.json").write_text('{"pid": "x"}')
    assert read_run_state(workspace, "broken").phase is RunPhase.UNKNOWN


def test_live_process_reads_running_and_dead_one_failed(workspace):
    proc = spawn(SLEEPER)
    record = record_for(workspace, proc.pid)
    assert read_run_state(workspace, record.run_id).phase is RunPhase.RUNNING
    proc.kill()
    proc.wait()
    state = read_run_state(workspace, record.run_id)
    assert state.phase is RunPhase.FAILED and "without an exit record" in state.detail


def test_exit_codes_from_outcome(workspace):
    proc = spawn("pass")
    proc.wait()
    for code, phase in ((0, RunPhase.FINISHED), (130, RunPhase.STOPPED), (1, RunPhase.FAILED)):
        record = record_for(workspace, os.getpid())
        record = RunRecord(**{**record.__dict__, "pid": proc.pid})
        save_record(workspace, record)
        write_json_atomic(outcome_path(workspace, record.run_id), {"exit_code": code, "message": "m"})
        state = read_run_state(workspace, record.run_id)
        assert (state.phase, state.exit_code) == (phase, code)


def test_reused_pid_is_not_our_run_and_is_never_signalled(workspace):
    # A live, unrelated process whose pid matches the record but whose start time does not.
    proc = spawn(SLEEPER)
    try:
        real_start = identify(proc.pid).start_time
        record = record_for(workspace, proc.pid, start_time=real_start - 1000)
        assert not is_alive(record.identity)
        assert read_run_state(workspace, record.run_id).phase is RunPhase.FAILED
        outcome = request_stop(workspace, record.run_id, grace_s=0.1)
        assert not outcome.signalled
        time.sleep(0.3)
        assert proc.poll() is None, "stop must never signal an unrelated process"
        assert not stop_path(workspace, record.run_id).exists()
    finally:
        proc.kill()
        proc.wait()


def test_lock_refuses_a_second_holder_and_frees_after_sigkill(tmp_path):
    lock = try_lock_output(tmp_path, "run-a")
    # Hand the descriptor to a child, as the launcher does, then drop ours.
    child = subprocess.Popen([sys.executable, "-c", SLEEPER], pass_fds=(lock.fd,))
    lock.release()
    with pytest.raises(OutputBusy) as busy:
        try_lock_output(tmp_path, "run-b")
    assert busy.value.holder_run_id == "run-a"
    assert output_holder(tmp_path) == "run-a"
    child.send_signal(signal.SIGKILL)
    child.wait()
    again = try_lock_output(tmp_path, "run-b")
    again.release()
    assert output_holder(tmp_path) is None


def test_stop_escalates_to_sigkill_when_sigint_is_ignored(workspace, tmp_path):
    ready = tmp_path / "ready"
    proc = spawn(IGNORE_SIGINT, str(ready))
    threading.Thread(target=proc.wait, daemon=True).start()
    assert wait_for(ready.exists)  # the child has installed its SIGINT handler
    record = record_for(workspace, proc.pid)
    outcome = request_stop(workspace, record.run_id, grace_s=1.0)
    assert outcome.signalled
    assert read_run_state(workspace, record.run_id).phase is RunPhase.STOPPING
    assert wait_for(lambda: not is_alive(record.identity), 30)
    assert wait_for(lambda: read_run_state(workspace, record.run_id).phase is RunPhase.STOPPED, 10)
    state = read_run_state(workspace, record.run_id)
    assert "SIGKILL" in state.detail


def test_stop_on_sigint_needs_no_escalation(workspace):
    proc = spawn(SLEEPER)
    threading.Thread(target=proc.wait, daemon=True).start()
    record = record_for(workspace, proc.pid)
    request_stop(workspace, record.run_id, grace_s=30)
    assert wait_for(lambda: not is_alive(record.identity), 10)
    time.sleep(0.5)
    from core.base.atomic_io import read_json

    assert read_json(stop_path(workspace, record.run_id))["escalated"] is False
