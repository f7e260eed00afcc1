"""A new user in a real browser: recordings in, a dataset made, checked and fixed, then trained on."""
from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect

from tests.dataset.speech import SENTENCES, long_recording, write_srt
from tests.e2e.test_browser import ARTIFACTS, no_exceptions, open_page, shot

pytestmark = pytest.mark.e2e
TYPO = SENTENCES[2].replace("road", "röad")  # a character the demo vocabulary cannot encode


def test_recordings_to_a_dataset_to_a_finished_training_run(tab, dashboard):
    url, workspace = dashboard
    recordings = workspace / "recordings"
    recordings.mkdir(parents=True, exist_ok=True)
    spoken = long_recording(recordings / "talk.wav", SENTENCES)
    spoken[2] = type(spoken[2])(spoken[2].start_s, spoken[2].end_s, TYPO)
    write_srt(recordings / "talk.srt", spoken)
    dataset = workspace / "datasets" / "talk"

    open_page(tab, url, "dataset")
    tab.get_by_role("textbox", name="Recordings: a folder, or audio files, one per line").fill(str(recordings))
    folder = tab.get_by_role("textbox", name="Dataset folder (new)")
    folder.fill(str(dataset))
    folder.press("Enter")
    tab.get_by_text("Transcribe recordings that have no transcript (Whisper)").click()
    tab.wait_for_load_state("networkidle")
    make = tab.get_by_role("button", name="Make dataset")
    expect(make).to_have_count(1)  # the rerun after the last input has replaced the stale page
    make.click()
    tab.get_by_text(re.compile(r"Dataset ready in .*: 4 clips")).wait_for(timeout=240_000)
    no_exceptions(tab)
    shot(tab, "dataset-made")

    # Its report: the typo is an error, and Start would be refused.
    tab.get_by_role("button", name="Check this dataset").click()
    tab.get_by_role("tab", name="Check and fix").click()
    tab.get_by_text(re.compile(r"1 error: training would fail")).wait_for(timeout=120_000)
    shot(tab, "dataset-report")
    transcript = tab.get_by_role("textbox", name="Transcript", exact=True)
    assert transcript.input_value() == TYPO
    transcript.fill(SENTENCES[2])
    transcript.press("Enter")
    tab.wait_for_load_state("networkidle")
    tab.get_by_role("button", name="Save transcript").click()
    tab.get_by_text("No problems found.").wait_for(timeout=120_000)
    assert SENTENCES[2] in (dataset / "metadata_train.csv").read_text() + (dataset / "metadata_eval.csv").read_text()
    no_exceptions(tab)
    shot(tab, "dataset-fixed")

    # Train the demo on it.
    tab.get_by_role("button", name="Use this dataset on the Train page").click()
    tab.get_by_role("heading", name="Train", exact=True).first.wait_for()
    output = tab.get_by_role("textbox", name="Output folder", exact=True)
    output.fill(str(workspace / "outputs" / "talk"))
    output.press("Enter")
    tab.get_by_text(re.compile(r"Dataset check: the trainer keeps 4 of 4 clips")).wait_for(timeout=120_000)
    tab.get_by_role("button", name="Start", exact=True).click()
    started = tab.get_by_text(re.compile(r"Started run \d{8}-\d{6}-\w+"))
    started.wait_for()
    run_id = re.search(r"\d{8}-\d{6}-\w+", started.inner_text()).group(0)
    tab.get_by_text(re.compile(r"finished")).first.wait_for(timeout=300_000)
    record = json.loads((workspace / "runs" / run_id / "record.json").read_text())
    assert record["config"]["train_csv"] == str(dataset / "metadata_train.csv")
    outcome = json.loads((workspace / "runs" / run_id / "outcome.json").read_text())
    assert outcome["exit_code"] == 0
    no_exceptions(tab)
    shot(tab, "dataset-trained")
