"""The Checkpoints page with AppTest on the shared demo run's workspace."""
from __future__ import annotations

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
