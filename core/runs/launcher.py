"""Start, continue and stop training runs as detached subprocesses that outlive the dashboard."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from core.base.atomic_io import write_json_atomic
from core.base.config import RunConfig
from core.disk.preflight import check_disk
from core.base.errors import ConfigInvalid, FieldError, LaunchRefused
from core.registry.output_lock import OutputBusy, try_lock_output
from core.trainer.dataset_check import check_run_datasets, refuse_on_dataset_errors
from core.trainer.preflight import PreflightResult, check_cpu_ranks, preflight
from core.registry.process_identity import identify, is_alive
from core.registry.records import RunRecord, load_record, new_run_id, run_files, save_record
from core.registry.state import RunPhase, read_run_state
from core.base.workspace import PROJECT_DIR, Workspace

# A full XTTS v2 checkpoint (5.61 GB, docs/trainer-facts.md) takes ~20 s to write at 320 MB/s; leave room for slow disks.
DEFAULT_STOP_GRACE_S = 180.0


@dataclass(frozen=True)
class StopOutcome:
    run_id: str
    signalled: bool
    message: str


def start_run(ws: Workspace, config: RunConfig, *, mode: str = "new", resume_from: str = "",
              checked: PreflightResult | None = None, disk_override: bool = False, world_size: int = 1,
              gpus: tuple[int, ...] = (), dataset_override: bool = False) -> RunRecord:
    """Validate everything, check the disk forecast, take the output path's lock and launch.

    `gpus` trains one DDP rank per listed GPU; without GPUs, `world_size` > 1 runs that many ranks
    on the CPU (gloo). Several ranks are started by one group leader (core.runs.rank_group), the
    process recorded here. Raises ConfigInvalid (nothing written) or LaunchRefused (another run
    holds the output path, or DiskWontFit: the forecast peak exceeds the free space and
    `disk_override` is off). The dataset check's errors (rows the trainer would silently swap for
    others) raise ConfigInvalid unless `dataset_override` is on.
    """
    checked = checked or preflight(config, mode=mode, resume_from=resume_from, world_size=world_size, gpus=tuple(gpus))
    if not checked.gpus and check_cpu_ranks(checked.world_size):
        raise ConfigInvalid(check_cpu_ranks(checked.world_size))
    if not dataset_override:
        refuse_on_dataset_errors(check_run_datasets(checked, ws.dataset_checks_dir))
    check_disk(checked, override=disk_override)
    run_id = new_run_id()
    output = Path(checked.config.output_path)
    try:
        lock = try_lock_output(output, run_id)
    except OutputBusy as busy:
        raise LaunchRefused(str(busy)) from None
    except OSError as exc:
        # Preflight's access check passes for root on folders nobody can create files in (/proc).
        raise ConfigInvalid([FieldError("output_path", f"{output} cannot be created ({exc.strerror or exc}); "
                                                       "choose a folder you can write to")]) from None
    files = run_files(ws, run_id)
    folder = files.folder
    try:
        folder.mkdir(parents=True)
        write_json_atomic(files.launch, checked.to_launch_dict(run_id, mode, resume_from))
        command = [ws.python_executable, "-m", "core.runs.train_process", str(folder)]
        env = ws.subprocess_env()
        env["XTTS_DASHBOARD_LOCK_FD"] = str(lock.fd)
        if checked.gpus:
            env["CUDA_DEVICE_ORDER"] = "PCI_BUS_ID"  # the indices nvidia-smi and core.base.devices show
            env["CUDA_VISIBLE_DEVICES"] = ",".join(map(str, checked.gpus))
        elif checked.world_size > 1:
            env["CUDA_VISIBLE_DEVICES"] = ""  # ranks asked for on the CPU stay there (gloo)
        with open(files.log(), "ab") as log:
            proc = subprocess.Popen(
                command, cwd=PROJECT_DIR, env=env, stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True, pass_fds=(lock.fd,))
        identity = identify(proc.pid)
        record = RunRecord(
            run_id=run_id, output_path=str(output), config=checked.config.to_dict(), command=command,
            pid=proc.pid, process_start_time=identity.start_time if identity else time.time(),
            started_at=time.time(), mode=mode, resume_from=resume_from,
            trainer_run_name=checked.trainer_run_name(run_id), env_overrides=dict(ws.env_overrides),
            world_size=checked.world_size, gpus=list(checked.gpus))
        save_record(ws, record)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    finally:
        lock.release()
    # Reap the child when it ends so it never lingers as a zombie under the dashboard.
    threading.Thread(target=proc.wait, name=f"reap-{run_id}", daemon=True).start()
    return record


def prepare_run(ws: Workspace, config: RunConfig, *, mode: str = "new", resume_from: str = "", world_size: int = 1,
                disk_override: bool = False) -> Path:
    """Check a run and write its record folder (launch.json) without starting it: for torchrun.

    `torchrun ... -m core.runs.train_process <folder>` then starts the ranks on each node; rank 0 takes
    the output path's lock and writes record.json itself, so the dashboard lists the run.
    """
    checked = preflight(config, mode=mode, resume_from=resume_from, world_size=world_size)
    check_disk(checked, override=disk_override)
    run_id = new_run_id()
    files = run_files(ws, run_id)
    files.folder.mkdir(parents=True)
    write_json_atomic(files.launch, checked.to_launch_dict(run_id, mode, resume_from))
    return files.folder


def request_stop(ws: Workspace, run_id: str, grace_s: float = DEFAULT_STOP_GRACE_S, *,
                 reason: str = "") -> StopOutcome:
    """Ask a run to stop with SIGINT (the trainer saves a checkpoint); escalate after `grace_s`.

    The escalation runs in a small detached process so it happens even if the dashboard goes away.
    `reason` is recorded in stop.json ("" for a user's stop; "overfitting" from the training process).
    The signal goes last: a training process stopping itself gets its KeyboardInterrupt right there.
    """
    record = load_record(ws, run_id)
    if record is None:
        return StopOutcome(run_id, False, "no such run")
    if not is_alive(record.identity):
        # The pid may now belong to an unrelated process: never signal it.
        return StopOutcome(run_id, False, "the run is not running")
    write_json_atomic(run_files(ws, run_id).stop, {"requested_at": time.time(), "grace_s": grace_s,
                                              "signal": "SIGINT", "escalated": False, "reason": reason})
    subprocess.Popen([ws.python_executable, "-m", "core.runs.stopper", str(ws.root), run_id],
                     cwd=PROJECT_DIR, env=ws.subprocess_env(), stdin=subprocess.DEVNULL,
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    os.kill(record.pid, signal.SIGINT)
    return StopOutcome(run_id, True, f"SIGINT sent; the trainer saves a checkpoint and exits "
                                     f"(killed if still running after {grace_s:g} s)")


def wait_until_ended(ws: Workspace, run_id: str, timeout_s: float, poll_s: float = 0.2) -> RunPhase:
    """Block until the run is no longer live or the timeout passes; return its phase."""
    deadline = time.monotonic() + timeout_s
    while True:
        phase = read_run_state(ws, run_id).phase
        if not phase.is_live or time.monotonic() > deadline:
            return phase
        time.sleep(poll_s)
