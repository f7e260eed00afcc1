"""Transcription on a real (tiny, random) Whisper model, and model resolution without internet."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest


from core.dataset import transcribe
from core.dataset.audio import probe, write_wav
from core.dataset.transcribe import (
    SAMPLE_RATE_HZ, Segment, Transcriber, Transcript, WhisperUnavailable, Word, resolve_model,
    whisper_models_dir,
)

ESPEAK = Path("/usr/bin/espeak-ng")
TOLERANCE_S = 0.02  # one Whisper timestamp step


@pytest.fixture(scope="module")
def tiny_model(tiny_whisper) -> Path:
    return tiny_whisper


@pytest.fixture(scope="module")
def transcriber(tiny_model) -> Transcriber:
    return Transcriber(tiny_model, device="cpu")


@pytest.fixture
def offline(monkeypatch):
    """The Hub at a name that never resolves (RFC 2606), so these tests are offline on any machine."""
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "ENDPOINT", "https://hub.invalid")
    monkeypatch.delenv("HTTPS_PROXY", raising=False)
    monkeypatch.delenv("https_proxy", raising=False)


def three_seconds_of_sound() -> np.ndarray:
    t = np.arange(3 * SAMPLE_RATE_HZ) / SAMPLE_RATE_HZ
    noise = np.random.default_rng(0).normal(0.0, 0.05, t.size)
    return (0.3 * np.sin(2 * np.pi * 220.0 * t) + noise).astype(np.float32)


def assert_sane(transcript: Transcript, duration_s: float) -> None:
    assert isinstance(transcript, Transcript) and isinstance(transcript.language, str)
    assert isinstance(transcript.text, str)
    for segment in transcript.segments:
        assert isinstance(segment, Segment) and isinstance(segment.text, str)
        assert 0.0 <= segment.start_s <= segment.end_s <= duration_s + TOLERANCE_S
        for word in segment.words:
            assert isinstance(word, Word) and isinstance(word.text, str)
            assert segment.start_s <= word.start_s <= word.end_s <= segment.end_s


# --- resolving a model ---------------------------------------------------------------------------

def test_a_local_model_folder_is_used_as_it_is(tiny_model):
    assert resolve_model(size="small", models_dir=Path("/nonexistent"), local_dir=str(tiny_model)) == tiny_model


def test_a_local_folder_without_model_bin_is_refused_by_name(tiny_model, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(tiny_model, broken)
    (broken / "model.bin").unlink()
    with pytest.raises(WhisperUnavailable, match="model.bin") as caught:
        resolve_model(size="small", models_dir=tmp_path, local_dir=str(broken))
    assert caught.value.folder == broken


def test_a_local_folder_that_does_not_exist_is_refused(tmp_path):
    with pytest.raises(WhisperUnavailable, match="does not exist"):
        resolve_model(size="small", models_dir=tmp_path, local_dir=str(tmp_path / "nowhere"))


def test_offline_a_missing_model_fails_with_where_to_put_one(tmp_path, offline):
    folder = tmp_path / "whisper" / "tiny"
    with pytest.raises(WhisperUnavailable) as caught:
        resolve_model(size="tiny", models_dir=tmp_path, allow_download=True)
    message = str(caught.value)
    assert caught.value.folder == folder == whisper_models_dir(tmp_path) / "tiny"
    assert str(folder) in message and "no internet" in message
    assert "Place a CTranslate2-converted model" in message and "ct2-transformers-converter" in message
    assert not folder.exists()


def test_a_failed_download_leaves_no_partial_folder(tmp_path, offline, monkeypatch):
    # Past the probe, so faster_whisper.download_model really runs and fails against the Hub.
    monkeypatch.setattr(transcribe, "_hub_reachable", lambda: True)
    with pytest.raises(WhisperUnavailable, match="download failed") as caught:
        resolve_model(size="tiny", models_dir=tmp_path, allow_download=True)
    assert "Place a CTranslate2-converted model" in str(caught.value)
    assert not (tmp_path / "whisper" / "tiny").exists()


def test_without_downloads_the_network_is_not_tried(tmp_path, monkeypatch):
    monkeypatch.setattr(transcribe, "_hub_reachable", pytest.fail)
    with pytest.raises(WhisperUnavailable, match="Place a CTranslate2-converted model") as caught:
        resolve_model(size="tiny", models_dir=tmp_path, allow_download=False)
    assert str(tmp_path / "whisper" / "tiny") in str(caught.value)


def test_a_model_placed_in_the_workspace_is_used_without_network(tiny_model, tmp_path, monkeypatch):
    placed = whisper_models_dir(tmp_path) / "tiny"
    shutil.copytree(tiny_model, placed)
    monkeypatch.setattr(transcribe, "_hub_reachable", pytest.fail)
    assert resolve_model(size="tiny", models_dir=tmp_path, allow_download=True) == placed


def test_an_incomplete_placed_model_is_named_and_left_alone(tiny_model, tmp_path):
    placed = whisper_models_dir(tmp_path) / "base"
    shutil.copytree(tiny_model, placed)
    (placed / "tokenizer.json").unlink()
    with pytest.raises(WhisperUnavailable, match="lacks tokenizer.json"):
        resolve_model(size="base", models_dir=tmp_path, allow_download=False)
    assert (placed / "model.bin").is_file()


def test_an_unknown_size_is_a_programming_error(tmp_path):
    with pytest.raises(ValueError, match="large-v3"):
        resolve_model(size="huge", models_dir=tmp_path)


# --- transcribing --------------------------------------------------------------------------------

def test_the_tiny_model_loads_on_the_cpu_in_int8(transcriber):
    assert (transcriber.device, transcriber.compute_type) == ("cpu", "int8")


def test_a_transcript_has_sane_timestamps_and_is_deterministic(transcriber):
    audio = three_seconds_of_sound()
    first = transcriber.transcribe(audio, "en")
    assert_sane(first, 3.0)
    assert first.language == "en"
    assert first.segments and any(s.words for s in first.segments)  # the random model says something
    assert transcriber.transcribe(audio, "en") == first


def test_a_file_is_transcribed_with_its_language_detected(transcriber, tmp_path):
    from faster_whisper.tokenizer import _LANGUAGE_CODES

    path = tmp_path / "speech.wav"
    if ESPEAK.exists():
        subprocess.run([str(ESPEAK), "-w", str(path), "hello world"], check=True, capture_output=True)
    else:
        write_wav(path, three_seconds_of_sound(), SAMPLE_RATE_HZ)
    transcript = transcriber.transcribe_file(path)
    assert_sane(transcript, probe(path).duration_s)
    assert transcript.language in _LANGUAGE_CODES


def test_a_compute_type_the_user_chose_is_not_silently_replaced(tiny_model):
    # CTranslate2 has no float16 kernels on a CPU; only the default falls back to float32.
    with pytest.raises(ValueError, match="float16"):
        Transcriber(tiny_model, device="cpu", compute_type="float16")
