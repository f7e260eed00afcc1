"""What the Monitor page reads, damaged while it is being written: the readers keep working.

The event file comes from torch's SummaryWriter (what the trainer uses), which appends to it
again after the fault; the log from a writer appending lines the way the trainer does.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from torch.utils.tensorboard import SummaryWriter

from core.monitor.events import RunEventReader
from core.monitor.log_tail import LogTail

TAG = "TrainIterStats/loss"


def write(writer: SummaryWriter, steps) -> None:
    for step in steps:
        writer.add_scalar(TAG, 1.0 / (step + 1), step)
    writer.flush()


def event_file(folder: Path) -> Path:
    (path,) = folder.glob("events.out.tfevents.*")
    return path


def append(log: Path, *lines: str) -> None:
    with open(log, "a") as handle:
        handle.write("".join(f"{line}\n" for line in lines))


def test_run_folder_deleted_while_read(tmp_path):
    folder = tmp_path / "run"
    writer = SummaryWriter(str(folder))
    log = folder / "trainer_0_log.txt"
    write(writer, range(1, 50))
    append(log, " > CHECKPOINT : /x/checkpoint_40.pth", "step 49")
    reader, tail = RunEventReader(folder), LogTail(log)
    assert reader.refresh() == 49 and tail.refresh() == 2
    writer.close()  # tensorboard's writer reopens the file per write: it would fail, not we

    shutil.rmtree(folder)
    assert reader.refresh() == 0 and reader.missing and reader.status().missing
    assert tail.refresh() == 0 and tail.missing
    assert reader.steps(TAG).tolist() == list(range(1, 50)), "what was read stays on screen"
    assert tail.lines() == [" > CHECKPOINT : /x/checkpoint_40.pth", "step 49"] and len(tail.events()) == 1

    # A run started again at the same path is picked up.
    writer = SummaryWriter(str(folder))
    write(writer, range(1, 5))
    append(log, "again")
    writer.close()
    assert reader.refresh() == 4
    assert reader.missing, "the first event file is still reported gone"
    assert tail.refresh() == 1 and not tail.missing and tail.lines()[-1] == "again"


def test_event_file_truncated_while_written(tmp_path):
    writer = SummaryWriter(str(tmp_path))
    write(writer, range(1, 101))
    reader = RunEventReader(tmp_path)
    assert reader.refresh() == 100
    path = event_file(tmp_path)
    os.truncate(path, path.stat().st_size // 2)
    reader.refresh()  # shorter than what was read: read again from the start, no crash
    write(writer, range(101, 121))  # the writer goes on at its old offset
    writer.close()
    reader.refresh()
    steps = reader.steps(TAG).tolist()
    assert steps[-1] == 120 and steps == sorted(steps)
    assert len(steps) == len(set(steps)), "no point counted twice"


def test_event_file_corrupted_while_written(tmp_path):
    writer = SummaryWriter(str(tmp_path))
    write(writer, range(1, 51))
    reader = RunEventReader(tmp_path)
    assert reader.refresh() == 50
    path = event_file(tmp_path)
    start = path.stat().st_size
    write(writer, range(51, 101))
    with open(path, "r+b") as f:  # scribble over the middle of what was appended
        middle = start + (path.stat().st_size - start) // 2
        f.seek(middle)
        f.write(b"\xff" * 40)
    reader.refresh()
    assert reader.corrupt_records >= 1
    write(writer, range(101, 121))
    writer.close()
    reader.refresh()
    steps = reader.steps(TAG).tolist()
    assert steps[:50] == list(range(1, 51)) and steps[-20:] == list(range(101, 121))
    assert 100 < len(steps) < 120, "only the damaged records are lost"


def test_log_rotated_away_while_written(tmp_path):
    log = tmp_path / "train.log"
    append(log, "one", "two")
    tail = LogTail(log)
    assert tail.refresh() == 2
    log.rename(tmp_path / "train.log.1")  # logrotate: move away, then a new file is created
    assert tail.refresh() == 0 and tail.missing and tail.lines() == ["one", "two"]
    append(log, "three")
    assert tail.refresh() == 1 and not tail.missing and tail.restarts == 1
    assert tail.lines() == ["one", "two", "three"]
    with open(log, "r+") as handle:  # copytruncate: the same file emptied in place
        handle.truncate(0)
    append(log, "four")
    assert tail.refresh() == 1 and tail.restarts == 2 and tail.lines()[-1] == "four"
    log.unlink()
    assert tail.refresh() == 0 and tail.missing and tail.lines()[-1] == "four"
