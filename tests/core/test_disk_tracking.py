"""Live disk tracking on real files: inode dedup, vanishing files, bounded history, trend math."""
from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest

from core.atomic_io import write_json_atomic
from core.config import PRESETS
from core.disk_tracking import (XTTS_V2_ARCHITECTURE, DiskSample, PlanInputs, SampleReader, disk_trend,
                                forecast_for_run, measure_folders, plan_inputs, preset_plans, read_samples,
                                record_sample, sample_run_disk)
from core.errors import ConfigInvalid
from core.run_records import RunRecord, run_dir, save_record, status_path
from core.train_form import demo_config
from core.workspace import Workspace


def write(path: Path, size: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    return path


def fake_run(ws: Workspace, output: Path, trainer_folder: Path | None, *, config: dict | None = None,
             step: int = 0, run_id: str = "20260101-000000-abcdef") -> str:
    save_record(ws, RunRecord(run_id=run_id, output_path=str(output), config=config or {}, command=[], pid=1,
                              process_start_time=0.0, started_at=0.0))
    status = {"step": step, "total_steps": 1000}
    if trainer_folder is not None:
        status["trainer_run_folder"] = str(trainer_folder)
    write_json_atomic(status_path(ws, run_id), status)
    return run_id


def sample(t: float, size: int, step: int | None = None) -> DiskSample:
    return DiskSample(t, step, size, size, 0, 1)


def test_hard_links_are_counted_once_across_run_folder_and_ready(tmp_path):
    ws = Workspace.at(tmp_path / "ws")
    output = tmp_path / "out"
    folder = output / "run" / "training" / "GPT-1"
    best = write(folder / "best_model_60.pth", 1000)
    checkpoint = write(folder / "checkpoint_100.pth", 700)
    write(output / "ready" / "config.json", 30)
    (folder / "kept").mkdir()
    os.link(best, folder / "kept" / "best_model_60.pth")  # core.retention's kept/ link
    os.link(checkpoint, output / "ready" / "unoptimize_model.pth")  # a link across the two folders
    (folder / "link-to-best").symlink_to(best)  # symlinks are not files of the run
    run_id = fake_run(ws, output, folder, step=120)

    got = sample_run_disk(ws, run_id, now_s=10.0)
    assert got.bytes_on_disk == 1000 + 700 + 30
    assert (got.trainer_bytes, got.ready_bytes) == (1700, 30)
    assert got.files == 3 and got.step == 120 and got.time_s == 10.0


def test_run_before_the_trainer_made_its_folder_measures_only_ready(tmp_path):
    ws = Workspace.at(tmp_path / "ws")
    run_id = fake_run(ws, tmp_path / "never-created", None)
    got = sample_run_disk(ws, run_id)
    assert (got.bytes_on_disk, got.files) == (0, 0)


def test_missing_record_is_a_field_error(tmp_path):
    ws = Workspace.at(tmp_path / "ws")
    with pytest.raises(ConfigInvalid) as exc:
        sample_run_disk(ws, "no-such-run")
    assert exc.value.errors[0].field == "run"


def test_files_and_folders_vanishing_mid_scan_are_skipped(tmp_path, monkeypatch):
    folder = tmp_path / "run"
    write(folder / "checkpoint_100.pth", 500)
    write(folder / "checkpoint_200.pth", 600)
    write(folder / "sub" / "events.out", 40)
    real_scandir = os.scandir

    def scandir_then_prune(path):
        entries = list(real_scandir(path))
        if Path(path) == folder:
            # The trainer prunes a checkpoint and removes a folder after we listed them.
            (folder / "checkpoint_100.pth").unlink()
            (folder / "sub" / "events.out").unlink()
            (folder / "sub").rmdir()
        return iter(entries)

    monkeypatch.setattr(os, "scandir", scandir_then_prune)
    got = measure_folders(folder, tmp_path / "ready-missing")
    assert (got.bytes_on_disk, got.files) == (600, 1)


def test_history_is_throttled_and_bounded(tmp_path):
    path = tmp_path / "disk_samples.jsonl"
    assert record_sample(path, sample(100.0, 1, 0), min_interval_s=5)
    assert not record_sample(path, sample(103.0, 2, 1), min_interval_s=5)  # younger than the interval
    assert record_sample(path, sample(105.0, 3, 2), min_interval_s=5)
    assert [s.time_s for s in read_samples(path)] == [100.0, 105.0]

    max_bytes = 4000
    for i in range(500):
        record_sample(path, sample(200.0 + i, 1000 + i, i), min_interval_s=0, max_bytes=max_bytes)
        assert path.stat().st_size <= max_bytes
    kept = read_samples(path)
    assert kept[0].time_s == 100.0 and kept[-1].time_s == 699.0  # the whole run, thinned
    assert [s.time_s for s in kept] == sorted(s.time_s for s in kept)
    assert 10 < len(kept) < 500


def test_reader_reads_only_appended_lines_and_waits_for_a_half_written_one(tmp_path):
    path = tmp_path / "disk_samples.jsonl"
    reader = SampleReader(path)
    assert reader.load() == ()
    record_sample(path, sample(1.0, 10), min_interval_s=0)
    assert [s.bytes_on_disk for s in reader.load()] == [10]
    line = sample(2.0, 20).to_json()
    with open(path, "a") as handle:
        handle.write(line[:15])  # the writer is mid-line
    assert [s.bytes_on_disk for s in reader.load()] == [10]
    with open(path, "a") as handle:
        handle.write(line[15:] + "\nnot json\n")
    assert [s.bytes_on_disk for s in reader.load()] == [10, 20]


def test_reader_starts_over_after_compaction(tmp_path):
    path = tmp_path / "disk_samples.jsonl"
    reader = SampleReader(path)
    for i in range(60):
        record_sample(path, sample(float(i), i), min_interval_s=0, max_bytes=10**6)
    assert len(reader.load()) == 60
    record_sample(path, sample(60.0, 60), min_interval_s=0, max_bytes=3000)  # forces a rewrite
    assert [s.time_s for s in reader.load()] == [s.time_s for s in read_samples(path)]
    assert reader.load()[-1].time_s == 60.0


def test_growing_series_gives_a_finite_eta():
    samples = [sample(float(t), 1_000_000 + 2_000 * t) for t in range(0, 120, 5)]
    trend = disk_trend(samples, free_bytes=1_000_000)
    assert trend.bytes_per_s == pytest.approx(2_000)
    assert trend.full_in_s == pytest.approx(500)
    assert trend.samples_used == len(samples) and trend.window_s == 115


def test_sawtooth_uses_the_overall_slope_of_the_recent_window():
    # A checkpoint written and the older one pruned: up-down, with slow growth underneath.
    samples = [sample(float(t), 10_000 + 10 * t + (5_000 if t % 20 == 10 else 0)) for t in range(0, 2000, 5)]
    trend = disk_trend(samples, free_bytes=10**9, window_s=300)
    assert trend.bytes_per_s == pytest.approx(10, rel=0.2)
    assert trend.window_s == 300


def test_flat_or_shrinking_series_gives_no_eta():
    flat = [sample(float(t), 5_000) for t in range(0, 100, 5)]
    assert disk_trend(flat, 10**6).full_in_s is None
    assert disk_trend(flat, 10**6).bytes_per_s == 0
    shrinking = [sample(float(t), 5_000 - t) for t in range(0, 100, 5)]
    assert disk_trend(shrinking, 10**6).full_in_s is None


def test_eta_past_the_end_of_the_run_or_unknown_free_space_gives_none():
    growing = [sample(float(t), 1_000 * t) for t in range(0, 100, 5)]
    assert disk_trend(growing, 10**6, horizon_s=500).full_in_s is None  # full after 1000 s, run ends in 500
    assert disk_trend(growing, 10**6, horizon_s=5000).full_in_s == pytest.approx(1000)
    assert disk_trend(growing, None).full_in_s is None
    assert disk_trend(growing[:1], 10**6).bytes_per_s is None
    assert disk_trend([], 10**6).samples_used == 0


def demo_inputs(ws, demo, **changes) -> PlanInputs:
    config = demo_config(ws, demo)
    inputs = PlanInputs(config.save_step, config.save_n_checkpoints, config.epochs, config.batch_size,
                        config.train_csv, config.output_path, config.base_model_dir)
    return replace(inputs, **changes)


def test_plan_inputs_names_every_bad_field(demo_workspace, tmp_path):
    ws, demo = demo_workspace
    bad = demo_inputs(ws, demo, train_csv=str(tmp_path / "missing.csv"), base=str(tmp_path / "nothing"),
                      milestone_every_steps=150)
    with pytest.raises(ConfigInvalid) as exc:
        plan_inputs(ws, bad)
    fields = {e.field for e in exc.value.errors}
    assert fields == {"train_csv", "base_model_dir", "milestone_every_steps"}


def test_plan_inputs_demo_and_presets(demo_workspace, tmp_path):
    ws, demo = demo_workspace
    inputs = demo_inputs(ws, demo, output_path=str(tmp_path / "out"))
    plan = plan_inputs(ws, inputs)
    assert plan.total_steps == 240 and plan.peak_bytes >= plan.final_bytes - plan.ready_bytes
    presets = preset_plans(ws, inputs)
    assert [p.name for p, _ in presets] == [p.name for p in PRESETS]
    assert all(plan.total_steps == 240 for _, plan in presets)


def test_plan_inputs_xtts_v2_architecture_without_files(demo_workspace, tmp_path):
    ws, demo = demo_workspace
    plan = plan_inputs(ws, demo_inputs(ws, demo, base=XTTS_V2_ARCHITECTURE, output_path=str(tmp_path / "out")))
    assert plan.checkpoint_source == "architecture" and plan.checkpoint_bytes > 1e9
    assert plan.base_model_bytes > 1e9  # the published files, still to download


def test_forecast_for_run_replans_from_the_record(demo_workspace, tmp_path):
    ws, demo = demo_workspace
    run_ws = Workspace.at(tmp_path / "ws")
    config = demo_config(ws, demo).with_changes(output_path=str(tmp_path / "out"))
    run_id = fake_run(run_ws, tmp_path / "out", None, config=config.to_dict())
    plan = forecast_for_run(run_ws, run_id)
    assert plan.total_steps == 240 and plan.timeline[-1].step == 240

    write_json_atomic(run_dir(run_ws, run_id) / "record.json", config.to_dict())  # not a run record
    with pytest.raises(ConfigInvalid):
        forecast_for_run(run_ws, run_id)
