"""DDP with two ranks on the CPU (gloo): the real trainer, launched as one process group."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from core.base.atomic_io import read_json
from core.disk.planner import plan_run
from core.runs.launcher import request_stop, start_run, wait_until_ended
from core.checkpoints.files import checkpoint_looks_complete
from core.trainer.preflight import preflight
from core.registry.process_identity import group_members
from core.registry.records import last_log_lines, list_run_ids, log_path, outcome_path
from core.registry.state import RunPhase, read_run_state
from core.trainer.demo import demo_config
from core.base.workspace import Workspace
from tests.conftest import DiskSampler, wait_for
from tests.pages.monitor_view import event_rows, log_text

PROJECT = Path(__file__).resolve().parents[2]


def group_pids(leader_pid: int) -> set[int]:
    return {p.pid for p in group_members(leader_pid)}


def no_process_left(pids: set[int]) -> bool:
    """None of these processes exists any more, not even as a zombie."""
    for pid in pids:
        try:
            psutil.Process(pid).status()
            return False
        except psutil.NoSuchProcess:
            continue
    return True


def fingerprints(ws: Workspace, run_id: str) -> dict[int, str]:
    found = {}
    for rank in (0, 1):
        for line in log_path(ws, run_id, rank).read_text(errors="replace").splitlines():
            if "weights fingerprint (rank" in line:
                found[int(line.split("(rank ")[1].split(")")[0])] = line.rsplit(":", 1)[1].strip()
    return found


@pytest.fixture(scope="module")
def two_rank_run(tmp_path_factory, demo_workspace):
    """120 clips over 2 ranks, batch 1: 60 steps per epoch, 2 epochs; save_step=100 saves once."""
    ws = Workspace.at(tmp_path_factory.mktemp("ddpws"))
    config = demo_config(ws, demo_workspace[1]).with_changes(epochs=2, batch_size=1)
    training = Path(config.output_path) / "run" / "training"
    training.mkdir(parents=True)
    sampler = DiskSampler(training)
    sampler.start()
    record = start_run(ws, config, world_size=2)
    phase = wait_until_ended(ws, record.run_id, 900)
    sampler.stop()
    state = read_run_state(ws, record.run_id)
    assert phase is RunPhase.FINISHED, f"{state.detail}\n" + "\n".join(state.last_lines)
    ready_bytes = sum(p.stat().st_size for p in (Path(config.output_path) / "ready").iterdir())
    return ws, config, record, state, sampler, ready_bytes


def test_two_ranks_finish_and_rank_0_writes_each_file_once(two_rank_run):
    ws, config, record, state, _sampler, _ready = two_rank_run
    assert record.world_size == 2 and record.gpus == []
    status = state.status
    assert status.world_size == 2 and status.backend == "gloo"
    assert status.steps_per_epoch == 60 and status.step == status.total_steps == 120
    training = Path(config.output_path) / "run" / "training"
    folders = [p for p in training.iterdir() if p.is_dir()]
    assert folders == [Path(status.trainer_run_folder)]
    folder = folders[0]
    assert sorted(p.name for p in folder.glob("checkpoint_*.pth")) == ["checkpoint_100.pth"]
    best = sorted(p.name for p in folder.glob("best_model*.pth"))
    assert len(best) == 2 and "best_model.pth" in best
    assert all(checkpoint_looks_complete(p) for p in folder.glob("*.pth"))
    assert len(list(training.rglob("config.json"))) == 1
    assert len(list(training.rglob("events.out.tfevents.*"))) == 1
    assert sorted(p.name for p in folder.glob("trainer_*_log.txt")) == ["trainer_0_log.txt"]
    assert read_json(outcome_path(ws, record.run_id))["exit_code"] == 0
    # Both ranks' output, each in its own log in the run's record folder.
    assert log_path(ws, record.run_id, 0).name == "train.log"
    assert log_path(ws, record.run_id, 1).name == "train.rank1.log"
    assert "[Gloo] Rank 1" in log_path(ws, record.run_id, 1).read_text(errors="replace")


def test_gradients_were_averaged_both_ranks_end_with_identical_weights(two_rank_run):
    ws, _config, record, *_ = two_rank_run
    found = fingerprints(ws, record.run_id)
    # Each rank trained on its own half of the clips: equal weights mean averaged gradients
    # (tests/base/test_distributed.py shows the unsynchronised control diverging).
    assert set(found) == {0, 1} and found[0] == found[1]


def test_forecast_for_two_ranks_counts_rank_0_checkpoints_only(two_rank_run):
    _ws, config, _record, _state, sampler, ready_bytes = two_rank_run
    checked = preflight(config, world_size=2)
    assert checked.steps_per_epoch == 60  # ceil(ceil(120 / 2) / 1)
    plan = plan_run(config, base=checked.base, steps_per_epoch=checked.steps_per_epoch, train=checked.train,
                        use_measured=False, free_bytes=10**12)
    measured_peak = max(sampler.peak_bytes, sampler.final_bytes + ready_bytes)
    assert plan.peak_bytes == pytest.approx(measured_peak, rel=0.01)
    assert plan.final_bytes == pytest.approx(sampler.final_bytes + ready_bytes, rel=0.01)


def test_cli_list_and_dashboard_records_see_the_same_runs(two_rank_run, page):
    ws, _config, record, *_ = two_rank_run
    out = subprocess.run([sys.executable, "-m", "core.cli", "--workspace", str(ws.root), "--json", "list"],
                         cwd=PROJECT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    listed = json.loads(out.stdout)
    assert [r["run_id"] for r in listed] == list_run_ids(ws)
    for run in listed:
        assert run["phase"] == read_run_state(ws, run["run_id"]).phase.value
    mine = next(r for r in listed if r["run_id"] == record.run_id)
    assert mine["world_size"] == 2 and mine["phase"] == "finished"
    at = page("streamlit_app.py", root=ws.root).run()
    assert record.run_id in str(at.sidebar.selectbox[0].options)


RESUMABLE = dict(epochs=2, batch_size=1)


def start_and_wait_for_step(ws: Workspace, demo, step: int):
    config = demo_config(ws, demo).with_changes(**RESUMABLE)
    record = start_run(ws, config, world_size=2)
    assert wait_for(lambda: read_run_state(ws, record.run_id).status.step >= step
                    or not read_run_state(ws, record.run_id).phase.is_live, 600)
    pids = group_pids(record.pid)
    assert read_run_state(ws, record.run_id).phase is RunPhase.RUNNING
    assert len(pids) >= 3, "leader + 2 ranks in one process group"
    return record, pids


def test_stop_reaches_every_rank_rank_0_saves_and_no_process_is_left(tmp_path, demo_workspace):
    ws = Workspace.at(tmp_path / "stopws")
    record, pids = start_and_wait_for_step(ws, demo_workspace[1], 5)
    outcome = request_stop(ws, record.run_id, grace_s=120)
    assert outcome.signalled
    assert wait_until_ended(ws, record.run_id, 180) is RunPhase.STOPPED
    state = read_run_state(ws, record.run_id)
    assert state.exit_code == 130 and "SIGINT" in state.detail
    saved = Path(state.status.trainer_run_folder) / f"checkpoint_{state.status.step}.pth"
    assert saved.is_file() and checkpoint_looks_complete(saved)
    assert wait_for(lambda: no_process_left(pids), 60), "a rank outlived the stop"
    assert group_members(record.pid) == []
    # Continue with two ranks: every rank loads the saved step, optimizer and scheduler state.
    config = demo_config(ws, demo_workspace[1]).with_changes(**RESUMABLE)
    folder = Path(state.status.trainer_run_folder)
    resumed = start_run(ws, config, mode="continue", resume_from=str(folder), world_size=2)
    assert wait_until_ended(ws, resumed.run_id, 600) is RunPhase.FINISHED, read_run_state(ws, resumed.run_id).detail
    after = read_run_state(ws, resumed.run_id).status
    assert after.trainer_run_folder == str(folder) and after.trainer_settings["continue_run"] is True
    # The trainer resumes at checkpoint step + 1 and redoes the interrupted epoch from its start.
    assert after.step == state.status.step + 1 + (config.epochs - state.status.epoch) * 60
    assert len(list(folder.glob("events.out.tfevents.*"))) == 2  # one per launch, both from rank 0


def test_a_rank_crash_fails_the_run_naming_that_rank(tmp_path, demo_workspace):
    ws = Workspace.at(tmp_path / "crashws")
    record, pids = start_and_wait_for_step(ws, demo_workspace[1], 3)
    rank1 = next(p for p in psutil.Process(record.pid).children() if p.environ().get("RANK") == "1")
    rank1.send_signal(signal.SIGKILL)
    assert wait_until_ended(ws, record.run_id, 120) is RunPhase.FAILED
    state = read_run_state(ws, record.run_id)
    assert state.detail.startswith("rank 1 was killed by SIGKILL"), state.detail
    assert read_json(outcome_path(ws, record.run_id))["failed_rank"] == 1
    assert state.last_lines and list(state.last_lines) == last_log_lines(ws, record.run_id, rank=1)
    assert state.status.phase == "failed"
    assert wait_for(lambda: no_process_left(pids), 60), "a rank outlived the crash"


def test_monitor_shows_any_rank_log_with_rank_0_events(two_rank_run, page):
    ws, _config, record, *_ = two_rank_run
    at = page("pages/monitor.py", root=ws.root)
    at.session_state["selected_run_id"] = record.run_id
    at.run()
    assert not at.exception, at.exception
    at.selectbox(key="mon_rank").set_value(1).run()
    assert "weights fingerprint (rank 1)" in log_text(at)
    assert "Checkpoint saved at step 100" in [row[1] for row in event_rows(at)]


def test_torchrun_starts_a_prepared_run_and_rank_0_registers_it(tmp_path, demo_workspace):
    """The multi-node path on one machine: `start --prepare-only`, then torchrun runs our module."""
    import os

    ws = Workspace.at(tmp_path / "torchrunws")
    demo = demo_workspace[1]
    cli = [sys.executable, "-m", "core.cli", "--workspace", str(ws.root), "--json", "start", "--prepare-only",
           "--world-size", "2", "--set", "epochs=1", "--set", f"train_csv={demo.train_csv}",
           "--set", f"eval_csv={demo.eval_csv}", "--set", f"base_model_dir={demo.base_dir}",
           "--set", f"output_path={ws.outputs_dir / 'demo'}"]
    prepared = subprocess.run(cli, cwd=PROJECT, capture_output=True, text=True, timeout=120)
    assert prepared.returncode == 0, prepared.stderr
    folder = Path(json.loads(prepared.stdout)["run_folder"])
    assert list_run_ids(ws) == []  # nothing runs until torchrun starts the ranks
    torchrun = Path(sys.executable).with_name("torchrun")
    done = subprocess.run([str(torchrun), "--standalone", "--nproc-per-node", "2", "-m", "core.runs.train_process", str(folder)],
                          cwd=PROJECT, env={**os.environ, "CUDA_VISIBLE_DEVICES": ""}, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    state = read_run_state(ws, folder.name)
    assert state.phase is RunPhase.FINISHED and state.record.world_size == 2
    assert state.status.step == 30
    found = fingerprints(ws, folder.name)
    assert set(found) == {0, 1} and found[0] == found[1]


def test_escalation_kills_the_whole_group_when_rank_0_cannot_save(tmp_path, demo_workspace):
    ws = Workspace.at(tmp_path / "killws")
    record, pids = start_and_wait_for_step(ws, demo_workspace[1], 2)
    rank0 = next(p for p in psutil.Process(record.pid).children() if p.environ().get("RANK") == "0")
    rank0.send_signal(signal.SIGSTOP)  # a rank that hangs: SIGINT cannot make it save
    assert request_stop(ws, record.run_id, grace_s=1.0).signalled
    assert wait_until_ended(ws, record.run_id, 120) is RunPhase.STOPPED
    assert "SIGKILL" in read_run_state(ws, record.run_id).detail
    assert wait_for(lambda: no_process_left(pids), 60), "a rank outlived the escalation"
