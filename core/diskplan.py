"""Disk planning for a run, and its command line: `python -m core.diskplan --base xtts_v2 ...`.

Joins the pieces: checkpoint sizes from the architecture (core.checkpoint_size) or from real
checkpoints already in the output folder, the ready/ files, the base model's files, and the
trainer's save sequence (core.disk_forecast).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from core.base_model import BaseModelFiles, resolve_base_model
from core.checkpoint_size import XTTS_V2_SPEC, ArchitectureSpec, CheckpointSizes, estimate_checkpoint_sizes, spec_from_base
from core.config import SAMPLE_RATE_HZ, RunConfig, validate_config
from core.dataset import Dataset, read_dataset, steps_per_epoch
from core.disk_forecast import DiskInputs, DiskPlan, FileSizes, SaveSchedule, plan_disk
from core.errors import ConfigInvalid
from core.preflight import checkpoint_looks_complete

# Approximate sizes of coqui's published XTTS v2 files, for planning before they are downloaded.
XTTS_V2_PUBLISHED_FILES = (("model.pth", 1_870_000_000), ("dvae.pth", 211_000_000),
                           ("speakers_xtts.pth", 7_750_000), ("vocab.json", 361_000),
                           ("config.json", 4_400), ("mel_stats.pth", 1_100))
READY_CONFIG_BYTES_GUESS = 4_500  # ready/config.json when the base config cannot be rendered


@dataclass(frozen=True)
class MeasuredCheckpoints:
    """Sizes of real, complete model files found in an output folder's trainer run folders."""
    run_folder: Path
    checkpoint_bytes: int | None  # largest complete checkpoint_<step>.pth
    best_copy_bytes: int | None  # largest complete best_model*.pth


def measure_checkpoints(output_path: str | Path) -> MeasuredCheckpoints | None:
    """The newest trainer run folder under <output>/run/training holding complete model files."""
    training = Path(output_path).expanduser() / "run" / "training"
    folders = sorted((p for p in training.glob("*") if p.is_dir()), key=lambda p: p.stat().st_mtime, reverse=True)
    for folder in folders:
        sizes: dict[str, int] = {}
        for kind, pattern in (("checkpoint", "checkpoint_*.pth"), ("best", "best_model*.pth")):
            for path in folder.glob(pattern):
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
    from core.ready_export import reference_clip

    published = dict(XTTS_V2_PUBLISHED_FILES)
    vocab = Path(config.vocab_path) if config.vocab_path else base.vocab_json if base else None
    files = [("config.json", _ready_config_bytes(base)),
             ("vocab.json", vocab.stat().st_size if vocab else published["vocab.json"])]
    if base is None or base.speakers_pth:
        files.append(("speakers_xtts.pth", base.speakers_pth.stat().st_size if base else published["speakers_xtts.pth"]))
    # Without a dataset, the longest allowed clip as 16-bit mono WAV.
    reference = reference_clip(train).stat().st_size if train else 44 + 2 * int(config.max_audio_length_s * SAMPLE_RATE_HZ)
    files.append(("reference.wav", reference))
    return tuple(files)


def _ready_config_bytes(base: BaseModelFiles | None) -> int:
    if base is None:
        return READY_CONFIG_BYTES_GUESS
    from core.ready_export import write_ready_config

    with tempfile.TemporaryDirectory(prefix="diskplan-") as tmp:
        write_ready_config(base, Path(tmp) / "config.json")
        return (Path(tmp) / "config.json").stat().st_size


def base_model_files(base: BaseModelFiles | None) -> tuple[tuple[str, int], ...]:
    if base is None:
        return XTTS_V2_PUBLISHED_FILES
    return tuple((p.name, p.stat().st_size) for p in sorted(base.folder.iterdir()) if p.is_file())


def plan_for_run(config: RunConfig, *, base: BaseModelFiles | None, steps_per_epoch_: int,
                 train: Dataset | None = None, spec: ArchitectureSpec | None = None, optimize_ready: bool = False,
                 interrupt_at_step: int | None = None, use_measured: bool = True, free_bytes: int | None = None) -> DiskPlan:
    """The disk plan of `config`; `base=None` means XTTS v2 files that are not on disk yet."""
    spec = spec or (spec_from_base(base, config.vocab_path) if base else XTTS_V2_SPEC)
    sizes = estimate_checkpoint_sizes(spec, config, base=base, step=max(config.save_step, steps_per_epoch_ * config.epochs))
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
    schedule = SaveSchedule(steps_per_epoch_, config.epochs, config.save_step, config.save_n_checkpoints,
                            config.save_checkpoints, config.save_best_after, interrupt_at_step,
                            config.keep_best_k, config.milestone_every_steps)
    return plan_disk(DiskInputs(
        schedule, file_sizes, output_path=config.output_path or ".", base_model_files=base_model_files(base),
        base_needs_download=base is None, optimize_ready=optimize_ready, print_step=config.print_step,
        plot_step=config.plot_step, measured_checkpoint_bytes=checkpoint,
        estimated_checkpoint_bytes=sizes.checkpoint_bytes, free_bytes=free_bytes))


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


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m core.diskplan", description="Forecast the disk space of an XTTS fine-tuning run.")
    p.add_argument("--base", default="xtts_v2", help="xtts_v2 (architecture defaults), demo, or a base-model folder")
    p.add_argument("--save-step", type=int, default=RunConfig.save_step)
    p.add_argument("--keep", type=int, default=RunConfig.save_n_checkpoints, help="save_n_checkpoints")
    p.add_argument("--no-checkpoints", action="store_true", help="save_checkpoints off")
    p.add_argument("--save-best-after", type=int, default=0)
    p.add_argument("--steps", type=int, help="total training steps (instead of --dataset)")
    p.add_argument("--dataset", help="training metadata CSV (audio_file|text|speaker_name)")
    p.add_argument("--epochs", type=int, default=RunConfig.epochs)
    p.add_argument("--batch-size", type=int, default=RunConfig.batch_size)
    p.add_argument("--output", default="", help="output folder: compare with its free space, measure its checkpoints")
    p.add_argument("--workspace", default="./workspace", help="workspace folder (the demo lives in <workspace>/demo)")
    p.add_argument("--optimize", action="store_true", help="count ready/model.pth from the optimize step")
    p.add_argument("--interrupt-at", type=int, help="forecast a stop (SIGINT) at this step")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--timeline", action="store_true", help="include the timeline in the JSON")
    return p


def _resolve(args) -> tuple[RunConfig, BaseModelFiles | None, Dataset | None, int]:
    dataset_path = args.dataset
    if args.base == "demo":
        from core.demo import ensure_demo

        demo = ensure_demo(Path(args.workspace).expanduser().absolute() / "demo")
        base = resolve_base_model(demo.base_dir)
        if not dataset_path and args.steps is None:
            dataset_path = str(demo.train_csv)
    elif args.base == "xtts_v2":
        try:  # a copy already placed in the workspace is measured, not guessed
            base = resolve_base_model(Path(args.workspace).expanduser() / "models" / "xtts_v2")
        except ConfigInvalid:
            base = None
    else:
        base = resolve_base_model(args.base, field="base")
    config = validate_config({"save_step": args.save_step, "save_n_checkpoints": args.keep,
                              "save_checkpoints": not args.no_checkpoints, "save_best_after": args.save_best_after,
                              "epochs": args.epochs, "batch_size": args.batch_size,
                              "output_path": args.output, "base_model_dir": str(base.folder) if base else "",
                              "train_csv": dataset_path or ""})
    if dataset_path:
        train = read_dataset(dataset_path, "dataset")
        return config, base, train, steps_per_epoch(len(train.clips), config.batch_size)
    if args.steps is None or args.steps < 1:
        raise ConfigInvalid([_field("steps", "give --steps N or --dataset <metadata csv>")])
    return config, base, None, math.ceil(args.steps / config.epochs)


def _field(name: str, problem: str):
    from core.errors import FieldError

    return FieldError(name, problem)


def _table(plan: DiskPlan) -> str:
    gb = lambda n: f"{n / 1e9:10.3f} GB" if n is not None else "   unknown"  # noqa: E731
    lines = [f"checkpoint ({plan.checkpoint_source}) {gb(plan.checkpoint_bytes)}"]
    lines += [f"  {label:<44}{gb(n)}" for label, n in plan.checkpoint_breakdown]
    if plan.measured_checkpoint_bytes and plan.estimated_checkpoint_bytes:
        lines.append(f"  architecture estimate {gb(plan.estimated_checkpoint_bytes)}")
    lines.append(f"best-model copy {gb(plan.best_copy_bytes)}")
    lines.append(f"peak (step {plan.peak_step}) {gb(plan.peak_bytes)}")
    lines += [f"  {label:<44}{gb(n)}" for label, n in plan.peak_breakdown]
    lines.append(f"at the end {gb(plan.final_bytes)}")
    lines += [f"  {label:<44}{gb(n)}" for label, n in plan.final_breakdown]
    lines.append(f"ready/ {gb(plan.ready_bytes)}  base model files {gb(plan.base_model_bytes)}")
    lines.append(f"guide's rule (checkpoint x N) {gb(plan.naive_bytes)}")
    lines.append(f"needed {gb(plan.total_bytes)}   free at {plan.free_path}: {gb(plan.free_bytes)}")
    lines.append(f"verdict: {plan.verdict}")
    lines += [f"  fix: {fix}" for fix in plan.fixes]
    lines += [f"note: {w}" for w in plan.warnings]
    return "\n".join(lines)


def plan_as_json(plan: DiskPlan, with_timeline: bool = False) -> dict:
    out = dataclasses.asdict(plan)
    if not with_timeline:
        out.pop("timeline")
    return out


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        config, base, train, spe = _resolve(args)
        plan = plan_for_run(config, base=base, steps_per_epoch_=spe, train=train, optimize_ready=args.optimize,
                            interrupt_at_step=args.interrupt_at)
    except ConfigInvalid as exc:
        print("; ".join(f"{e.field}: {e.message}" for e in exc.errors), file=sys.stderr)
        return 2
    print(json.dumps(plan_as_json(plan, args.timeline)) if args.json else _table(plan))
    return 0 if plan.fits else 1


if __name__ == "__main__":
    sys.exit(main())
