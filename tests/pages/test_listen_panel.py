"""The Checkpoints page's listening view with AppTest on the shared demo run: a real synthesis job, real samples.

One module fixture clicks Synthesise for two demo checkpoints and waits for the detached job; the
tests then read what the page shows from the samples it left (and clean them up at the end, so
the shared demo workspace looks to other tests as before).
"""
from __future__ import annotations

import shutil
from pathlib import Path
from dataclasses import dataclass

import pytest

from core.jobs.launcher import wait_for_job
from core.jobs.state import JobPhase, job_log_tail
from core.listen.preferences import preferences_file, tally
from core.listen.synthesis import synthesis_jobs, synthesis_state

SENTENCE = "Hello there, how are you today?"


def label(run_id: str, name: str, step: int) -> str:
    return f"{run_id} · {name} · step {step} · complete"


def texts(at) -> str:
    return " | ".join(e.value for group in (at.caption, at.markdown, at.info, at.success, at.error) for e in group)


def audio_count(at) -> int:
    return len(at.get("audio"))


def ask(at, run_id: str, sentence: str = SENTENCE):
    at.multiselect(key="lis_checkpoints").set_value([label(run_id, "checkpoint_100.pth", 100),
                                                     label(run_id, "checkpoint_200.pth", 200)]).run()
    at.text_input(key="lis_sentence").input(sentence).run()
    at.button(key="lis_synthesise").click().run()
    return at


@dataclass
class Compared:
    job_id: str
    phase: JobPhase
    log: str


@pytest.fixture(scope="module")
def compared(demo_run):
    from tests.conftest import PROJECT
    from streamlit.testing.v1 import AppTest

    ws = demo_run.ws
    before = set(synthesis_jobs(ws))
    at = AppTest.from_file(str(PROJECT / "pages/checkpoints.py"), default_timeout=120)
    at.session_state["workspace_root"] = str(ws.root)
    at.run()
    assert at.number_input(key="lis_tokens").value == 24  # the demo model is capped: it never stops talking
    ask(at, demo_run.record.run_id)
    assert not at.exception, at.exception
    started = [j for j in synthesis_jobs(ws) if j not in before]
    assert len(started) == 1 and at.session_state["lis_job"] == started[0]
    params = synthesis_state(ws, started[0]).record.params["request"]
    assert params["checkpoints"] == [str(demo_run.run_folder / "checkpoint_100.pth"),
                                     str(demo_run.run_folder / "checkpoint_200.pth")]
    phase = wait_for_job(ws, started[0], timeout_s=600)
    yield Compared(started[0], phase, "\n".join(job_log_tail(ws, started[0], count=60)))
    shutil.rmtree(ws.samples_dir, ignore_errors=True)
    preferences_file(ws).unlink(missing_ok=True)


def test_the_panel_renders_under_the_gallery(page, demo_run):
    at = page("pages/checkpoints.py", root=demo_run.ws.root).run()
    assert not at.exception, at.exception
    assert "Listen and compare" in [s.value for s in at.subheader]
    options = at.multiselect(key="lis_checkpoints").options
    assert label(demo_run.record.run_id, "checkpoint_100.pth", 100) in options
    assert at.text_input(key="lis_sentence").value  # the first saved test sentence
    assert at.button(key="lis_synthesise").label == "Synthesise"


def test_an_empty_sentence_is_refused_with_a_message_and_starts_no_job(page, demo_run):
    before = synthesis_jobs(demo_run.ws)
    at = ask(page("pages/checkpoints.py", root=demo_run.ws.root).run(), demo_run.record.run_id, sentence="  ")
    assert not at.exception, at.exception
    assert any("is empty" in e.value for e in at.error), [e.value for e in at.error]
    assert synthesis_jobs(demo_run.ws) == before


def test_one_checkpoint_is_not_a_comparison(page, demo_run):
    before = synthesis_jobs(demo_run.ws)
    at = page("pages/checkpoints.py", root=demo_run.ws.root).run()
    at.multiselect(key="lis_checkpoints").set_value([label(demo_run.record.run_id, "checkpoint_100.pth", 100)]).run()
    at.button(key="lis_synthesise").click().run()
    assert any("Pick two to four checkpoints" in e.value for e in at.error), [e.value for e in at.error]
    assert synthesis_jobs(demo_run.ws) == before


def test_synthesise_shows_two_players_with_step_eval_loss_and_scores(page, demo_run, compared):
    assert compared.phase is JobPhase.FINISHED, compared.log
    # A new session (a reload) finds the comparison from the job on disk.
    at = page("pages/checkpoints.py", root=demo_run.ws.root).run()
    assert not at.exception, at.exception
    shown = texts(at)
    assert audio_count(at) == 3  # two checkpoints and the reference clip
    assert "step 100 · checkpoint_100.pth" in shown and "step 200 · checkpoint_200.pth" in shown
    losses = [c.value for c in at.caption if c.value.startswith(("Eval loss ", "No eval loss recorded"))]
    assert len(losses) == 2, losses
    assert "seed 1234" in shown and "at most 24 audio tokens" in shown
    # Scored in the job: a voice similarity, and no CER since the workspace has no Whisper model.
    scores = [c.value for c in at.caption if c.value.startswith("speaker similarity")]
    assert len(scores) == 2 and "Not scored." not in shown, compared.log
    assert all("no CER: no Whisper model" in s and "sanity: " in s for s in scores), scores
    assert f"Recommended for {demo_run.record.run_id}: step " in shown
    assert at.button(key="lis_promote").label == "Promote it to a custom model"


def test_blind_mode_records_a_preference_and_the_tally_shows(page, demo_run, compared):
    ws, run_id = demo_run.ws, demo_run.record.run_id
    at = page("pages/checkpoints.py", root=ws.root).run()
    at.toggle(key="lis_blind").set_value(True).run()
    assert not at.exception, at.exception
    assert audio_count(at) == 2 and "step 100" not in " ".join(m.value for m in at.markdown)  # names hidden
    at.button(key="lis_pick_A").click().run()
    assert not at.exception, at.exception
    reveal = next(s.value for s in at.success if s.value.startswith("Recorded: you preferred"))
    assert "A was step" in reveal and "B was step" in reveal
    wins = tally(ws, run_id)
    assert sorted(wins.values()) == [0, 1]
    assert set(wins) == {str(demo_run.run_folder / "checkpoint_100.pth"), str(demo_run.run_folder / "checkpoint_200.pth")}
    shown = texts(at)
    assert "Won 1 blind test" in shown and "Won 0 blind tests" in shown


def test_picked_dataset_clips_are_the_reference_of_the_job(page, demo_run):
    from core.listen.synthesis import stop_synthesis
    from core.jobs.launcher import wait_for_job

    ws = demo_run.ws
    before = set(synthesis_jobs(ws))
    at = page("pages/checkpoints.py", root=ws.root).run()
    from core.listen.choices import dataset_clips

    refs = at.multiselect(key="lis_refs")
    clips = dataset_clips(demo_run.record.config)  # the demo's training clips, shown by file name
    assert refs.label.startswith("Reference clips") and refs.options == [Path(c).name for c in clips]
    refs.set_value(clips[:2]).run()
    ask(at, demo_run.record.run_id, sentence="Two clips make the voice.")
    assert not at.exception, at.exception
    started = [j for j in synthesis_jobs(ws) if j not in before]
    assert len(started) == 1
    try:
        references = synthesis_state(ws, started[0]).record.params["request"]["references"]
        assert [Path(r).resolve() for r in references] == [Path(c).resolve() for c in clips[:2]]  # several, as XTTS takes
    finally:
        stop_synthesis(ws, started[0])
        wait_for_job(ws, started[0], timeout_s=120)
