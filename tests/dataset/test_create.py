"""Making a dataset from recordings, as a real background job, on speech made with espeak-ng."""
from __future__ import annotations

import csv
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile

from core.dataset.create import EVAL_CSV, TRAIN_CSV, CreateRequest
from core.dataset.job import KIND, start_make_dataset
from core.base.errors import ConfigInvalid, LaunchRefused
from core.jobs.files import job_files
from core.jobs.launcher import live_job_for, stop_job, wait_for_job
from core.jobs.state import JobPhase, read_job_state
from core.base.workspace import Workspace
from tests.conftest import wait_for
from tests.dataset.speech import SENTENCES, long_recording, speak, write_srt


def rows(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter="|"))


@pytest.fixture
def recordings(tmp_path) -> Path:
    """Two long recordings with SRT transcripts, and one short one with a plain .txt."""
    folder = tmp_path / "recordings"
    folder.mkdir()
    for name, texts in (("first", SENTENCES), ("second", SENTENCES[::-1])):
        spoken = long_recording(folder / f"{name}.wav", texts)
        write_srt(folder / f"{name}.srt", spoken)
    samples, rate = speak("one more short sentence for the plain text case")
    soundfile.write(str(folder / "third.flac"), samples, rate)
    (folder / "third.txt").write_text("one more short sentence for the plain text case\n")
    return folder


def test_a_folder_of_recordings_becomes_a_coqui_dataset(tmp_path, recordings):
    ws = Workspace.at(tmp_path / "ws")
    out = tmp_path / "datasets" / "voice"
    request = CreateRequest(sources=(str(recordings),), output_dir=str(out), speaker_name="anna", transcribe=False)
    job = start_make_dataset(ws, request)
    assert wait_for_job(ws, job.job_id, 300) == JobPhase.FINISHED, "\n".join(job_files(ws, job.job_id).log.read_text().splitlines()[-20:])
    state = read_job_state(ws, job.job_id)
    assert state.result["clips"] == 9 and state.result["eval_clips"] == 1
    assert state.progress.done == state.progress.total == 3
    train, evaluation = rows(out / TRAIN_CSV), rows(out / EVAL_CSV)
    assert len(train) + len(evaluation) == 9 and len(evaluation) == 1
    texts = sorted(r["text"] for r in train + evaluation)
    assert texts == sorted([*SENTENCES, *SENTENCES, "one more short sentence for the plain text case"])
    for row in train + evaluation:
        assert row["speaker_name"] == "anna"
        info = soundfile.info(str(out / row["audio_file"]))
        assert info.samplerate == 22050 and info.channels == 1 and 1.0 <= info.duration <= 11.0
    # Loudness-normalised: every clip about equally loud.
    import pyloudnorm

    levels = [pyloudnorm.Meter(22050).integrated_loudness(soundfile.read(str(out / r["audio_file"]))[0]) for r in train]
    assert max(levels) - min(levels) < 2.0 and all(-26 < level < -20 for level in levels)
    # Nothing half-made beside it.
    assert sorted(p.name for p in out.parent.iterdir()) == [".voice.job", "voice"]
    # The same recordings always give the same split.
    again = start_make_dataset(ws, CreateRequest(sources=(str(recordings),), output_dir=str(tmp_path / "again"),
                                                 speaker_name="anna", transcribe=False))
    assert wait_for_job(ws, again.job_id, 300) == JobPhase.FINISHED
    assert rows(tmp_path / "again" / EVAL_CSV) == evaluation


def test_an_existing_dataset_is_never_overwritten_without_asking(tmp_path, recordings):
    ws = Workspace.at(tmp_path / "ws")
    out = tmp_path / "voice"
    out.mkdir()
    (out / "metadata_train.csv").write_text("keep me\n")
    request = CreateRequest(sources=(str(recordings / "third.flac"),), output_dir=str(out), transcribe=False)
    with pytest.raises(ConfigInvalid, match="already holds files"):
        start_make_dataset(ws, request)
    assert (out / "metadata_train.csv").read_text() == "keep me\n"
    job = start_make_dataset(ws, CreateRequest(**{**request.__dict__, "replace_existing": True}))
    assert wait_for_job(ws, job.job_id, 300) == JobPhase.FINISHED
    aside = Path(read_job_state(ws, job.job_id).result["previous_moved_to"])
    assert (aside / "metadata_train.csv").read_text() == "keep me\n"
    assert len(rows(out / TRAIN_CSV)) == 1


def test_bad_input_is_refused_with_what_to_fix(tmp_path, recordings):
    ws = Workspace.at(tmp_path / "ws")
    (tmp_path / "empty").mkdir()
    (tmp_path / "zero.wav").write_bytes(b"")
    cases = {
        (): "choose at least one audio file",
        (str(tmp_path / "empty"),): "holds no audio files",
        (str(tmp_path / "zero.wav"),): "is empty (0 bytes)",
        (str(tmp_path / "nowhere"),): "does not exist",
        (str(recordings / "first.srt"),): "not an accepted audio file",
    }
    for sources, message in cases.items():
        with pytest.raises(ConfigInvalid, match=message.replace("(", r"\(").replace(")", r"\)")):
            start_make_dataset(ws, CreateRequest(sources=sources, output_dir=str(tmp_path / "out")))
    with pytest.raises(ConfigInvalid, match="shortest < longest"):
        start_make_dataset(ws, CreateRequest(sources=(str(recordings),), output_dir=str(tmp_path / "out"),
                                             min_clip_s=8, max_clip_s=4))
    assert not (tmp_path / "out").exists() and not any((ws.root / "jobs").glob("*")) if (ws.root / "jobs").exists() else True


def test_a_recording_without_transcript_is_skipped_when_transcription_is_off(tmp_path, recordings):
    ws = Workspace.at(tmp_path / "ws")
    (recordings / "third.txt").unlink()
    request = CreateRequest(sources=(str(recordings / "third.flac"),), output_dir=str(tmp_path / "out"), transcribe=False)
    job = start_make_dataset(ws, request)
    assert wait_for_job(ws, job.job_id, 300) == JobPhase.FAILED
    message = read_job_state(ws, job.job_id).message
    assert "no clips were made" in message and "third.srt or third.txt" in message
    assert not (tmp_path / "out").exists() and [p.name for p in tmp_path.iterdir() if p.name.startswith(".out")] == [".out.job"]


def test_stop_ends_the_job_and_leaves_nothing_half_written(tmp_path, recordings):
    ws = Workspace.at(tmp_path / "ws")
    many = tmp_path / "many"
    many.mkdir()
    for i in range(40):
        shutil.copy(recordings / "first.wav", many / f"take{i:02d}.wav")
        shutil.copy(recordings / "first.srt", many / f"take{i:02d}.srt")
    out = tmp_path / "out"
    job = start_make_dataset(ws, CreateRequest(sources=(str(many),), output_dir=str(out), transcribe=False))
    # A second job on the same folder is refused while the first runs.
    with pytest.raises(LaunchRefused, match="being written by job"):
        start_make_dataset(ws, CreateRequest(sources=(str(many),), output_dir=str(out), transcribe=False))
    # A page reload finds the live job again from disk.
    assert live_job_for(ws, KIND) == job.job_id
    assert wait_for(lambda: read_job_state(ws, job.job_id).progress.done >= 2, 300)
    assert stop_job(ws, job.job_id)
    assert wait_for_job(ws, job.job_id, 120) == JobPhase.STOPPED
    assert not out.exists() and not list(tmp_path.glob(".out.partial-*"))
    assert not stop_job(ws, job.job_id)  # not live any more: never signalled again


def test_recordings_without_transcripts_go_through_whisper(tmp_path, recordings, tiny_whisper):
    """The real faster-whisper path on a tiny random model: the words are noise, the path is the real one."""
    ws = Workspace.at(tmp_path / "ws")
    (recordings / "first.srt").unlink()
    request = CreateRequest(sources=(str(recordings / "first.wav"),), output_dir=str(tmp_path / "out"),
                            transcribe=True, whisper_local_dir=str(tiny_whisper))
    job = start_make_dataset(ws, request)
    phase = wait_for_job(ws, job.job_id, 300)
    log = job_files(ws, job.job_id).log.read_text()
    assert f"Whisper model: {tiny_whisper}" in log and "loading the Whisper model" in log, log[-2000:]
    state = read_job_state(ws, job.job_id)
    if phase == JobPhase.FINISHED:
        assert state.result["clips"] >= 1
        assert all(r["text"].strip() for r in rows(tmp_path / "out" / TRAIN_CSV) + rows(tmp_path / "out" / EVAL_CSV))
    else:  # a random model may hear no words at all: then it says so, and nothing is written
        assert phase == JobPhase.FAILED and "no clips were made" in state.message, state.message
        assert not (tmp_path / "out").exists()


def test_an_offline_machine_without_the_whisper_model_is_told_where_to_put_it(tmp_path, recordings, monkeypatch):

    ws = Workspace.at(tmp_path / "ws")
    (recordings / "third.txt").unlink()
    monkeypatch.setenv("HF_ENDPOINT", "https://hub.invalid")  # the job process never reaches a hub
    request = CreateRequest(sources=(str(recordings / "third.flac"),), output_dir=str(tmp_path / "out"),
                            transcribe=True, whisper_size="tiny")
    job = start_make_dataset(ws, request)
    assert wait_for_job(ws, job.job_id, 300) == JobPhase.FAILED
    message = read_job_state(ws, job.job_id).message
    assert "cannot be downloaded" in message and str(ws.models_dir / "whisper" / "tiny") in message, message
    assert not (tmp_path / "out").exists()


def test_uploads_are_saved_by_base_name_inside_their_folder(tmp_path):
    from core.dataset.create import save_uploads

    folder = save_uploads(tmp_path / "uploads", [("talk.wav", b"RIFF"), ("../../escape.srt", b"1")])
    assert sorted(p.name for p in folder.iterdir()) == ["escape.srt", "talk.wav"]
    assert not (tmp_path / "escape.srt").exists()
