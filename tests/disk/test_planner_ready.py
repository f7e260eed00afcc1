"""The disk plan counts what ready/ already holds: the export moves it to ready/previous/ and keeps it."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from core.checkpoints.ready_bundles import set_aside_bundle
from core.disk.plan import KEPT_READY_LABEL
from core.disk.planner import plan_run
from core.trainer.base_model import resolve_base_model
from core.trainer.dataset import read_dataset, steps_per_epoch
from core.trainer.demo import demo_config
from tests.checkpoints.test_files import save_checkpoint


def plan(config, demo):
    base = resolve_base_model(demo.base_dir)
    train = read_dataset(demo.train_csv, "train_csv")
    return plan_run(config, base=base, steps_per_epoch=steps_per_epoch(len(train.clips), config.batch_size),
                    train=train, free_bytes=10**12)


def test_an_existing_ready_bundle_is_in_the_peak_and_final_but_not_in_the_space_needed(demo_workspace, tmp_path):
    ws, demo = demo_workspace
    config = replace(demo_config(ws, demo), output_path=str(tmp_path / "out"))
    before = plan(config, demo)
    ready = Path(config.output_path) / "ready"
    save_checkpoint(ready / "unoptimize_model.pth", step=240)
    save_checkpoint(ready / "model.pth", step=240)
    (ready / "config.json").write_text("{}")
    set_aside_bundle(ready)  # an even older bundle, in ready/previous/
    save_checkpoint(ready / "unoptimize_model.pth", step=480)
    existing = sum(p.stat().st_size for p in ready.rglob("*") if p.is_file())
    after = plan(config, demo)
    assert after.final_bytes - before.final_bytes == existing
    assert after.peak_bytes - before.peak_bytes == existing
    assert dict(after.final_breakdown)[KEPT_READY_LABEL] == existing == dict(after.peak_breakdown)[KEPT_READY_LABEL]
    assert KEPT_READY_LABEL not in dict(before.final_breakdown)
    # Already on disk: the free space was measured without it, so the space needed does not change.
    assert after.total_bytes == before.total_bytes
    assert max(p.bytes_on_disk for p in after.timeline) == after.peak_bytes  # the chart agrees with the peak
    assert any("ready/previous/" in w for w in after.warnings)
    assert sum(b for _, b in after.final_breakdown) == after.final_bytes


def test_the_plan_counts_the_manifest_the_export_writes(demo_workspace, tmp_path):
    ws, demo = demo_workspace
    config = replace(demo_config(ws, demo), output_path=str(tmp_path / "out"))
    assert "manifest.json" in dict(plan(config, demo).ready_breakdown)
