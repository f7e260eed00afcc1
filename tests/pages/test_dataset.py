"""The Dataset page with AppTest: make a dataset as a real job, check a dataset, fix a row in place."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from core.dataset.metadata_csv import read_metadata_csv
from core.jobs.launcher import wait_for_job
from core.jobs.state import JobPhase
from core.base.workspace import Workspace
from tests.dataset.speech import long_recording, write_srt


@pytest.fixture
def ws(tmp_path, demo_workspace) -> Workspace:
    ws = Workspace.at(tmp_path / "ws")
    shutil.copytree(demo_workspace[1].base_dir.parent, ws.demo_dir)
    return ws


def broken_copy_of_the_demo(ws: Workspace) -> Path:
    """The demo's training CSV with two bad rows: an unencodable text and a 0-byte clip."""
    folder = ws.root / "datasets" / "broken"
    shutil.copytree(ws.demo_dir / "dataset", folder)
    (folder / "wavs" / "empty.wav").write_bytes(b"")
    csv = folder / "metadata_train.csv"
    lines = csv.read_text().splitlines()
    first_audio = lines[1].split("|")[0]
    lines += [f"{first_audio}|日本語のテキスト|speaker", "wavs/empty.wav|a perfectly good text|speaker"]
    csv.write_text("\n".join(lines) + "\n")
    return csv


def test_the_check_shows_errors_and_a_row_is_fixed_and_excluded(page, ws):
    csv = broken_copy_of_the_demo(ws)
    at = page("pages/dataset.py", root=ws.root)
    at.session_state["ds_check_csv"] = str(csv)
    at.run()
    assert not at.exception, at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Errors"] == "2" and metrics["Clips"] == "122"
    assert any("Start on the Train page is refused" in e.value for e in at.error)
    rows = len(read_metadata_csv(csv).rows)
    unknown_line = rows + 0  # the header is line 1: the last two rows are on lines rows and rows + 1
    at.selectbox(key="ds_fix_line").set_value(unknown_line).run()
    at.text_input(key=f"ds_fix_text_{unknown_line}").set_value("now a text the vocabulary knows").run()
    next(b for b in at.button if b.label == "Save transcript").click().run()
    assert not at.exception, at.exception
    assert "now a text the vocabulary knows" in csv.read_text()
    assert list((csv.parent / ".backups").iterdir())
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Errors"] == "1"
    at.selectbox(key="ds_fix_line").set_value(rows + 1).run()
    next(b for b in at.button if b.label == "Exclude this row").click().run()
    assert {m.label: m.value for m in at.metric}["Errors"] == "0"
    assert "wavs/empty.wav" in (csv.parent / "metadata_train.excluded.csv").read_text()
    assert "wavs/empty.wav" not in csv.read_text()


def test_use_for_training_fills_the_train_form(page, ws):
    at = page("pages/dataset.py", root=ws.root).run()
    next(b for b in at.button if b.label == "Use this dataset on the Train page").click().run()
    assert at.session_state["cfg_train_csv"] == str(ws.demo_dir / "dataset" / "metadata_train.csv")
    assert at.session_state["cfg_eval_csv"] == str(ws.demo_dir / "dataset" / "metadata_eval.csv")


def test_make_a_dataset_from_a_recording_as_a_job(page, ws):
    recordings = ws.root / "recordings"
    recordings.mkdir()
    write_srt(recordings / "talk.srt", long_recording(recordings / "talk.wav"))
    at = page("pages/dataset.py", root=ws.root)
    at.run()
    at.text_area(key="ds_sources").set_value(str(recordings))
    at.text_input(key="ds_output").set_value(str(ws.root / "datasets" / "talk"))
    at.checkbox(key="ds_transcribe").uncheck()
    next(b for b in at.button if b.label == "Make dataset").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    job_id = at.session_state["ds_job_id"]
    assert wait_for_job(ws, job_id, 300) == JobPhase.FINISHED
    # A fresh session (a page reload) finds the job from disk and shows its result.
    again = page("pages/dataset.py", root=ws.root).run()
    assert any("Dataset ready" in s.value and "4 clips" in s.value for s in again.success), [s.value for s in again.success]


def test_bad_input_is_named_and_nothing_starts(page, ws):
    at = page("pages/dataset.py", root=ws.root).run()
    at.text_area(key="ds_sources").set_value(str(ws.root / "no-such-folder"))
    next(b for b in at.button if b.label == "Make dataset").click().run()
    assert any("does not exist" in e.value for e in at.error), [e.value for e in at.error]
    at.text_area(key="ds_sources").set_value("/etc")
    next(b for b in at.button if b.label == "Make dataset").click().run()
    assert any("outside the workspace roots" in e.value for e in at.error), [e.value for e in at.error]
    assert not (ws.root / "jobs").exists() or not any((ws.root / "jobs").iterdir())


def test_the_train_page_refuses_start_on_dataset_errors(page, ws):
    csv = broken_copy_of_the_demo(ws)
    at = page("pages/train.py", root=ws.root)
    at.session_state["cfg_train_csv"] = str(csv)
    at.session_state["cfg_output_path"] = str(ws.root / "outputs" / "refused")
    at.run()
    assert not at.exception, at.exception
    assert any("Dataset check: errors" in e.value and "line" in e.value for e in at.error), [e.value for e in at.error]
    next(b for b in at.button if b.label == "Start").click().run()
    assert any("rows the trainer cannot use" in e.value for e in at.error)
    assert any("Nothing was launched" in e.value for e in at.error)
    assert not (ws.runs_dir.exists() and any(ws.runs_dir.iterdir()))
