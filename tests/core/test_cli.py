"""The headless CLI, run as a real subprocess, over the same run records as the dashboard."""
import json
import subprocess
import sys
import time
from pathlib import Path

from core.registry.records import list_run_ids
from core.registry.state import read_run_state

PROJECT = Path(__file__).resolve().parents[2]


def cli(ws, *args, check=True):
    result = subprocess.run([sys.executable, "-m", "core.cli", "--workspace", str(ws.root), "--json", *args],
                            cwd=PROJECT, capture_output=True, text=True, timeout=300)
    if check:
        assert result.returncode == 0, result.stderr
    return result


def test_invalid_setting_exits_2_and_names_the_field(workspace):
    result = cli(workspace, "start", "--set", "save_n_checkpoints=11", check=False)
    assert result.returncode == 2 and "save_n_checkpoints" in result.stderr
    assert list_run_ids(workspace) == []


def test_cli_start_status_stop_list_share_records_with_the_dashboard(workspace, page):
    started = json.loads(cli(workspace, "start", "--demo", "--set", "epochs=2").stdout)
    run_id = started["run_id"]
    deadline = time.monotonic() + 240
    while read_run_state(workspace, run_id).status.step < 5 and time.monotonic() < deadline:
        time.sleep(0.2)
    status = json.loads(cli(workspace, "status", run_id).stdout)
    assert status["phase"] == "running" and status["step"] >= 5
    # The dashboard sees the CLI's run in its run picker.
    at = page("streamlit_app.py", root=workspace.root).run()
    assert run_id in at.sidebar.selectbox[0].options[0] or run_id in str(at.sidebar.selectbox[0].options)
    refused = cli(workspace, "start", "--demo", check=False)
    assert refused.returncode == 3 and run_id in refused.stderr
    stopped = json.loads(cli(workspace, "stop", run_id, "--wait").stdout)
    assert stopped["signalled"] and stopped["phase"] == "stopped"
    listed = json.loads(cli(workspace, "list").stdout)
    assert [r["run_id"] for r in listed] == [run_id] and listed[0]["phase"] == "stopped"
    assert cli(workspace, "status", "no-such-run", check=False).returncode == 4


def test_ranks_and_gpus_are_checked_before_anything_starts(workspace):
    too_many = cli(workspace, "start", "--demo", "--world-size", "99", check=False)
    assert too_many.returncode == 2 and "world_size" in too_many.stderr
    from core.devices import list_gpus

    missing = 1 + max((g.index for g in list_gpus()), default=-1)
    no_gpu = cli(workspace, "start", "--demo", "--gpus", str(missing), check=False)
    assert no_gpu.returncode == 2 and f"no GPU with index {missing}" in no_gpu.stderr
    assert list_run_ids(workspace) == []
