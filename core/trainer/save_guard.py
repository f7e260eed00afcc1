"""Hold a stop request (SIGINT) back while the trainer writes a checkpoint or a best model.

coqui-tts-trainer stops on KeyboardInterrupt and saves a checkpoint. But a SIGINT that lands inside
torch.save interrupts the zip writer, whose cleanup then raises "unexpected pos" over the
KeyboardInterrupt: fit() sees a RuntimeError, not an interrupt, and the run ends failed with a
cut file instead of stopped with a saved one (seen in the test suite on a slow machine: Stop pressed
during a best-model save). So the trainer's two save calls run with SIGINT deferred: the signal is
noted, the save (and its copy and pruning) finishes, then the KeyboardInterrupt is raised and fit()
stops as it would have. Patched in our training process only, never in site-packages.
"""
from __future__ import annotations

import functools
import signal
import threading
from typing import Callable, TypeVar

T = TypeVar("T")


def without_interrupts(save: Callable[..., T]) -> Callable[..., T]:
    """`save`, with a SIGINT that arrives during it raised as KeyboardInterrupt once it has returned.

    A process that ignores SIGINT (ranks other than 0) keeps ignoring it; off the main thread,
    where no handler can be set, `save` runs as it is."""
    @functools.wraps(save)
    def guarded(*args, **kwargs):
        if threading.current_thread() is not threading.main_thread():
            return save(*args, **kwargs)
        previous = signal.getsignal(signal.SIGINT)
        if previous is signal.SIG_IGN:
            return save(*args, **kwargs)
        pending = []
        signal.signal(signal.SIGINT, lambda signum, frame: pending.append(signum))
        try:
            result = save(*args, **kwargs)
        finally:
            signal.signal(signal.SIGINT, previous)
        if pending:
            raise KeyboardInterrupt
        return result

    return guarded


def defer_stops_during_saves() -> None:
    """Patch the Trainer's checkpoint and best-model saves (the names trainer.trainer calls)."""
    import trainer.trainer

    for name in ("save_checkpoint", "save_best_model"):
        current = getattr(trainer.trainer, name)
        if not getattr(current, "_defers_sigint", False):
            guarded = without_interrupts(current)
            guarded._defers_sigint = True
            setattr(trainer.trainer, name, guarded)
