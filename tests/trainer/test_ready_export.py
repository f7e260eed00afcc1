"""The ready/ export with the demo's base files and dataset: nothing overwritten, a manifest that says where from."""
from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from core.checkpoints.files import read_checkpoint_info
from core.checkpoints.ops import optimize
from core.checkpoints.ready_bundles import list_ready_bundles, read_manifest
from core.trainer.base_model import resolve_base_model
from core.trainer.dataset import read_dataset
from core.trainer.ready_export import export_ready
from tests.checkpoints.test_files import save_checkpoint


@pytest.fixture
def export(demo_workspace):
    """export_ready(checkpoint, ready) with the demo's base model, vocabulary and training clips."""
    _ws, demo = demo_workspace
    base = resolve_base_model(demo.base_dir)
    train = read_dataset(demo.train_csv, "train_csv")

    def run(checkpoint: Path, ready: Path, run_id: str | None = None):
        return export_ready(checkpoint, ready, base, base.vocab_json, train, run_id=run_id)

    return run


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_export_writes_a_manifest_saying_where_the_model_came_from(export, tmp_path):
    src = save_checkpoint(tmp_path / "run" / "training" / "GPT-abc" / "best_model.pth", step=240, eval_loss=0.5)
    ready = tmp_path / "ready"
    bundle = export(src, ready, run_id="20260101-100000-aaaaaa")
    manifest = read_manifest(ready)
    assert bundle.manifest == ready / "manifest.json" and bundle.previous is None
    assert manifest.source == str(src) and manifest.run_id == "20260101-100000-aaaaaa"
    assert (manifest.step, manifest.epoch, manifest.train_loss, manifest.eval_loss) == (240, 3, 1.25, 0.5)
    assert manifest.sha256 == sha256(ready / "unoptimize_model.pth") == sha256(src)
    assert set(manifest.files) == {p.name for p in bundle.files} and manifest.made_at_s > 0
    assert not [p for p in ready.iterdir() if p.name.startswith(".")]  # no temp file left


def test_a_second_export_keeps_the_first_bundle_in_previous(export, tmp_path):
    first = save_checkpoint(tmp_path / "best_model_240.pth", step=240)
    second = save_checkpoint(tmp_path / "checkpoint_100.pth", step=100)
    ready = tmp_path / "out" / "ready"
    export(first, ready, run_id="run-1")
    optimize(ready / "unoptimize_model.pth", ready / "model.pth")  # the guide's Step 2.5 on the first bundle
    old = {p.name: p.read_bytes() for p in ready.iterdir() if p.is_file()}
    bundle = export(second, ready, run_id="run-2")
    # The first bundle, model.pth and manifest included, is whole in ready/previous/<time>/.
    assert bundle.previous is not None and bundle.previous.parent == ready / "previous"
    assert {p.name: p.read_bytes() for p in bundle.previous.iterdir()} == old
    # No model.pth of the old checkpoint is left beside the new unoptimize_model.pth.
    assert not (ready / "model.pth").exists()
    assert read_checkpoint_info(ready / "unoptimize_model.pth").step == 100
    listed = list_ready_bundles(tmp_path / "out")
    assert [(b.is_current, b.manifest.step, b.manifest.run_id) for b in listed] == [(True, 100, "run-2"),
                                                                                     (False, 240, "run-1")]
    assert listed[1].manifest.optimized.from_bundle and "model.pth" in listed[1].files
    assert listed[1].manifest.optimized.sha256 == sha256(bundle.previous / "model.pth")


def test_a_failed_copy_leaves_the_old_bundle_in_place(export, tmp_path):
    ready = tmp_path / "ready"
    export(save_checkpoint(tmp_path / "best_model.pth", step=240), ready)
    before = sorted(p.name for p in ready.iterdir())
    with pytest.raises(FileNotFoundError):
        export(tmp_path / "no-such-checkpoint.pth", ready)
    assert sorted(p.name for p in ready.iterdir()) == before
    assert read_checkpoint_info(ready / "unoptimize_model.pth").step == 240
