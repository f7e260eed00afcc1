"""The Runs page with AppTest on three fake runs on real files: finished, failed and running (this process)."""
from __future__ import annotations

import json
import os

import pytest

from core.base.config import FIELD_BY_NAME
from core.registry.records import RunRecord, list_run_ids
from core.base.workspace import Workspace
from pages import common
from pages.common import human_bytes
from tests.checkpoints.test_files import save_checkpoint
from tests.overview.test_deletion import tree_bytes
from tests.overview.fake_runs import three_runs, write_loss_events
from tests.pages.monitor_view import html_bodies
from tests.pages.test_labels import CONFIG_KEY, labelled_nodes


@pytest.fixture
def runs(tmp_path, demo_workspace):
    ws = Workspace.at(tmp_path / "ws")
    os.symlink(demo_workspace[1].base_dir.parent, ws.demo_dir)  # the router's first open finds the demo made
    runs = three_runs(ws)
    write_loss_events(runs.finished.folder, [(step, 2.0 / (1 + step)) for step in range(0, 240, 10)])
    write_loss_events(runs.failed.folder, [(step, 3.0 / (1 + step)) for step in range(0, 100, 10)])
    return runs


def button(at, label: str):
    return next(b for b in at.button if b.label.startswith(label))


def test_one_row_per_run_with_its_columns(page, runs):
    at = page("pages/runs.py", root=runs.ws.root).run()
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == ["Runs"]
    table = at.dataframe[0].value.set_index("run")
    assert list(table.index) == [runs.running.run_id, runs.failed.run_id, runs.finished.run_id]
    assert list(table["state"]) == ["running", "failed", "finished"]
    done = table.loc[runs.finished.run_id]
    assert (done["base model"], done["language"], done["dataset"], done["clips"]) == ("XTTS v2", "en", "data", 4)
    assert (done["steps done"], done["steps planned"], done["duration"]) == (240, 240, "00:10:00")
    assert (done["best loss"], done["best at step"], done["ready/ bundle"]) == (0.5, 240, "ready/")
    assert done["disk used"].endswith("KB") and table.loc[runs.failed.run_id, "ready/ bundle"] == "-"
    assert any("not scored yet" in c.value for c in at.caption)
    for _key, label in labelled_nodes(at):
        assert not CONFIG_KEY.search(label), label


def test_comparing_shows_only_the_settings_that_differ_and_overlays_curves(page, runs):
    at = page("pages/runs.py", root=runs.ws.root).run()
    at.multiselect(key="runs_compare").set_value([runs.finished.run_id, runs.failed.run_id]).run()
    assert not at.exception, at.exception
    table, diff = at.dataframe[0].value, at.dataframe[1].value
    labels = ["Epochs", "Learning rate", FIELD_BY_NAME["output_path"].form_label]
    assert list(diff.index) == labels and list(diff.columns) == [runs.failed.run_id, runs.finished.run_id]
    assert list(diff.loc["Epochs"]) == ["2", "4"] and list(diff.loc["Learning rate"]) == ["1e-05", "5e-06"]
    assert FIELD_BY_NAME["save_step"].form_label not in diff.index  # the same in both compared runs
    assert set(labels) <= set(table.columns) and "Random seed" not in table.columns
    assert any(c.value.startswith("Highlighted: the settings that differ") for c in at.caption)
    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    assert [c["layout"]["title"]["text"] for c in charts] == ["Train loss"]
    assert {t["name"] for t in charts[0]["data"]} == {f"{runs.finished.run_id} · loss", f"{runs.failed.run_id} · loss"}


def test_filter_and_sort(page, runs):
    at = page("pages/runs.py", root=runs.ws.root).run()
    at.multiselect(key="runs_phases").set_value(["finished", "failed"]).run()
    assert list(at.dataframe[0].value["run"]) == [runs.failed.run_id, runs.finished.run_id]
    at.selectbox(key="runs_sort").set_value("best loss").run()
    at.toggle(key="runs_descending").set_value(False).run()
    assert list(at.dataframe[0].value["run"]) == [runs.finished.run_id, runs.failed.run_id]
    assert any(c.value == "2 of 3 runs." for c in at.caption)


def test_delete_refuses_the_running_run_and_deletes_a_finished_one(page, runs):
    at = page("pages/runs.py", root=runs.ws.root).run()
    at.selectbox(key="runs_action_run").set_value(runs.running.run_id).run()
    assert button(at, "Delete this run").disabled and button(at, "Continue this run").disabled
    assert any(f"Run {runs.running.run_id} is running: stop it" in c.value for c in at.caption)
    at.session_state["runs_confirm_delete"] = runs.running.run_id  # as if the button had been pressed
    at.run()
    assert any("a run is never deleted while it trains" in e.value for e in at.error)
    assert runs.running.folder.is_dir() and runs.running.files.record.is_file()

    freed = human_bytes(tree_bytes(runs.finished.folder, runs.finished.output / "ready", runs.finished.files.folder))
    at.selectbox(key="runs_action_run").set_value(runs.finished.run_id).run()
    button(at, "Delete this run").click().run()
    question = at.warning[0].value
    assert question.startswith(f"Delete run {runs.finished.run_id}?") and str(runs.finished.folder) in question
    assert f"It frees about {freed}." in question and freed.endswith("KB")
    assert runs.finished.files.folder.is_dir()  # nothing deleted before "Yes"
    button(at, "Yes, delete run").click().run()
    assert not at.exception, at.exception
    assert [s.value for s in at.success] == [f"Deleted run {runs.finished.run_id}: {freed} freed."]
    assert not runs.finished.folder.exists() and not runs.finished.files.folder.exists()
    assert not (runs.finished.output / "ready").exists()
    assert list(at.dataframe[0].value["run"]) == [runs.running.run_id, runs.failed.run_id]


def test_cancel_deletes_nothing(page, runs):
    at = page("pages/runs.py", root=runs.ws.root).run()
    at.selectbox(key="runs_action_run").set_value(runs.failed.run_id).run()
    button(at, "Delete this run").click().run()
    button(at, "Cancel").click().run()
    assert not at.warning and runs.failed.files.folder.is_dir() and len(list_run_ids(runs.ws)) == 3


def test_continue_starts_the_runs_own_folder_with_its_recorded_settings(page, runs, monkeypatch):
    save_checkpoint(runs.finished.folder / "checkpoint_240.pth", step=240)  # a real, intact checkpoint
    started = []

    real_heavy = common.heavy

    def heavy(target, *args, **kwargs):  # the launch itself is not under test: every other call is real
        if target != "core.runs.launcher:start_run":
            return real_heavy(target, *args, **kwargs)
        ws, config = args
        kwargs.pop("working", None), kwargs.pop("timeout_s", None)
        started.append((config, kwargs))
        return RunRecord("20260101-130000-dddddd", config.output_path, config.to_dict(), [], 1, 1.0, 1.0)

    monkeypatch.setattr(common, "heavy", heavy)
    at = page("pages/runs.py", root=runs.ws.root).run()
    at.selectbox(key="runs_action_run").set_value(runs.failed.run_id).run()
    button(at, "Continue this run").click().run()
    assert any(e.value.startswith(f"Not continued: Run {runs.failed.run_id} has no intact checkpoint") for e in at.error)
    at.selectbox(key="runs_action_run").set_value(runs.finished.run_id).run()
    button(at, "Continue this run").click().run()
    assert not at.exception, at.exception
    [(config, kwargs)] = started
    assert config.to_dict() == json.loads(runs.finished.files.record.read_text())["config"]
    assert kwargs == {"mode": "continue", "resume_from": str(runs.finished.folder), "world_size": 1, "gpus": ()}
    assert any("as run 20260101-130000-dddddd, from checkpoint_240.pth" in s.value for s in at.success)
    assert at.session_state["selected_run_id"] == "20260101-130000-dddddd"


def test_open_in_monitor_and_open_its_checkpoints_through_the_router(page, runs):
    at = page("streamlit_app.py", root=runs.ws.root)
    at.switch_page("pages/runs.py").run()
    assert [t.value for t in at.title] == ["Runs"]
    at.selectbox(key="runs_action_run").set_value(runs.failed.run_id).run()
    button(at, "Open in Monitor").click().run()
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == ["Monitor"]
    assert at.session_state["selected_run_id"] == at.session_state["run_picker"] == runs.failed.run_id
    assert any(f"<strong>{runs.failed.run_id}</strong> — failed" in body for body in html_bodies(at))
    at.switch_page("pages/runs.py").run()
    button(at, "Open its checkpoints").click().run()
    assert [t.value for t in at.title] == ["Checkpoints"] and at.session_state["gal_runs"] == [runs.failed.run_id]


def test_an_empty_workspace_says_where_to_start(page, tmp_path):
    at = page("pages/runs.py", root=Workspace.at(tmp_path / "empty").root).run()
    assert not at.exception, at.exception
    assert [i.value for i in at.info] == ["No runs yet: start one on the Train page."]
