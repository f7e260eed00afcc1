"""Speech to text for datasets: faster-whisper (CTranslate2) on a local or downloaded model.

The dashboard often runs on machines without internet, so a model is looked for in this order: a
folder the user chose, the workspace's models/whisper/<size>/, then a download into that folder.
huggingface_hub's client has no connect timeout (and reads its timeout variables only at import),
so a download is tried only after a bounded probe reaches the Hub: offline, resolving fails within
seconds with a message naming the folder to put a converted model in, and no partial folder stays.
faster_whisper is imported inside functions: importing this module stays cheap for the pages.
"""
from __future__ import annotations

import os
import shutil
import socket
import threading
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np

WHISPER_SIZES = ("tiny", "base", "small", "medium", "large-v3")
SAMPLE_RATE_HZ = 16000  # what Whisper's feature extractor expects
HUB_PROBE_TIMEOUT_S = 5.0
# faster-whisper needs tokenizer.json too: without it, it fetches one from the Hub.
REQUIRED_FILES = ("model.bin", "config.json", "tokenizer.json")
VOCABULARY_FILES = ("vocabulary.json", "vocabulary.txt")  # CTranslate2 writes either


class WhisperUnavailable(RuntimeError):
    """No usable Whisper model; the message says where to put one and how to get it."""

    def __init__(self, message: str, folder: Path):
        super().__init__(message)
        self.folder = folder


@dataclass(frozen=True)
class Word:
    start_s: float
    end_s: float
    text: str  # as Whisper wrote it, with its leading space


@dataclass(frozen=True)
class Segment:
    start_s: float
    end_s: float
    text: str
    words: tuple[Word, ...]


@dataclass(frozen=True)
class Transcript:
    language: str
    segments: tuple[Segment, ...]

    @property
    def text(self) -> str:
        return "".join(s.text for s in self.segments).strip()


def whisper_models_dir(models_dir: Path) -> Path:
    """Where downloaded or placed Whisper models live: one folder per size."""
    return Path(models_dir) / "whisper"


def missing_files(folder: Path) -> list[str]:
    """The files a CTranslate2 Whisper model folder lacks (empty when it is complete)."""
    missing = [name for name in REQUIRED_FILES if not (folder / name).is_file()]
    if not any((folder / name).is_file() for name in VOCABULARY_FILES):
        missing.append(" or ".join(VOCABULARY_FILES))
    return missing


def resolve_model(*, size: str, models_dir: Path, local_dir: str = "", allow_download: bool = True) -> Path:
    """The folder of a usable model: `local_dir` if given, else models/whisper/<size>, downloaded if need be."""
    if local_dir:
        folder = Path(local_dir).expanduser()
        if not folder.is_dir():
            raise WhisperUnavailable(f"The Whisper model folder {folder} does not exist.", folder)
        if missing := missing_files(folder):
            raise WhisperUnavailable(
                f"{folder} is not a CTranslate2-converted Whisper model: it lacks {', '.join(missing)}.", folder)
        return folder
    if size not in WHISPER_SIZES:
        raise ValueError(f"unknown Whisper size {size!r} (one of {', '.join(WHISPER_SIZES)})")
    folder = whisper_models_dir(models_dir) / size
    if folder.is_dir() and not missing_files(folder):
        return folder
    if not allow_download:
        raise WhisperUnavailable(_not_here(size, folder, "downloads are switched off"), folder)
    if not _hub_reachable():
        raise WhisperUnavailable(_not_here(size, folder, "no internet"), folder)
    existed = folder.exists()
    try:
        from faster_whisper import download_model

        download_model(size, output_dir=str(folder))
        if missing := missing_files(folder):
            raise RuntimeError(f"the download lacks {', '.join(missing)}")
    except Exception as exc:  # offline, DNS, HTTP, disk full: all end the same way for the user
        if not existed:  # a folder the user made is theirs; ours goes, so no half model stays
            shutil.rmtree(folder, ignore_errors=True)
        raise WhisperUnavailable(_not_here(size, folder, f"download failed: {_first_line(exc)}"), folder) from exc
    return folder


def _not_here(size: str, folder: Path, why: str) -> str:
    lacks = f" (its folder lacks {', '.join(missing_files(folder))})" if folder.is_dir() else ""
    return (f"Whisper model '{size}' is not on this machine{lacks} and cannot be downloaded ({why}). "
            f"Place a CTranslate2-converted model (model.bin, config.json, tokenizer.json, vocabulary.json) "
            f"in {folder}, e.g. converted with `ct2-transformers-converter --model openai/whisper-{size} "
            f"--output_dir {folder} --copy_files tokenizer.json preprocessor_config.json` on a machine with "
            f"internet, or choose a local model folder.")


def _first_line(exc: Exception) -> str:
    # huggingface_hub's errors run to several lines of advice that the message replaces.
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _hub_reachable(timeout_s: float = HUB_PROBE_TIMEOUT_S) -> bool:
    """True when a TCP connection to the Hub (or the proxy in between) opens within `timeout_s`."""
    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:
        return False
    hub = urlsplit(constants.ENDPOINT)
    proxy = urllib.request.getproxies().get(hub.scheme, "")
    if proxy and not urllib.request.proxy_bypass(hub.hostname or ""):
        target = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
    else:
        target = hub
    host, port = target.hostname, target.port or (443 if target.scheme == "https" else 80)
    reached = threading.Event()

    def connect() -> None:
        try:
            socket.create_connection((host, port), timeout=timeout_s).close()
            reached.set()
        except OSError:
            pass

    # Name resolution has no timeout of its own: wait for the thread (which ends at once when
    # resolving fails), not for getaddrinfo, which a daemon thread may finish alone.
    probe = threading.Thread(target=connect, name="hub-probe", daemon=True)
    probe.start()
    probe.join(timeout_s)
    return reached.is_set()


class Transcriber:
    """One loaded model; `transcribe` is deterministic (greedy decoding at temperature 0)."""

    def __init__(self, model_dir: Path, *, device: str = "auto", compute_type: str = "default"):
        import ctranslate2
        from faster_whisper import WhisperModel

        self.model_dir = Path(model_dir)
        if device == "auto":
            device = "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
        wanted = compute_type if compute_type != "default" else ("float16" if device == "cuda" else "int8")
        try:
            self._model = WhisperModel(str(model_dir), device=device, compute_type=wanted)
        except ValueError as exc:
            # Some CPUs/GPUs refuse int8 or float16 kernels; float32 always works, only slower.
            if compute_type != "default" or "compute type" not in str(exc):
                raise
            wanted = "float32"
            self._model = WhisperModel(str(model_dir), device=device, compute_type=wanted)
        self.device, self.compute_type = device, wanted

    def transcribe(self, mono_16k: np.ndarray, language: str | None) -> Transcript:
        """Segments and word timings of 16 kHz mono samples; `language=None` detects it."""
        audio = np.asarray(mono_16k, dtype=np.float32)
        duration_s = len(audio) / SAMPLE_RATE_HZ
        segments, info = self._model.transcribe(
            audio, language=language or None, task="transcribe", beam_size=1, best_of=1,
            temperature=0.0, word_timestamps=True, vad_filter=False,
            condition_on_previous_text=False,  # each window alone: no repetition loops carried over
        )
        return Transcript(info.language, tuple(_segment(s, duration_s) for s in segments))

    def transcribe_file(self, path: str | os.PathLike, language: str | None = None) -> Transcript:
        from core.dataset.audio import load_mono

        mono, _rate = load_mono(path, SAMPLE_RATE_HZ)
        return self.transcribe(mono, language)


def _segment(segment, duration_s: float) -> Segment:
    # Timestamps index a 30 s window padded with silence, so the last ones can point past the
    # audio: clamp segments to the audio and words to their segment.
    start = _clamp(segment.start, 0.0, duration_s)
    end = _clamp(segment.end, start, duration_s)
    words = []
    for word in segment.words or ():
        word_start = _clamp(word.start, start, end)
        words.append(Word(word_start, _clamp(word.end, word_start, end), word.word))
    return Segment(start, end, segment.text, tuple(words))


def _clamp(value: float, low: float, high: float) -> float:
    return min(max(float(value), low), high)
