"""Make the trainer's `continue_path` skip saves a crash cut short, and keep them out of its reach.

coqui-tts-trainer's get_last_checkpoint takes the highest step without checking the file
(docs/trainer-facts.md), so after a crash mid-save it would pick the truncated one and fail to
load it. Renaming the cut file in place is not enough: the trainer's pruning globs
`checkpoint_*` with any suffix and sorts by (step, path), so `checkpoint_200.pth.incomplete` beside
the re-saved `checkpoint_200.pth` made it delete the fresh file at keep=1 and keep the cut one.
Cut files are moved into the run folder's incomplete/ instead (core.checkpoints.resume), where
no glob of the trainer looks and the gallery still lists them. Patched in our training process
only, never in site-packages.
"""
from __future__ import annotations

from pathlib import Path

from core.checkpoints.resume import set_aside_cut_saves


def use_only_intact_checkpoints():
    """Patch the trainer so `continue_path` resumes from the newest complete checkpoint."""
    import trainer.io
    import trainer.trainer

    original = trainer.io.get_last_checkpoint

    def last_intact(path):
        folder = Path(path)
        for moved in set_aside_cut_saves(folder):
            # Moved, not deleted: nothing is lost, and the user deletes it from the gallery.
            print(f" > Skipping incomplete checkpoint {moved.original.name} "
                  f"(moved to {moved.moved_to.relative_to(folder)})", flush=True)
        return original(path)

    trainer.trainer.get_last_checkpoint = last_intact
    return last_intact
