"""Loudness normalisation (ITU-R BS.1770, pyloudnorm) and clipping detection for clips."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TARGET_LUFS = -23.0  # EBU R128; leaves headroom, and every clip of a dataset ends up equally loud
PEAK_LIMIT = 0.98
CLIPPED_LEVEL = 0.999
# A handful of samples at full scale is a loud plosive; one in a thousand is a clipped recording.
CLIPPED_SHARE = 0.001
# BS.1770 gating needs at least one 400 ms block.
MIN_MEASURABLE_S = 0.4


@dataclass(frozen=True)
class Normalised:
    samples: np.ndarray
    loudness_lufs: float | None  # before normalisation; None when too short or silent to measure
    gain_db: float
    clipped: bool  # the source already had clipped samples: normalising cannot repair them


def clipped_share(mono: np.ndarray) -> float:
    return float(np.mean(np.abs(mono) >= CLIPPED_LEVEL)) if mono.size else 0.0


def normalise(mono: np.ndarray, rate_hz: int, target_lufs: float = TARGET_LUFS) -> Normalised:
    """Scale a clip to `target_lufs`, lowered where needed so its peak stays below PEAK_LIMIT."""
    clipped = clipped_share(mono) >= CLIPPED_SHARE
    loudness = None
    if mono.size >= MIN_MEASURABLE_S * rate_hz and np.any(mono):
        import pyloudnorm

        measured = pyloudnorm.Meter(rate_hz).integrated_loudness(mono.astype(np.float64))
        loudness = float(measured) if np.isfinite(measured) else None
    gain_db = 0.0 if loudness is None else target_lufs - loudness
    peak = float(np.max(np.abs(mono))) if mono.size else 0.0
    if peak > 0:
        gain_db = min(gain_db, 20 * np.log10(PEAK_LIMIT / peak))
    scaled = (mono * (10 ** (gain_db / 20))).astype(np.float32)
    return Normalised(scaled, loudness, float(gain_db), clipped)
