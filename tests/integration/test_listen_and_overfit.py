"""A real demo run with test sentences and the overfitting watch: audio in the events, a real stop.

The run trains on the demo's tones and evaluates on white noise, a set it cannot learn from them:
the train loss falls fast, the eval loss slowly, and the gap between them opens for real within a
few epochs. With `overfit_gap_ratio=0.25` and `stop_on_overfit` the watch stops the run on that
real curve; nothing is mocked. The same run speaks two test sentences after each epoch.
"""
from __future__ import annotations

import io
import json
import signal
import wave
from pathlib import Path

import numpy as np
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from core.base.atomic_io import read_json
from core.checkpoints.files import read_checkpoint_info
from core.monitor.events import RunEventReader
from core.monitor.listening import measured_test_sentences_s, sentence_clips, sentence_steps
from core.monitor.overfit import (EVAL_LOSS_TAG, TRAIN_EPOCH_LOSS_TAG, OverfitRule, detect_overfitting,
                                  overfit_warning_for_run, overfit_warning_in)
from core.monitor.series import ScalarSeries
from core.registry.records import outcome_path, run_files
from core.registry.state import RunPhase, read_run_state
from core.runs.launcher import start_run, wait_until_ended
from core.trainer.demo import SAMPLE_RATE_HZ, demo_config
from core.trainer.ready_export import reference_clip
from core.trainer.dataset import read_dataset
from core.base.workspace import Workspace
from tests.conftest import DEMO_RUN_TIMEOUT_S

MAX_SPEECH_S = 3.0  # the demo's clips are 1.5-3 s; a test sentence is capped at the longest clip


def write_noise_eval_set(folder: Path, train_csv: Path) -> Path:
    """Four clips of white noise with the texts of four training clips."""
    (folder / "wavs").mkdir(parents=True)
    texts = [line.split("|")[1] for line in train_csv.read_text().splitlines()[1:5]]
    rng = np.random.default_rng(3)
    lines = ["audio_file|text|speaker_name"]
    for i, text in enumerate(texts):
        noise = np.clip(rng.standard_normal(int(2.0 * SAMPLE_RATE_HZ)) * 0.3, -1, 1)
        with wave.open(str(folder / "wavs" / f"noise_{i}.wav"), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(SAMPLE_RATE_HZ)
            out.writeframes((noise * 32767).astype("<i2").tobytes())
        lines.append(f"wavs/noise_{i}.wav|{text}|demo_speaker")
    (folder / "metadata_eval.csv").write_text("\n".join(lines) + "\n")
    return folder / "metadata_eval.csv"


def write_small_train_set(folder: Path, train_csv: Path, clips: int = 16) -> Path:
    lines = train_csv.read_text().splitlines()
    rows = [f"{train_csv.parent / line.split('|', 1)[0]}|{line.split('|', 1)[1]}" for line in lines[1:1 + clips]]
    (folder / "metadata_train.csv").write_text("\n".join([lines[0], *rows]) + "\n")
    return folder / "metadata_train.csv"


@pytest.fixture(scope="module")
def watched_run(tmp_path_factory, demo_workspace):
    ws = Workspace.at(tmp_path_factory.mktemp("overfitws"))
    demo = demo_workspace[1]
    data = ws.root / "dataset"
    data.mkdir()
    config = demo_config(ws, demo).with_changes(
        train_csv=str(write_small_train_set(data, demo.train_csv)), eval_csv=str(write_noise_eval_set(data, demo.train_csv)),
        epochs=6, batch_size=4, learning_rate=1e-3, save_step=5000, max_audio_length_s=MAX_SPEECH_S,
        test_sentences_each_epoch=True, overfit_patience_evals=100, overfit_gap_ratio=0.25, stop_on_overfit=True)
    # Started as from a dashboard run in the background (`&` in a script): SIGINT is ignored in what it
    # starts, and the training process must take it back, or no stop would ever save a checkpoint.
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        record = start_run(ws, config, dataset_override=True)  # the noise clips are what the test is about
    finally:
        signal.signal(signal.SIGINT, previous)
    phase = wait_until_ended(ws, record.run_id, DEMO_RUN_TIMEOUT_S)
    state = read_run_state(ws, record.run_id)
    assert state.status.trainer_run_folder, "\n".join(state.last_lines)
    return ws, config, record, phase, state, Path(state.status.trainer_run_folder)


def test_the_test_sentences_reached_the_trainer(watched_run):
    _ws, config, _record, _phase, state, folder = watched_run
    written = json.loads((folder / "config.json").read_text())["test_sentences"]
    eval_texts = [c.text for c in read_dataset(config.eval_csv, "eval_csv").clips]
    voice = reference_clip(read_dataset(config.train_csv, "train_csv"))
    assert written == [{"text": t, "speaker_wav": str(voice), "language": "en"} for t in eval_texts[:2]]
    assert state.status.trainer_settings["test_sentences"] == eval_texts[:2]


def test_logged_audio_decodes_as_tensorboard_reads_it(watched_run):
    *_, folder = watched_run
    acc = EventAccumulator(str(folder), size_guidance={"audio": 0})
    acc.Reload()
    tags = acc.Tags()["audio"]
    assert sorted(tags) == ["TestAudios/0-audio", "TestAudios/1-audio"]
    reader = RunEventReader(folder, max_audio_held_per_tag=1)  # older clips are read again from the file
    reader.refresh()
    assert reader.audio_tags() == sorted(tags)
    for tag in tags:
        expected = [(e.step, e.wall_time, e.sample_rate, e.encoded_audio_string, e.content_type, e.length_frames)
                    for e in acc.Audio(tag)]
        got = [(s.step, s.wall_time_s, s.sample_rate_hz, s.wav_bytes, s.content_type, s.length_frames)
               for s in reader.audio_samples(tag)]
        assert got == expected[::-1] and len(got) >= 2  # newest first, one per epoch
    for clip in sentence_clips(reader).clips:
        assert clip.sample_rate_hz == 24000
        with wave.open(io.BytesIO(clip.wav_bytes)) as w:
            assert w.getframerate() == 24000 and w.getnframes() == clip.length_frames > 0
        # The demo's model never learnt to stop: its sentences run to the cap, not to the GPT's 28 s.
        assert clip.duration_s <= MAX_SPEECH_S + 0.1
    evals = reader.series(EVAL_LOSS_TAG).steps.tolist()
    assert sentence_steps(reader) == evals[::-1]  # after every evaluation, at its step
    assert measured_test_sentences_s(reader) > 0


def test_the_watch_stopped_the_run_where_the_curves_show_it(watched_run):
    ws, config, record, phase, state, folder = watched_run
    assert phase is RunPhase.STOPPED and state.exit_code == 130, state.detail
    status = state.status
    warning = status.overfit_warning
    assert warning is not None and warning.kind == "gap_growing"
    assert status.overfit_stop_step == status.step == warning.detected_step < status.total_steps

    # Judged again from TensorBoard's own reading of the curves: the first evaluation at which the
    # rule holds is the one the run stopped at, and there was no evaluation after it.
    acc = EventAccumulator(str(folder), size_guidance={"scalars": 0})
    acc.Reload()

    def tb_series(tag: str) -> ScalarSeries:
        events = acc.Scalars(tag)
        return ScalarSeries(tag, np.array([e.step for e in events]), np.array([e.value for e in events]),
                            np.array([e.wall_time for e in events]))

    eval_loss, train_loss = tb_series(EVAL_LOSS_TAG), tb_series(TRAIN_EPOCH_LOSS_TAG)
    rule = OverfitRule.from_config(config)
    verdicts = [detect_overfitting(ScalarSeries(EVAL_LOSS_TAG, eval_loss.steps[:k], eval_loss.values[:k],
                                                eval_loss.wall_times_s[:k]), train_loss, rule)
                for k in range(1, len(eval_loss.steps) + 1)]
    assert all(v is None for v in verdicts[:-1]) and verdicts[-1] == warning
    assert eval_loss.values[-1] > train_loss.values[-1]  # a real gap: eval above train
    reader = RunEventReader(folder)
    reader.refresh()
    assert overfit_warning_in(reader, rule) == warning == overfit_warning_for_run(ws, record.run_id)

    outcome = read_json(outcome_path(ws, record.run_id))
    assert outcome["stop_reason"] == "overfitting" and outcome["overfit_started_step"] == warning.started_step
    assert "overfitting" in state.detail and f"step {status.step}" in state.detail
    assert read_json(run_files(ws, record.run_id).stop)["reason"] == "overfitting"


def test_the_overfitting_stop_leaves_a_complete_checkpoint(watched_run):
    *_, state, folder = watched_run
    saved = folder / f"checkpoint_{state.status.step}.pth"
    info = read_checkpoint_info(saved)
    assert info.is_complete and info.step == state.status.step
    assert state.status.last_checkpoint.path == str(saved)
