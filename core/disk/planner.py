"""`plan_run`: the one entry point of disk planning. The Train page, the Disk page, the launch
check (core.disk.preflight) and the CLI (`python -m core.disk`) all call it.

Joins the pieces: checkpoint sizes from the architecture (core.disk.checkpoint_size) or from real
checkpoints already in the output folder, the ready/ files, the base model's files, and the
trainer's save sequence (core.disk.simulation, core.disk.plan).
"""
from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from core.checkpoints.files import checkpoint_looks_complete
from core.checkpoints.layout import (INCOMPLETE_DIR, MANIFEST_NAME, best_model_files, incomplete_dir,
                                     periodic_checkpoints, trainer_run_folders)
from core.checkpoints.ready_bundles import ready_folder_bytes
from core.base.config import SAMPLE_RATE_HZ, RunConfig
from core.disk.checkpoint_size import XTTS_V2_SPEC, ArchitectureSpec, CheckpointSizes, estimate_checkpoint_sizes, spec_from_base
from core.disk.plan import DiskInputs, DiskPlan, plan_disk
from core.disk.simulation import FileSizes, SaveSchedule
from core.trainer.base_model import BaseModelFiles
from core.trainer.continuation import ContinuePlan
from core.trainer.preflight import PreflightResult
from core.trainer.dataset import Dataset
from core.trainer.ready_export import reference_clip, write_ready_config

# Approximate sizes of coqui's published XTTS v2 files, for planning before they are downloaded.
XTTS_V2_PUBLISHED_FILES = (("model.pth", 1_870_000_000), ("dvae.pth", 211_000_000),
                           ("speakers_xtts.pth", 7_750_000), ("vocab.json", 361_000),
                           ("config.json", 4_400), ("mel_stats.pth", 1_100))
READY_CONFIG_BYTES_GUESS = 4_500  # ready/config.json when the base config cannot be rendered
READY_MANIFEST_BYTES = 1_000  # ready/manifest.json: paths, hashes, a few numbers (560-830 bytes for typical paths)


@dataclass(frozen=True)
class MeasuredCheckpoints:
    """Sizes of real, complete model files found in an output folder's trainer run folders."""
    run_folder: Path
    checkpoint_bytes: int | None  # largest complete checkpoint_<step>.pth
    best_copy_bytes: int | None  # largest complete best_model*.pth


def measure_checkpoints(output_path: str | Path) -> MeasuredCheckpoints | None:
    """The newest trainer run folder under <output>/run/training holding complete model files."""
    for folder in trainer_run_folders(output_path):
        sizes: dict[str, int] = {}
        candidates = (("checkpoint", [path for _, path in periodic_checkpoints(folder)]),
                      ("best", best_model_files(folder)))
        for kind, paths in candidates:
            for path in paths:
                try:
                    if checkpoint_looks_complete(path):
                        sizes[kind] = max(sizes.get(kind, 0), path.stat().st_size)
                except FileNotFoundError:
                    continue  # pruned by a live trainer while we looked
        if sizes:
            return MeasuredCheckpoints(folder, sizes.get("checkpoint"), sizes.get("best"))
    return None


def ready_small_files(base: BaseModelFiles | None, config: RunConfig, train: Dataset | None) -> tuple[tuple[str, int], ...]:
    """config.json, vocab.json, speakers_xtts.pth and reference.wav as the ready/ export writes them."""
    published = dict(XTTS_V2_PUBLISHED_FILES)
    vocab = Path(config.vocab_path) if config.vocab_path else base.vocab_json if base else None
    files = [("config.json", _ready_config_bytes(base)),
             ("vocab.json", vocab.stat().st_size if vocab else published["vocab.json"])]
    if base is None or base.speakers_pth:
        files.append(("speakers_xtts.pth", base.speakers_pth.stat().st_size if base else published["speakers_xtts.pth"]))
    # Without a dataset, the longest allowed clip as 16-bit mono WAV.
    reference = reference_clip(train).stat().st_size if train else 44 + 2 * int(config.max_audio_length_s * SAMPLE_RATE_HZ)
    files.append(("reference.wav", reference))
    files.append((MANIFEST_NAME, READY_MANIFEST_BYTES))
    return tuple(files)


def _ready_config_bytes(base: BaseModelFiles | None) -> int:
    if base is None:
        return READY_CONFIG_BYTES_GUESS
    with tempfile.TemporaryDirectory(prefix="diskplan-") as tmp:
        write_ready_config(base, Path(tmp) / "config.json")
        return (Path(tmp) / "config.json").stat().st_size


def base_model_files(base: BaseModelFiles | None) -> tuple[tuple[str, int], ...]:
    if base is None:
        return XTTS_V2_PUBLISHED_FILES
    return tuple((p.name, p.stat().st_size) for p in sorted(base.folder.iterdir()) if p.is_file())


def plan_run(config: RunConfig, *, base: BaseModelFiles | None, steps_per_epoch: int,
             train: Dataset | None = None, spec: ArchitectureSpec | None = None, optimize_ready: bool = False,
             interrupt_at_step: int | None = None, use_measured: bool = True, free_bytes: int | None = None,
             continuation: ContinuePlan | None = None) -> DiskPlan:
    """The disk plan of a run of `config`; `base=None` means XTTS v2 files that are not on disk yet.

    Checkpoint sizes are measured from complete checkpoints of the same architecture already in
    the output path when there are any (`use_measured`), else computed from the architecture.
    With `use_measured`, what <output>/ready/ already holds is counted too: the export moves it to
    ready/previous/ and keeps it (`use_measured=False` plans the run as if the output path were empty). A
    continue (`continuation`) is planned from its resume step to its real last step, beside the
    files its run folder already holds.
    """
    spec = spec or (spec_from_base(base, config.vocab_path) if base else XTTS_V2_SPEC)
    sizes = estimate_checkpoint_sizes(spec, config, base=base, step=max(config.save_step, steps_per_epoch * config.epochs))
    measured = measure_checkpoints(config.output_path) if use_measured and config.output_path else None
    if measured and not _same_architecture(measured, sizes):
        measured = None  # checkpoints of another model in this output path say nothing about this one
    checkpoint = (measured.checkpoint_bytes or measured.best_copy_bytes) if measured else None
    best = (measured.best_copy_bytes or measured.checkpoint_bytes) if measured else None
    file_sizes = FileSizes(
        checkpoint_bytes=checkpoint or sizes.checkpoint_bytes, best_copy_bytes=best or sizes.best_copy_bytes,
        unoptimized_bytes=best or sizes.best_copy_bytes,
        optimized_bytes=sizes.optimized_model_bytes + ((best - sizes.best_copy_bytes) if best else 0),
        ready_small_files=ready_small_files(base, config, train), checkpoint_breakdown=_breakdown(sizes, checkpoint))
    schedule = SaveSchedule(steps_per_epoch, config.epochs, config.save_step, config.save_n_checkpoints,
                            config.save_checkpoints, config.save_best_after, interrupt_at_step,
                            config.keep_best_k, config.milestone_every_steps,
                            resume_step=continuation.resume_step if continuation else None,
                            resume_epoch=continuation.resume_epoch if continuation else 0)
    return plan_disk(DiskInputs(
        schedule, file_sizes, output_path=config.output_path or ".", base_model_files=base_model_files(base),
        base_needs_download=base is None, optimize_ready=optimize_ready, print_step=config.print_step,
        plot_step=config.plot_step, measured_checkpoint_bytes=checkpoint,
        estimated_checkpoint_bytes=sizes.checkpoint_bytes, free_bytes=free_bytes,
        existing_files=_model_files(continuation.resume_file.parent) if continuation else (),
        kept_ready_bytes=ready_folder_bytes(config.output_path) if use_measured and config.output_path else 0))


def plan_preflighted(checked: PreflightResult, **options) -> DiskPlan:
    """`plan_run` with a preflighted run's own inputs (settings, base, dataset, ranks, continue)."""
    return plan_run(checked.config, base=checked.base, steps_per_epoch=checked.steps_per_epoch, train=checked.train,
                    continuation=checked.continuation, **options)


def _model_files(run_folder: Path) -> tuple[tuple[str, int], ...]:
    """(name, bytes) of the model files a run folder holds now, as the save simulation names them.

    Complete checkpoints and best models keep their names (the trainer prunes them like its own);
    cut ones are moved to incomplete/ by the continue and stay there until the user deletes them.
    """
    files = []
    for path in [p for _, p in periodic_checkpoints(run_folder)] + best_model_files(run_folder):
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            continue  # pruned by a live trainer while we looked
        name = path.name if checkpoint_looks_complete(path) else f"{INCOMPLETE_DIR}/{path.name}"
        files.append((name, size))
    cut = incomplete_dir(run_folder)
    if cut.is_dir():
        files += [(f"{INCOMPLETE_DIR}/{p.name}", p.stat().st_size) for p in sorted(cut.iterdir()) if p.is_file()]
    return tuple(files)
# The estimate is exact to a few KB for the same architecture; a larger gap means another model.
SAME_ARCHITECTURE_TOLERANCE = 0.02


def _same_architecture(measured: MeasuredCheckpoints, sizes: CheckpointSizes) -> bool:
    size = measured.checkpoint_bytes or measured.best_copy_bytes
    return bool(size) and abs(size - sizes.checkpoint_bytes) <= SAME_ARCHITECTURE_TOLERANCE * sizes.checkpoint_bytes


def _breakdown(sizes: CheckpointSizes, measured: int | None) -> tuple[tuple[str, int], ...]:
    parts = sizes.breakdown
    if measured:
        parts = (*parts, ("measured minus estimate", measured - sizes.checkpoint_bytes))
    return parts
