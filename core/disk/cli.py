"""The disk planner's command line: `python -m core.disk --base xtts_v2 --save-step 1000 --keep 1 ...`."""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
from pathlib import Path
from typing import Sequence

from core.base.config import RunConfig, validate_config
from core.disk.plan import DiskPlan
from core.disk.planner import plan_run
from core.base.errors import ConfigInvalid, FieldError
from core.trainer.base_model import BaseModelFiles, resolve_base_model, xtts_v2_cache_dir
from core.trainer.dataset import Dataset, read_dataset, steps_per_epoch
from core.trainer.demo import ensure_demo


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m core.disk", description="Forecast the disk space of an XTTS fine-tuning run.")
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
        demo = ensure_demo(Path(args.workspace).expanduser().absolute() / "demo")
        base = resolve_base_model(demo.base_dir)
        if not dataset_path and args.steps is None:
            dataset_path = str(demo.train_csv)
    elif args.base == "xtts_v2":
        try:  # a copy already placed in the workspace is measured, not guessed
            base = resolve_base_model(xtts_v2_cache_dir(Path(args.workspace).expanduser() / "models"))
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
        raise ConfigInvalid([FieldError("steps", "give --steps N or --dataset <metadata csv>")])
    return config, base, None, math.ceil(args.steps / config.epochs)


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
        plan = plan_run(config, base=base, steps_per_epoch=spe, train=train, optimize_ready=args.optimize,
                        interrupt_at_step=args.interrupt_at)
    except ConfigInvalid as exc:
        print("; ".join(f"{e.field}: {e.message}" for e in exc.errors), file=sys.stderr)
        return 2
    print(json.dumps(plan_as_json(plan, args.timeline)) if args.json else _table(plan))
    return 0 if plan.fits else 1


if __name__ == "__main__":
    sys.exit(main())
