"""Reading and writing audio for datasets: every format we accept, decoded without system FFmpeg.

soundfile (libsndfile 1.2, bundled in its wheel) decodes wav, flac, ogg and mp3; m4a/aac go through
PyAV, whose wheel bundles FFmpeg's libraries. Neither needs an `ffmpeg` binary on the machine, so
the only message about FFmpeg is for a broken PyAV install.
"""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from math import gcd
from pathlib import Path

import numpy as np

SUPPORTED_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3", ".m4a")
PYAV_SUFFIXES = (".m4a", ".aac", ".mp4")
TRAINING_RATE_HZ = 22050  # XTTS v2's dataset sample rate (GPTTrainer resamples anything else)


class AudioUnreadable(ValueError):
    """A file that cannot be decoded; the message says which file and why, in plain words."""


@dataclass(frozen=True)
class AudioInfo:
    sample_rate_hz: int
    channels: int
    frames: int

    @property
    def duration_s(self) -> float:
        return self.frames / self.sample_rate_hz if self.sample_rate_hz else 0.0


def probe(path: str | os.PathLike) -> AudioInfo:
    """Sample rate, channels and length without decoding the samples (headers only, where possible)."""
    path = Path(path)
    _require_nonempty(path)
    if path.suffix.lower() in PYAV_SUFFIXES:
        samples, rate = _decode_pyav(path)
        return AudioInfo(rate, samples.shape[1], samples.shape[0])
    import soundfile

    try:
        info = soundfile.info(str(path))
    except (RuntimeError, soundfile.LibsndfileError) as exc:
        raise AudioUnreadable(f"{path.name} cannot be decoded ({_reason(exc)})") from None
    return AudioInfo(int(info.samplerate), int(info.channels), int(info.frames))


def load(path: str | os.PathLike) -> tuple[np.ndarray, int]:
    """All samples as float32 of shape (frames, channels), and the sample rate."""
    path = Path(path)
    _require_nonempty(path)
    if path.suffix.lower() in PYAV_SUFFIXES:
        return _decode_pyav(path)
    import soundfile

    try:
        samples, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    except (RuntimeError, soundfile.LibsndfileError) as exc:
        raise AudioUnreadable(f"{path.name} cannot be decoded ({_reason(exc)})") from None
    return samples, int(rate)


def load_mono(path: str | os.PathLike, rate_hz: int | None = None) -> tuple[np.ndarray, int]:
    """Samples averaged to one channel (float32), resampled to `rate_hz` when given."""
    samples, rate = load(path)
    mono = samples.mean(axis=1).astype(np.float32) if samples.size else np.zeros(0, np.float32)
    if rate_hz and rate_hz != rate:
        return resample(mono, rate, rate_hz), rate_hz
    return mono, rate


def resample(mono: np.ndarray, from_hz: int, to_hz: int) -> np.ndarray:
    """Polyphase resampling (scipy): exact rational ratio, no drift over hour-long recordings."""
    if from_hz == to_hz or mono.size == 0:
        return mono.astype(np.float32)
    from scipy.signal import resample_poly

    common = gcd(from_hz, to_hz)
    return resample_poly(mono, to_hz // common, from_hz // common).astype(np.float32)


def write_wav(path: str | os.PathLike, mono: np.ndarray, rate_hz: int) -> None:
    """16-bit PCM WAV, written to a temp file in the same folder and renamed: never half a file."""
    import soundfile

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".wav.tmp", dir=path.parent)
    os.close(fd)
    try:
        soundfile.write(tmp, np.clip(mono, -1.0, 1.0), rate_hz, subtype="PCM_16", format="WAV")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _require_nonempty(path: Path) -> None:
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise AudioUnreadable(f"{path} does not exist") from None
    except OSError as exc:
        raise AudioUnreadable(f"{path} cannot be read ({exc.strerror or exc})") from None
    if size == 0:
        raise AudioUnreadable(f"{path.name} is empty (0 bytes)")


def _decode_pyav(path: Path) -> tuple[np.ndarray, int]:
    try:
        import av
    except ImportError:
        raise AudioUnreadable(f"{path.name}: m4a/aac needs PyAV (`pip install av`, in requirements.txt), "
                              "which brings its own FFmpeg libraries") from None
    try:
        with av.open(str(path)) as container:
            stream = next(s for s in container.streams if s.type == "audio")
            rate = int(stream.rate or stream.codec_context.sample_rate)
            chunks = [frame.to_ndarray() for frame in container.decode(stream)]
    except StopIteration:
        raise AudioUnreadable(f"{path.name} has no audio stream") from None
    except av.error.FFmpegError as exc:  # type: ignore[attr-defined]
        raise AudioUnreadable(f"{path.name} cannot be decoded ({exc})") from None
    if not chunks:
        raise AudioUnreadable(f"{path.name} has no audio frames")
    # Planar frames are (channels, n); packed ones (1, n * channels): normalise to (frames, channels).
    channels = stream.codec_context.channels or 1
    data = np.concatenate([c.reshape(channels, -1) if c.shape[0] != channels else c for c in chunks], axis=1)
    if data.dtype.kind == "i":
        data = data.astype(np.float32) / np.iinfo(data.dtype).max
    return data.T.astype(np.float32), rate


def _reason(exc: Exception) -> str:
    text = str(exc).split(":")[-1].strip() or exc.__class__.__name__
    return text[0].lower() + text[1:] if text else "unknown format"
