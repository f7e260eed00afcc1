"""The sample cache: one WAV and one small JSON per synthesis, filed under the checkpoint's content hash.

    <workspace>/cache/samples/<checkpoint hash>/
        checkpoint.json     the model files this content was asked for under (where it lives)
        <key>.wav           24 kHz mono 16-bit PCM, as XTTS made it
        <key>.json          text, language, references, settings, duration, device; written last

A sample's key hashes everything that decides its audio: the checkpoint's content (not its path:
best_model.pth and its best_model_<step>.pth copy share samples), the vocabulary and text rules
it is read with, the sentence, the language, the references' bytes, the conditioning and sampling
settings, the seed. The JSON is renamed into place after its WAV, so a JSON present means the
sample is whole; lookups need no torch and take about a millisecond. A checkpoint folder whose
files are all gone (deleted, or replaced by other content under the same name) is an orphan:
`clean_orphan_samples` removes it.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.base.atomic_io import read_json, write_json_atomic
from core.listen.fingerprint import CheckpointUnusable, checkpoint_fingerprint
from core.listen.sampling import CONDITIONING, SamplingSettings
from core.base.workspace import Workspace

KEY_VERSION = 1  # bump when synthesis changes what a key's audio is: every older sample is then a miss
OUTPUT_RATE_HZ = 24000  # XTTS's HiFi-GAN output
CHECKPOINT_RECORD = "checkpoint.json"
HASH_DIR_CHARS = 32
YOUNG_FOLDER_S = 60.0  # a folder without checkpoint.json this young is a job's, just made


@dataclass(frozen=True)
class SampleKey:
    checkpoint_hash: str
    text: str
    language: str
    reference_hashes: tuple[str, ...]
    settings: SamplingSettings
    vocab_hash: str = ""  # "" when the vocabulary is found inside the checkpoint's config
    rules_hash: str = ""  # a new language's text rules; "" for XTTS's own languages

    def to_json(self) -> dict[str, Any]:
        return {"checkpoint_hash": self.checkpoint_hash, "text": self.text, "language": self.language,
                "reference_hashes": list(self.reference_hashes), "settings": self.settings.to_json(),
                "vocab_hash": self.vocab_hash, "rules_hash": self.rules_hash}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "SampleKey":
        return cls(str(data["checkpoint_hash"]), str(data["text"]), str(data["language"]),
                   tuple(str(h) for h in data["reference_hashes"]), SamplingSettings.from_json(data["settings"]),
                   str(data.get("vocab_hash", "")), str(data.get("rules_hash", "")))

    @property
    def key_id(self) -> str:
        canonical = json.dumps({"version": KEY_VERSION, "conditioning": CONDITIONING, **self.to_json()},
                               sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True)
class Sample:
    key: SampleKey
    wav_path: Path
    duration_s: float
    sample_rate_hz: int
    references: tuple[str, ...]  # the reference clips' paths when it was made
    synthesis_s: float  # how long the synthesis took (not the model's loading)
    device: str
    created_at_s: float

    @property
    def text(self) -> str:
        return self.key.text

    @property
    def seed(self) -> int:
        return self.key.settings.seed

    @property
    def real_time_factor(self) -> float:
        return self.synthesis_s / self.duration_s if self.duration_s else float("inf")


def checkpoint_dir(ws: Workspace, checkpoint_hash: str) -> Path:
    return ws.samples_dir / checkpoint_hash[:HASH_DIR_CHARS]


def _paths(key: SampleKey, ws: Workspace) -> tuple[Path, Path]:
    folder = checkpoint_dir(ws, key.checkpoint_hash)
    return folder / f"{key.key_id}.wav", folder / f"{key.key_id}.json"


def _sample_from(data: Any, wav: Path) -> Sample | None:
    if not isinstance(data, dict) or not wav.is_file():
        return None
    try:
        return Sample(SampleKey.from_json(data["key"]), wav, float(data["duration_s"]), int(data["sample_rate_hz"]),
                      tuple(str(r) for r in data.get("references", ())), float(data.get("synthesis_s", 0.0)),
                      str(data.get("device", "")), float(data.get("created_at_s", 0.0)))
    except (KeyError, TypeError, ValueError):
        return None  # a sample of another version: a miss, synthesised again


def cached_sample(ws: Workspace, key: SampleKey) -> Sample | None:
    """The cached sample of `key`, or None; reads one small JSON (no torch, no audio decoding)."""
    wav, meta = _paths(key, ws)
    sample = _sample_from(read_json(meta), wav)
    return sample if sample is not None and sample.key == key else None


def sample_by_id(ws: Workspace, checkpoint_hash: str, key_id: str) -> Sample | None:
    """A cached sample by the ids a job's result lists, or None once it is gone."""
    folder = checkpoint_dir(ws, checkpoint_hash)
    sample = _sample_from(read_json(folder / f"{key_id}.json"), folder / f"{key_id}.wav")
    return sample if sample is not None and sample.key.key_id == key_id else None


def remember_checkpoint(ws: Workspace, checkpoint_hash: str, path: str | os.PathLike) -> None:
    """Record that `path` holds this content (its samples stay while any recorded file still does)."""
    record = checkpoint_dir(ws, checkpoint_hash) / CHECKPOINT_RECORD
    data = read_json(record)
    paths = [p for p in (data.get("paths", []) if isinstance(data, dict) else []) if isinstance(p, str)]
    path = str(Path(path).resolve())
    if path not in paths:
        write_json_atomic(record, {"checkpoint_hash": checkpoint_hash, "paths": [*paths, path]})


def save_sample(ws: Workspace, key: SampleKey, wav: np.ndarray, *, references: tuple[str, ...], synthesis_s: float,
                device: str, sample_rate_hz: int = OUTPUT_RATE_HZ) -> Sample:
    """Write a synthesised waveform (float, -1..1) as the sample of `key`: the WAV, then its JSON."""
    samples = np.asarray(wav, dtype=np.float32).reshape(-1)
    if samples.size == 0 or not np.isfinite(samples).all():
        raise ValueError("the model produced no audio or non-finite samples (NaN or infinity): its weights are broken")
    wav_path, meta = _paths(key, ws)
    wav_path.parent.mkdir(parents=True, exist_ok=True)
    temp = wav_path.with_name(f".{wav_path.name}.partial-{os.getpid()}")
    try:
        with wave.open(str(temp), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(sample_rate_hz)
            out.writeframes((np.clip(samples, -1.0, 1.0) * 32767).astype("<i2").tobytes())
        os.replace(temp, wav_path)
    finally:
        temp.unlink(missing_ok=True)
    sample = Sample(key, wav_path, samples.size / sample_rate_hz, sample_rate_hz, tuple(references), synthesis_s,
                    device, time.time())
    write_json_atomic(meta, {"key": key.to_json(), "key_id": key.key_id, "duration_s": sample.duration_s,
                             "sample_rate_hz": sample_rate_hz, "references": list(references),
                             "synthesis_s": synthesis_s, "device": device, "created_at_s": sample.created_at_s})
    return sample


def _samples_in(folder: Path) -> list[Sample]:
    found = []
    for meta in sorted(folder.glob("*.json")):
        if meta.name != CHECKPOINT_RECORD:
            sample = _sample_from(read_json(meta), meta.with_suffix(".wav"))
            if sample is not None:
                found.append(sample)
    return sorted(found, key=lambda s: s.created_at_s)


def list_samples_for(ws: Workspace, checkpoint: str | os.PathLike) -> list[Sample]:
    """Every cached sample of the content now in `checkpoint`, oldest first; [] for a missing or cut file."""
    try:
        fingerprint = checkpoint_fingerprint(checkpoint)
    except CheckpointUnusable:
        return []
    return _samples_in(checkpoint_dir(ws, fingerprint))


@dataclass(frozen=True)
class CleanResult:
    checkpoints_removed: int  # contents whose files are all gone
    samples_removed: int
    bytes_freed: int


def _still_there(paths: list[Any], checkpoint_hash: str) -> bool:
    for path in paths:
        try:
            if isinstance(path, str) and checkpoint_fingerprint(path) == checkpoint_hash:
                return True
        except CheckpointUnusable:
            continue  # gone, or cut off: not this content any more
        except OSError:
            return True  # unreadable now (permissions, a network disk): never a reason to delete samples
    return False


def clean_orphan_samples(ws: Workspace, *, now_s: float | None = None) -> CleanResult:
    """Remove the samples of every checkpoint content no recorded file holds any more."""
    now_s = time.time() if now_s is None else now_s
    removed = samples = freed = 0
    if not ws.samples_dir.is_dir():
        return CleanResult(0, 0, 0)
    for folder in ws.samples_dir.iterdir():
        if not folder.is_dir():
            continue
        data = read_json(folder / CHECKPOINT_RECORD)
        if not isinstance(data, dict):
            if now_s - folder.stat().st_mtime < YOUNG_FOLDER_S:
                continue  # a job made it a moment ago and writes checkpoint.json next
        elif _still_there(data.get("paths", []), str(data.get("checkpoint_hash", ""))):
            continue
        files = [p for p in folder.iterdir() if p.is_file()]
        samples += sum(1 for p in files if p.suffix == ".wav" and not p.name.startswith("."))
        freed += sum(p.stat().st_size for p in files)
        shutil.rmtree(folder, ignore_errors=True)
        removed += 1
    return CleanResult(removed, samples, freed)
