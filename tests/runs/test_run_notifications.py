"""The training process's notification hooks without a trainer: the disk warning, a stop, and how a run
ended as outcome.json says it (one process, or a rank-group leader naming the rank that failed)."""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from core.base.atomic_io import write_json_atomic
from core.disk.tracking import DiskSample, record_sample
from core.base.machine import disk_space
from core.notify.dispatch import Notifier
from core.notify.files import notify_files_of_run
from core.notify.history import EventRecord, read_history
from core.registry.records import RunFiles
from core.registry.status import RunStatus, SavedModel
from core.runs.rank_group import RankExit, _record_outcome
from core.runs.status_reporter import StatusReporter, notify_run_end, write_outcome
from core.trainer.demo import demo_config
from core.trainer.preflight import PreflightResult, preflight

RUN_ID = "20260101-000000-notify"


@pytest.fixture(scope="module")
def checked(demo_workspace, tmp_path_factory) -> PreflightResult:
    ws, demo = demo_workspace
    return preflight(demo_config(ws, demo).with_changes(output_path=str(tmp_path_factory.mktemp("out"))))


@pytest.fixture
def files(tmp_path) -> RunFiles:
    folder = tmp_path / "ws" / "runs" / RUN_ID
    folder.mkdir(parents=True)
    return RunFiles(folder)


@pytest.fixture
def notifier(files) -> Notifier:
    return Notifier(notify_files_of_run(files.folder))


def events(files: RunFiles) -> list:
    return [r.event for r in read_history(notify_files_of_run(files.folder)) if isinstance(r, EventRecord)]


def grow(files: RunFiles, bytes_per_s: float) -> None:
    """Two disk samples a minute apart, growing at `bytes_per_s`."""
    for n in range(2):
        record_sample(files.disk_samples, DiskSample(1000.0 + 60 * n, n, int(bytes_per_s * 60 * n), 0, 0, 1))


def test_the_notify_folder_is_the_workspaces(files):
    assert notify_files_of_run(files.folder).folder == files.folder.parent.parent / "notify"


def test_a_disk_filling_within_the_hour_is_announced_once(checked, files, notifier):
    free = disk_space(checked.config.output_path).free_bytes
    grow(files, free / 1800)  # full in about half an hour
    reporter = StatusReporter(files, checked, notifier)
    reporter.warn_if_disk_fills()
    reporter.warn_if_disk_fills()
    (event,) = events(files)
    assert event.key == f"{RUN_ID}:disk_full_soon" and 1500 < event.facts["full_in_s"] < 2100


def test_no_disk_warning_when_it_fills_later_or_after_the_run(checked, files, notifier):
    free = disk_space(checked.config.output_path).free_bytes
    grow(files, free / 7200)  # two hours
    reporter = StatusReporter(files, checked, notifier)
    reporter.warn_if_disk_fills()
    assert events(files) == []
    files.disk_samples.unlink()
    grow(files, free / 1800)
    reporter = StatusReporter(files, checked, notifier)
    reporter.update(step=reporter.status.total_steps - 10, s_per_step=1.0)  # ends in 10 s: before the disk fills
    reporter.warn_if_disk_fills()
    assert events(files) == []


def test_a_reporter_without_a_notifier_sends_nothing(checked, files):
    grow(files, disk_space(checked.config.output_path).free_bytes)
    StatusReporter(files, checked).warn_if_disk_fills()
    assert not notify_files_of_run(files.folder).folder.exists()


def test_a_sigint_stop_is_announced_from_the_callback(checked, files, notifier, tmp_path):
    reporter = StatusReporter(files, checked, notifier)
    trainer = SimpleNamespace(output_path=str(tmp_path / "trainer"), total_steps_done=17, best_loss=None,
                              config=SimpleNamespace(save_on_interrupt=True))
    reporter.on_keyboard_interrupt(trainer)
    (event,) = events(files)
    assert event.kind == "stopped" and "stopped by SIGINT at step 17" in event.body


def test_a_finished_run_is_announced_once_with_its_best_loss(files, notifier):
    write_json_atomic(files.status, RunStatus(phase="finished", best_model=SavedModel(60, "/x/best_model.pth", 0.8125))
                      .to_json())
    write_outcome(files, 0, "finished; ready/ written")
    notify_run_end(files, notifier)
    notify_run_end(files, notifier)
    (event,) = events(files)
    assert event.kind == "finished" and event.facts == {"best_loss": 0.8125, "best_step": 60}


def test_no_outcome_means_no_end_event(files, notifier):
    notify_run_end(files, notifier)
    assert events(files) == []


def test_the_leader_names_the_rank_that_failed_and_its_last_lines(files, notifier):
    """The rank-group leader's own outcome path (core.runs.rank_group), as after a rank is SIGKILLed."""
    write_json_atomic(files.status, RunStatus(phase="training").to_json())
    files.log(1).write_text("step 3\nstep 4\nRuntimeError: CUDA out of memory\n")
    files.log(0).write_text("rank 0 was fine\n")
    _record_outcome(files.folder, [RankExit(1, -9), RankExit(0, -9)], RankExit(1, -9), stop_requested=False)
    notify_run_end(files, notifier)
    (event,) = events(files)
    assert event.kind == "failed"
    assert event.facts["message"].startswith("rank 1 was killed by SIGKILL")
    assert event.facts["last_lines"][-1] == "RuntimeError: CUDA out of memory"
    assert "rank 0 was fine" not in event.body


def test_a_disk_full_failure_says_so(files, notifier):
    files.log().write_text("Traceback...\nRuntimeError: [enforce fail at inline_container.cc] . unexpected pos 123\n")
    write_outcome(files, 1, "training failed; see the log")
    notify_run_end(files, notifier)
    (event,) = events(files)
    assert "the disk looks full" in event.body


def test_notify_run_end_never_raises(files, capsys):
    write_outcome(files, 0, "finished")
    broken = SimpleNamespace(notify=lambda _event: 1 / 0)
    notify_run_end(files, broken)
    assert "end-of-run notification failed" in capsys.readouterr().out
    assert Path(files.outcome).exists()
