"""The gallery and its actions on real checkpoints of the shared demo run."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from core.checkpoints.files import CheckpointError, Integrity, read_checkpoint_info
from core.checkpoints.ready_bundles import read_manifest
from core.checkpoints.ops import CheckpointIncompleteError, TargetExistsError, optimize, promote
from core.checkpoints.gallery import gallery, protected_paths
from core.trainer.ready_export import export_ready_from


def test_gallery_lists_every_checkpoint_with_metadata_matching_the_trainer(demo_run):
    entries = {e.path: e for e in gallery(demo_run.ws)}
    folder = demo_run.run_folder
    for name, step in (("checkpoint_100.pth", 100), ("checkpoint_200.pth", 200), ("best_model_240.pth", 240)):
        info = entries[folder / name].info
        assert info.step == step and info.integrity is Integrity.COMPLETE
        assert info.has_optimizer and info.has_dvae and info.text_vocab_size == 37
        assert entries[folder / name].run_id == demo_run.record.run_id
    best = entries[folder / "best_model.pth"]
    status_best = demo_run.state.status.best_model
    assert best.is_best and best.info.step == status_best.step
    assert best.info.eval_loss == pytest.approx(status_best.loss)
    log = (folder / "trainer_0_log.txt").read_text()
    assert f"> BEST MODEL : {folder / 'best_model_240.pth'}" in log
    assert f"> CHECKPOINT : {folder / 'checkpoint_200.pth'}" in log
    ready = Path(demo_run.config.output_path) / "ready" / "unoptimize_model.pth"
    assert entries[ready].location == "ready"
    assert protected_paths(demo_run.ws) == set()  # the run has finished: nothing protected


def test_optimized_model_has_no_optimizer_or_dvae_and_loads_into_xtts(demo_run, tmp_path):
    source = demo_run.run_folder / "best_model.pth"
    result = optimize(source, tmp_path / "model.pth")
    assert result.bytes_saved > 0 and source.is_file()
    state = torch.load(result.target, weights_only=True, map_location="cpu")
    assert "optimizer" not in state and not [k for k in state["model"] if "dvae" in k]
    from TTS.tts.configs.xtts_config import XttsConfig
    from TTS.tts.models.xtts import Xtts

    ready = Path(demo_run.config.output_path) / "ready"
    config = XttsConfig()
    config.load_json(str(ready / "config.json"))
    model = Xtts.init_from_config(config)
    model.load_checkpoint(config, checkpoint_path=str(result.target), vocab_path=str(ready / "vocab.json"),
                          eval=True, strict=True)
    assert model.gpt.text_embedding.weight.shape[0] == 37


def test_promote_refuses_a_truncated_source_and_an_existing_target(demo_run, tmp_path):
    good = demo_run.run_folder / "checkpoint_200.pth"
    cut = tmp_path / "checkpoint_300.pth"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size - 1000])
    with pytest.raises(CheckpointIncompleteError):
        promote(cut, tmp_path / "custom" / "a.pth")
    assert not (tmp_path / "custom" / "a.pth").exists()
    target = tmp_path / "custom" / "b.pth"
    promote(good, target)
    with pytest.raises(TargetExistsError):
        promote(demo_run.run_folder / "checkpoint_100.pth", target)
    assert read_checkpoint_info(target).step == 200
    replaced = promote(demo_run.run_folder / "checkpoint_100.pth", target, overwrite=True)
    assert read_checkpoint_info(target).step == 100 and read_checkpoint_info(replaced.backup).step == 200


def test_export_ready_from_any_checkpoint(demo_run, tmp_path):
    bundle = export_ready_from(demo_run.ws, demo_run.record.run_id, demo_run.run_folder / "checkpoint_100.pth",
                               tmp_path / "ready")
    assert sorted(p.name for p in bundle.files) == ["config.json", "reference.wav", "unoptimize_model.pth", "vocab.json"]
    assert read_checkpoint_info(tmp_path / "ready" / "unoptimize_model.pth").step == 100


def test_the_end_of_run_export_writes_a_manifest(demo_run):
    import hashlib

    ready = Path(demo_run.config.output_path) / "ready"
    manifest = read_manifest(ready)
    assert manifest is not None, "the training process wrote ready/ without a manifest"
    assert manifest.source == str(demo_run.run_folder / "best_model.pth")
    assert manifest.run_id == demo_run.record.run_id
    best = read_checkpoint_info(demo_run.run_folder / "best_model.pth")
    assert (manifest.step, manifest.epoch, manifest.eval_loss) == (best.step, best.epoch, best.eval_loss)
    assert manifest.sha256 == hashlib.sha256((ready / "unoptimize_model.pth").read_bytes()).hexdigest()
    assert set(manifest.files) >= {"unoptimize_model.pth", "config.json", "vocab.json", "reference.wav"}


def test_export_ready_twice_keeps_the_first_bundle(demo_run, tmp_path):
    ready = tmp_path / "ready"
    export_ready_from(demo_run.ws, demo_run.record.run_id, demo_run.run_folder / "checkpoint_100.pth", ready)
    first = (ready / "unoptimize_model.pth").stat().st_ino
    bundle = export_ready_from(demo_run.ws, demo_run.record.run_id, demo_run.run_folder / "checkpoint_200.pth", ready)
    assert bundle.previous is not None and (bundle.previous / "unoptimize_model.pth").stat().st_ino == first
    assert read_checkpoint_info(bundle.previous / "unoptimize_model.pth").step == 100
    assert read_checkpoint_info(ready / "unoptimize_model.pth").step == 200
    assert read_manifest(bundle.previous).step == 100 and read_manifest(ready).step == 200


def test_export_ready_refuses_a_folder_inside_the_run_folder(demo_run):
    folder = demo_run.run_folder / "ready"
    with pytest.raises(CheckpointError, match="rotation deletes or miscounts"):
        export_ready_from(demo_run.ws, demo_run.record.run_id, demo_run.run_folder / "checkpoint_100.pth", folder)
    assert not folder.exists()


def test_checkpoints_page_lists_and_promotes(demo_run, page, tmp_path):
    at = page("pages/checkpoints.py", root=demo_run.ws.root).run()
    assert not at.exception
    table = at.dataframe[0].value
    assert {"checkpoint_100.pth", "checkpoint_200.pth", "best_model.pth"} <= set(table["file"])
    (curve,) = at.get("image")  # each checkpoint's position on the run's loss curve, an SVG
    assert curve.proto.imgs[0].url.startswith("data:image/svg+xml;base64,")
    outside = tmp_path / "outside.pth"
    promote_box = next(t for t in at.text_input if t.label == "Custom model path")
    promote_box.input(str(outside)).run()
    next(b for b in at.button if b.label == "Promote").click().run()
    assert not outside.exists() and any("outside the workspace roots" in e.value for e in at.error)
    target = demo_run.ws.models_dir / "custom" / "promoted.pth"
    promote_box = next(t for t in at.text_input if t.label == "Custom model path")
    promote_box.input(str(target)).run()
    next(b for b in at.button if b.label == "Promote").click().run()
    assert target.is_file(), [e.value for e in at.error]
    assert any("Promoted to" in s.value for s in at.success)
    next(b for b in at.button if b.label.startswith("Use promoted.pth")).click().run()
    assert at.session_state["cfg_custom_model_path"] == str(target)


def test_checkpoints_sit_on_the_runs_loss_curve(demo_run):
    from core.monitor.events import RunEventReader
    from core.checkpoints.gallery import checkpoint_marks

    reader = RunEventReader(demo_run.run_folder)
    reader.refresh()
    series = reader.series("TrainIterStats/loss")
    entries = [e for e in gallery(demo_run.ws) if e.run_id == demo_run.record.run_id and e.location == "run"]
    marks = {m.step: m for m in checkpoint_marks(entries, series.steps, series.values)}
    assert {100, 200, 240} <= set(marks) and marks[240].is_best
    at_100 = series.values[list(series.steps).index(100)] if 100 in series.steps else None
    if at_100 is not None:
        assert marks[100].loss == pytest.approx(at_100)
    assert min(series.values) <= marks[200].loss <= max(series.values)


def test_event_reader_matches_tensorboard_on_a_real_trainer_run(demo_run):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from core.monitor.events import RunEventReader

    reader = RunEventReader(demo_run.run_folder)
    reader.refresh()
    accumulator = EventAccumulator(str(demo_run.run_folder), size_guidance={"scalars": 0})
    accumulator.Reload()
    tags = accumulator.Tags()["scalars"]
    assert "TrainIterStats/loss" in tags and "EvalStats/avg_loss" in tags
    for tag in tags:
        expected = accumulator.Scalars(tag)
        assert reader.steps(tag).tolist() == [e.step for e in expected]
        assert reader.values(tag) == pytest.approx([e.value for e in expected])
