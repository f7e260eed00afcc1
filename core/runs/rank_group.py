"""The group leader of a multi-rank run: one training process per rank, supervised as one unit.

`python -m core.runs.train_process <run folder>` becomes this leader when launch.json asks for more
than one rank. The launcher started it in its own session, so the leader and its rank processes
form one process group: the stopper's SIGKILL escalation reaches all of them. The leader

- starts rank R with RANK / WORLD_SIZE / LOCAL_RANK / MASTER_ADDR / MASTER_PORT (what torchrun
  sets), its own GPU in CUDA_VISIBLE_DEVICES, and its output in the run folder's rank log;
- passes a stop request (SIGINT) on to rank 0 only, the rank that saves the checkpoint; the other
  ranks ignore SIGINT and are ended by the leader once rank 0 has exited;
- ends every rank when one fails (the others would block in the next all-reduce), and records
  which rank failed first and why in outcome.json.
"""
from __future__ import annotations

import os
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

from core.base.atomic_io import read_json, write_json_atomic
from core.base.machine import free_port
from core.registry.records import EXIT_INTERRUPTED, RunFiles
from core.registry.status import RunStatus
from core.runs.status_reporter import write_outcome
from core.base.text import strip_ansi
from core.base.workspace import PROJECT_DIR

PR_SET_PDEATHSIG = 1
LEADER_ENV = "XTTS_DASHBOARD_LEADER"


@dataclass(frozen=True)
class RankExit:
    rank: int
    code: int  # the process's exit status; negative: killed by that signal

    def describe(self) -> str:
        if self.code < 0:
            return f"was killed by {signal.Signals(-self.code).name}"
        return f"exited with status {self.code}"


def _die_with_leader() -> None:
    """In each rank (Linux): get SIGKILL when the leader dies, even by SIGKILL, so no rank is orphaned."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


def rank_env(base: dict[str, str], rank: int, world_size: int, port: int, gpus: list[int]) -> dict[str, str]:
    env = dict(base)
    env.pop("XTTS_DASHBOARD_LOCK_FD", None)  # the leader holds the output lock for the whole group
    env[LEADER_ENV] = str(os.getpid())  # rank 0 need not register the run (the launcher did)
    env.update(RANK=str(rank), WORLD_SIZE=str(world_size), LOCAL_RANK=str(rank), LOCAL_WORLD_SIZE=str(world_size),
               MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    if gpus:
        env["CUDA_DEVICE_ORDER"] = "PCI_BUS_ID"  # the indices nvidia-smi and core.base.devices show
        env["CUDA_VISIBLE_DEVICES"] = str(gpus[rank])
    return env


def last_error_line(log: Path, max_bytes: int = 16 * 1024) -> str:
    """The last exception line of a rank's log tail, or "" (a rank killed by a signal leaves none)."""
    try:
        with open(log, "rb") as handle:
            handle.seek(max(0, log.stat().st_size - max_bytes))
            lines = [l.strip() for l in handle.read().decode("utf-8", "replace").splitlines() if l.strip()]
    except OSError:
        return ""
    lines = [strip_ansi(l) for l in lines]
    errors = [l for l in lines if l.split(":")[0].endswith(("Error", "Exception", "Interrupt"))]
    return (errors or [""])[-1][:300]


def supervise(folder: Path, world_size: int, gpus: list[int], python: str) -> int:
    """Run `world_size` ranks of the training in `folder` to their end; return the run's exit status."""
    port = free_port()
    procs: dict[int, subprocess.Popen] = {}
    stop_requested = False

    def on_sigint(_signum, _frame) -> None:
        nonlocal stop_requested
        stop_requested = True
        signal_rank(0, signal.SIGINT)

    def on_sigterm(_signum, _frame) -> None:
        end_all()
        raise SystemExit(143)

    def signal_rank(rank: int, signum: int) -> None:
        # Only os.wait below reaps ranks, so a pid with no recorded exit is still ours to signal.
        proc = procs.get(rank)
        if proc is not None and proc.returncode is None:
            try:
                os.kill(proc.pid, signum)
            except ProcessLookupError:
                pass

    def end_all() -> None:
        for rank in procs:
            signal_rank(rank, signal.SIGKILL)

    signal.signal(signal.SIGINT, on_sigint)
    signal.signal(signal.SIGTERM, on_sigterm)
    print(f" > starting {world_size} ranks (" + (f"GPUs {','.join(map(str, gpus))}" if gpus else "CPU, gloo")
          + f"); rank logs in {folder}", flush=True)
    for rank in range(world_size):
        with open(RunFiles(folder).log(rank), "ab") as log:
            procs[rank] = subprocess.Popen(
                [python, "-m", "core.runs.train_process", str(folder)], cwd=PROJECT_DIR,
                env=rank_env(dict(os.environ), rank, world_size, port, gpus), stdin=subprocess.DEVNULL,
                stdout=log, stderr=subprocess.STDOUT, preexec_fn=_die_with_leader)
    rank_of = {proc.pid: rank for rank, proc in procs.items()}
    if stop_requested:  # a stop that came while the ranks were being started
        signal_rank(0, signal.SIGINT)

    exits: list[RankExit] = []
    cause: RankExit | None = None
    while len(exits) < len(procs):
        try:
            pid, status = os.wait()  # in order of death: the first failure is the cause
        except ChildProcessError:
            break
        if pid not in rank_of:
            continue
        done = RankExit(rank_of[pid], os.waitstatus_to_exitcode(status))
        procs[done.rank].returncode = done.code
        exits.append(done)
        if done.code != 0 and cause is None:
            cause = done
            # Without this rank the others block in their next all-reduce: end them now. After a
            # stop, rank 0 has saved its checkpoint; the others have nothing to save.
            end_all()
    return _record_outcome(folder, exits, cause, stop_requested)


def _record_outcome(folder: Path, exits: list[RankExit], cause: RankExit | None, stop_requested: bool) -> int:
    codes = {str(e.rank): e.code for e in sorted(exits, key=lambda e: e.rank)}
    files = RunFiles(folder)
    if cause is None:
        return 0  # rank 0 wrote outcome.json (finished; ready/ written)
    if cause.rank == 0 and cause.code == EXIT_INTERRUPTED and stop_requested:
        return EXIT_INTERRUPTED  # rank 0 saved and wrote outcome.json (stopped by SIGINT)
    own = read_json(files.outcome) if cause.rank == 0 else None
    reason = own.get("message") if isinstance(own, dict) and own.get("message") not in (None, "training failed; see the log") else ""
    reason = reason or last_error_line(files.log(cause.rank))
    message = f"rank {cause.rank} {cause.describe()}" + (f": {reason}" if reason else "")
    code = cause.code if cause.code > 0 else 1
    # Rank 0's own outcome ("training failed; see the log") is replaced: the leader knows more.
    write_outcome(files, code, message, replace=True, failed_rank=cause.rank, rank_exit_codes=codes)
    status = read_json(files.status)
    if isinstance(status, dict):
        write_json_atomic(files.status, RunStatus.from_json(status).with_changes(phase="failed").to_json())
    print(f" > {message}; the other ranks were ended", flush=True)
    return code
