"""LogTail against real files that grow, get truncated and get replaced."""
from __future__ import annotations

import os
from datetime import datetime

from core.monitor.log_tail import CheckpointEvent, EventKind, LogFilter, LogTail
from core.base.text import strip_ansi

BOLD, END = "\x1b[1m", "\x1b[0m"


def append(path, text: str) -> None:
    with open(path, "a", encoding="utf-8") as f:
        f.write(text)


def test_ansi_codes_are_stripped_and_partial_line_held_back(tmp_path):
    log = tmp_path / "trainer_0_log.txt"
    append(log, f"{BOLD} > TRAINING (2026-11-25 10:00:00) {END}\n   --> STEP: 1/9 -- GLO")
    tail = LogTail(log)
    assert tail.refresh() == 1
    assert tail.lines() == [" > TRAINING (2026-11-25 10:00:00) "]
    append(log, "BAL_STEP: 1\n")
    assert tail.refresh() == 1
    assert tail.lines()[-1] == "   --> STEP: 1/9 -- GLOBAL_STEP: 1"
    assert tail.refresh() == 0


def test_multibyte_character_split_across_reads(tmp_path):
    log = tmp_path / "log.txt"
    data = "épreuve\n".encode()
    log.write_bytes(data[:1])
    tail = LogTail(log)
    tail.refresh()
    with open(log, "ab") as f:
        f.write(data[1:])
    tail.refresh()
    assert tail.lines() == ["épreuve"]


def test_progress_bar_carriage_returns_keep_the_last_state(tmp_path):
    log = tmp_path / "log.txt"
    append(log, " 10%|#  \r 50%|#####  \r100%|##########\r\n")
    tail = LogTail(log)
    tail.refresh()
    assert tail.lines() == ["100%|##########"]


def test_checkpoint_and_best_model_become_events(tmp_path):
    log = tmp_path / "trainer_0_log.txt"
    run = "/out/run/training/xtts-November-25-2026_10+00AM-0000000"
    append(log, f"     | > loss: 0.5123  (0.6)\n\n > CHECKPOINT : {run}/checkpoint_1000.pth\n")
    append(log, f"  {BOLD}--> EVAL PERFORMANCE{END}\n     | > avg_loss: 0.42  (+0.0)\n")
    append(log, f" > BEST MODEL : {run}/best_model_1000.pth\n")
    append(log, f"2026-11-25 10:30:00 > CHECKPOINT : {run}/checkpoint_2000.pth\n")
    tail = LogTail(log)
    tail.refresh()
    events = tail.events()
    assert [e.message for e in events] == [
        "Checkpoint saved at step 1000", "Best model updated at step 1000", "Checkpoint saved at step 2000"]
    assert events[0] == CheckpointEvent(EventKind.CHECKPOINT, 1000, f"{run}/checkpoint_1000.pth", 0.5123,
                                        events[0].time_s)
    assert events[1].kind is EventKind.BEST_MODEL and events[1].loss == 0.42
    assert abs(events[0].time_s - os.path.getmtime(log)) < 60  # read time
    assert events[2].time_s == datetime(2026, 11, 25, 10, 30).timestamp()  # the line's own time


def test_filters(tmp_path):
    log = tmp_path / "log.txt"
    append(log, "all good\nUserWarning: something\nTraceback (most recent call last):\n"
                " > CHECKPOINT : /r/checkpoint_5.pth\nloss is NaN\n")
    tail = LogTail(log)
    tail.refresh()
    assert len(tail.lines(LogFilter.ALL)) == 5
    assert tail.lines(LogFilter.WARNINGS) == [
        "UserWarning: something", "Traceback (most recent call last):", "loss is NaN"]
    assert tail.lines(LogFilter.CHECKPOINTS) == [" > CHECKPOINT : /r/checkpoint_5.pth"]


def test_truncated_file_is_read_again_from_the_start(tmp_path):
    log = tmp_path / "log.txt"
    append(log, "one\ntwo\nthree\n")
    tail = LogTail(log)
    tail.refresh()
    log.write_text("new\n")
    assert tail.refresh() == 1
    assert tail.lines()[-1] == "new" and tail.restarts == 1


def test_replaced_file_is_read_from_the_start(tmp_path):
    log = tmp_path / "log.txt"
    append(log, "old line\n")
    tail = LogTail(log)
    tail.refresh()
    rotated = tmp_path / "next.txt"
    rotated.write_text("first of new file, longer than the old one\n")
    os.replace(rotated, log)
    assert tail.refresh() == 1
    assert tail.lines() == ["old line", "first of new file, longer than the old one"]
    assert tail.restarts == 1


def test_memory_is_bounded_and_missing_file_reported(tmp_path):
    log = tmp_path / "log.txt"
    append(log, "".join(f"line {i}\n" for i in range(1000)))
    tail = LogTail(log, max_lines=10)
    assert tail.refresh() == 1000
    assert tail.lines() == [f"line {i}" for i in range(990, 1000)]
    log.unlink()
    assert tail.refresh() == 0 and tail.missing
    assert len(tail.lines()) == 10


def test_strip_ansi_handles_osc_and_cursor_codes():
    assert strip_ansi("\x1b]0;title\x07a\x1b[2Kb\x1b[1;32mc\x1b[0m") == "abc"
