"""Run rows from real files, and the reader's cache: same rows when nothing changed, a run re-read when it did."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from core.base.atomic_io import write_json_atomic
from core.overview.datasets import DatasetSummaries, summarize_dataset
from core.overview.reader import OverviewReader, read_rows
from core.overview.rows import read_run_row
from core.registry.state import RunPhase
from core.base.workspace import Workspace
from tests.overview.fake_runs import CLIP_S, CLIPS, ended_identity, fake_run, three_runs

NOW_S = 1_800_000_000.0


@pytest.fixture
def runs(tmp_path):
    return three_runs(Workspace.at(tmp_path / "ws"))


def by_id(rows):
    return {r.run_id: r for r in rows}


def test_rows_hold_every_column_of_the_runs_page(runs):
    rows = by_id(read_rows(runs.ws, now_s=NOW_S))
    assert list(rows) == [runs.running.run_id, runs.failed.run_id, runs.finished.run_id]  # newest first
    done, failed, live = rows[runs.finished.run_id], rows[runs.failed.run_id], rows[runs.running.run_id]
    assert (done.phase, failed.phase, live.phase) == (RunPhase.FINISHED, RunPhase.FAILED, RunPhase.RUNNING)
    assert done.base_model == "XTTS v2" and done.language == "en"
    assert (done.dataset.name, done.dataset.clips, done.dataset.unreadable_clips) == ("data", CLIPS, 0)
    assert done.dataset.hours == pytest.approx(CLIPS * CLIP_S / 3600)
    assert (done.step, done.total_steps, done.best_loss, done.best_step) == (240, 240, 0.5, 240)
    assert (failed.step, failed.best_loss, failed.best_step, failed.exit_code) == (100, 0.9, 100, 1)
    assert (done.duration_s, failed.duration_s) == (600.0, 300.0)
    assert live.best_loss is None and live.ready_bundle is None
    # Checkpoint + best_model_240 + best_model.pth (the kept/ link is the checkpoint's inode: once) + config.json.
    folder = runs.finished.folder
    trainer = sum(p.stat().st_size for p in folder.iterdir() if p.is_file())
    ready = sum(p.stat().st_size for p in (runs.finished.output / "ready").iterdir())
    assert (done.disk.trainer_bytes, done.disk.ready_bytes, done.disk_bytes) == (trainer, ready, trainer + ready)
    assert done.ready_bundle.label == "ready/" and done.ready_bundle.step == 240
    assert failed.ready_bundle is None  # a failed run wrote no ready/
    assert done.config["epochs"] == 4 and failed.config["epochs"] == 2


def test_a_bundle_moved_to_previous_by_a_later_export_is_still_the_runs(runs):
    ready = runs.finished.output / "ready"
    previous = ready / "previous" / "20260102T000000Z"
    previous.mkdir(parents=True)
    for name in ("unoptimize_model.pth", "manifest.json"):
        os.replace(ready / name, previous / name)
    row = read_run_row(runs.ws, runs.finished.run_id)
    assert row.ready_bundle.label == "ready/previous/20260102T000000Z"


def test_an_unreadable_record_is_a_row_in_unknown_state(runs):
    broken = runs.ws.runs_dir / "20260101-090000-dddddd"
    broken.mkdir()
    (broken / "record.json").write_text("{not json")
    row = by_id(read_rows(runs.ws))[broken.name]
    assert row.phase is RunPhase.UNKNOWN and row.config == {} and row.disk is None


def test_the_cache_returns_the_same_rows_and_reads_only_live_runs_again(runs):
    reader = OverviewReader(runs.ws)
    first = reader.rows(now_s=NOW_S)
    assert reader.rows_read == 3
    again = reader.rows(now_s=NOW_S)
    assert again == first == read_rows(runs.ws, now_s=NOW_S)
    assert reader.rows_read == 4  # only the running run: its phase lives in the process table


def test_a_run_whose_status_changed_is_read_again(runs):
    reader = OverviewReader(runs.ws)
    reader.rows()
    status = runs.failed.files.status
    data = json.loads(status.read_text())
    write_json_atomic(status, {**data, "step": 120, "best_model": {**data["best_model"], "step": 120, "loss": 0.8}})
    read_before = reader.rows_read
    row = by_id(reader.rows())[runs.failed.run_id]
    assert (row.step, row.best_step, row.best_loss) == (120, 120, 0.8)
    assert reader.rows_read == read_before + 2  # the changed run and the running one


def test_a_run_that_ended_is_read_again(runs):
    reader = OverviewReader(runs.ws)
    assert by_id(reader.rows())[runs.running.run_id].phase is RunPhase.RUNNING
    write_json_atomic(runs.running.files.record, {**json.loads(runs.running.files.record.read_text()),
                                                   "pid": ended_identity().pid,
                                                   "process_start_time": ended_identity().start_time})
    write_json_atomic(runs.running.files.outcome, {"exit_code": 0})
    assert by_id(reader.rows())[runs.running.run_id].phase is RunPhase.FINISHED
    reads = reader.rows_read
    reader.rows()
    assert reader.rows_read == reads  # ended: from the cache now


def test_deleted_checkpoints_show_in_disk_used_without_a_status_change(runs):
    reader = OverviewReader(runs.ws)
    before = by_id(reader.rows())[runs.finished.run_id].disk_bytes
    (runs.finished.folder / "kept" / "checkpoint_240.pth").unlink()  # one name of two: nothing freed yet
    (runs.finished.folder / "checkpoint_240.pth").unlink()
    after = by_id(reader.rows())[runs.finished.run_id].disk_bytes
    assert after == before - 3000


def test_a_deleted_run_drops_out(runs, tmp_path):
    reader = OverviewReader(runs.ws)
    reader.rows()
    os.replace(runs.failed.files.folder, tmp_path / "elsewhere")
    assert runs.failed.run_id not in by_id(reader.rows())


def test_a_dataset_is_summed_once_per_version_of_its_csv(runs, monkeypatch):
    csv = Path(read_run_row(runs.ws, runs.finished.run_id).dataset.csv_path)
    calls = []
    monkeypatch.setattr("core.overview.datasets.summarize_dataset", lambda p: calls.append(p) or summarize_dataset(p))
    summaries = DatasetSummaries()
    assert summaries.get(str(csv)).clips == CLIPS and summaries.get(str(csv)).clips == CLIPS
    assert len(calls) == 1
    with open(csv, "a", encoding="utf-8") as handle:
        handle.write("wavs/missing.wav|A clip that is not there.|speaker\n")
    summary = summaries.get(str(csv))
    assert len(calls) == 2 and (summary.clips, summary.unreadable_clips) == (CLIPS + 1, 1)
    assert summary.hours == pytest.approx(CLIPS * CLIP_S / 3600)


def test_a_missing_csv_is_counted_not_raised(tmp_path):
    summary = summarize_dataset(tmp_path / "gone" / "metadata.csv")
    assert not summary.readable and summary.clips == 0


def test_a_custom_start_names_its_model(tmp_path):
    ws = Workspace.at(tmp_path / "ws")
    fake_run(ws, "20260101-100000-eeeeee", ended_identity(), config={"custom_model_path": "/m/my-voice.pth"})
    assert read_run_row(ws, "20260101-100000-eeeeee").base_model == "XTTS v2 + my-voice.pth"


def test_the_real_demo_run_reads_as_its_files_say(demo_run):
    row = read_run_row(demo_run.ws, demo_run.record.run_id)
    status = demo_run.state.status
    assert row.phase is RunPhase.FINISHED and row.base_model == "demo"
    assert (row.step, row.total_steps) == (status.step, status.total_steps)
    assert (row.best_step, row.best_loss) == (status.best_model.step, status.best_model.loss)
    assert row.dataset.clips == 120 and 120 * 1.5 / 3600 <= row.dataset.hours <= 120 * 3.0 / 3600
    assert row.ready_bundle is not None and row.ready_bundle.label == "ready/"
    assert row.trainer_run_folder == str(demo_run.run_folder) and row.disk_bytes > 0
