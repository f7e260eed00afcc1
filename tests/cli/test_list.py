"""`python -m core.cli list`, as a real subprocess: the Runs page's columns, in words and as JSON."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from core.base.workspace import Workspace
from tests.overview.fake_runs import CLIPS, three_runs

PROJECT = Path(__file__).resolve().parents[2]
STATUS_KEYS = {"run_id", "phase", "exit_code", "detail", "output_path", "step", "total_steps", "train_loss",
               "eval_loss", "trainer_run_folder", "eta_s", "world_size", "gpus"}
NEW_KEYS = {"base_model", "language", "dataset_name", "dataset_csv", "dataset_clips", "dataset_hours", "started_at_s",
            "duration_s", "best_loss", "best_step", "disk_bytes", "trainer_bytes", "ready_bytes", "ready_bundle",
            "ready_bundle_step", "differing_settings", "mode"}


def cli(ws: Workspace, *args: str) -> str:
    result = subprocess.run([sys.executable, "-m", "core.cli", "--workspace", str(ws.root), *args], cwd=PROJECT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return result.stdout


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    return three_runs(Workspace.at(tmp_path_factory.mktemp("cli-list") / "ws"))


def test_list_json_has_the_status_keys_and_the_new_columns(runs):
    listed = json.loads(cli(runs.ws, "--json", "list"))
    after = json.loads(cli(runs.ws, "list", "--json"))  # --json after the command too
    assert [{**r, "duration_s": None} for r in after] == [{**r, "duration_s": None} for r in listed]  # live: to now
    assert [r["run_id"] for r in listed] == [runs.running.run_id, runs.failed.run_id, runs.finished.run_id]
    for row in listed:
        assert STATUS_KEYS | NEW_KEYS <= set(row), set(STATUS_KEYS | NEW_KEYS) - set(row)
    running, failed, finished = listed
    assert [r["phase"] for r in listed] == ["running", "failed", "finished"]
    assert (finished["base_model"], finished["language"], finished["dataset_name"], finished["dataset_clips"]) == (
        "XTTS v2", "en", "data", CLIPS)
    assert finished["dataset_hours"] == pytest.approx(CLIPS * 1.5 / 3600, abs=1e-4)
    assert (finished["step"], finished["total_steps"], finished["best_loss"], finished["best_step"]) == (240, 240, 0.5, 240)
    assert (finished["duration_s"], failed["duration_s"]) == (600.0, 300.0)
    assert finished["disk_bytes"] == finished["trainer_bytes"] + finished["ready_bytes"] > 0
    assert finished["ready_bundle"] == str(runs.finished.output / "ready") and finished["ready_bundle_step"] == 240
    assert failed["ready_bundle"] is None and failed["exit_code"] == 1 and running["best_loss"] is None
    assert (finished["world_size"], finished["gpus"], finished["output_path"]) == (1, [], str(runs.finished.output))
    assert set(finished["differing_settings"]) == {"save_step", "epochs", "learning_rate", "output_path"}
    assert (failed["differing_settings"]["epochs"], running["differing_settings"]["save_step"]) == (2, 500)


def test_list_text_has_one_line_per_run_in_words(runs):
    lines = cli(runs.ws, "list").splitlines()
    assert len(lines) == 3
    finished = next(line for line in lines if line.startswith(runs.finished.run_id))
    for part in ("finished", "step 240/240", "XTTS v2", "en", f"data ({CLIPS} clips, 0.00 h)", "best 0.5000 @ 240",
                 "00:10:00", "ready: ready/", "Epochs=4", "Learning rate=5e-06"):
        assert part in finished, (part, finished)
    assert "running" in lines[0] and "ready: -" in lines[0]


def test_list_of_an_empty_workspace(tmp_path):
    ws = Workspace.at(tmp_path / "ws")
    assert cli(ws, "list").strip() == "no runs"
    assert json.loads(cli(ws, "--json", "list")) == []
