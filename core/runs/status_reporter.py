"""Trainer callbacks that keep a run's status.json, outcome.json and disk history current.

The training process (rank 0) is the only writer of these files; pages and the CLI read them
through core.registry. status.json is rewritten at most every STATUS_MIN_INTERVAL_S, and at once on
every save, so a page sees a checkpoint as soon as the trainer has written it.
"""
from __future__ import annotations

import time
from pathlib import Path

from core.atomic_io import write_json_atomic
from core.checkpoints.layout import BEST_MODEL_NAME, best_step_files, periodic_checkpoints, ready_dir
from core.checkpoints.retention import RetentionPolicy, keep_best, keep_milestone
from core.disk.tracking import MIN_SAMPLE_INTERVAL_S, measure_folders, record_sample
from core.registry.records import EXIT_INTERRUPTED, RunFiles
from core.registry.status import RunStatus, SavedModel
from core.trainer.preflight import PreflightResult

STATUS_MIN_INTERVAL_S = 0.5


def write_outcome(files: RunFiles, code: int, message: str, *, replace: bool = False, **extra) -> None:
    """Record how the training process ended; the first writer wins unless `replace`."""
    if replace or not files.outcome.exists():
        write_json_atomic(files.outcome, {"exit_code": code, "message": message, "ended_at": time.time(), **extra})


class StatusReporter:
    """status.json from the trainer's callbacks, without writing it on every step."""

    def __init__(self, files: RunFiles, checked: PreflightResult):
        self.files = files
        self.checked = checked
        self.retention = RetentionPolicy(checked.config.keep_best_k, checked.config.milestone_every_steps)
        self.last_write = 0.0
        self.last_disk_sample = 0.0
        self.last_step_time: float | None = None
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
        record_sample(self.files.disk_samples, measure_folders(folder, ready, step=self.status.step))
        self.last_disk_sample = now

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
        self.write(force=True)

    def on_keyboard_interrupt(self, trainer) -> None:
        # fit() ends with os._exit(130) right after this callback: finally-blocks never run.
        self._files(trainer)
        self.update(phase="stopped")
        self.write(force=True)
        step = trainer.total_steps_done
        saved = trainer.config.save_on_interrupt
        write_outcome(self.files, EXIT_INTERRUPTED, f"stopped by SIGINT at step {step}"
                      + ("; the trainer saved checkpoint_%d.pth" % step if saved else ""))

    def callbacks(self) -> dict:
        return {"on_init_end": self.on_init_end, "on_train_step_end": self.on_train_step_end,
                "on_epoch_end": self.on_epoch_end, "on_keyboard_interrupt": self.on_keyboard_interrupt}
