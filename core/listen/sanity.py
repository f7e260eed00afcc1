"""Sanity of one sample: is it about as long as its text, mostly speech, and not clipped?

XTTS fails in recognisable ways: it babbles on past the text or stops halfway (duration per
character far from the dataset's), trails long silences, or overdrives its output (clipping).
The yardstick for duration is the run's own training data: the median, over its clips, of the
voiced span (edge silence trimmed, the same way for clips and samples) per character of text.
Silence is judged per 20 ms frame as core.dataset.clip_stats judges it (40 dB below the loudest
frame, never above -60 dBFS); clipping with core.dataset.loudness's level.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from core.dataset.audio import AudioUnreadable, load_mono
from core.dataset.clip_stats import FRAME_S, SILENCE_BELOW_PEAK_DB, SILENCE_FLOOR_DBFS
from core.dataset.loudness import CLIPPED_SHARE, clipped_share
from core.dataset.metadata_csv import read_metadata_csv

# A sample at half or twice the dataset's pace is rushed or dragging past anything a voice does.
RATE_RATIO_LOW, RATE_RATIO_HIGH = 0.5, 2.0
SILENCE_RATIO_LIMIT = 0.5  # more silence than speech
CLIPPED_RATIO_LIMIT = CLIPPED_SHARE  # one sample in a thousand at full scale: an overdriven output
SPEAKING_RATE_MAX_CLIPS = 200  # evenly spread over the CSV: the median settles long before that


@dataclass(frozen=True)
class SpeakingRate:
    seconds_per_char: float  # median over clips of voiced seconds per character of text
    clips: int  # clips it was measured on


@dataclass(frozen=True)
class Sanity:
    duration_s: float
    voiced_s: float  # from the first to the last voiced frame
    seconds_per_char: float | None  # voiced_s per character of text; None for an empty text
    rate_ratio: float | None  # seconds_per_char over the dataset's; None without a dataset rate
    silence_ratio: float  # share of 20 ms frames that are silent
    clipped_ratio: float  # share of samples at full scale
    flags: tuple[str, ...]  # each problem in plain words; empty when the sample looks sane

    @property
    def ok(self) -> bool:
        return not self.flags


def text_chars(text: str) -> int:
    """Characters of `text` with runs of whitespace counted as one space."""
    return len(" ".join(text.split()))


def frame_silence(mono: np.ndarray, rate_hz: int) -> tuple[float, float]:
    """(silence ratio, voiced span in seconds) of a clip, by 20 ms frames against its loudest one."""
    frame = max(1, int(rate_hz * FRAME_S))
    count = mono.size // frame
    if count == 0 or not np.any(mono):
        return 1.0, 0.0
    samples = np.asarray(mono[: count * frame], dtype=np.float64)
    level_db = 10.0 * np.log10(np.mean(samples.reshape(count, frame) ** 2, axis=1) + 1e-20)
    threshold = max(float(level_db.max()) - SILENCE_BELOW_PEAK_DB, SILENCE_FLOOR_DBFS)
    voiced = np.flatnonzero(level_db > threshold)
    if voiced.size == 0:
        return 1.0, 0.0
    return 1.0 - voiced.size / count, (voiced[-1] + 1 - voiced[0]) * frame / rate_hz


def dataset_speaking_rate(train_csv: str | os.PathLike,
                          max_clips: int = SPEAKING_RATE_MAX_CLIPS) -> SpeakingRate | None:
    """The dataset's speaking rate from its metadata CSV and clips; None when no clip can be measured."""
    metadata = read_metadata_csv(train_csv, "train_csv")
    rows = [row for row in metadata.rows if text_chars(row.text)]
    if len(rows) > max_clips:  # evenly spaced, so the same CSV always gives the same rate
        rows = [rows[round(i * (len(rows) - 1) / (max_clips - 1))] for i in range(max_clips)]
    rates = []
    for row in rows:
        try:
            mono, rate = load_mono(metadata.audio_path(row))
        except AudioUnreadable:
            continue  # the dataset check reports these; the rate does without them
        _silence, voiced_s = frame_silence(mono, rate)
        if voiced_s > 0:
            rates.append(voiced_s / text_chars(row.text))
    if not rates:
        return None
    return SpeakingRate(float(np.median(rates)), len(rates))


def check_sample(mono: np.ndarray, rate_hz: int, text: str, speaking_rate: SpeakingRate | None) -> Sanity:
    """Measure a sample and name what looks wrong with it."""
    mono = np.asarray(mono, dtype=np.float32).ravel()
    duration_s = mono.size / rate_hz if rate_hz else 0.0
    silence_ratio, voiced_s = frame_silence(mono, rate_hz)
    clipped_ratio = clipped_share(mono)
    chars = text_chars(text)
    seconds_per_char = voiced_s / chars if chars else None
    rate_ratio = None
    if seconds_per_char is not None and speaking_rate is not None and speaking_rate.seconds_per_char > 0:
        rate_ratio = seconds_per_char / speaking_rate.seconds_per_char
    flags = []
    if voiced_s == 0:
        flags.append("silent: no speech at all")
    elif rate_ratio is not None and rate_ratio > RATE_RATIO_HIGH:
        flags.append(f"{rate_ratio:.1f}x slower than the dataset ({seconds_per_char:.3f} vs "
                     f"{speaking_rate.seconds_per_char:.3f} s per character): babbling or dragging")
    elif rate_ratio is not None and rate_ratio < RATE_RATIO_LOW:
        flags.append(f"{1 / rate_ratio:.1f}x faster than the dataset ({seconds_per_char:.3f} vs "
                     f"{speaking_rate.seconds_per_char:.3f} s per character): words missing or cut short")
    if voiced_s > 0 and silence_ratio > SILENCE_RATIO_LIMIT:
        flags.append(f"{silence_ratio:.0%} silence")
    if clipped_ratio >= CLIPPED_RATIO_LIMIT:
        flags.append(f"{clipped_ratio:.1%} of samples clipped")
    return Sanity(duration_s, voiced_s, seconds_per_char, rate_ratio, silence_ratio, clipped_ratio, tuple(flags))
