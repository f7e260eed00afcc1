"""The Checkpoints page with AppTest on the shared demo run's workspace."""
from __future__ import annotations

import os
import shutil
from pathlib import Path


def run_rows(table, run_id: str):
    """The table's rows of the demo run's own folder."""
    return table[(table["run"] == run_id) & (table["where"] == "run")]


def test_table_lists_the_demo_runs_checkpoints_with_their_steps(page, demo_run):
    at = page("pages/checkpoints.py", root=demo_run.ws.root).run()
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == ["Checkpoints"]
    table = at.dataframe[0].value
    rows = run_rows(table, demo_run.record.run_id)
    steps = dict(zip(rows["file"], rows["step"]))
    assert steps == {"checkpoint_100.pth": 100, "checkpoint_200.pth": 200, "best_model_240.pth": 240,
                     "best_model.pth": 240}
    best = dict(zip(rows["file"], rows["best"]))
    assert best == {"checkpoint_100.pth": False, "checkpoint_200.pth": False, "best_model_240.pth": True,
                    "best_model.pth": True}
    assert set(rows["integrity"]) == {"complete"} and not rows["protected"].any()
    assert set(rows["path"]) == {str(demo_run.run_folder / name) for name in steps}
    ready = table[table["where"] == "ready"]
    assert str(Path(demo_run.config.output_path) / "ready" / "unoptimize_model.pth") in set(ready["path"])
    assert any(c.value.startswith(f"{len(table)} files") for c in at.caption)


def test_the_loss_curve_is_an_svg_with_each_checkpoint_on_it(page, demo_run):
    import base64

    at = page("pages/checkpoints.py", root=demo_run.ws.root).run()
    assert not at.exception, at.exception
    assert not at.get("plotly_chart")  # plotly's 4.7 MB script is not loaded for this chart
    (image,) = at.get("image")
    svg = base64.b64decode(image.proto.imgs[0].url.split(",", 1)[1]).decode()
    assert f"Checkpoints of {demo_run.record.run_id} on its train loss" in svg and "<polyline" in svg
    # checkpoint_100, checkpoint_200, and one dot (green: best) for best_model_240, best_model and ready/ at 240.
    assert svg.count("<circle") == 3 and svg.count('fill="#2ca02c"') == 1
    assert ">step 100</text>" in svg and ">step 240 (best)</text>" in svg


def test_filter_by_kind_narrows_the_table(page, demo_run):
    at = page("pages/checkpoints.py", root=demo_run.ws.root).run()
    kinds = at.multiselect(key="gal_kinds")
    assert {"checkpoint", "best", "best_step", "ready"} <= set(kinds.options)
    kinds.set_value(["checkpoint"]).run()
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    assert set(table["kind"]) == {"checkpoint"}
    rows = run_rows(table, demo_run.record.run_id)
    assert sorted(rows["step"]) == [100, 200]


def test_actions_offer_every_complete_checkpoint(page, demo_run):
    at = page("pages/checkpoints.py", root=demo_run.ws.root).run()
    choice = at.selectbox(key="gal_choice")
    run_id = demo_run.record.run_id
    assert f"{run_id} · best_model.pth · step 240 ★ best · complete" in choice.options
    assert f"{run_id} · checkpoint_100.pth · step 100 · complete" in choice.options
    choice.set_value(f"{run_id} · checkpoint_200.pth · step 200 · complete").run()
    assert not at.exception, at.exception
    target = next(t for t in at.text_input if t.label == "Custom model path")
    assert target.value == str(demo_run.ws.custom_models_dir / f"{run_id}-step200-checkpoint_200.pth")
    assert [t.label for t in at.tabs] == ["Promote", "Export ready/", "Optimize", "Resume / fine-tune"]


def test_optimize_defaults_to_the_runs_ready_model_pth_and_refuses_the_run_folder(page, demo_run):
    at = page("pages/checkpoints.py", root=demo_run.ws.root).run()
    run_id = demo_run.record.run_id
    at.selectbox(key="gal_choice").set_value(f"{run_id} · checkpoint_200.pth · step 200 · complete").run()
    target = next(t for t in at.text_input if t.label == "Optimized model path")
    # Not beside the source in the run folder, where the trainer's rotation would delete or miscount it.
    assert target.value == str(Path(demo_run.config.output_path) / "ready" / "model.pth")
    inside = demo_run.run_folder / "checkpoint_200-optimized.pth"
    target.input(str(inside)).run()
    next(b for b in at.button if b.label == "Optimize").click().run()
    assert not inside.exists()
    assert any("rotation deletes or miscounts" in e.value and "ready/" in e.value for e in at.error), at.error


def frees_caption(at) -> str:
    return next(c.value for c in at.caption if c.value.startswith("Frees about"))


def test_clean_up_counts_a_hard_linked_file_once_and_only_when_all_its_names_go(page, tmp_path):
    from tests.checkpoints.test_gallery import dead_identity, lay_out_run

    layout = lay_out_run(tmp_path, dead_identity())
    original = layout.folder / "checkpoint_100.pth"
    kept = layout.folder / "kept" / "checkpoint_100.pth"
    kept.unlink()
    os.link(original, kept)  # what retention really makes: the same file under a second name
    size = original.stat().st_size
    at = page("pages/checkpoints.py", root=layout.ws.root).run()
    assert not at.exception, at.exception
    delete = at.multiselect(key="gal_delete")
    run_label = f"{layout.run_id} · checkpoint_100.pth · step 100 · complete"
    kept_label = f"{layout.run_id} · kept/checkpoint_100.pth · step 100 · complete"
    assert {run_label, kept_label} <= set(delete.options)
    delete.set_value([kept_label]).run()
    assert frees_caption(at).startswith("Frees about 0 B")  # the run folder's name still holds the file
    at.multiselect(key="gal_delete").set_value([run_label, kept_label]).run()
    assert frees_caption(at).startswith(f"Frees about {size / 1000:,.2f} KB")  # once, not twice


def test_ready_bundles_view_shows_current_and_previous_bundles_with_their_origin(page, tmp_path):
    from core.checkpoints.files import read_checkpoint_info
    from core.checkpoints.ready_bundles import manifest_for, set_aside_bundle, write_manifest
    from tests.checkpoints.test_gallery import dead_identity, lay_out_run

    layout = lay_out_run(tmp_path, dead_identity())  # its ready/ is an older version's: no manifest
    ready = layout.output / "ready"
    set_aside_bundle(ready, now_s=1_767_225_600.0)
    source = layout.folder / "best_model.pth"
    shutil.copyfile(source, ready / "unoptimize_model.pth")
    write_manifest(ready, manifest_for(read_checkpoint_info(ready / "unoptimize_model.pth"), source=source,
                                       sha256="0" * 64, files=("unoptimize_model.pth",), run_id=layout.run_id))
    at = page("pages/checkpoints.py", root=layout.ws.root).run()
    assert not at.exception, at.exception
    assert "ready/ bundles" in [s.value for s in at.subheader]
    table = at.dataframe[1].value
    assert list(table["bundle"]) == ["current", "previous/20260101T000000.000000Z"]
    assert list(table["source"]) == [str(source), "unknown"]
    assert table["step"][0] == 240 and table["eval loss"][0] == 0.5 and table["run"][0] == layout.run_id
    assert list(table["manifest"]) == [True, False]
    assert any("previous/20260101T000000.000000Z" in c.value and "no manifest.json" in c.value for c in at.caption)
