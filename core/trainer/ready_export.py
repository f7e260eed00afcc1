"""The guide's ready/ bundle: unoptimize_model.pth, config.json, vocab.json, speakers, reference.wav.

A bundle already in the folder is never overwritten: it moves to ready/previous/<time>/ first
(core.checkpoints.ready_bundles), and the new one gets a manifest.json saying where it came from.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from core.base.atomic_io import write_json_atomic
from core.checkpoints.files import read_checkpoint_info
from core.checkpoints.layout import BEST_MODEL_NAME, READY_MODEL_NAME, periodic_checkpoints, ready_dir
from core.checkpoints.ready_bundles import manifest_for, set_aside_bundle, write_manifest
from core.checkpoints.targets import refuse_trainer_area
from core.registry.records import run_config
from core.trainer.base_model import BaseModelFiles, resolve_base_model
from core.language.normalise import TextRules, rules_to_json
from core.trainer.dataset import Dataset, read_dataset
from core.trainer.new_language import text_rules
from core.base.workspace import Workspace

COPY_CHUNK_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class ReadyBundle:
    folder: Path
    files: tuple[Path, ...]  # the bundle's model and data files (not the manifest)
    manifest: Path | None = None
    previous: Path | None = None  # where the bundle it replaced was moved (ready/previous/<time>/)


def _staging_path(dst: Path) -> Path:
    # Hidden: listings skip it, and moving a bundle aside leaves it where it is.
    return dst.with_name(f".{dst.name}.partial-{os.getpid()}")


def _copy_hashed(src: Path, dst: Path) -> str:
    """Copy src to dst (fsynced) and return the sha256 of the bytes, computed in the same pass."""
    digest = hashlib.sha256()
    with open(src, "rb") as fin, open(dst, "wb") as fout:
        while chunk := fin.read(COPY_CHUNK_BYTES):
            digest.update(chunk)
            fout.write(chunk)
        fout.flush()
        os.fsync(fout.fileno())
    return digest.hexdigest()


def copy_file_atomic(src: Path, dst: Path) -> str:
    """Copy to a temp name beside `dst`, fsync, then rename: `dst` is never half-written. Returns its sha256."""
    tmp = _staging_path(dst)
    try:
        sha256 = _copy_hashed(src, tmp)
        os.replace(tmp, dst)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return sha256


def reference_clip(train: Dataset) -> Path:
    """The training clip with the longest transcript, as the original system picked it."""
    return max(train.clips, key=lambda clip: len(clip.text)).audio_file


TEXT_RULES_NAME = "text_rules.json"


def write_ready_config(base: BaseModelFiles, dst: Path, language: str = "") -> None:
    """An XttsConfig for inference, built from the base config (the demo's is minimal).

    The run's language joins the config's language list: coqui's inference refuses any other.
    """
    from TTS.tts.configs.xtts_config import XttsConfig

    config = XttsConfig()
    config.load_json(str(base.config_json))
    if language and language not in config.languages:
        config.languages = [*config.languages, language]
    tmp = dst.with_name(f".{dst.name}.partial-{os.getpid()}")
    config.save_json(str(tmp))
    os.replace(tmp, dst)


def export_ready(checkpoint: Path, ready: Path, base: BaseModelFiles, vocab_json: Path, train: Dataset,
                 *, run_id: str | None = None, language: str = "", rules: TextRules | None = None) -> ReadyBundle:
    """Write the ready/ bundle from any checkpoint (the best model at the end of a run).

    A bundle already in `ready` is moved to ready/previous/<time>/ first, so no model is
    overwritten and no model.pth of an older checkpoint stays beside the new unoptimize_model.pth.
    """
    ready.mkdir(parents=True, exist_ok=True)
    target = ready / READY_MODEL_NAME
    staged = _staging_path(target)
    try:
        # The big copy first, under a hidden name: if it fails, the old bundle is still whole in ready/.
        sha256 = _copy_hashed(checkpoint, staged)
        previous = set_aside_bundle(ready)
        os.replace(staged, target)
    finally:
        staged.unlink(missing_ok=True)
    files = [target]
    write_ready_config(base, ready / "config.json", language)
    files.append(ready / "config.json")
    if rules is not None:  # a new language: inference must normalise text exactly as training did
        write_json_atomic(ready / TEXT_RULES_NAME, rules_to_json(rules))
        files.append(ready / TEXT_RULES_NAME)
    copy_file_atomic(vocab_json, ready / "vocab.json")
    files.append(ready / "vocab.json")
    if base.speakers_pth:
        copy_file_atomic(base.speakers_pth, ready / "speakers_xtts.pth")
        files.append(ready / "speakers_xtts.pth")
    copy_file_atomic(reference_clip(train), ready / "reference.wav")
    files.append(ready / "reference.wav")
    # Metadata from our copy, not the source: a live trainer may have replaced best_model.pth since.
    manifest = manifest_for(read_checkpoint_info(target), source=checkpoint.resolve(), sha256=sha256,
                            files=tuple(p.name for p in files), run_id=run_id)
    return ReadyBundle(ready, tuple(files), write_manifest(ready, manifest), previous)


def export_ready_from(ws: Workspace, run_id: str, checkpoint: Path, ready: Path | None = None) -> ReadyBundle:
    """The guide's ready/ bundle from any checkpoint, using the base model and data of its run.

    A chosen folder inside the trainer's run folders is refused (TrainerFolderTargetError).
    """
    if ready is not None:
        refuse_trainer_area(Path(ready) / READY_MODEL_NAME)
    config = run_config(ws, run_id)
    base = resolve_base_model(config.base_model_dir)
    train = read_dataset(config.train_csv, "train_csv")
    vocab = Path(config.vocab_path) if config.vocab_path else base.vocab_json
    return export_ready(checkpoint, ready or ready_dir(config.output_path), base, vocab, train, run_id=run_id,
                        language=config.language, rules=text_rules(config))


def final_export_source(run_folder: Path) -> Path | None:
    """What a finished run exports to ready/: best_model.pth, else its newest checkpoint."""
    best = run_folder / BEST_MODEL_NAME
    if best.is_file():
        return best
    checkpoints = periodic_checkpoints(run_folder)
    return checkpoints[-1][1] if checkpoints else None
