"""The guide's ready/ bundle: unoptimize_model.pth, config.json, vocab.json, speakers, reference.wav."""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from core.base_model import BaseModelFiles
from core.dataset import Dataset

COPY_CHUNK_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class ReadyBundle:
    folder: Path
    files: tuple[Path, ...]


def copy_file_atomic(src: Path, dst: Path) -> None:
    """Copy to a temp name beside `dst`, fsync, then rename: `dst` is never half-written."""
    tmp = dst.with_name(f".{dst.name}.partial-{os.getpid()}")
    try:
        with open(src, "rb") as fin, open(tmp, "wb") as fout:
            shutil.copyfileobj(fin, fout, COPY_CHUNK_BYTES)
            fout.flush()
            os.fsync(fout.fileno())
        os.replace(tmp, dst)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def reference_clip(train: Dataset) -> Path:
    """The training clip with the longest transcript, as the original system picked it."""
    return max(train.clips, key=lambda clip: len(clip.text)).audio_file


def write_ready_config(base: BaseModelFiles, dst: Path) -> None:
    """An XttsConfig for inference, built from the base config (the demo's is minimal)."""
    from TTS.tts.configs.xtts_config import XttsConfig

    config = XttsConfig()
    config.load_json(str(base.config_json))
    tmp = dst.with_name(f".{dst.name}.partial-{os.getpid()}")
    config.save_json(str(tmp))
    os.replace(tmp, dst)


def export_ready(checkpoint: Path, ready: Path, base: BaseModelFiles, vocab_json: Path, train: Dataset) -> ReadyBundle:
    """Write the ready/ bundle from any checkpoint (the best model at the end of a run)."""
    ready.mkdir(parents=True, exist_ok=True)
    files = []
    target = ready / "unoptimize_model.pth"
    copy_file_atomic(checkpoint, target)
    files.append(target)
    write_ready_config(base, ready / "config.json")
    files.append(ready / "config.json")
    copy_file_atomic(vocab_json, ready / "vocab.json")
    files.append(ready / "vocab.json")
    if base.speakers_pth:
        copy_file_atomic(base.speakers_pth, ready / "speakers_xtts.pth")
        files.append(ready / "speakers_xtts.pth")
    copy_file_atomic(reference_clip(train), ready / "reference.wav")
    files.append(ready / "reference.wav")
    return ReadyBundle(ready, tuple(files))
