"""The launcher's refusals and its no-start paths, on real files; no training is started here.

(Real launches are covered by the demo run and the fault tests.)
"""
from __future__ import annotations

import subprocess
import sys
import time

import pytest

from core.base.atomic_io import read_json
from core.base.errors import ConfigInvalid, LaunchRefused
from core.registry.output_lock import output_holder, try_lock_output
from core.registry.process_identity import identify, is_alive
from core.registry.records import RunRecord, list_run_ids, run_files, save_record
from core.runs.launcher import prepare_run, request_stop, start_run
from core.trainer.demo import demo_config


@pytest.fixture
def config(workspace, demo_workspace, tmp_path):
    return demo_config(workspace, demo_workspace[1]).with_changes(output_path=str(tmp_path / "out"))


def runs_folder_contents(ws) -> list[str]:
    return sorted(p.name for p in ws.runs_dir.iterdir())


@pytest.mark.parametrize("changes, field", [
    ({"train_csv": "/nonexistent/metadata.csv"}, "train_csv"),
    ({"epochs": 0}, "epochs"),
    ({"base_model_dir": "/nonexistent/base"}, "base_model_dir"),
])
def test_invalid_config_is_refused_and_nothing_is_written(workspace, config, tmp_path, changes, field):
    with pytest.raises(ConfigInvalid) as refused:
        start_run(workspace, config.with_changes(**changes))
    assert field in {e.field for e in refused.value.errors}
    assert runs_folder_contents(workspace) == []
    assert not (tmp_path / "out").exists()


def test_too_many_cpu_ranks_are_refused_before_anything_is_written(workspace, config, tmp_path):
    with pytest.raises(ConfigInvalid) as refused:
        start_run(workspace, config, world_size=64)
    assert "world_size" in {e.field for e in refused.value.errors}
    assert runs_folder_contents(workspace) == []
    assert not (tmp_path / "out").exists()


def test_unknown_mode_is_refused(workspace, config):
    with pytest.raises(ConfigInvalid) as refused:
        start_run(workspace, config, mode="resume-ish")
    assert "mode" in {e.field for e in refused.value.errors}
    assert runs_folder_contents(workspace) == []


def test_prepare_run_writes_launch_json_and_starts_nothing(workspace, config, tmp_path):
    folder = prepare_run(workspace, config, world_size=2)
    assert folder.parent == workspace.runs_dir
    assert sorted(p.name for p in folder.iterdir()) == ["launch.json"]
    launch = read_json(run_files(workspace, folder.name).launch)
    assert launch["run_id"] == folder.name and launch["mode"] == "new" and launch["resume_from"] == ""
    assert launch["world_size"] == 2 and launch["gpus"] == []
    assert launch["config"]["output_path"] == str(tmp_path / "out")
    assert launch["trainer_run_name"] == f"{config.run_name}-{folder.name}"
    assert launch["steps_per_epoch"] == 30 and launch["total_steps"] == 30 * config.epochs  # 120 clips over 2 ranks
    # No record (so no listed run), no log, and the output path is not locked: torchrun's rank 0 does that.
    assert list_run_ids(workspace) == []
    assert output_holder(tmp_path / "out") is None


def test_prepare_run_refuses_an_invalid_config_without_a_folder(workspace, config):
    with pytest.raises(ConfigInvalid):
        prepare_run(workspace, config.with_changes(eval_csv="/nonexistent/eval.csv"))
    assert runs_folder_contents(workspace) == []


def test_request_stop_on_an_unknown_run_signals_nothing(workspace):
    outcome = request_stop(workspace, "20260101-000000-nosuch", grace_s=0.1)
    assert (outcome.signalled, outcome.message) == (False, "no such run")
    assert not run_files(workspace, "20260101-000000-nosuch").stop.exists()


def test_request_stop_on_a_dead_run_signals_nothing(workspace):
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)
    identity = identify(proc.pid)
    proc.kill()
    proc.wait()
    assert identity is not None and not is_alive(identity)
    run_id = "20260101-000000-dead00"
    save_record(workspace, RunRecord(run_id=run_id, output_path="/tmp/out", config={}, command=[], pid=identity.pid,
                                     process_start_time=identity.start_time, started_at=time.time()))
    outcome = request_stop(workspace, run_id, grace_s=0.1)
    assert (outcome.signalled, outcome.message) == (False, "the run is not running")
    assert not run_files(workspace, run_id).stop.exists()


def test_an_output_path_whose_lock_is_held_is_refused(workspace, config, tmp_path):
    lock = try_lock_output(tmp_path / "out", "20260101-000000-holder")
    try:
        with pytest.raises(LaunchRefused) as refused:
            start_run(workspace, config)
        assert "20260101-000000-holder" in str(refused.value)
        assert runs_folder_contents(workspace) == []
        assert output_holder(tmp_path / "out") == "20260101-000000-holder"  # still ours, not taken over
    finally:
        lock.release()
    assert output_holder(tmp_path / "out") is None
