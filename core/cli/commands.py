"""Headless CLI over the same run records the dashboard uses.

    python -m core.cli start [--demo] [--set save_step=500 ...] [--config run.json] [--gpus 0,1 | --world-size N] [--json]
    python -m core.cli status RUN_ID [--json]
    python -m core.cli stop RUN_ID [--wait] [--grace-s 180]
    python -m core.cli resume --output PATH | --from-checkpoint CKPT [--set ...]
    python -m core.cli list [--json]      every run with the Runs page's columns

A run started here shows up in the dashboard and the other way round. Libraries' warnings and log
lines (transformers' model-config notes, torch deprecations) go to <workspace>/logs/cli.log, not the
terminal: the terminal gets our own lines only, and --json output stays one JSON document.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from contextlib import contextmanager
from dataclasses import replace
from enum import IntEnum
from pathlib import Path
from typing import Iterator, TextIO

from core.base.config import FIELD_BY_NAME, RunConfig, field_error_text, validate_config
from core.base.errors import ConfigInvalid, FieldError, LaunchRefused
from core.registry.state import read_run_state
from core.trainer.demo import ensure_demo
from core.trainer.demo import demo_config
from core.base.workspace import Workspace

# Launching and resuming pull in torch (checkpoint inspection, the disk planner's architecture
# estimate); they are imported inside the commands that need them so `status` and `list` stay fast.


class ExitStatus(IntEnum):
    OK = 0
    ERROR = 1
    INVALID_INPUT = 2
    REFUSED = 3
    NOT_FOUND = 4


LIBRARY_LOG = Path("logs") / "cli.log"  # under the workspace
# Names in errors that are command-line options here rather than settings.
OPTION_NAMES = {"gpus": "GPUs (--gpus)", "world_size": "Ranks (--world-size)",
                "resume_from": "The run to continue (--output or --from-checkpoint)"}


@contextmanager
def library_output_to(path: Path) -> Iterator[tuple[TextIO, TextIO]]:
    """Send what libraries print, log and warn to the file `path`; yield the terminal's (stdout, stderr) for ours.

    Libraries that set up their logging on import (transformers adds its own stderr handler) are imported
    inside the commands, so they pick up the swapped sys.stderr; handlers made earlier are moved too.
    """
    out, err = sys.stdout, sys.stderr
    path.parent.mkdir(parents=True, exist_ok=True)
    # Left open on purpose: handlers created during the command keep this stream for the process's life.
    log = open(path, "a", encoding="utf-8", buffering=1)
    handler = logging.StreamHandler(log)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    loggers = [logging.getLogger(), *(lg for lg in logging.Logger.manager.loggerDict.values()
                                     if isinstance(lg, logging.Logger))]
    moved = [h for lg in loggers for h in lg.handlers
             if isinstance(h, logging.StreamHandler) and getattr(h, "stream", None) in (out, err)]
    previous = {h: h.setStream(log) for h in moved}
    logging.getLogger().addHandler(handler)
    logging.captureWarnings(True)
    sys.stdout = sys.stderr = log
    try:
        yield out, err
    finally:
        sys.stdout, sys.stderr = out, err
        logging.captureWarnings(False)
        logging.getLogger().removeHandler(handler)
        for h, stream in previous.items():
            h.setStream(stream)


def refusal_text(exc: ConfigInvalid, command: str) -> str:
    """Invalid settings as sentences, each naming the setting by its label and key, and how to fix them."""
    errors = [replace(e, field=OPTION_NAMES[e.field]) if e.field in OPTION_NAMES else e for e in exc.errors]
    head = "Not started:" if command in ("start", "resume") else "Invalid input:"
    sentences = [field_error_text(e) for e in errors]
    lines = [f"{head} {sentences[0]}"] if len(sentences) == 1 else [f"{head} {len(sentences)} problems."] + [
        f"- {s}" for s in sentences]
    if any(e.field not in FIELD_BY_NAME and e.message == "is not a known setting" for e in exc.errors):
        lines.append("Check the spelling; the settings are: " + ", ".join(FIELD_BY_NAME) + ".")
    settings = sorted({e.field for e in exc.errors if e.field in FIELD_BY_NAME})
    if settings:
        it = "it" if len(settings) == 1 else "them"
        lines.append(f"Change {it} with --set {settings[0]}=VALUE"
                     + (" (one --set per setting)" if len(settings) > 1 else "")
                     + " or in the --config file, and run the command again.")
    return "\n".join(lines)


def _workspace(args) -> Workspace:
    return Workspace.at(args.workspace or os.environ.get("XTTS_WORKSPACE") or Path.cwd() / "workspace")


def _parse_sets(pairs: list[str]) -> dict:
    values = {}
    for pair in pairs:
        if "=" not in pair:
            raise ConfigInvalid([FieldError("--set", f"{pair!r} must look like name=value")])
        name, value = pair.split("=", 1)
        values[name.strip()] = value
    return values


def _config(args, ws) -> RunConfig:
    raw: dict = {}
    if args.demo or not args.config:
        raw.update(demo_config(ws, ensure_demo(ws.demo_dir)).to_dict())
    if args.config:
        raw.update(json.loads(Path(args.config).read_text()))
    raw.update(_parse_sets(args.set or []))
    return validate_config(raw)


def _state_dict(ws, run_id: str) -> dict:
    state = read_run_state(ws, run_id)
    status = state.status
    return {"run_id": run_id, "phase": state.phase.value, "exit_code": state.exit_code, "detail": state.detail,
            "output_path": state.record.output_path if state.record else None,
            "step": status.step if state.record else None, "total_steps": status.total_steps,
            "train_loss": status.train_loss, "eval_loss": status.eval_loss,
            "trainer_run_folder": status.trainer_run_folder or None, "eta_s": status.eta_s,
            "world_size": state.record.world_size if state.record else None,
            "gpus": state.record.gpus if state.record else None}


def _print(args, data, text: str) -> None:
    print(json.dumps(data, default=str) if args.json else text, file=args.out)


def _ranks(args) -> dict:
    """start_run's world_size / gpus from --gpus 0,1 (one rank per GPU) or --world-size N (CPU, gloo)."""
    gpus: tuple[int, ...] = ()
    if args.gpus:
        try:
            gpus = tuple(int(g) for g in args.gpus.split(",") if g.strip())
        except ValueError:
            raise ConfigInvalid([FieldError("--gpus", f"{args.gpus!r} must be GPU indices like 0,1")]) from None
    return {"world_size": args.world_size or len(gpus) or 1, "gpus": gpus}


def cmd_start(args, ws) -> ExitStatus:
    from core.runs.launcher import prepare_run, start_run

    if args.prepare_only:
        folder = prepare_run(ws, _config(args, ws), world_size=_ranks(args)["world_size"], disk_override=args.disk_override)
        command = f"torchrun --nproc-per-node=N ... -m core.runs.train_process {folder}"
        _print(args, {"run_id": folder.name, "run_folder": str(folder), "command": command},
               f"prepared {folder.name}; start its ranks with:\n  {command}")
        return ExitStatus.OK
    record = start_run(ws, _config(args, ws), disk_override=args.disk_override, dataset_override=args.dataset_override,
                       **_ranks(args))
    _print(args, {"run_id": record.run_id, "pid": record.pid, "output_path": record.output_path},
           f"started {record.run_id} (pid {record.pid}) -> {record.output_path}")
    return ExitStatus.OK


def cmd_resume(args, ws) -> ExitStatus:
    from core.checkpoints.resume import newest_resumable_folder
    from core.runs.launcher import start_run
    from core.trainer.preflight import preflight

    config = _config(args, ws)
    if args.from_checkpoint:
        record = start_run(ws, config, mode="restore", resume_from=args.from_checkpoint, disk_override=args.disk_override,
                           dataset_override=args.dataset_override, **_ranks(args))
    else:
        output = args.output or config.output_path
        folder = newest_resumable_folder(output)
        if folder is None:
            print(f"Nothing to continue: {output} has no run with an intact checkpoint. Give the output folder of "
                  "an earlier run with --output, or start a new run with `start`.", file=args.err)
            return ExitStatus.NOT_FOUND
        config = config.with_changes(output_path=str(output))
        checked = preflight(config, mode="continue", resume_from=str(folder), **_ranks(args))
        record = start_run(ws, config, mode="continue", resume_from=str(folder), checked=checked,
                           disk_override=args.disk_override, dataset_override=args.dataset_override, **_ranks(args))
        plan = checked.continuation.describe()
        _print(args, {"run_id": record.run_id, "mode": record.mode, "resume_from": record.resume_from,
                      "continues": plan, "final_step": checked.continuation.final_step},
               f"started {record.run_id} ({record.mode} from {record.resume_from})\n{plan}")
        return ExitStatus.OK
    _print(args, {"run_id": record.run_id, "mode": record.mode, "resume_from": record.resume_from},
           f"started {record.run_id} ({record.mode} from {record.resume_from})")
    return ExitStatus.OK


def cmd_status(args, ws) -> ExitStatus:
    data = _state_dict(ws, args.run_id)
    if data["phase"] == "unknown":
        print(f"No such run: {args.run_id}. `python -m core.cli list` shows the runs of this workspace.",
              file=args.err)
        return ExitStatus.NOT_FOUND
    _print(args, data, f"{data['run_id']}: {data['phase']} step {data['step']}/{data['total_steps']} {data['detail']}")
    return ExitStatus.OK


def cmd_stop(args, ws) -> ExitStatus:
    from core.runs.launcher import request_stop, wait_until_ended

    outcome = request_stop(ws, args.run_id, grace_s=args.grace_s)
    phase = wait_until_ended(ws, args.run_id, args.grace_s + 30).value if (args.wait and outcome.signalled) else None
    _print(args, {"run_id": args.run_id, "signalled": outcome.signalled, "message": outcome.message, "phase": phase},
           f"{args.run_id}: {outcome.message}" + (f" -> {phase}" if phase else ""))
    return ExitStatus.OK if outcome.signalled else ExitStatus.NOT_FOUND


def _list_line(row, differences) -> str:
    """One run per line: the Runs page's columns in words."""
    from core.overview.table import setting_text
    from core.base.text import format_clock

    dataset = (f"{row.dataset.name} ({row.dataset.clips} clips, {row.dataset.hours:.2f} h)" if row.dataset else "-")
    best = f"best {row.best_loss:.4f} @ {row.best_step}" if row.best_loss is not None else "best -"
    disk = f"{row.disk_bytes / 1e6:,.1f} MB" if row.disk_bytes is not None else "- MB"
    settings = ", ".join(f"{d.label}={setting_text(d.values.get(row.run_id))}" for d in differences)
    return "  ".join([
        row.run_id, f"{row.phase.value:<9}", f"step {row.step}/{row.total_steps}", row.base_model or "-",
        row.language or "-", dataset, best, format_clock(row.duration_s), disk,
        f"ready: {row.ready_bundle.label}" if row.ready_bundle else "ready: -", row.output_path or "-",
    ]) + (f"  [{settings}]" if settings else "")


def cmd_list(args, ws) -> ExitStatus:
    # core.overview reads ready/ manifests through core.checkpoints.ready_bundles, which loads torch.
    from core.overview.reader import read_rows
    from core.overview.table import differing_settings, row_json

    rows = read_rows(ws)
    differences = differing_settings([r for r in rows if r.config])
    text = "\n".join(_list_line(r, differences) for r in rows) or "no runs"
    _print(args, [row_json(r, differences) for r in rows], text)
    return ExitStatus.OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core.cli", description=__doc__.split("\n\n")[0])
    parser.add_argument("--workspace", help="workspace folder (default: $XTTS_WORKSPACE or ./workspace)")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("start", "resume"):
        p = sub.add_parser(name)
        p.add_argument("--demo", action="store_true", help="start from the demo configuration")
        p.add_argument("--config", help="JSON file with run settings")
        p.add_argument("--set", action="append", metavar="NAME=VALUE", help="override one setting")
        p.add_argument("--disk-override", action="store_true", help="start even if the disk forecast does not fit")
        p.add_argument("--dataset-override", action="store_true",
                       help="start even if the dataset check found errors (the trainer swaps those clips for others)")
        p.add_argument("--gpus", help="GPU indices to train on, one DDP rank each, e.g. 0,1")
        p.add_argument("--world-size", type=int, help="DDP ranks; without --gpus they run on the CPU (gloo)")
        if name == "start":
            p.add_argument("--prepare-only", action="store_true",
                           help="write the run folder for torchrun (multi-node) instead of starting it")
        if name == "resume":
            p.add_argument("--output", help="output path whose newest run to continue")
            p.add_argument("--from-checkpoint", help="start from this checkpoint's weights (step restarts at 0)")
    p = sub.add_parser("status")
    p.add_argument("run_id")
    p = sub.add_parser("stop")
    p.add_argument("run_id")
    p.add_argument("--wait", action="store_true")
    p.add_argument("--grace-s", type=float, default=180.0)
    p = sub.add_parser("list", help="every run: state, base model, dataset, steps, best loss, duration, disk, ready/")
    # Also after the command (`list --json`); SUPPRESS keeps a --json given before it.
    p.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print one JSON list")
    return parser


COMMANDS = {"start": cmd_start, "resume": cmd_resume, "status": cmd_status, "stop": cmd_stop, "list": cmd_list}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    ws = _workspace(args)
    with library_output_to(ws.root / LIBRARY_LOG) as (args.out, args.err):
        try:
            return int(COMMANDS[args.command](args, ws))
        except ConfigInvalid as exc:
            print(refusal_text(exc, args.command), file=args.err)
            return int(ExitStatus.INVALID_INPUT)
        except LaunchRefused as exc:
            text = str(exc).rstrip(".")
            print(f"Not started: {text}.", file=args.err)
            return int(ExitStatus.REFUSED)

