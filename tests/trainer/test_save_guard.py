"""A stop (SIGINT) during a save: the save finishes, then the KeyboardInterrupt comes (real signals)."""
import os
import signal

import pytest

from core.trainer.save_guard import defer_stops_during_saves, without_interrupts


def save_interrupted_midway(written: list[str]):
    def save(path: str) -> str:
        written.append("start")
        os.kill(os.getpid(), signal.SIGINT)  # delivered at once: Python runs handlers between bytecodes
        written.append("end")
        return path

    return save


def test_a_sigint_during_a_save_is_raised_after_it():
    written = []
    with pytest.raises(KeyboardInterrupt):
        without_interrupts(save_interrupted_midway(written))("checkpoint_10.pth")
    assert written == ["start", "end"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # the handler is put back


def test_without_the_guard_the_save_is_cut_short():
    written = []
    with pytest.raises(KeyboardInterrupt):
        save_interrupted_midway(written)("checkpoint_10.pth")
    assert written == ["start"]


def test_a_save_with_no_sigint_returns_its_result():
    assert without_interrupts(lambda path: path.upper())("best_model.pth") == "BEST_MODEL.PTH"


def test_a_process_that_ignores_sigint_keeps_ignoring_it():
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        written = []
        assert without_interrupts(save_interrupted_midway(written))("x") == "x"
        assert written == ["start", "end"] and signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)


def test_the_trainer_calls_the_guarded_saves(monkeypatch):
    import trainer.trainer

    for name in ("save_checkpoint", "save_best_model"):
        monkeypatch.setattr(trainer.trainer, name, getattr(trainer.trainer, name))  # undone after the test
    original = trainer.trainer.save_checkpoint
    defer_stops_during_saves()
    defer_stops_during_saves()  # twice: wrapped once
    assert trainer.trainer.save_checkpoint.__wrapped__ is original
    assert trainer.trainer.save_best_model._defers_sigint
