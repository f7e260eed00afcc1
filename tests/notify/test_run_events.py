"""The run events' words: what a finished, failed, stopped run and a filling disk say."""
from __future__ import annotations

from core.notify.events import EventKind, Level, NotificationEvent
from core.notify.run_events import (DISK_WARNING_HORIZON_S, LAST_LINES, disk_full_soon, event_for_test_button,
                                    run_ended, run_failed, run_finished)


def test_finished_names_the_run_and_its_best_loss():
    event = run_finished("20260101-000000-abcdef", 1.23456, 120)
    assert event.key == "20260101-000000-abcdef:finished" and event.level is Level.SUCCESS
    assert "20260101-000000-abcdef" in event.title and "best loss 1.2346 (step 120)" in event.body
    assert event.facts == {"best_loss": 1.23456, "best_step": 120}
    assert "no best model" in run_finished("r", None).body


def test_failed_carries_the_last_lines_and_names_the_exception():
    tail = ["Traceback (most recent call last):", '  File "x.py", line 1', "    k = n.bit_length()", "        ^^^^^^^^",
            *[f"noise {n}" for n in range(30)], "RecursionError: maximum recursion depth exceeded"]
    event = run_failed("r1", "training failed; see the log", tail)
    assert event.level is Level.FAILURE and event.kind == EventKind.RUN_FAILED.value
    assert event.body.splitlines()[0] == ("Run r1 failed: training failed; see the log "
                                          "(RecursionError: maximum recursion depth exceeded)")
    assert len(event.facts["last_lines"]) == LAST_LINES and event.facts["last_lines"][-1].startswith("RecursionError")
    assert "^^^^" not in event.body


def test_the_exit_status_picks_the_event():
    assert run_ended("r", 0, "finished", best_loss=0.5).kind == "finished"
    assert run_ended("r", 130, "stopped by SIGINT at step 5").kind == "stopped"
    assert run_ended("r", 1, "rank 1 was killed by SIGKILL", last_lines=["x"]).kind == "failed"
    assert run_ended("r", -9, "killed").kind == "failed"


def test_the_disk_warning_fires_only_within_the_hour():
    assert disk_full_soon("r", None, 10**9) is None
    assert disk_full_soon("r", DISK_WARNING_HORIZON_S + 1, 10**9) is None
    event = disk_full_soon("r", 1500.0, 2 * 10**9)
    assert event.key == "r:disk_full_soon" and event.level is Level.WARNING
    assert "25 min" in event.title and "2.00 GB free" in event.body


def test_every_test_button_press_is_a_new_event_and_events_round_trip():
    first, second = event_for_test_button(), event_for_test_button()
    assert first.key != second.key and first.subject == "test"
    for event in (first, run_failed("r", "x", ["a", "b"]), disk_full_soon("r", 60.0, None)):
        assert NotificationEvent.from_json(event.to_json()) == event
