"""Listening in a real browser: two demo checkpoints synthesised side by side, one played, a blind pick recorded.

The dashboard runs on the shared finished demo run (conftest's demo_run), so the checkpoints are
real trainer checkpoints and the synthesis job is the real detached one. What the test leaves
in that workspace (samples, preferences) goes at the end, as tests/pages/test_listen_panel.py does.
"""
from __future__ import annotations

import re
import shutil

import pytest

from core.listen.preferences import preferences_file, tally
from tests.e2e.conftest import screenshot, serve, stop

pytestmark = pytest.mark.e2e
SENTENCE = "Two voices, side by side."


@pytest.fixture(scope="module")
def listening_dashboard(demo_run, tmp_path_factory):
    server, url = serve(demo_run.ws.root, tmp_path_factory.mktemp("listen-e2e") / "streamlit.log")
    yield url
    stop(server)
    shutil.rmtree(demo_run.ws.samples_dir, ignore_errors=True)
    preferences_file(demo_run.ws).unlink(missing_ok=True)


def pick(tab, box, file_name: str) -> None:
    """Type into the multiselect to filter its options down to one checkpoint file, then take it."""
    box.locator("input").fill(file_name)
    tab.get_by_role("option", name=file_name).first.click()


def no_exceptions(tab) -> None:
    errors = tab.locator("[data-testid='stException']")
    assert errors.count() == 0, errors.first.inner_text()


def test_two_checkpoints_play_side_by_side_and_a_blind_pick_is_recorded(browser, listening_dashboard, demo_run):
    context = browser.new_context(viewport={"width": 1400, "height": 2000})
    tab = context.new_page()
    tab.set_default_timeout(120_000)
    try:
        tab.goto(f"{listening_dashboard}/checkpoints")
        tab.get_by_role("heading", name="Listen and compare").wait_for()
        box = tab.locator("[data-testid='stMultiSelect']").filter(has_text="Checkpoints to compare")
        pick(tab, box, "checkpoint_100.pth")
        pick(tab, box, "checkpoint_200.pth")
        tab.keyboard.press("Escape")
        sentence = tab.get_by_label("Sentence to synthesise")
        sentence.fill(SENTENCE)
        sentence.press("Enter")
        tab.wait_for_load_state("networkidle")
        tab.get_by_role("button", name="Synthesise").click()
        tab.get_by_text("Synthesising:").first.wait_for()  # the job's progress, while the job runs
        tab.get_by_text("Recommended for").first.wait_for(timeout=600_000)
        no_exceptions(tab)
        assert tab.get_by_text("Synthesis failed").count() == 0, tab.get_by_text("Synthesis failed").inner_text()
        players = tab.locator("audio")
        players.nth(2).wait_for()  # the player is a lazily loaded front-end part: it comes a moment later
        assert players.count() == 3  # the two checkpoints and the reference clip
        assert tab.get_by_text("step 100 · checkpoint_100.pth", exact=True).count() == 1
        assert tab.get_by_text("step 200 · checkpoint_200.pth", exact=True).count() == 1
        assert tab.get_by_text(re.compile(r"^speaker similarity \d")).count() == 2  # one score line per player
        # The browser decodes the served WAV (a duration) and plays it: its clock moves.
        first = players.first
        first.evaluate("a => a.play()")
        tab.wait_for_function("a => a.duration > 0 && (a.currentTime > 0 || a.ended)", arg=first.element_handle())
        screenshot(tab, "listen-side-by-side")

        tab.get_by_text("Blind test (two samples as A and B, names hidden)").click()
        tab.get_by_role("button", name="A is better").wait_for()
        tab.wait_for_load_state("networkidle")
        assert tab.locator("audio").count() == 2 and tab.get_by_text("step 100 · checkpoint_100.pth", exact=True).count() == 0
        screenshot(tab, "listen-blind")
        tab.get_by_role("button", name="A is better").click()
        tab.get_by_text("Recorded: you preferred").wait_for()
        no_exceptions(tab)
        wins = tally(demo_run.ws, demo_run.record.run_id)
        assert sorted(wins.values()) == [0, 1], wins
        screenshot(tab, "listen-blind-picked")
    finally:
        context.close()
