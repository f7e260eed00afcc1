"""The few numbers the dataset check needs from one clip's samples.

Silence is judged per 20 ms frame relative to the clip's loudest frame (40 dB below it, never above
-60 dBFS), so a quiet but clean recording is not called silent and a noisy room's floor is.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from core.dataset.audio import load
from core.dataset.loudness import clipped_share

FRAME_S = 0.02
SILENCE_BELOW_PEAK_DB = 40.0
SILENCE_FLOOR_DBFS = -60.0


@dataclass(frozen=True)
class ClipStats:
    sample_rate_hz: int
    channels: int
    duration_s: float
    leading_silence_s: float
    trailing_silence_s: float
    clipped_fraction: float  # of all samples (every channel)
    rms_dbfs: float


def measure_clip(path: str | os.PathLike) -> ClipStats:
    """Decode the clip and measure it; AudioUnreadable when it cannot be decoded."""
    samples, rate = load(path)
    frames = samples.shape[0]
    duration_s = frames / rate if rate else 0.0
    if samples.size == 0:
        return ClipStats(rate, samples.shape[1], 0.0, 0.0, 0.0, 0.0, -np.inf)
    clipped = clipped_share(samples.ravel())  # every channel: one clipped side is still distortion
    mono = samples.mean(axis=1, dtype=np.float64)
    rms_dbfs = _dbfs(float(np.mean(mono * mono)))
    leading, trailing = _edge_silence_s(mono, rate)
    return ClipStats(rate, samples.shape[1], duration_s, leading, trailing, clipped, rms_dbfs)


def _edge_silence_s(mono: np.ndarray, rate: int) -> tuple[float, float]:
    frame = max(1, int(rate * FRAME_S))
    count = mono.size // frame
    if count == 0:
        return 0.0, 0.0
    power = np.mean(mono[: count * frame].reshape(count, frame) ** 2, axis=1)
    level_db = 10.0 * np.log10(power + 1e-20)
    threshold = max(float(level_db.max()) - SILENCE_BELOW_PEAK_DB, SILENCE_FLOOR_DBFS)
    voiced = np.flatnonzero(level_db > threshold)
    total_s = mono.size / rate
    if voiced.size == 0:
        return total_s, total_s
    leading = voiced[0] * frame / rate
    trailing = total_s - (voiced[-1] + 1) * frame / rate
    return float(leading), float(max(trailing, 0.0))


def _dbfs(mean_square: float) -> float:
    return 10.0 * float(np.log10(mean_square)) if mean_square > 0 else float("-inf")
