"""The guide's ready/ bundle: unoptimize_model.pth, config.json, vocab.json, speakers, reference.wav."""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from core.checkpoints.layout import BEST_MODEL_NAME, READY_MODEL_NAME, periodic_checkpoints, ready_dir
from core.registry.records import run_config
from core.trainer.base_model import BaseModelFiles, resolve_base_model
from core.trainer.dataset import Dataset, read_dataset
from core.workspace import Workspace

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
    target = ready / READY_MODEL_NAME
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


def export_ready_from(ws: Workspace, run_id: str, checkpoint: Path, ready: Path | None = None) -> ReadyBundle:
    """The guide's ready/ bundle from any checkpoint, using the base model and data of its run."""
    config = run_config(ws, run_id)
    base = resolve_base_model(config.base_model_dir)
    train = read_dataset(config.train_csv, "train_csv")
    vocab = Path(config.vocab_path) if config.vocab_path else base.vocab_json
    return export_ready(checkpoint, ready or ready_dir(config.output_path), base, vocab, train)


def final_export_source(run_folder: Path) -> Path | None:
    """What a finished run exports to ready/: best_model.pth, else its newest checkpoint."""
    best = run_folder / BEST_MODEL_NAME
    if best.is_file():
        return best
    checkpoints = periodic_checkpoints(run_folder)
    return checkpoints[-1][1] if checkpoints else None
