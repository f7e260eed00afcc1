"""The training process as a black box: what the shared demo run left in its run folder and output path."""
from __future__ import annotations

from pathlib import Path

from core.base.atomic_io import read_json
from core.checkpoints.files import read_checkpoint_info
from core.disk.tracking import read_samples
from core.registry.records import last_log_lines, read_status, run_files
from core.registry.state import RunPhase, read_run_state


def test_outcome_records_a_clean_exit(demo_run):
    outcome = read_json(run_files(demo_run.ws, demo_run.record.run_id).outcome)
    assert outcome["exit_code"] == 0
    assert outcome["message"] == "finished; ready/ written"
    state = read_run_state(demo_run.ws, demo_run.record.run_id)
    assert state.phase is RunPhase.FINISHED and state.exit_code == 0 and state.detail == outcome["message"]


def test_status_ends_finished(demo_run):
    status = read_status(demo_run.ws, demo_run.record.run_id)
    assert status.phase == "finished"
    assert status.step == status.total_steps == 240 and status.progress_fraction == 1.0 and status.eta_s == 0.0
    assert Path(status.trainer_run_folder) == demo_run.run_folder


def test_disk_history_was_written_as_the_run_went(demo_run):
    samples = read_samples(run_files(demo_run.ws, demo_run.record.run_id).disk_samples)
    assert len(samples) >= 2
    steps = [s.step for s in samples]
    assert all(isinstance(step, int) for step in steps)
    assert steps == sorted(steps) and steps[0] < steps[-1]
    times = [s.time_s for s in samples]
    assert times == sorted(times) and len(set(times)) == len(times)
    assert all(s.bytes_on_disk == s.trainer_bytes + s.ready_bytes for s in samples)
    assert samples[-1].trainer_bytes > 0


def test_ready_bundle_comes_from_the_best_model(demo_run):
    status = read_status(demo_run.ws, demo_run.record.run_id)
    ready = Path(demo_run.config.output_path) / "ready"
    assert status.ready is not None
    assert Path(status.ready.folder) == ready
    assert status.ready.source.endswith("best_model.pth")
    assert Path(status.ready.source) == demo_run.run_folder / "best_model.pth"
    assert read_checkpoint_info(ready / "unoptimize_model.pth").step == read_checkpoint_info(status.ready.source).step


def test_train_log_announces_the_ready_bundle(demo_run):
    log = run_files(demo_run.ws, demo_run.record.run_id).log().read_text(encoding="utf-8", errors="replace")
    ready_lines = [line for line in log.splitlines() if " > READY :" in line]
    ready = Path(demo_run.config.output_path) / "ready"
    assert ready_lines == [f" > READY : {ready} (from best_model.pth)"]
    assert not (run_files(demo_run.ws, demo_run.record.run_id).folder / "train.rank1.log").exists()
    assert last_log_lines(demo_run.ws, demo_run.record.run_id, count=200)  # the tail reads back


def test_record_names_the_training_module_and_its_run_folder(demo_run):
    record = demo_run.record
    files = run_files(demo_run.ws, record.run_id)
    assert record.command[1:] == ["-m", "core.runs.train_process", str(files.folder)]
    assert record.mode == "new" and record.world_size == 1
    launch = read_json(files.launch)
    assert launch["run_id"] == record.run_id and launch["total_steps"] == 240
    # The trainer names its folder <run name>-<date>-<hash>; ours puts the run id in the run name.
    assert demo_run.run_folder.name.startswith(f"{record.trainer_run_name}-")
    assert record.trainer_run_name == f"{demo_run.config.run_name}-{record.run_id}"
