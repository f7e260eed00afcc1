"""The gallery on real files laid out as the trainer does, with run records for dead and live runs."""
from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from core.base.atomic_io import write_json_atomic
from core.checkpoints.files import CheckpointKind, Integrity
from core.checkpoints.gallery import (
    GalleryEntry,
    checkpoint_marks,
    default_promote_target,
    gallery,
    protected_paths,
    run_folders_by_run,
)
from core.base.config import RunConfig
from core.registry.process_identity import ProcessIdentity, identify, is_alive
from core.registry.records import RunRecord, save_record, status_path
from core.base.workspace import Workspace
from tests.checkpoints.test_files import save_checkpoint


@dataclass
class Layout:
    ws: Workspace
    run_id: str
    output: Path
    folder: Path


def dead_identity() -> ProcessIdentity:
    """The identity a run had: a real process that has since ended."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    identity = identify(proc.pid)
    proc.kill()
    proc.wait()
    assert identity is not None and not is_alive(identity)
    return identity


def record_run(ws: Workspace, run_id: str, output: Path, identity: ProcessIdentity, folder: Path | None) -> None:
    config = RunConfig(output_path=str(output), epochs=4)
    save_record(ws, RunRecord(run_id=run_id, output_path=str(output), config=config.to_dict(), command=[],
                              pid=identity.pid, process_start_time=identity.start_time, started_at=identity.start_time))
    if folder is not None:
        write_json_atomic(status_path(ws, run_id), {"phase": "training", "step": 240, "total_steps": 240,
                                                    "trainer_run_folder": str(folder)})


def lay_out_run(tmp_path: Path, identity: ProcessIdentity, run_id: str = "20260101-100000-aaaaaa") -> Layout:
    ws = Workspace.at(tmp_path / "ws")
    output = ws.outputs_dir / "voice"
    folder = output / "run" / "training" / "GPT_XTTS_FT-January-01-2026_10+00AM-aaaaaa"
    save_checkpoint(folder / "checkpoint_100.pth", step=100)
    save_checkpoint(folder / "checkpoint_200.pth", step=200)
    save_checkpoint(folder / "best_model_240.pth", step=240, eval_loss=0.5)
    save_checkpoint(folder / "best_model.pth", step=240, eval_loss=0.5)
    (folder / "config.json").write_text("{}")
    save_checkpoint(folder / "kept" / "checkpoint_100.pth", step=100)
    save_checkpoint(output / "ready" / "unoptimize_model.pth", step=240)
    (output / "ready" / "config.json").write_text("{}")
    save_checkpoint(ws.custom_models_dir / "my-voice.pth", step=7)
    (ws.custom_models_dir / "notes.pth").write_bytes(b"not a checkpoint")
    record_run(ws, run_id, output, identity, folder)
    return Layout(ws, run_id, output, folder)


@pytest.fixture
def dead_run(tmp_path) -> Layout:
    return lay_out_run(tmp_path, dead_identity())


@pytest.fixture
def live_run(tmp_path) -> Layout:
    return lay_out_run(tmp_path, identify(os.getpid()))  # this test process stands in for the trainer


def by_path(entries: list[GalleryEntry]) -> dict[Path, GalleryEntry]:
    return {e.path: e for e in entries}


def test_gallery_lists_run_kept_ready_and_custom_files(dead_run):
    entries = by_path(gallery(dead_run.ws))
    folder, output, custom = dead_run.folder, dead_run.output, dead_run.ws.custom_models_dir
    expected = {
        folder / "checkpoint_100.pth": ("run", dead_run.run_id, 100),
        folder / "checkpoint_200.pth": ("run", dead_run.run_id, 200),
        folder / "best_model_240.pth": ("run", dead_run.run_id, 240),
        folder / "best_model.pth": ("run", dead_run.run_id, 240),
        folder / "kept" / "checkpoint_100.pth": ("kept", dead_run.run_id, 100),
        output / "ready" / "unoptimize_model.pth": ("ready", dead_run.run_id, 240),
        custom / "my-voice.pth": ("custom", None, 7),
        custom / "notes.pth": ("custom", None, None),
    }
    assert set(entries) == set(expected)
    for path, (location, run_id, step) in expected.items():
        entry = entries[path]
        assert (entry.location, entry.run_id, entry.info.step) == (location, run_id, step), path
    assert entries[custom / "notes.pth"].info.integrity is Integrity.UNREADABLE
    assert entries[output / "ready" / "unoptimize_model.pth"].info.kind is CheckpointKind.READY
    assert len(gallery(dead_run.ws)) == len(expected)  # every file listed once


def test_best_marks_the_best_model_and_its_step_file(dead_run):
    entries = by_path(gallery(dead_run.ws))
    best = {path.relative_to(dead_run.ws.root) for path, e in entries.items() if e.is_best}
    folder = dead_run.folder.relative_to(dead_run.ws.root)
    assert best == {folder / "best_model.pth", folder / "best_model_240.pth"}


def test_a_best_step_file_of_another_step_is_not_marked_best(dead_run):
    save_checkpoint(dead_run.folder / "best_model.pth", step=300)  # a newer best saved; the step file lags
    entries = by_path(gallery(dead_run.ws))
    assert entries[dead_run.folder / "best_model.pth"].is_best
    assert not entries[dead_run.folder / "best_model_240.pth"].is_best


def test_nothing_is_protected_for_a_dead_run(dead_run):
    assert protected_paths(dead_run.ws) == set()
    assert not any(e.protected for e in gallery(dead_run.ws))


def test_a_live_run_protects_its_newest_checkpoint_and_best_models(live_run):
    folder = live_run.folder
    wanted = {folder / "checkpoint_200.pth", folder / "best_model.pth", folder / "best_model_240.pth"}
    assert protected_paths(live_run.ws) == wanted
    protected = {e.path for e in gallery(live_run.ws) if e.protected}
    assert protected == wanted  # never kept/, ready/ or custom files, never the older checkpoint


def test_a_live_run_without_a_run_folder_yet_protects_nothing(tmp_path):
    ws = Workspace.at(tmp_path / "ws")
    record_run(ws, "20260101-100000-bbbbbb", ws.outputs_dir / "o", identify(os.getpid()), folder=None)
    assert protected_paths(ws) == set()


def test_a_continued_folder_belongs_to_the_newest_run_naming_it(dead_run):
    later = "20260102-100000-cccccc"
    record_run(dead_run.ws, later, dead_run.output, dead_identity(), dead_run.folder)
    assert run_folders_by_run(dead_run.ws) == {dead_run.folder: later}
    entries = by_path(gallery(dead_run.ws))
    assert entries[dead_run.folder / "checkpoint_200.pth"].run_id == later
    assert entries[dead_run.output / "ready" / "unoptimize_model.pth"].run_id == later


def test_default_promote_target(dead_run):
    entries = by_path(gallery(dead_run.ws))
    custom = dead_run.ws.custom_models_dir
    assert default_promote_target(dead_run.ws, entries[dead_run.folder / "checkpoint_200.pth"]) == \
        custom / f"{dead_run.run_id}-step200-checkpoint_200.pth"
    assert default_promote_target(dead_run.ws, entries[custom / "my-voice.pth"]) == custom / "model-step7-my-voice.pth"
    assert default_promote_target(dead_run.ws, entries[custom / "notes.pth"]) == custom / "model-notes.pth"


def test_checkpoint_marks_interpolate_the_loss_at_each_step(dead_run):
    entries = [e for e in gallery(dead_run.ws) if e.location == "run"]
    steps, losses = [0, 100, 200, 300], [4.0, 3.0, 2.0, 1.0]
    marks = {m.label: m for m in checkpoint_marks(entries, steps, losses)}
    assert set(marks) == {"checkpoint_100.pth (run)", "checkpoint_200.pth (run)",
                          "best_model_240.pth (run)", "best_model.pth (run)"}
    assert (marks["checkpoint_100.pth (run)"].step, marks["checkpoint_100.pth (run)"].loss) == (100, 3.0)
    assert marks["checkpoint_200.pth (run)"].loss == pytest.approx(2.0)
    assert marks["best_model_240.pth (run)"].loss == pytest.approx(1.6)  # between the points at 200 and 300
    assert marks["best_model.pth (run)"].is_best and not marks["checkpoint_100.pth (run)"].is_best


def test_checkpoint_marks_skip_unknown_steps_and_an_empty_curve(dead_run):
    entries = by_path(gallery(dead_run.ws))
    notes = entries[dead_run.ws.custom_models_dir / "notes.pth"]
    assert checkpoint_marks([notes], [0, 10], [1.0, 0.5]) == []
    assert checkpoint_marks(list(entries.values()), [], []) == []


@pytest.mark.parametrize("named", ["/x", "GPT-relative"])
def test_a_status_naming_a_shallow_run_folder_does_not_break_the_gallery(dead_run, named):
    write_json_atomic(status_path(dead_run.ws, dead_run.run_id), {"trainer_run_folder": named})
    assert dead_run.folder / "checkpoint_200.pth" in by_path(gallery(dead_run.ws))


def test_bundles_set_aside_in_ready_previous_are_listed(dead_run):
    earlier = dead_run.output / "ready" / "previous" / "20260101T090000.000000Z"
    save_checkpoint(earlier / "unoptimize_model.pth", step=200)
    (earlier / "config.json").write_text("{}")
    entries = by_path(gallery(dead_run.ws))
    entry = entries[earlier / "unoptimize_model.pth"]
    assert entry.location == "previous ready" and entry.run_id == dead_run.run_id and entry.info.step == 200
    assert entries[dead_run.output / "ready" / "unoptimize_model.pth"].location == "ready"
