"""Trainer callbacks that keep a run's status.json, outcome.json and disk history current.

The training process (rank 0) is the only writer of these files; pages and the CLI read them
through core.registry. status.json is rewritten at most every STATUS_MIN_INTERVAL_S, and at once on
every save, so a page sees a checkpoint as soon as the trainer has written it.

After each evaluation it runs the overfitting watch (core.runs.overfit_watch): the warning goes into
status.json, and with `stop_on_overfit` the run is stopped as the Stop button would (the trainer
saves a checkpoint; outcome.json says why).

It also tells the user (core.notify) when the disk trend says the disk fills within the hour and,
through `notify_run_end`, how the run ended: the training process sends these itself, so they go
out with no browser open. Sending never waits for a service (a detached delivery process does).
"""
from __future__ import annotations

import time
from pathlib import Path

from core.base.atomic_io import read_json, write_json_atomic
from core.checkpoints.layout import BEST_MODEL_NAME, best_step_files, periodic_checkpoints, ready_dir
from core.checkpoints.retention import RetentionPolicy, keep_best, keep_milestone
from core.disk.tracking import MIN_SAMPLE_INTERVAL_S, SampleReader, disk_trend, measure_folders, record_sample
from core.base.machine import disk_space
from core.monitor.overfit import OverfitRule
from core.notify.dispatch import Notifier
from core.notify.run_events import disk_full_soon, run_ended
from core.registry.records import EXIT_INTERRUPTED, RunFiles, last_log_lines
from core.registry.state import disk_full_hint
from core.registry.status import RunStatus, SavedModel
from core.runs.overfit_watch import OVERFIT_STOP_REASON, OverfitWatch, stop_for_overfitting
from core.trainer.preflight import PreflightResult
from core.base.workspace import Workspace

STATUS_MIN_INTERVAL_S = 0.5


def write_outcome(files: RunFiles, code: int, message: str, *, replace: bool = False, **extra) -> None:
    """Record how the training process ended; the first writer wins unless `replace`."""
    if replace or not files.outcome.exists():
        write_json_atomic(files.outcome, {"exit_code": code, "message": message, "ended_at": time.time(), **extra})


def notify_run_end(files: RunFiles, notifier: Notifier | None) -> None:
    """Tell the user how the run ended (finished, stopped, failed with its last log lines), from
    outcome.json and status.json as they now stand; at most once per run, whoever calls first."""
    if notifier is None:
        return
    try:
        outcome = read_json(files.outcome)
        if not isinstance(outcome, dict) or not isinstance(outcome.get("exit_code"), int):
            return
        best = RunStatus.from_json(read_json(files.status)).best_model
        rank = outcome.get("failed_rank") if isinstance(outcome.get("failed_rank"), int) else 0
        # The run folder is <workspace>/runs/<run id>: the log tail is read the way the pages read it.
        lines = tuple(last_log_lines(Workspace(files.folder.parent.parent), files.folder.name, rank=rank))
        message = str(outcome.get("message") or f"exited with status {outcome['exit_code']}")
        if outcome["exit_code"] not in (0, EXIT_INTERRUPTED):
            message += disk_full_hint(lines)
        notifier.notify(run_ended(files.folder.name, outcome["exit_code"], message, last_lines=lines,
                                  best_loss=best.loss if best else None, best_step=best.step if best else None))
    except Exception as exc:  # noqa: BLE001 - telling the user must never change how the run ends
        print(f" > NOTE: the end-of-run notification failed ({type(exc).__name__})", flush=True)


class StatusReporter:
    """status.json from the trainer's callbacks, without writing it on every step."""

    def __init__(self, files: RunFiles, checked: PreflightResult, notifier: Notifier | None = None):
        self.files = files
        self.checked = checked
        self.notifier = notifier
        self.disk_reader = SampleReader(files.disk_samples)
        self.disk_warned = False
        self.retention = RetentionPolicy(checked.config.keep_best_k, checked.config.milestone_every_steps)
        self.last_write = 0.0
        self.last_disk_sample = 0.0
        self.last_step_time: float | None = None
        self.overfit_watch = OverfitWatch(OverfitRule.from_config(checked.config))
        self.status = RunStatus(
            phase="initialising", started_at_s=time.time(), total_epochs=checked.config.epochs,
            steps_per_epoch=checked.steps_per_epoch, total_steps=checked.total_steps,
            adjustments=tuple(checked.adjustments), warnings=tuple(checked.warnings))
        self.write(force=True)

    def update(self, **changes) -> None:
        self.status = self.status.with_changes(**changes)

    def write(self, force: bool = False) -> None:
        now = time.time()
        if force or now - self.last_write >= STATUS_MIN_INTERVAL_S:
            self.update(updated_at_s=now)
            write_json_atomic(self.files.status, self.status.to_json())
            self.last_write = now
            self.sample_disk(now)

    def sample_disk(self, now: float) -> None:
        """Bytes on disk over time, so the Disk page has a history even when nobody watched."""
        folder = self.status.run_folder
        if folder is None or now - self.last_disk_sample < MIN_SAMPLE_INTERVAL_S:
            return
        ready = ready_dir(self.checked.config.output_path)
        if record_sample(self.files.disk_samples, measure_folders(folder, ready, step=self.status.step)):
            self.warn_if_disk_fills()
        self.last_disk_sample = now

    def warn_if_disk_fills(self) -> None:
        """Notify once when, at the current rate, the disk fills within the hour and before the run ends."""
        if self.notifier is None or self.disk_warned:
            return
        try:
            free = disk_space(self.checked.config.output_path).free_bytes
            trend = disk_trend(self.disk_reader.load(), free, horizon_s=self.status.eta_s)
        except OSError:
            return  # a warning about the disk must not fail the run (this runs inside a trainer callback)
        event = disk_full_soon(self.files.folder.name, trend.full_in_s, free)
        if event is not None:
            self.disk_warned = True
            self.notifier.notify(event)

    def _files(self, trainer) -> None:
        folder = Path(trainer.output_path)
        checkpoints = periodic_checkpoints(folder)
        if checkpoints:
            step, path = checkpoints[-1]
            self.update(last_checkpoint=SavedModel(step, str(path)))
        best = best_step_files(folder)
        if best:
            loss = trainer.best_loss
            if isinstance(loss, dict):
                loss = loss.get("eval_loss") if loss.get("eval_loss") is not None else loss.get("train_loss")
            self.update(best_model=SavedModel(best[-1][0], str(folder / BEST_MODEL_NAME),
                                              float(loss) if isinstance(loss, (int, float)) else None))

    def on_init_end(self, trainer) -> None:
        import torch

        self.update(trainer_run_folder=str(trainer.output_path), step=trainer.total_steps_done,
                    epoch=trainer.epochs_done, phase="training",
                    device=f"GPU: {torch.cuda.get_device_name(0)}" if trainer.use_cuda else "CPU",
                    # Read back from the live trainer, so tests can prove these settings reached it.
                    trainer_settings={
                        "grad_accum_steps": trainer.grad_accum_steps,
                        "train_samples": len(trainer.train_samples or []),
                        "eval_samples": len(trainer.eval_samples or []),
                        "continue_run": trainer.continue_run,
                        "restore_path": trainer.args.restore_path or "",
                        "test_sentences": [s["text"] for s in getattr(trainer.config, "test_sentences", None) or []],
                    })
        self.write(force=True)

    def on_train_step_end(self, trainer) -> None:
        now = time.time()
        s_per_step = self.status.s_per_step
        if self.last_step_time is not None:
            elapsed = now - self.last_step_time
            s_per_step = elapsed if s_per_step is None else 0.9 * s_per_step + 0.1 * elapsed
        self.last_step_time = now
        averages = trainer.keep_avg_train.avg_values if trainer.keep_avg_train else {}
        losses = {f"train_{key}": float(averages[f"avg_{key}"])
                  for key in ("loss", "loss_text_ce", "loss_mel_ce") if f"avg_{key}" in averages}
        self.update(step=trainer.total_steps_done, epoch=trainer.epochs_done, phase="training",
                    s_per_step=s_per_step, **losses)
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
            self.update(eval_loss=float(averages["avg_loss"]))
        self.update(epoch=trainer.epochs_done + 1)
        self._files(trainer)
        best = self.status.best_model
        keep_best(Path(trainer.output_path), best.loss if best else None, self.retention)
        stop = self.watch_overfitting(trainer)
        self.write(force=True)
        if stop:
            stop_for_overfitting(self.files)  # last: the KeyboardInterrupt comes out of this call

    def watch_overfitting(self, trainer) -> bool:
        """Record the overfitting verdict; True when the run should stop for it now."""
        try:
            warning = self.overfit_watch.check(trainer)
        except Exception as exc:  # noqa: BLE001 - a watch that fails must not fail the training
            print(f" > NOTE: the overfitting watch failed ({type(exc).__name__}: {exc})", flush=True)
            return False
        self.update(overfit_warning=warning)
        if warning is None:
            return False
        last_epoch = trainer.epochs_done + 1 >= trainer.config.epochs  # it ends the run anyway, with ready/
        stop = self.checked.config.stop_on_overfit and not last_epoch and self.status.overfit_stop_step is None
        print(f" > OVERFITTING: {warning.reason} (since step {warning.started_step})"
              + ("; stopping the run (stop_on_overfit)" if stop else ""), flush=True)
        if stop:
            self.update(overfit_stop_step=trainer.total_steps_done)
        return stop

    def on_keyboard_interrupt(self, trainer) -> None:
        # fit() ends with os._exit(130) right after this callback: finally-blocks never run.
        self._files(trainer)
        self.update(phase="stopped")
        self.write(force=True)
        step = trainer.total_steps_done
        saved = "; the trainer saved checkpoint_%d.pth" % step if trainer.config.save_on_interrupt else ""
        warning = self.status.overfit_warning
        if self.status.overfit_stop_step is not None and warning is not None:
            write_outcome(self.files, EXIT_INTERRUPTED,
                          f"stopped for overfitting at step {step}: {warning.reason}{saved}",
                          stop_reason=OVERFIT_STOP_REASON, overfit_started_step=warning.started_step)
        else:
            write_outcome(self.files, EXIT_INTERRUPTED, f"stopped by SIGINT at step {step}{saved}")
        notify_run_end(self.files, self.notifier)  # here, as no code of ours runs after this callback

    def callbacks(self) -> dict:
        return {"on_init_end": self.on_init_end, "on_train_step_end": self.on_train_step_end,
                "on_epoch_end": self.on_epoch_end, "on_keyboard_interrupt": self.on_keyboard_interrupt}
