"""The run picker's summaries: the same phase as the full state, and reused until a file or the process changes."""
from __future__ import annotations

import time

from core.base.atomic_io import write_json_atomic
from core.registry.records import outcome_path, stop_path
from core.registry.run_summary import run_summary
from core.registry.state import read_run_state
from tests.registry.test_state import SLEEPER, record_for, spawn


def test_a_live_run_reads_running_until_its_process_ends(workspace):
    proc = spawn(SLEEPER)
    record = record_for(workspace, proc.pid)
    first = run_summary(workspace, record.run_id)
    assert (first.phase, first.live, first.output_name) == ("running", True, "out")
    assert run_summary(workspace, record.run_id) is first  # still alive, no file changed: the same summary
    proc.kill()
    proc.wait()
    ended = run_summary(workspace, record.run_id)
    assert ended.phase == read_run_state(workspace, record.run_id).phase.value == "failed" and not ended.live


def test_an_ended_run_is_reused_until_one_of_its_files_changes(workspace):
    proc = spawn("pass")
    proc.wait()
    record = record_for(workspace, proc.pid, start_time=time.time() - 5)
    write_json_atomic(outcome_path(workspace, record.run_id), {"exit_code": 0, "message": "finished"})
    done = run_summary(workspace, record.run_id)
    assert done.phase == "finished" and done.label == f"{record.run_id} · out · finished"
    assert run_summary(workspace, record.run_id) is done
    time.sleep(0.01)
    write_json_atomic(outcome_path(workspace, record.run_id), {"exit_code": 130, "message": "stopped"})
    write_json_atomic(stop_path(workspace, record.run_id), {"requested_at": time.time(), "grace_s": 1})
    assert run_summary(workspace, record.run_id).phase == "stopped"
