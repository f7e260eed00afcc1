"""Make the trainer's `continue_path` skip checkpoints a crash cut short.

coqui-tts-trainer's get_last_checkpoint takes the highest step without checking the file
(docs/trainer-facts.md), so after a crash mid-save it would pick the truncated one and fail to
load it. Patched in our training process only, never in site-packages.
"""
from __future__ import annotations

from pathlib import Path

from core.checkpoints.files import checkpoint_looks_complete
from core.checkpoints.layout import INCOMPLETE_SUFFIX


def use_only_intact_checkpoints():
    """Patch the trainer so `continue_path` resumes from the newest complete checkpoint."""
    import trainer.io
    import trainer.trainer

    original = trainer.io.get_last_checkpoint

    def last_intact(path):
        folder = Path(path)
        for broken in [p for p in folder.glob("*.pth") if not checkpoint_looks_complete(p)]:
            # Renamed, not deleted: nothing is lost, and the trainer's glob no longer sees it.
            broken.rename(broken.with_name(broken.name + INCOMPLETE_SUFFIX))
            print(f" > Skipping incomplete checkpoint {broken.name} (renamed to {broken.name}{INCOMPLETE_SUFFIX})")
        return original(path)

    trainer.trainer.get_last_checkpoint = last_intact
    return last_intact
