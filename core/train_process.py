"""The training process: `python -m core.train_process <run folder>`.

Launched detached by core.launcher. Runs coqui's Trainer + GPTTrainer, reports progress into
status.json through trainer callbacks, writes ready/ when training finishes, and records its
exit code in outcome.json (the dashboard derives the run state from these files).

With several ranks (launch.json's world_size > 1) the first process becomes the group leader
(core.rank_group) and starts this module once per rank; a rank reads its place from RANK /
WORLD_SIZE / LOCAL_RANK / MASTER_ADDR / MASTER_PORT, so torchrun can start the ranks as well.
"""
from __future__ import annotations

import re
import sys
import time
from pathlib import Path

from core.atomic_io import read_json, write_json_atomic
from core.config import RunConfig
from core.distributed import GradientSync, RankEnv, init_group, leave_group, pin_local_gpu, weights_fingerprint
from core.disk_tracking import MIN_SAMPLE_INTERVAL_S, SAMPLES_FILE, measure_folders, record_sample
from core.preflight import PreflightResult, checkpoint_looks_complete, preflight
from core.ready_export import export_ready
from core.start_weights import load_resized, needs_resize
from core.retention import RetentionPolicy, keep_best, keep_milestone
from core.run_records import rank_log_name
from core.trainer_setup import build_gpt_trainer_config, ready_dir

STATUS_MIN_INTERVAL_S = 0.5
EXIT_INTERRUPTED = 130


class StatusReporter:
    """Trainer callbacks that keep status.json current without writing it on every step."""

    def __init__(self, folder: Path, checked: PreflightResult):
        self.path = folder / "status.json"
        self.outcome_path = folder / "outcome.json"
        self.checked = checked
        self.retention = RetentionPolicy(checked.config.keep_best_k, checked.config.milestone_every_steps)
        self.started_at = time.time()
        self.last_write = 0.0
        self.last_disk_sample = 0.0
        self.last_step_time: float | None = None
        self.sec_per_step: float | None = None
        self.status: dict = {"phase": "initialising", "started_at": self.started_at, "step": 0, "epoch": 0,
                             "total_epochs": checked.config.epochs, "steps_per_epoch": checked.steps_per_epoch,
                             "total_steps": checked.total_steps, "adjustments": list(checked.adjustments),
                             "warnings": list(checked.warnings)}
        self.write(force=True)

    def write(self, force: bool = False) -> None:
        now = time.time()
        if force or now - self.last_write >= STATUS_MIN_INTERVAL_S:
            self.status["updated_at"] = now
            write_json_atomic(self.path, self.status)
            self.last_write = now
            self.sample_disk(now)

    def sample_disk(self, now: float) -> None:
        """Bytes on disk over time, so the Disk page has a history even when nobody watched."""
        folder = self.status.get("trainer_run_folder")
        if not folder or now - self.last_disk_sample < MIN_SAMPLE_INTERVAL_S:
            return
        ready = ready_dir(self.checked.config.output_path)
        record_sample(self.path.parent / SAMPLES_FILE, measure_folders(Path(folder), ready, step=self.status.get("step")))
        self.last_disk_sample = now

    def _files(self, trainer) -> None:
        folder = Path(trainer.output_path)
        steps = sorted(int(m.group(1)) for p in folder.glob("checkpoint_*.pth")
                       if (m := re.fullmatch(r"checkpoint_(\d+)\.pth", p.name)))
        if steps:
            self.status["last_checkpoint"] = {"step": steps[-1], "path": str(folder / f"checkpoint_{steps[-1]}.pth")}
        best = sorted(int(m.group(1)) for p in folder.glob("best_model_*.pth")
                      if (m := re.fullmatch(r"best_model_(\d+)\.pth", p.name)))
        if best:
            loss = trainer.best_loss
            if isinstance(loss, dict):
                loss = loss.get("eval_loss") if loss.get("eval_loss") is not None else loss.get("train_loss")
            self.status["best_model"] = {"step": best[-1], "loss": loss, "path": str(folder / "best_model.pth")}

    def on_init_end(self, trainer) -> None:
        import torch

        self.status["trainer_run_folder"] = str(trainer.output_path)
        self.status["device"] = (f"GPU: {torch.cuda.get_device_name(0)}" if trainer.use_cuda else "CPU")
        self.status["step"] = trainer.total_steps_done
        self.status["epoch"] = trainer.epochs_done
        self.status["phase"] = "training"
        # Read back from the live trainer, so tests can prove these settings reached it.
        self.status["trainer_settings"] = {
            "grad_accum_steps": trainer.grad_accum_steps,
            "train_samples": len(trainer.train_samples or []),
            "eval_samples": len(trainer.eval_samples or []),
            "continue_run": trainer.continue_run,
            "restore_path": trainer.args.restore_path or "",
        }
        self.write(force=True)

    def on_train_step_end(self, trainer) -> None:
        now = time.time()
        if self.last_step_time is not None:
            elapsed = now - self.last_step_time
            self.sec_per_step = elapsed if self.sec_per_step is None else 0.9 * self.sec_per_step + 0.1 * elapsed
        self.last_step_time = now
        self.status.update(step=trainer.total_steps_done, epoch=trainer.epochs_done, phase="training",
                           sec_per_step=self.sec_per_step)
        averages = trainer.keep_avg_train.avg_values if trainer.keep_avg_train else {}
        for key in ("loss", "loss_text_ce", "loss_mel_ce"):
            if f"avg_{key}" in averages:
                self.status[f"train_{key}"] = float(averages[f"avg_{key}"])
        saved_step = trainer.total_steps_done - 1
        if trainer.config.save_checkpoints and saved_step % trainer.config.save_step == 0:
            keep_milestone(Path(trainer.output_path), saved_step, self.retention)
            self._files(trainer)
            self.write(force=True)
        else:
            self.write()

    def on_epoch_end(self, trainer) -> None:
        averages = trainer.keep_avg_eval.avg_values if trainer.keep_avg_eval else {}
        if "avg_loss" in averages:
            self.status["eval_loss"] = float(averages["avg_loss"])
        self.status["epoch"] = trainer.epochs_done + 1
        self._files(trainer)
        best = self.status.get("best_model") or {}
        keep_best(Path(trainer.output_path), best.get("loss"), self.retention)
        self.write(force=True)

    def on_keyboard_interrupt(self, trainer) -> None:
        # fit() ends with os._exit(130) right after this callback: finally-blocks never run.
        self._files(trainer)
        self.status["phase"] = "stopped"
        self.write(force=True)
        step = trainer.total_steps_done
        saved = trainer.config.save_on_interrupt
        self.write_outcome(EXIT_INTERRUPTED, f"stopped by SIGINT at step {step}"
                           + ("; the trainer saved checkpoint_%d.pth" % step if saved else ""))

    def callbacks(self) -> dict:
        return {"on_init_end": self.on_init_end, "on_train_step_end": self.on_train_step_end,
                "on_epoch_end": self.on_epoch_end, "on_keyboard_interrupt": self.on_keyboard_interrupt}

    def write_outcome(self, code: int, message: str) -> None:
        if not self.outcome_path.exists():
            write_json_atomic(self.outcome_path, {"exit_code": code, "message": message, "ended_at": time.time()})


def use_only_intact_checkpoints():
    """Make `continue_path` skip truncated checkpoints.

    The trainer's get_last_checkpoint takes the highest step without checking the file, so after
    a crash mid-save it would pick the truncated one and fail to load it.
    """
    import trainer.io
    import trainer.trainer

    original = trainer.io.get_last_checkpoint

    def last_intact(path):
        folder = Path(path)
        for broken in [p for p in folder.glob("*.pth") if not checkpoint_looks_complete(p)]:
            # Renamed, not deleted: nothing is lost, and the trainer's glob no longer sees it.
            broken.rename(broken.with_name(broken.name + ".incomplete"))
            print(f" > Skipping incomplete checkpoint {broken.name} (renamed to {broken.name}.incomplete)")
        return original(path)

    trainer.trainer.get_last_checkpoint = last_intact
    return last_intact


def train(folder: Path, reporter_box: list, rank: RankEnv | None = None) -> int:
    """Train (one rank of) the run in `folder`. Only rank 0 writes status, checkpoints and ready/."""
    launch = read_json(folder / "launch.json")
    checked = preflight(RunConfig(**launch["config"]), mode=launch["mode"], resume_from=launch["resume_from"],
                        world_size=rank.world_size if rank else 1)
    is_main = rank is None or rank.is_main
    reporter = StatusReporter(folder, checked) if is_main else None
    if reporter:
        reporter_box.append(reporter)
    for note in (*checked.adjustments, *checked.warnings):
        print(f" > NOTE: {note}", flush=True)

    from trainer import Trainer, TrainerArgs
    from TTS.tts.layers.xtts.trainer.gpt_trainer import GPTTrainer

    config = checked.config
    gpt_config = build_gpt_trainer_config(config, checked.base, launch["trainer_run_name"])
    start = gpt_config.model_args.xtts_checkpoint
    have, want = needs_resize(Path(start), Path(gpt_config.model_args.tokenizer_file)) if start else (None, 0)
    if have is not None and have != want:
        # GPTTrainer would fail on the size mismatch: build without weights, load them resized,
        # then put the path back so the trainer's config.json still names the real start.
        gpt_config.model_args.xtts_checkpoint = ""
        model = GPTTrainer.init_from_config(gpt_config)
        note = load_resized(model, Path(start))
        gpt_config.model_args.xtts_checkpoint = start
        if reporter:
            reporter.status["adjustments"].append(note)
        print(f" > NOTE: {note}", flush=True)
    else:
        model = GPTTrainer.init_from_config(gpt_config)
    output_path = gpt_config.output_path
    if rank:
        import torch

        backend = init_group(rank, torch.cuda.is_available())
        # Only recorded in the trainer's config.json: the group was joined just above (env:// rendezvous).
        gpt_config.distributed_backend = backend
        gpt_config.distributed_url = f"tcp://{rank.master_addr}:{rank.master_port}"
        if launch["mode"] == "continue":
            # Rank 0 sets truncated checkpoints aside (below, in last_intact) before any rank looks.
            if is_main:
                use_only_intact_checkpoints()(launch["resume_from"])
            torch.distributed.barrier()
        if not is_main:
            # The trainer writes config.json and trainer_<rank>_log.txt into its run folder (and
            # deletes that folder on a crash while it holds no .pth): give other ranks their own.
            output_path = str(folder / f"rank{rank.rank}")
    args = TrainerArgs(restore_path=launch["resume_from"] if launch["mode"] == "restore" else None,
                       continue_path=launch["resume_from"] if launch["mode"] == "continue" else "",
                       skip_train_epoch=False, start_with_eval=False, grad_accum_steps=config.grad_accum_steps,
                       rank=rank.rank if rank else 0, use_ddp=rank is not None, group_id=f"group_{launch['run_id']}")
    if launch["mode"] == "continue":
        use_only_intact_checkpoints()
    trainer = Trainer(args, gpt_config, output_path=output_path, model=model,
                      train_samples=checked.train.to_samples(config.language),
                      eval_samples=checked.eval.to_samples(config.language),
                      parse_command_line_args=False, callbacks=reporter.callbacks() if reporter else {})
    if rank:
        # The trainer's own DDP mode is off (one device per rank) and would not average gradients anyway.
        trainer.wrapped_model = GradientSync(trainer.model, trainer.optimizer, trainer.use_cuda)
        if reporter:
            reporter.status.update(world_size=rank.world_size, backend=backend,
                                   device=f"{reporter.status.get('device', '')} x {rank.world_size} ranks ({backend})")
            reporter.write(force=True)
    trainer.fit()
    if rank:
        print(f" > weights fingerprint (rank {rank.rank}): {weights_fingerprint(trainer.optimizer)}", flush=True)
        leave_group()
        if not is_main:
            return 0

    reporter.status["phase"] = "exporting"
    reporter.write(force=True)
    run_folder = Path(trainer.output_path)
    best = run_folder / "best_model.pth"
    source = best if best.is_file() else max(run_folder.glob("checkpoint_*.pth"), key=lambda p: p.stat().st_mtime, default=None)
    if source is not None:
        bundle = export_ready(source, ready_dir(config.output_path), checked.base,
                              Path(config.vocab_path or checked.base.vocab_json), checked.train)
        reporter.status["ready"] = {"folder": str(bundle.folder), "source": str(source)}
        print(f" > READY : {bundle.folder} (from {source.name})", flush=True)
    reporter.status["phase"] = "finished"
    reporter.write(force=True)
    return 0


def become_rank(folder: Path, rank: RankEnv) -> None:
    """Set this process up as one rank: its own log file, its own GPU, SIGINT for rank 0 only."""
    import os
    import signal

    # Under core.rank_group stdout already is this file; under torchrun this gives the same layout.
    log = os.open(folder / rank_log_name(rank.rank), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    sys.stdout.flush()
    sys.stderr.flush()
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    pin_local_gpu(rank.local_rank)
    if not rank.is_main:
        # Rank 0 saves the checkpoint on SIGINT; the others end when the group is torn down. Were
        # they to exit on SIGINT too, rank 0 could be cut off mid all-reduce before it saves.
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def register_rank0(folder: Path, rank: RankEnv) -> object:
    """Rank 0 started by torchrun (not by our launcher): take the output lock, write record.json.

    Returns the lock, to be held for the life of the process.
    """
    import os
    from dataclasses import asdict

    from core.output_lock import try_lock_output
    from core.process_identity import identify
    from core.run_records import RunRecord

    launch = read_json(folder / "launch.json")
    lock = try_lock_output(Path(launch["config"]["output_path"]), launch["run_id"])  # OutputBusy: exits 1
    me = identify(os.getpid())
    record = RunRecord(run_id=launch["run_id"], output_path=launch["config"]["output_path"], config=launch["config"],
                       command=["torchrun", "-m", "core.train_process", str(folder)], pid=os.getpid(),
                       process_start_time=me.start_time if me else time.time(), started_at=time.time(),
                       mode=launch["mode"], resume_from=launch["resume_from"],
                       trainer_run_name=launch["trainer_run_name"], world_size=rank.world_size)
    write_json_atomic(folder / "record.json", asdict(record))
    return lock


def main(argv: list[str]) -> int:
    import os

    folder = Path(argv[1])
    rank = RankEnv.from_env(os.environ)
    wanted = int((read_json(folder / "launch.json") or {}).get("world_size") or 1)
    if rank is None and wanted > 1:
        from core.rank_group import supervise

        launch = read_json(folder / "launch.json")
        return supervise(folder, wanted, [int(g) for g in launch.get("gpus") or []], sys.executable)
    if rank is not None:
        become_rank(folder, rank)
    if rank is not None and not rank.is_main:
        return train(folder, [], rank)  # errors: traceback in its log, exit status to the leader
    from core.rank_group import LEADER_ENV

    _lock = register_rank0(folder, rank) if rank is not None and LEADER_ENV not in os.environ else None  # noqa: F841
    box: list[StatusReporter] = []
    code, message = 1, "failed"
    try:
        code = train(folder, box, rank)
        message = "finished; ready/ written"
    except KeyboardInterrupt:
        code, message = EXIT_INTERRUPTED, "stopped by SIGINT before training started"
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
        message = "training failed; see the log" if code else "finished"
    except BaseException as exc:
        import traceback

        traceback.print_exc()
        code, message = 1, f"{type(exc).__name__}: {exc}"
    finally:
        outcome = folder / "outcome.json"
        if not outcome.exists():
            write_json_atomic(outcome, {"exit_code": code, "message": message, "ended_at": time.time()})
        if box and code != 0:
            box[0].status["phase"] = "stopped" if code == EXIT_INTERRUPTED else "failed"
            box[0].write(force=True)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv))
