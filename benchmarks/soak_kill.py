"""Kill-and-continue soak: no good checkpoint is ever lost, however often the trainer is killed.

On the demo model with settings that save often, repeatedly: start (or continue) the run through the
launcher the dashboard uses, end it at a random moment (SIGKILL of the whole process group, a quarter
or more of them while a checkpoint or best model is being written, and some SIGINT stops), and check
that every complete checkpoint recorded before a continue either survives it or was rotated away
legitimately, until the run reaches its planned steps. Ends with one line:

    soak: cycles= mid_save_kills= sigint_stops= good_lost= continued_from_intact_pct= final_step= planned_steps= extra_steps=

`make soak` runs the full version (keep=1 and keep=3); tests/faults/test_soak.py a short one.
"""
from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from core.checkpoints import layout  # noqa: E402
from core.registry.state import RunPhase, read_run_state  # noqa: E402
from core.runs.launcher import request_stop, start_run, wait_until_ended  # noqa: E402
from core.trainer.continuation import plan_continue  # noqa: E402
from core.trainer.demo import demo_config, ensure_demo  # noqa: E402
from core.base.workspace import Workspace  # noqa: E402

STEPS_PER_EPOCH = 60  # the demo dataset at batch size 2
RUN_TIMEOUT_S = 900


def loads_whole(path: Path) -> bool:
    """Complete in the soak's strict sense: torch.load reads it and it holds model and optimizer state."""
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception:
        return False
    return isinstance(checkpoint, dict) and bool(checkpoint.get("model")) and bool(checkpoint.get("optimizer"))


def step_files(folder: Path) -> dict[Path, tuple[str, int]]:
    """The trainer's step-numbered files in a run folder: path -> (kind, step)."""
    found = {path: ("checkpoint", step) for step, path in layout.periodic_checkpoints(folder)}
    found.update({path: ("best_model", step) for step, path in layout.best_step_files(folder)})
    return found


def legitimately_rotated(kind: str, step: int, folder: Path, keep: int) -> bool:
    """The trainer may delete a periodic checkpoint once `keep` newer complete ones exist, and a
    best model once a newer complete best model exists; nothing else."""
    newer = [p for s, p in (layout.periodic_checkpoints(folder) if kind == "checkpoint" else layout.best_step_files(folder))
             if s > step and loads_whole(p)]
    return len(newer) >= (keep if kind == "checkpoint" else 1)


class KillMidSave(threading.Thread):
    """SIGKILLs a process group the moment a new checkpoint or best model file has bytes in it.

    The first `let_complete` new files are left to finish, so every such cycle moves the run past a
    save (a continue resumes from the newest intact file: killing its next save each time would loop).
    """

    def __init__(self, folder_of, pgid: int, known: set[str], let_complete: int = 1):
        super().__init__(daemon=True)
        self.folder_of, self.pgid, self.known = folder_of, pgid, set(known)
        self.let_complete = let_complete
        self.hit: str | None = None
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            folder = self.folder_of()
            if folder is not None and folder.is_dir():
                for path in list(folder.glob("*.pth")):
                    if path.name in self.known or layout.parse_step_file(path.name) is None:
                        continue
                    try:
                        if path.stat().st_size == 0:
                            continue
                        if self.let_complete > 0:
                            self.let_complete -= 1
                            self.known.add(path.name)
                            continue
                        os.killpg(self.pgid, signal.SIGKILL)
                        self.hit = path.name
                        return
                    except (FileNotFoundError, ProcessLookupError):
                        continue
            time.sleep(0.001)


@dataclass
class Soak:
    ws: Workspace
    keep: int
    rng: random.Random
    cycles: int = 0
    mid_save_kills: int = 0
    sigint_stops: int = 0
    continues: int = 0
    continued_from_intact: int = 0
    good_lost: list[str] = field(default_factory=list)
    final_step: int = 0
    planned_steps: int = 0

    def run(self, *, epochs: int, save_step: int, max_cycles: int, mid_save_share: float, sigint_share: float,
            want_mid_save: int) -> None:
        demo = ensure_demo(self.ws.demo_dir)
        config = demo_config(self.ws, demo).with_changes(
            epochs=epochs, save_step=save_step, save_n_checkpoints=self.keep, print_step=50, plot_step=50,
            output_path=str(self.ws.outputs_dir / f"soak-keep{self.keep}"))
        self.planned_steps = STEPS_PER_EPOCH * epochs
        folder: Path | None = None
        while True:
            before = {p: ks for p, ks in step_files(folder).items() if loads_whole(p)} if folder else {}
            if folder is None:
                record = start_run(self.ws, config)
            else:
                plan = plan_continue(folder, steps_per_epoch=STEPS_PER_EPOCH, epochs=epochs)
                self.continues += 1
                self.continued_from_intact += bool(plan and loads_whole(plan.resume_file))
                record = start_run(self.ws, config, mode="continue", resume_from=str(folder))
            self.cycles += 1
            last_cycle = self.cycles >= max_cycles
            ending = self._end_somehow(record, folder, last_cycle, mid_save_share, sigint_share, want_mid_save)
            state = read_run_state(self.ws, record.run_id)
            folder = folder or state.status.run_folder
            self._check_survivors(before, folder)
            self.final_step = max(self.final_step, state.status.step)
            if ending is RunPhase.FINISHED:
                return

    def _end_somehow(self, record, folder, last_cycle: bool, mid_save_share: float, sigint_share: float,
                     want_mid_save: int) -> RunPhase:
        """Let the run go on until a kill or stop lands; the last cycle runs to the end."""
        if last_cycle:
            return wait_until_ended(self.ws, record.run_id, RUN_TIMEOUT_S)
        roll = self.rng.random()
        short_of_mid_saves = self.mid_save_kills < want_mid_save
        if roll < mid_save_share or short_of_mid_saves:
            known = {p.name for p in (step_files(folder) if folder else {})}
            folder_of = (lambda: folder) if folder else (lambda: read_run_state(self.ws, record.run_id).status.run_folder)
            killer = KillMidSave(folder_of, record.pid, known)
            killer.start()
            phase = wait_until_ended(self.ws, record.run_id, RUN_TIMEOUT_S)
            killer.stop.set()
            self.mid_save_kills += killer.hit is not None
            return phase
        # Somewhere in the middle of training: after the model is up and a few steps ran.
        deadline = time.monotonic() + self.rng.uniform(8, 30)
        while time.monotonic() < deadline and read_run_state(self.ws, record.run_id).phase.is_live:
            time.sleep(0.1)
        if not read_run_state(self.ws, record.run_id).phase.is_live:
            return read_run_state(self.ws, record.run_id).phase
        if roll < mid_save_share + sigint_share:
            request_stop(self.ws, record.run_id, grace_s=120)
            self.sigint_stops += 1
        else:
            try:
                os.killpg(record.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        return wait_until_ended(self.ws, record.run_id, RUN_TIMEOUT_S)

    def _check_survivors(self, before: dict[Path, tuple[str, int]], folder: Path | None) -> None:
        for path, (kind, step) in before.items():
            if path.exists() and loads_whole(path):
                continue
            if folder is not None and legitimately_rotated(kind, step, folder, self.keep):
                continue
            self.good_lost.append(f"{path.name} (keep={self.keep}, cycle {self.cycles})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cycles", type=int, default=12, help="start/continue cycles per keep setting")
    parser.add_argument("--keep", type=int, nargs="+", default=[1, 3], help="save_n_checkpoints values to soak")
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--save-step", type=int, default=100, help="the smallest the trainer settings allow")
    parser.add_argument("--mid-save", type=int, default=3, help="at least this many mid-save kills per keep value")
    parser.add_argument("--seed", type=int, default=20261125)
    parser.add_argument("--workspace", help="keep the soak's files here (default: a temp folder, removed)")
    args = parser.parse_args(argv)
    root = Path(args.workspace) if args.workspace else Path(tempfile.mkdtemp(prefix="soak-"))
    soaks = []
    try:
        for keep in args.keep:
            soak = Soak(Workspace.at(root / f"keep{keep}"), keep, random.Random(args.seed + keep))
            soak.run(epochs=args.epochs, save_step=args.save_step, max_cycles=args.cycles, mid_save_share=0.3,
                     sigint_share=0.2, want_mid_save=args.mid_save)
            soaks.append(soak)
            print(f"keep={keep}: cycles={soak.cycles} mid_save_kills={soak.mid_save_kills} "
                  f"sigint_stops={soak.sigint_stops} good_lost={len(soak.good_lost)} final_step={soak.final_step}",
                  flush=True)
            for lost in soak.good_lost:
                print(f"  LOST {lost}", flush=True)
    finally:
        if not args.workspace:
            shutil.rmtree(root, ignore_errors=True)
    continues = sum(s.continues for s in soaks)
    intact_pct = 100.0 * sum(s.continued_from_intact for s in soaks) / continues if continues else 100.0
    final = max(s.final_step for s in soaks)
    planned = max(s.planned_steps for s in soaks)
    print(f"soak: cycles={sum(s.cycles for s in soaks)} mid_save_kills={sum(s.mid_save_kills for s in soaks)} "
          f"sigint_stops={sum(s.sigint_stops for s in soaks)} good_lost={sum(len(s.good_lost) for s in soaks)} "
          f"continued_from_intact_pct={intact_pct:.0f} final_step={final} planned_steps={planned} "
          f"extra_steps={max(0, final - planned)}")
    return 0 if all(not s.good_lost for s in soaks) else 1


if __name__ == "__main__":
    sys.exit(main())
