"""Filtering, sorting and the settings that differ, named by their labels."""
from __future__ import annotations

import pytest

from core.base.config import FIELD_BY_NAME
from core.overview.reader import read_rows
from core.overview.rows import RunRow
from core.overview.table import RunFilter, differing_settings, filter_rows, row_json, setting_text, sort_rows
from core.registry.state import RunPhase
from core.base.workspace import Workspace
from tests.overview.fake_runs import three_runs


@pytest.fixture
def rows(tmp_path):
    runs = three_runs(Workspace.at(tmp_path / "ws"))
    return {r.run_id[-6:]: r for r in read_rows(runs.ws)}  # aaaaaa finished, bbbbbb failed, cccccc running


def test_only_the_settings_that_differ_are_listed_with_their_labels(rows):
    finished, failed = rows["aaaaaa"], rows["bbbbbb"]
    diff = differing_settings([finished, failed])
    assert [d.name for d in diff] == ["epochs", "learning_rate", "output_path"]  # the Train form's order
    assert [d.label for d in diff] == ["Epochs", "Learning rate", "Output folder"]
    assert dict(diff[0].values) == {finished.run_id: 4, failed.run_id: 2}
    three = differing_settings(list(rows.values()))
    assert [d.label for d in three] == [FIELD_BY_NAME["save_step"].form_label, "Epochs", "Learning rate",
                                        "Output folder"]
    assert differing_settings([finished]) == [] and differing_settings([finished, finished]) == []


def test_a_setting_an_older_record_lacks_counts_as_its_default(rows):
    finished = rows["aaaaaa"]
    older = RunRow("20250101-000000-000000", RunPhase.FINISHED,
                   config={k: v for k, v in finished.config.items() if k != "seed"})
    assert [d.name for d in differing_settings([finished, older])] == []


def test_sorting_puts_runs_without_the_value_last_either_way(rows):
    listed = list(rows.values())
    assert [r.run_id[-6:] for r in sort_rows(listed, "best loss")] == ["aaaaaa", "bbbbbb", "cccccc"]
    assert [r.run_id[-6:] for r in sort_rows(listed, "best loss", descending=True)] == ["bbbbbb", "aaaaaa", "cccccc"]
    assert [r.run_id[-6:] for r in sort_rows(listed, "steps done", descending=True)] == ["aaaaaa", "bbbbbb", "cccccc"]
    with pytest.raises(ValueError, match="choose one of: started, state"):
        sort_rows(listed, "colour")


def test_filters_by_state_base_language_and_text(rows):
    listed = list(rows.values())
    assert {r.run_id[-6:] for r in filter_rows(listed, RunFilter(phases=frozenset({"failed", "running"})))} == {
        "bbbbbb", "cccccc"}
    assert filter_rows(listed, RunFilter(languages=frozenset({"de"}))) == []
    assert len(filter_rows(listed, RunFilter(base_models=frozenset({"XTTS v2"})))) == 3
    assert [r.run_id[-6:] for r in filter_rows(listed, RunFilter(text="VOICE-B"))] == ["bbbbbb"]


def test_setting_values_read_as_words():
    assert [setting_text(v) for v in (True, False, 5e-06, 4, "", "en")] == ["on", "off", "5e-06", "4", "-", "en"]


def test_the_json_row_keeps_the_status_keys_and_adds_the_columns(rows):
    finished, failed = rows["aaaaaa"], rows["bbbbbb"]
    data = row_json(finished, differing_settings([finished, failed]))
    assert {"run_id", "phase", "exit_code", "detail", "output_path", "step", "total_steps", "train_loss", "eval_loss",
            "trainer_run_folder", "eta_s", "world_size", "gpus"} <= set(data)
    assert data["differing_settings"] == {"epochs": 4, "learning_rate": 5e-06, "output_path": finished.output_path}
    assert (data["dataset_clips"], data["best_loss"], data["best_step"], data["disk_bytes"]) == (
        4, 0.5, 240, finished.disk_bytes)
