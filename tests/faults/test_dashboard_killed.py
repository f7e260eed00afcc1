"""The dashboard process SIGKILLed while a run trains: training goes on and is not started twice."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from core.base.errors import LaunchRefused
from core.runs.launcher import start_run, wait_until_ended
from core.registry.process_identity import is_alive
from core.registry.records import load_record
from core.registry.state import RunPhase, read_run_state
from core.trainer.demo import demo_config
from core.base.workspace import Workspace
from tests.conftest import wait_for

PROJECT = Path(__file__).resolve().parents[2]
# A stand-in for the Streamlit server: it starts a run the way the Train page does, then idles.
DASHBOARD = """
import json, sys, time
from pathlib import Path
from core.base.config import RunConfig
from core.runs.launcher import start_run
from core.base.workspace import Workspace
record = start_run(Workspace.at(sys.argv[1]), RunConfig(**json.loads(Path(sys.argv[2]).read_text())))
print(record.run_id, flush=True)
time.sleep(600)
"""


def test_run_outlives_a_killed_dashboard_and_is_never_started_twice(tmp_path, demo_workspace):
    root = tmp_path / "ws"
    config = demo_config(Workspace.at(root), demo_workspace[1]).with_changes(epochs=1, save_step=5000)
    config_file = tmp_path / "config.json"
    config_file.write_text(json.dumps(config.to_dict()))
    dashboard = subprocess.Popen([sys.executable, "-c", DASHBOARD, str(root), str(config_file)], cwd=PROJECT,
                                 stdout=subprocess.PIPE, text=True)
    try:
        run_id = dashboard.stdout.readline().strip()
        assert run_id, "the dashboard process did not start a run"
    finally:
        dashboard.send_signal(signal.SIGKILL)
        dashboard.wait()
        dashboard.stdout.close()

    # A restarted dashboard: new objects, same disk.
    ws = Workspace.at(root)
    record = load_record(ws, run_id)
    assert is_alive(record.identity) and read_run_state(ws, run_id).phase is RunPhase.RUNNING
    assert wait_for(lambda: read_run_state(ws, run_id).status.step >= 5), "training did not go on"
    with pytest.raises(LaunchRefused) as refused:
        start_run(ws, config)
    assert run_id in str(refused.value)
    assert [p.name for p in ws.runs_dir.iterdir()] == [run_id]
    phase = wait_until_ended(ws, run_id, 300)
    state = read_run_state(ws, run_id)
    assert phase is RunPhase.FINISHED, state.detail + "\n" + "\n".join(state.last_lines)
    assert state.status.step == 60 and state.status.ready is not None
