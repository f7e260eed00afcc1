"""StatusReporter's files: status.json from a real preflight, its throttle, outcome.json, disk samples."""
from __future__ import annotations

import math
from pathlib import Path

import pytest

import core.runs.status_reporter as status_reporter
from core.base.atomic_io import read_json
from core.disk.tracking import read_samples
from core.registry.records import EXIT_INTERRUPTED, RunFiles, read_status
from core.registry.status import RunStatus
from core.runs.status_reporter import StatusReporter, write_outcome
from core.trainer.demo import demo_config
from core.trainer.preflight import PreflightResult, preflight


@pytest.fixture(scope="module")
def checked(demo_workspace, tmp_path_factory) -> PreflightResult:
    """A real preflight of the demo, with one adjustment (fp16 on a CPU) and one warning (save_step unreached)."""
    ws, demo = demo_workspace
    config = demo_config(ws, demo).with_changes(output_path=str(tmp_path_factory.mktemp("out")), save_step=1000,
                                                mixed_precision=True, keep_best_k=2, milestone_every_steps=2000)
    return preflight(config)


@pytest.fixture
def files(tmp_path) -> RunFiles:
    return RunFiles(tmp_path / "runs" / "20260101-000000-report")


def status_on_disk(files: RunFiles) -> RunStatus:
    return RunStatus.from_json(read_json(files.status))


def test_construction_writes_an_initialising_status(checked, files):
    reporter = StatusReporter(files, checked)
    data = read_json(files.status)
    assert isinstance(data, dict) and data["phase"] == "initialising"
    status = RunStatus.from_json(data)
    assert status == reporter.status
    assert (status.total_steps, status.steps_per_epoch, status.total_epochs) == (240, 60, 4)
    assert status.total_steps == checked.total_steps and status.steps_per_epoch == checked.steps_per_epoch
    assert status.adjustments == tuple(checked.adjustments) and status.warnings == tuple(checked.warnings)
    assert status.warnings and "never reaches save_step=1000" in status.warnings[0]
    if not checked.gpus and not checked.config.mixed_precision:
        assert any("mixed_precision" in a for a in status.adjustments)
    assert status.step == 0 and status.updated_at_s is not None and status.started_at_s is not None
    assert status.last_checkpoint is None and status.best_model is None and status.ready is None
    assert reporter.retention.keep_best_k == 2 and reporter.retention.milestone_every_steps == 2000


def test_writes_are_throttled_unless_forced(checked, files, monkeypatch):
    reporter = StatusReporter(files, checked)
    first = status_on_disk(files)
    monkeypatch.setattr(status_reporter, "STATUS_MIN_INTERVAL_S", 3600.0)  # every write below is "too soon"
    reporter.update(step=5, phase="training")
    reporter.write()
    reporter.update(step=6)
    reporter.write()
    unchanged = status_on_disk(files)
    assert unchanged == first and unchanged.step == 0 and unchanged.updated_at_s == first.updated_at_s
    reporter.write(force=True)
    forced = status_on_disk(files)
    assert (forced.step, forced.phase) == (6, "training")
    assert forced.updated_at_s >= first.updated_at_s
    monkeypatch.setattr(status_reporter, "STATUS_MIN_INTERVAL_S", 0.0)  # no throttle: every write lands
    reporter.update(step=7)
    reporter.write()
    assert status_on_disk(files).step == 7


def test_a_status_write_samples_the_disk_once_the_run_folder_exists(checked, files, tmp_path):
    reporter = StatusReporter(files, checked)
    assert not files.disk_samples.exists()  # no trainer folder yet: nothing to measure
    folder = tmp_path / "out" / "run" / "training" / "GPT-x"
    folder.mkdir(parents=True)
    (folder / "checkpoint_100.pth").write_bytes(b"x" * 5000)
    reporter.update(trainer_run_folder=str(folder), step=100)
    reporter.write(force=True)
    samples = read_samples(files.disk_samples)
    assert len(samples) == 1
    assert (samples[0].step, samples[0].trainer_bytes, samples[0].files) == (100, 5000, 1)
    reporter.update(step=101)
    reporter.write(force=True)  # status is forced; disk samples keep their own interval
    assert len(read_samples(files.disk_samples)) == 1 and status_on_disk(files).step == 101


def test_first_outcome_wins_unless_replaced(files):
    files.folder.mkdir(parents=True)
    write_outcome(files, EXIT_INTERRUPTED, "stopped by SIGINT at step 17")
    write_outcome(files, 1, "training failed; see the log")
    outcome = read_json(files.outcome)
    assert (outcome["exit_code"], outcome["message"]) == (EXIT_INTERRUPTED, "stopped by SIGINT at step 17")
    assert isinstance(outcome["ended_at"], float)
    write_outcome(files, 1, "rank 1 failed", replace=True, failed_rank=1)
    outcome = read_json(files.outcome)
    assert (outcome["exit_code"], outcome["message"], outcome["failed_rank"]) == (1, "rank 1 failed", 1)


def test_the_demo_runs_status_has_what_the_callbacks_reported(demo_run):
    status = read_status(demo_run.ws, demo_run.record.run_id)
    assert status.phase == "finished" and (status.step, status.total_steps, status.epoch) == (240, 240, 4)
    assert status.s_per_step is not None and status.s_per_step > 0
    assert status.train_loss is not None and math.isfinite(status.train_loss)
    assert status.eval_loss is not None and math.isfinite(status.eval_loss)
    assert status.started_at_s <= status.updated_at_s
    folder = Path(status.trainer_run_folder)
    assert status.last_checkpoint.step == 200 and Path(status.last_checkpoint.path) == folder / "checkpoint_200.pth"
    assert status.best_model.step == 240 and Path(status.best_model.path) == folder / "best_model.pth"
    assert status.best_model.loss is not None
    assert status.device == "CPU" and status.trainer_settings["train_samples"] == 120
