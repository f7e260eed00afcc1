"""Live disk tracking on real files: inode dedup, vanishing files, bounded history, trend math."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from core.base.atomic_io import write_json_atomic
from core.disk.tracking import (DiskSample, SampleReader, disk_trend, measure_folders, read_samples, record_sample,
                                sample_run_disk)
from core.base.errors import ConfigInvalid
from core.registry.records import RunRecord, save_record, status_path
from core.base.workspace import Workspace


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
    os.link(best, folder / "kept" / "best_model_60.pth")  # core.checkpoints.retention's kept/ link
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
