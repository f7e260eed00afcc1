"""A metadata CSV in numbers: its clips and hours of audio, summed once per version of the CSV.

A run row names the dataset it trained on. Counting clips needs the CSV; hours need each clip's
length, read from the audio file's header (a WAV header is 44 bytes; nothing is decoded). Many
runs share one dataset, so `DatasetSummaries` sums each CSV once and again only when its size or
mtime changes. Unlike core.trainer.dataset.read_dataset (which refuses a dataset before a launch),
this never raises: a missing CSV or clip is counted, not an error, since the run is over.
"""
from __future__ import annotations

import csv
import os
import threading
import wave
from dataclasses import dataclass
from pathlib import Path

from core.trainer.dataset import REQUIRED_COLUMNS

_Stamp = tuple[int, int]  # (st_size, st_mtime_ns)


@dataclass(frozen=True)
class DatasetSummary:
    name: str  # the CSV's folder, as datasets are usually a folder with metadata.csv and wavs/
    csv_path: str
    clips: int  # rows with an audio file and a text
    audio_s: float  # total length of the clips whose audio could be read
    unreadable_clips: int  # listed but missing or unreadable, so not in `audio_s`
    readable: bool = True  # False: the CSV itself is missing or not a coqui metadata CSV

    @property
    def hours(self) -> float:
        return self.audio_s / 3600


def audio_seconds(path: Path) -> float | None:
    """A clip's length from its header, or None when it is missing or unreadable."""
    try:
        if path.suffix.lower() == ".wav":
            with wave.open(str(path), "rb") as clip:
                rate = clip.getframerate()
                return clip.getnframes() / rate if rate else None
    except (OSError, EOFError, wave.Error):
        pass  # a WAV that `wave` cannot parse (float PCM, WAVE_FORMAT_EXTENSIBLE): soundfile may
    try:
        import soundfile  # coqui's dependency; imported only for non-WAV or unusual WAV clips

        return float(soundfile.info(str(path)).duration)
    except Exception:  # noqa: BLE001 - soundfile raises its own error types and RuntimeError
        return None


def summarize_dataset(csv_path: str | Path) -> DatasetSummary:
    """Clips and hours of one coqui metadata CSV (audio paths relative to the CSV)."""
    path = Path(csv_path).expanduser()
    name = path.parent.name or path.stem
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle, delimiter="|")
            if any(c not in (reader.fieldnames or []) for c in REQUIRED_COLUMNS):
                return DatasetSummary(name, str(path), 0, 0.0, 0, readable=False)
            rows = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error):
        return DatasetSummary(name, str(path), 0, 0.0, 0, readable=False)
    clips, total_s, unreadable = 0, 0.0, 0
    for row in rows:
        audio, text = (row.get("audio_file") or "").strip(), (row.get("text") or "").strip()
        if not audio or not text:
            continue
        clips += 1
        seconds = audio_seconds(Path(audio) if Path(audio).is_absolute() else path.parent / audio)
        if seconds is None:
            unreadable += 1
        else:
            total_s += seconds
    return DatasetSummary(name, str(path), clips, total_s, unreadable)


def _stamp(path: Path) -> _Stamp | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_size, info.st_mtime_ns


class DatasetSummaries:
    """Summaries by CSV path, recomputed only when the CSV's size or mtime changes; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[_Stamp | None, DatasetSummary]] = {}

    def get(self, csv_path: str) -> DatasetSummary | None:
        """The CSV's summary; None when no CSV is named."""
        if not str(csv_path).strip():
            return None
        stamp = _stamp(Path(csv_path).expanduser())
        with self._lock:
            cached = self._cache.get(csv_path)
            if cached is not None and cached[0] == stamp:
                return cached[1]
        summary = summarize_dataset(csv_path)
        with self._lock:
            self._cache[csv_path] = (stamp, summary)
        return summary
