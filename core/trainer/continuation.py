"""What "continue" will do, said before it starts: which file it resumes from and how far it will run.

coqui's trainer resumes a `continue_path` from its newest checkpoint_<step> or best_model_<step>
(whichever has the higher step), at `step + 1`, and starts again the epoch that checkpoint was saved
in (trainer.py `restore_model`: total_steps_done = step + 1, epochs_done = epoch; the epoch loop runs
from epochs_done). So a run stopped late in an epoch re-trains that epoch from its start, and ends at
step + 1 + (epochs - epoch) * steps_per_epoch, past the first run's plan (docs/trainer-facts.md).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core.checkpoints.files import CheckpointError, read_checkpoint_info
from core.checkpoints.resume import intact_checkpoints


@dataclass(frozen=True)
class ContinuePlan:
    resume_file: Path
    resume_step: int
    resume_epoch: int  # the epoch the trainer starts again (0-based)
    train_loss: float | None
    eval_loss: float | None
    final_step: int  # the trainer's step count when the continued run ends
    steps_left: int
    epochs_left: int

    def describe(self) -> str:
        """One sentence for the Train page and the CLI."""
        loss = self.eval_loss if self.eval_loss is not None else self.train_loss
        loss_text = f", loss {loss:.4f}" if loss is not None else ""
        return (f"Continues from {self.resume_file.name} (step {self.resume_step}, epoch {self.resume_epoch + 1}"
                f"{loss_text}). The trainer starts epoch {self.resume_epoch + 1} again: {self.steps_left} steps "
                f"({self.epochs_left} epoch{'s' if self.epochs_left != 1 else ''}) remain, ending at step "
                f"{self.final_step}.")


def plan_continue(run_folder: Path, *, steps_per_epoch: int, epochs: int) -> ContinuePlan | None:
    """The continue of `run_folder` with these settings; None when it holds no intact checkpoint."""
    for path in intact_checkpoints(run_folder):  # highest step first, as the trainer picks
        try:
            info = read_checkpoint_info(path)
        except (CheckpointError, OSError):
            continue  # pruned by a live trainer meanwhile
        step = info.step or 0
        epoch = info.epoch if info.epoch is not None else step // max(steps_per_epoch, 1)
        epochs_left = max(0, epochs - epoch)
        steps_left = epochs_left * steps_per_epoch
        return ContinuePlan(path, step, epoch, info.train_loss, info.eval_loss, step + 1 + steps_left,
                            steps_left, epochs_left)
    return None
