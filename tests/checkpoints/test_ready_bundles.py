"""ready/ bundles on real files in tmp_path: set aside (never overwritten), manifests, listing, bytes."""
from __future__ import annotations

import json
import os
from pathlib import Path

from core.checkpoints.files import read_checkpoint_info
from core.checkpoints.ready_bundles import (
    MANIFEST_NAME,
    ReadyManifest,
    list_ready_bundles,
    manifest_for,
    read_manifest,
    ready_folder_bytes,
    set_aside_bundle,
    workspace_ready_bundles,
    write_manifest,
)
from core.registry.records import RunRecord, save_record
from core.base.workspace import Workspace
from tests.checkpoints.test_files import save_checkpoint

BUNDLE = ("unoptimize_model.pth", "model.pth", "config.json", "vocab.json", "speakers_xtts.pth", "reference.wav")


def old_bundle(ready: Path, step: int = 240) -> dict[str, bytes]:
    """A bundle as an older version left it: no manifest; returns each file's bytes."""
    save_checkpoint(ready / "unoptimize_model.pth", step=step)
    save_checkpoint(ready / "model.pth", step=step)
    for name in BUNDLE[2:]:
        (ready / name).write_text(f"{name} of step {step}")
    return {name: (ready / name).read_bytes() for name in BUNDLE}


def test_set_aside_moves_every_file_of_the_bundle_without_copying(tmp_path):
    ready = tmp_path / "out" / "ready"
    before = old_bundle(ready)
    inode = (ready / "unoptimize_model.pth").stat().st_ino
    (ready / ".unoptimize_model.pth.partial-123").write_bytes(b"a write in flight")
    folder = set_aside_bundle(ready, now_s=1_767_225_600.25)
    assert folder == ready / "previous" / "20260101T000000.250000Z"
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert (folder / "unoptimize_model.pth").stat().st_ino == inode  # renamed, not copied
    # Nothing of the old bundle is left to sit beside a new one; a write in flight stays where it is.
    assert sorted(p.name for p in ready.iterdir()) == [".unoptimize_model.pth.partial-123", "previous"]


def test_set_aside_names_sort_by_time_and_never_collide(tmp_path):
    ready = tmp_path / "ready"
    folders = []
    for step in (1, 2, 3):
        old_bundle(ready, step)
        folders.append(set_aside_bundle(ready, now_s=1_767_225_600.0))  # the same instant three times
    assert len(set(folders)) == 3 and sorted(folders) == folders
    assert [read_checkpoint_info(f / "unoptimize_model.pth").step for f in folders] == [1, 2, 3]
    assert set_aside_bundle(ready) is None  # nothing left to move


def test_manifest_round_trip_and_tolerance(tmp_path):
    src = save_checkpoint(tmp_path / "run" / "best_model.pth", step=240, eval_loss=0.5)
    manifest = manifest_for(read_checkpoint_info(src), source=src, sha256="ab" * 32, files=BUNDLE[:1],
                            run_id="20260101-100000-aaaaaa", made_at_s=1.5)
    path = write_manifest(tmp_path, manifest)
    assert path == tmp_path / MANIFEST_NAME and read_manifest(tmp_path) == manifest
    data = json.loads(path.read_text())
    assert (data["step"], data["epoch"], data["train_loss"], data["eval_loss"]) == (240, 3, 1.25, 0.5)
    assert data["source"] == str(src) and data["version"] == 1
    path.write_text("[1, 2]")
    assert read_manifest(tmp_path) is None
    path.write_text('{"files": ["a"], "unknown_key": 1}')
    assert read_manifest(tmp_path) == ReadyManifest(None, None, None, None, None, None, None, None, ("a",))


def test_list_ready_bundles_current_first_then_newest_previous(tmp_path):
    output = tmp_path / "out"
    ready = output / "ready"
    old_bundle(ready, 100)
    set_aside_bundle(ready, now_s=1_000.0)  # made by an older version: no manifest
    src = save_checkpoint(tmp_path / "best_model.pth", step=200)
    save_checkpoint(ready / "unoptimize_model.pth", step=200)
    write_manifest(ready, manifest_for(read_checkpoint_info(src), source=src, sha256="0" * 64,
                                       files=("unoptimize_model.pth",), run_id="r2", made_at_s=2_000.0))
    set_aside_bundle(ready, now_s=2_000.0)
    save_checkpoint(ready / "unoptimize_model.pth", step=300)
    write_manifest(ready, manifest_for(read_checkpoint_info(ready / "unoptimize_model.pth"), source=src,
                                       sha256="1" * 64, files=("unoptimize_model.pth",), run_id="r3"))
    bundles = list_ready_bundles(output)
    assert [b.label for b in bundles] == ["current", "previous/19700101T003320.000000Z", "previous/19700101T001640.000000Z"]
    assert [b.manifest.step if b.manifest else None for b in bundles] == [300, 200, None]
    assert bundles[0].files == ("manifest.json", "unoptimize_model.pth") and bundles[0].is_current
    assert bundles[2].size_bytes == sum(len(v) for v in old_bundle(tmp_path / "again", 100).values())
    assert list_ready_bundles(tmp_path / "no-such-output") == []


def test_ready_folder_bytes_counts_previous_bundles_and_hard_links_once(tmp_path):
    ready = tmp_path / "out" / "ready"
    files = old_bundle(ready)
    set_aside_bundle(ready)
    save_checkpoint(ready / "unoptimize_model.pth", step=300)
    os.link(ready / "unoptimize_model.pth", ready / "unoptimize_model.pth.bak-20260101-000000")
    expected = sum(len(v) for v in files.values()) + (ready / "unoptimize_model.pth").stat().st_size
    assert ready_folder_bytes(tmp_path / "out") == expected
    assert ready_folder_bytes(tmp_path / "empty") == 0


def test_workspace_ready_bundles_lists_each_output_path_of_its_runs_once(tmp_path):
    ws = Workspace.at(tmp_path / "ws")
    output = ws.outputs_dir / "voice"
    old_bundle(output / "ready")
    for run_id in ("20260101-100000-aaaaaa", "20260102-100000-bbbbbb"):
        save_record(ws, RunRecord(run_id=run_id, output_path=str(output), config={}, command=[], pid=1,
                                  process_start_time=1.0, started_at=1.0))
    found = workspace_ready_bundles(ws)
    assert [o.output_path for o in found] == [output]
    assert [b.label for b in found[0].bundles] == ["current"] and found[0].bundles[0].manifest is None
