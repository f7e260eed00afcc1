"""Sanity flags on espeak-ng speech measured against a small dataset's speaking rate."""
from __future__ import annotations

import numpy as np
import pytest
import soundfile

from core.listen.sanity import Sanity, SpeakingRate, check_sample, dataset_speaking_rate, frame_silence, text_chars
from tests.dataset.speech import SENTENCES, speak

EXTRA = "a cold wind blows across the open field at night and the stars come out"


@pytest.fixture(scope="module")
def dataset_csv(tmp_path_factory):
    """Three espeak clips (with espeak's own edge silence) in a coqui metadata CSV, and one unreadable row."""
    folder = tmp_path_factory.mktemp("dataset")
    (folder / "wavs").mkdir()
    lines = ["audio_file|text|speaker_name"]
    for i, text in enumerate(SENTENCES[:3]):
        samples, rate = speak(text)
        soundfile.write(str(folder / "wavs" / f"{i}.wav"), samples, rate)
        lines.append(f"wavs/{i}.wav|{text.capitalize()}.|espeak")
    (folder / "wavs" / "empty.wav").write_bytes(b"")
    lines.append("wavs/empty.wav|An unreadable clip.|espeak")
    lines.append("wavs/0.wav||espeak")  # no text: no rate
    (folder / "metadata_train.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder / "metadata_train.csv"


@pytest.fixture(scope="module")
def rate(dataset_csv) -> SpeakingRate:
    return dataset_speaking_rate(dataset_csv)


def test_dataset_speaking_rate_is_the_median_over_readable_clips(dataset_csv, rate):
    assert rate.clips == 3
    assert 0.04 < rate.seconds_per_char < 0.1  # espeak at 150 words a minute: about 0.065 s per character
    # Capped, rows are taken evenly spaced: here the first and the last (the unreadable one).
    assert dataset_speaking_rate(dataset_csv, max_clips=2).clips == 1


def test_a_sentence_at_the_datasets_pace_is_sane(rate):
    samples, sr = speak(EXTRA)
    sanity = check_sample(samples, sr, EXTRA, rate)
    assert isinstance(sanity, Sanity) and sanity.ok, sanity.flags
    assert 0.7 < sanity.rate_ratio < 1.4
    assert sanity.seconds_per_char == pytest.approx(sanity.voiced_s / text_chars(EXTRA))
    assert sanity.duration_s == pytest.approx(samples.size / sr)
    assert sanity.clipped_ratio == 0.0 and sanity.silence_ratio < 0.5


def test_babbling_on_and_stopping_halfway_are_flagged(rate):
    samples, sr = speak(EXTRA)
    babbling = check_sample(np.concatenate([samples] * 3), sr, EXTRA, rate)
    assert babbling.rate_ratio > 2 and "slower than the dataset" in babbling.flags[0]
    cut = check_sample(samples[: samples.size // 3], sr, EXTRA, rate)
    assert cut.rate_ratio < 0.5 and "faster than the dataset" in cut.flags[0]


def test_long_silence_and_clipping_are_flagged(rate):
    samples, sr = speak(EXTRA)
    pad = np.zeros(samples.size, np.float32)
    padded = check_sample(np.concatenate([pad, samples, pad]), sr, EXTRA, rate)
    assert padded.silence_ratio > 0.6 and padded.flags == (f"{padded.silence_ratio:.0%} silence",)
    assert 0.7 < padded.rate_ratio < 1.4  # edge silence is not counted as slow speech
    loud = check_sample(np.clip(samples * 30, -1, 1), sr, EXTRA, rate)
    assert loud.clipped_ratio > 0.01 and loud.flags[-1] == f"{loud.clipped_ratio:.1%} of samples clipped"


def test_silence_empty_text_and_no_dataset_rate(rate):
    silent = check_sample(np.zeros(22050, np.float32), 22050, EXTRA, rate)
    assert silent.flags == ("silent: no speech at all",) and silent.voiced_s == 0.0
    samples, sr = speak(EXTRA)
    assert check_sample(samples, sr, "  ", rate).seconds_per_char is None
    unrated = check_sample(samples, sr, EXTRA, None)
    assert unrated.rate_ratio is None and unrated.ok
    assert frame_silence(np.zeros(0, np.float32), 22050) == (1.0, 0.0)
