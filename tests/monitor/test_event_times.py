"""Checkpoint events carry the time they were saved, not the time the log was read."""
from __future__ import annotations

import os

from core.monitor.event_times import saved_at
from core.monitor.events import RunEventReader
from core.monitor.log_tail import EventKind, LogTail
from core.registry.records import log_path


def demo_events(demo_run):
    tail = LogTail(log_path(demo_run.ws, demo_run.record.run_id))
    tail.refresh()
    return tail.events()


def test_events_of_a_finished_run_show_when_each_file_was_saved(demo_run):
    events = demo_events(demo_run)
    reader = RunEventReader(demo_run.run_folder)
    reader.refresh()
    times = {(e.kind, e.step): saved_at(e, reader) for e in events}
    # Files still on disk: their own mtime.
    checkpoint = times[(EventKind.CHECKPOINT, 200)]
    assert checkpoint.source == "file"
    assert checkpoint.time_s == os.stat(demo_run.run_folder / "checkpoint_200.pth").st_mtime
    # Best models the trainer pruned since (after epochs 1-3): the event files' wall time of that step.
    pruned = [times[(EventKind.BEST_MODEL, step)] for step in (60, 120, 180)]
    assert {t.source for t in pruned} == {"event file"}
    # Real save times follow the training: strictly increasing with the step, over the run's length.
    ordered = [t.time_s for _, t in sorted(times.items(), key=lambda item: (item[0][1], item[0][0].value))]
    assert ordered == sorted(ordered) and len(set(ordered)) == len(ordered)
    assert ordered[-1] - ordered[0] > 5  # the demo trains for tens of seconds, not one instant


def test_without_file_or_event_file_the_log_time_is_used(demo_run, tmp_path):
    event = next(e for e in demo_events(demo_run) if e.kind is EventKind.BEST_MODEL and e.step == 60)
    assert saved_at(event, None).source == "log" and saved_at(event, None).time_s == event.time_s
