"""Everything checked before a launch: files, datasets, resume points. Nothing is left written here."""
from __future__ import annotations

import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from core.checkpoints.files import checkpoint_looks_complete
from core.trainer.base_model import BaseModelFiles, resolve_base_model
from core.trainer.continuation import ContinuePlan, plan_continue
from core.base.config import RunConfig, validate_config
from core.trainer.dataset import Dataset, read_dataset, steps_per_epoch
from core.trainer.new_language import language_errors
from core.trainer.start_weights import start_vocab_errors
from core.base.devices import list_gpus
from core.base.errors import ConfigInvalid, FieldError

MAX_CPU_RANKS = 16  # CPU ranks are for trying DDP out; each one holds a full copy of the model


@dataclass(frozen=True)
class PreflightResult:
    config: RunConfig  # after adjustments (each one listed in `adjustments`)
    base: BaseModelFiles
    train: Dataset
    eval: Dataset
    steps_per_epoch: int
    total_steps: int
    adjustments: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    world_size: int = 1  # DDP ranks; each trains on its 1/world_size share of the clips per epoch
    gpus: tuple[int, ...] = ()  # GPU index of each rank; empty: CPU (gloo when world_size > 1)
    continuation: ContinuePlan | None = None  # mode "continue": where it resumes, how far it runs

    def trainer_run_name(self, run_id: str) -> str:
        # The trainer names folders to the minute; the run id keeps two runs apart.
        return f"{self.config.run_name}-{run_id}"

    def to_launch_dict(self, run_id: str, mode: str, resume_from: str) -> dict:
        """Everything the training process needs, with paths already resolved."""
        return {
            "run_id": run_id, "mode": mode, "resume_from": resume_from,
            "config": self.config.to_dict(), "trainer_run_name": self.trainer_run_name(run_id),
            "steps_per_epoch": self.steps_per_epoch, "total_steps": self.total_steps,
            "base_is_demo": self.base.is_demo, "adjustments": list(self.adjustments),
            "world_size": self.world_size, "gpus": list(self.gpus),
        }


def _check_output_path(value: str) -> list[FieldError]:
    if not value:
        return [FieldError("output_path", "choose a folder for the run's outputs")]
    path = Path(value).expanduser()
    if path.exists() and not path.is_dir():
        return [FieldError("output_path", f"{path} is a file; choose a folder")]
    probe = path
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir() or not _can_create_files_in(probe):
        return [FieldError("output_path", f"{probe} is not writable; choose a folder you can write to")]
    return []


def _can_create_files_in(folder: Path) -> bool:
    """A real try, not only os.access: root passes the access check on folders where no file can be created
    (/proc, /sys), whose "free space" of 0 bytes would otherwise be blamed by the disk check that follows.
    The probe is an unnamed temporary file (O_TMPFILE where supported), gone when it is closed."""
    if not os.access(folder, os.W_OK | os.X_OK):
        return False
    try:
        with tempfile.TemporaryFile(dir=folder):
            return True
    except OSError:
        return False


def _check_pth(value: str, field_name: str) -> list[FieldError]:
    path = Path(value).expanduser()
    if not path.is_file():
        return [FieldError(field_name, f"{path} does not exist or is not a file")]
    if not checkpoint_looks_complete(path):
        return [FieldError(field_name, f"{path.name} is not a complete PyTorch checkpoint (truncated or another format)")]
    return []


def _check_vocab(value: str) -> list[FieldError]:
    path = Path(value).expanduser()
    if not path.is_file():
        return [FieldError("vocab_path", f"{path} does not exist or is not a file")]
    try:
        from tokenizers import Tokenizer

        Tokenizer.from_file(str(path))
    except Exception as exc:
        return [FieldError("vocab_path", f"{path.name} is not a tokenizer vocab.json ({str(exc)[:120]})")]
    return []


def _collect(errors: list[FieldError], check, field_name: str):
    """Run one check, adding its field errors to `errors` instead of stopping at the first."""
    try:
        return check()
    except ConfigInvalid as exc:
        errors.extend(exc.errors)
    except OSError as exc:
        # A path the OS cannot even look up (a name over 255 bytes, ...) is the user's to fix too.
        errors.append(FieldError(field_name, f"cannot be checked: {exc.strerror or exc}; choose another path"))
    return None


def _field_errors(check, field_name: str) -> list[FieldError]:
    errors: list[FieldError] = []
    found = _collect(errors, check, field_name)
    return errors + (found or [])


def check_ranks(world_size: int, gpus: tuple[int, ...] | list[int]) -> list[FieldError]:
    """Ranks and GPUs: with GPUs, one rank per listed GPU; without, `world_size` ranks on the CPU."""
    if gpus:
        known = {g.index for g in list_gpus()}
        missing = sorted(set(gpus) - known)
        if missing:
            return [FieldError("gpus", f"no GPU with index {', '.join(map(str, missing))}; this machine has "
                                       + (f"GPUs {', '.join(map(str, sorted(known)))}" if known else "no GPU"))]
        if len(set(gpus)) != len(gpus):
            return [FieldError("gpus", "each GPU can be listed once (one rank per GPU)")]
        if world_size not in (1, len(gpus)):
            return [FieldError("world_size", f"is {world_size} but {len(gpus)} GPUs are listed; give one or the other")]
    elif world_size < 1:
        return [FieldError("world_size", f"is {world_size}; give at least 1 rank")]
    return []


def check_cpu_ranks(world_size: int) -> list[FieldError]:
    """Ranks this machine starts on its CPU (torchrun runs across nodes are not capped)."""
    if world_size > MAX_CPU_RANKS:
        return [FieldError("world_size", f"is {world_size}; allowed from 1 to {MAX_CPU_RANKS} ranks on the CPU")]
    return []


def sharded_steps_per_epoch(num_clips: int, batch_size: int, world_size: int) -> int:
    """Steps per epoch of each rank: the DistributedSampler gives every rank ceil(n / world) clips."""
    return steps_per_epoch(math.ceil(num_clips / world_size), batch_size)


def preflight(config: RunConfig, *, mode: str = "new", resume_from: str = "", world_size: int = 1,
              gpus: tuple[int, ...] = ()) -> PreflightResult:
    """Check every file a run needs; raise ConfigInvalid listing each problem with its field."""
    # Ranges again: a RunConfig built in code (not through validate_config) must not launch either.
    config = validate_config(config.to_dict())
    errors: list[FieldError] = _field_errors(lambda: _check_output_path(config.output_path), "output_path")
    base = _collect(errors, lambda: resolve_base_model(config.base_model_dir), "base_model_dir")
    train = _collect(errors, lambda: read_dataset(config.train_csv, "train_csv"), "train_csv")
    evalset = _collect(errors, lambda: read_dataset(config.eval_csv, "eval_csv"), "eval_csv")
    if config.custom_model_path:
        errors += _field_errors(lambda: _check_pth(config.custom_model_path, "custom_model_path"), "custom_model_path")
    if config.vocab_path:
        errors += _field_errors(lambda: _check_vocab(config.vocab_path), "vocab_path")
    if mode == "continue":
        folder = Path(resume_from)

        def continue_errors() -> list[FieldError]:
            if not folder.is_dir() or not any(checkpoint_looks_complete(p) for p in folder.glob("*.pth")):
                return [FieldError("resume_from", f"{folder} holds no intact checkpoint to continue from")]
            return []

        errors += _field_errors(continue_errors, "resume_from")
    elif mode == "restore":
        errors += _field_errors(lambda: _check_pth(resume_from, "resume_from"), "resume_from")
    elif mode != "new":
        errors.append(FieldError("mode", f"unknown launch mode {mode!r}"))
    if base is not None:
        vocab_json = Path(config.vocab_path) if config.vocab_path else base.vocab_json
        errors += language_errors(config, vocab_json)
        start = resume_from if mode == "restore" else config.custom_model_path
        if start and not errors and Path(start).is_file():  # a bad path was named by its own check above
            errors += start_vocab_errors(Path(start), vocab_json, "vocab_path")
    gpus = tuple(gpus)
    errors += check_ranks(world_size, gpus)
    world_size = len(gpus) or world_size
    if errors:
        raise ConfigInvalid(errors)

    adjustments, warnings = [], []
    if config.mixed_precision and not list_gpus():
        config = config.with_changes(mixed_precision=False)
        adjustments.append("mixed_precision turned off: fp16 needs a GPU and none was found")
    spe = sharded_steps_per_epoch(len(train.clips), config.batch_size, world_size)
    total = spe * config.epochs
    continuation = plan_continue(Path(resume_from), steps_per_epoch=spe, epochs=config.epochs) if mode == "continue" else None
    if continuation is not None:
        total = continuation.final_step  # the continued run's own last step: progress never passes 100%
        if continuation.steps_left == 0:
            warnings.append(f"{continuation.resume_file.name} was saved in the last epoch of {config.epochs}: "
                            "raise epochs to train further")
    if config.save_checkpoints and total <= config.save_step:
        warnings.append(f"this run has {total} steps and never reaches save_step={config.save_step}: "
                        "only best-model saves (after each epoch) and a save on stop will happen")
    if not config.save_checkpoints:
        warnings.append("periodic checkpoints are off: only the best model is saved")
    if base.is_demo:
        warnings.append("demo model: it trains for real but produces noise")
    return PreflightResult(config, base, train, evalset, spe, total, tuple(adjustments), tuple(warnings),
                           world_size=world_size, gpus=gpus, continuation=continuation)
