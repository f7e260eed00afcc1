"""The real coqui trainer on the demo model, launched through our launcher as a subprocess."""
from __future__ import annotations

import filecmp
import json
from pathlib import Path

import pytest

from core.base.atomic_io import read_json
from core.base.config import SAMPLE_RATE_HZ, RunConfig
from core.base.errors import LaunchRefused
from core.runs.launcher import request_stop, start_run, wait_until_ended
from core.checkpoints.files import checkpoint_looks_complete
from core.checkpoints.layout import incomplete_dir
from core.checkpoints.resume import newest_resumable_folder
from core.registry.records import outcome_path
from core.registry.state import RunPhase, read_run_state
from core.trainer.demo import demo_config
from core.base.workspace import Workspace
from tests.conftest import wait_for


def assert_config_reached_trainer(config: RunConfig, run_id: str, run_folder: Path, status: dict) -> None:
    """Read back the config.json the trainer wrote, field by field, plus what only the live trainer knows."""
    written = json.loads((run_folder / "config.json").read_text())
    args = written["model_args"]
    expected = {
        "save_step": config.save_step, "save_n_checkpoints": config.save_n_checkpoints,
        "save_checkpoints": config.save_checkpoints, "print_step": config.print_step,
        "plot_step": config.plot_step, "log_model_step": config.log_model_step, "epochs": config.epochs,
        "batch_size": config.batch_size, "lr": config.learning_rate, "save_best_after": config.save_best_after,
        "num_loader_workers": config.num_loader_workers, "training_seed": config.seed,
        "mixed_precision": config.mixed_precision, "run_name": f"{config.run_name}-{run_id}",
        "output_path": str(Path(config.output_path) / "run" / "training"), "languages": [config.language],
    }
    assert {k: written[k] for k in expected} == expected
    assert args["max_wav_length"] == int(config.max_audio_length_s * SAMPLE_RATE_HZ)
    base = Path(config.base_model_dir)
    assert args["tokenizer_file"] == (config.vocab_path or str(base / "vocab.json"))
    assert args["dvae_checkpoint"] == str(base / "dvae.pth")
    assert args["mel_norm_file"] == str(base / "mel_stats.pth")
    assert args["xtts_checkpoint"] == config.custom_model_path  # demo: random init unless custom
    settings = status.trainer_settings
    assert settings["grad_accum_steps"] == config.grad_accum_steps
    assert settings["train_samples"] == 120 and settings["eval_samples"] == 4


def test_demo_run_leaves_the_expected_files(demo_run):
    folder = demo_run.run_folder
    assert folder.parent == Path(demo_run.config.output_path) / "run" / "training"
    names = sorted(p.name for p in folder.glob("*.pth"))
    # 240 steps, save_step=100, keep 2: checkpoints 100 and 200; best model after the last epoch.
    assert names == ["best_model.pth", "best_model_240.pth", "checkpoint_100.pth", "checkpoint_200.pth"]
    assert all(checkpoint_looks_complete(folder / n) for n in names)
    assert list(folder.glob("events.out.tfevents.*"))
    status = demo_run.state.status
    assert status.phase == "finished" and status.step == 240 and status.total_steps == 240
    assert status.last_checkpoint.step == 200 and status.best_model.step == 240
    assert read_json(outcome_path(demo_run.ws, demo_run.record.run_id))["exit_code"] == 0
    # The training process keeps a disk history for the Disk page even when nobody watches.
    samples = (demo_run.ws.runs_dir / demo_run.record.run_id / "disk_samples.jsonl").read_text().splitlines()
    assert len(samples) >= 2 and json.loads(samples[-1])["bytes_on_disk"] > 0


def test_every_setting_reached_the_trainer(demo_run):
    assert_config_reached_trainer(demo_run.config, demo_run.record.run_id, demo_run.run_folder, demo_run.state.status)


def test_ready_bundle_after_finish(demo_run):
    ready = Path(demo_run.config.output_path) / "ready"
    assert sorted(p.name for p in ready.iterdir()) == ["config.json", "manifest.json", "reference.wav",
                                                       "unoptimize_model.pth", "vocab.json"]
    assert filecmp.cmp(ready / "unoptimize_model.pth", demo_run.run_folder / "best_model.pth", shallow=False)
    longest = max(demo_run.demo.train_csv.read_text().splitlines()[1:], key=lambda l: len(l.split("|")[1]))
    assert filecmp.cmp(ready / "reference.wav", demo_run.demo.train_csv.parent / longest.split("|")[0], shallow=False)
    assert json.loads((ready / "config.json").read_text())["model_args"]["gpt_layers"] == 2


@pytest.fixture(scope="module")
def stopped_run(tmp_path_factory, demo_workspace):
    """A run with unusual settings, stopped with SIGINT mid-way."""
    ws = Workspace.at(tmp_path_factory.mktemp("stopws"))
    demo = demo_workspace[1]
    config = demo_config(ws, demo).with_changes(
        epochs=2, learning_rate=3e-5, seed=7, grad_accum_steps=2, print_step=7, plot_step=3, log_model_step=11,
        save_best_after=5, max_audio_length_s=9.5, save_step=500, save_n_checkpoints=3, run_name="stoptest")
    record = start_run(ws, config)
    assert wait_for(lambda: read_run_state(ws, record.run_id).status.step >= 15)
    # A second dashboard (fresh objects, same disk) re-attaches and sees the same live run.
    other = Workspace.at(ws.root)
    live = read_run_state(other, record.run_id)
    with pytest.raises(LaunchRefused) as refused:
        start_run(other, config)
    outcome = request_stop(other, record.run_id, grace_s=120)
    phase = wait_until_ended(ws, record.run_id, 180)
    return ws, config, record, live, refused.value, outcome, phase


def test_a_running_run_is_reattached_and_never_started_twice(stopped_run):
    ws, _config, record, live, refused, _outcome, _phase = stopped_run
    assert live.phase is RunPhase.RUNNING
    assert record.run_id in str(refused)
    assert [r for r in ws.runs_dir.iterdir()] == [ws.runs_dir / record.run_id]


def test_sigint_stop_saves_a_checkpoint_and_reads_stopped(stopped_run):
    ws, config, record, _live, _refused, outcome, phase = stopped_run
    assert outcome.signalled and phase is RunPhase.STOPPED
    state = read_run_state(ws, record.run_id)
    assert state.exit_code == 130 and "SIGINT" in state.detail
    folder = Path(state.status.trainer_run_folder)
    saved = folder / f"checkpoint_{state.status.step}.pth"
    assert saved.is_file() and checkpoint_looks_complete(saved)
    assert_config_reached_trainer(config, record.run_id, folder, state.status)


def test_continue_skips_a_truncated_checkpoint_and_keeps_the_step(stopped_run):
    ws, config, record, *_ = stopped_run
    stopped = read_run_state(ws, record.run_id)
    folder = newest_resumable_folder(config.output_path)
    assert folder == Path(stopped.status.trainer_run_folder)
    # What a crash mid-save leaves: the highest step, cut short.
    good = folder / f"checkpoint_{stopped.status.step}.pth"
    truncated = folder / "checkpoint_99999.pth"
    cut_bytes = truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    resumed = start_run(ws, config, mode="continue", resume_from=str(folder))
    assert wait_until_ended(ws, resumed.run_id, 300) is RunPhase.FINISHED
    state = read_run_state(ws, resumed.run_id)
    assert state.status.trainer_settings["continue_run"] is True
    assert state.status.trainer_run_folder == str(folder)
    # The trainer resumes at checkpoint step + 1 and redoes the interrupted epoch from its start.
    stopped_step, stopped_epoch = stopped.status.step, stopped.status.epoch
    assert state.status.step == stopped_step + 1 + (config.epochs - stopped_epoch) * 60
    set_aside = incomplete_dir(folder) / "checkpoint_99999.pth"
    assert set_aside.is_file() and set_aside.stat().st_size == cut_bytes, "the truncated file is kept, out of the trainer's reach"
    assert not list(folder.glob("checkpoint_99999*")), "nothing of it is left where the trainer's globs look"


def test_restore_from_checkpoint_weights_restarts_the_step(demo_run, tmp_path):
    ws = Workspace.at(tmp_path / "restorews")
    checkpoint = demo_run.run_folder / "checkpoint_200.pth"
    config = demo_config(ws, demo_run.demo).with_changes(epochs=1)
    record = start_run(ws, config, mode="restore", resume_from=str(checkpoint))
    assert wait_until_ended(ws, record.run_id, 300) is RunPhase.FINISHED
    status = read_run_state(ws, record.run_id).status
    assert status.trainer_settings["restore_path"] == str(checkpoint)
    assert status.trainer_settings["continue_run"] is False
    assert status.step == 60  # weights only: the step count started again at 0
