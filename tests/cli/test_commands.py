"""The headless CLI, run as a real subprocess, over the same run records as the dashboard.

Every refusal is a sentence that says what to change; library chatter never reaches the terminal.
"""
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.registry.records import last_log_lines, list_run_ids
from core.registry.state import read_run_state

PROJECT = Path(__file__).resolve().parents[2]


def cli(ws, *args, check=True):
    result = subprocess.run([sys.executable, "-m", "core.cli", "--workspace", str(ws.root), "--json", *args],
                            cwd=PROJECT, capture_output=True, text=True, timeout=300)
    if check:
        assert result.returncode == 0, result.stderr
    return result


def no_library_noise(result) -> None:
    terminal = result.stdout + result.stderr
    assert "[transformers]" not in terminal and "warn" not in terminal.lower(), terminal


@pytest.fixture
def small_filesystem(tmp_path):
    """A real 50 MB file system (tmpfs), far smaller than the demo run's ~1.6 GB peak."""
    mount = tmp_path / "small"
    mount.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=50m", "tmpfs", str(mount)], capture_output=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.decode().strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_invalid_setting_exits_2_and_names_the_field(workspace):
    result = cli(workspace, "start", "--set", "save_n_checkpoints=11", check=False)
    assert result.returncode == 2 and "save_n_checkpoints" in result.stderr
    assert result.stderr.splitlines() == [
        "Not started: Checkpoints kept (save_n_checkpoints) is 11; allowed from 1 to 10.",
        "Change it with --set save_n_checkpoints=VALUE or in the --config file, and run the command again."]
    assert list_run_ids(workspace) == []


def test_a_misspelt_setting_is_refused_with_the_list_of_settings(workspace):
    result = cli(workspace, "start", "--set", "save_stepp=500", check=False)
    assert result.returncode == 2
    assert result.stderr.startswith("Not started: save_stepp is not a known setting.")
    assert "Check the spelling; the settings are: save_step, save_n_checkpoints," in result.stderr


def test_an_output_path_nobody_can_write_to_is_refused_as_not_writable_before_the_disk_check(workspace):
    result = cli(workspace, "start", "--demo", "--set", "output_path=/proc/xtts-dashboard-out", check=False)
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [
        "Not started: Output folder (output_path): /proc is not writable; choose a folder you can write to.",
        "Change it with --set output_path=VALUE or in the --config file, and run the command again."]
    assert list_run_ids(workspace) == []


def test_a_run_that_will_not_fit_is_refused_with_the_numbers_and_the_fix(workspace, small_filesystem):
    result = cli(workspace, "start", "--demo", "--set", f"output_path={small_filesystem / 'out'}", check=False)
    assert result.returncode == 3, result.stderr
    message = result.stderr.strip()
    assert message.startswith("Not started: the run needs about ") and f"are free at {small_filesystem}." in message
    assert "To make it fit, " in message and "To make it fit: or" not in message and ", or free" not in message
    assert message.endswith("Or start anyway with the disk override (\"Start even if the disk forecast says it will "
                            "not fit\" on the Train page, --disk-override in the CLI).")
    no_library_noise(result)  # the forecast sized the model from its architecture: transformers was loaded
    assert (workspace.root / "logs" / "cli.log").is_file()
    assert list_run_ids(workspace) == []


def test_cli_start_status_stop_list_share_records_with_the_dashboard(workspace, page):
    # Epochs enough that it is still training when stopped below, however slow the machine is.
    result = cli(workspace, "start", "--demo", "--set", "epochs=20")
    no_library_noise(result)
    started = json.loads(result.stdout)  # nothing but our JSON on stdout
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
    assert refused.stderr.strip() == (f"Not started: {workspace.outputs_dir / 'demo'} is in use by run {run_id}; "
                                      "stop that run or choose another output path.")
    no_library_noise(refused)
    stopped = json.loads(cli(workspace, "stop", run_id, "--wait").stdout)
    assert stopped["signalled"] and stopped["phase"] == "stopped", "\n".join(
        [read_run_state(workspace, run_id).detail, *last_log_lines(workspace, run_id, count=60)])
    listed = json.loads(cli(workspace, "list").stdout)
    assert [r["run_id"] for r in listed] == [run_id] and listed[0]["phase"] == "stopped"
    assert cli(workspace, "status", "no-such-run", check=False).returncode == 4


def test_ranks_and_gpus_are_checked_before_anything_starts(workspace):
    too_many = cli(workspace, "start", "--demo", "--world-size", "99", check=False)
    assert too_many.returncode == 2
    assert too_many.stderr.strip() == "Not started: Ranks (--world-size) is 99; allowed from 1 to 16 ranks on the CPU."
    from core.base.devices import list_gpus

    missing = 1 + max((g.index for g in list_gpus()), default=-1)
    no_gpu = cli(workspace, "start", "--demo", "--gpus", str(missing), check=False)
    assert no_gpu.returncode == 2 and f"no GPU with index {missing}" in no_gpu.stderr
    assert list_run_ids(workspace) == []
