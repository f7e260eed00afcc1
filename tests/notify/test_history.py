"""The notification history: at most one record per key, readers that resume, a bounded file."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

import core.notify.history as history
from core.notify.events import NotificationEvent
from core.notify.files import NotifyFiles
from core.notify.history import (Delivery, EventRecord, HistoryCursor, claim, end_cursor, find_event, read_history,
                                 read_new_events, record_delivery)
from core.notify.run_events import run_finished, run_stopped
from core.notify.summary import SENDER_DEADLINE_S, summarize


@pytest.fixture
def files(tmp_path) -> NotifyFiles:
    return NotifyFiles(tmp_path / "notify")


def test_an_event_is_recorded_once_per_key(files):
    assert claim(files, run_finished("r1", 0.5), (("c1", "json://127.0.0.1"),))
    assert not claim(files, run_finished("r1", 0.4)), "the same run's second 'finished' is refused"
    assert claim(files, run_stopped("r2", "stopped by SIGINT"))
    records = read_history(files)
    assert [r.event.key for r in records] == ["r1:finished", "r2:stopped"]
    assert records[0].targets == (("c1", "json://127.0.0.1"),) and records[0].event.facts["best_loss"] == 0.5
    assert find_event(files, "r2:stopped").event.title == "Run r2 stopped"


def test_racing_writers_record_a_key_exactly_once(files):
    # Each thread opens the lock file itself, so flock separates them as it separates processes.
    start = threading.Barrier(8)

    def one(_):
        start.wait()
        return claim(files, run_finished("race", 1.0))

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(one, range(8)))
    assert results.count(True) == 1
    assert len(read_history(files)) == 1


def test_a_reader_gets_only_what_is_new_and_leaves_a_half_line_for_later(files):
    assert read_new_events(files, HistoryCursor()) == ((), HistoryCursor())  # no file yet
    claim(files, run_finished("r1", 0.5))
    events, cursor = read_new_events(files, HistoryCursor())
    assert [e.key for e in events] == ["r1:finished"]
    assert read_new_events(files, cursor) == ((), cursor), "nothing new: no events, same cursor"
    claim(files, run_finished("r2", 0.5))
    line = files.history.read_bytes().splitlines(keepends=True)[-1]
    files.history.write_bytes(files.history.read_bytes()[:-len(line)] + line[:len(line) // 2])  # cut the last record
    events, cut = read_new_events(files, cursor)
    assert events == () and cut == cursor
    with open(files.history, "ab") as handle:
        handle.write(line[len(line) // 2:])
    events, after = read_new_events(files, cut)
    assert [e.key for e in events] == ["r2:finished"] and after.offset == files.history.stat().st_size


def test_a_new_tab_starts_at_the_end(files):
    claim(files, run_finished("old", 0.5))
    cursor = end_cursor(files)
    assert read_new_events(files, cursor)[0] == ()
    claim(files, run_finished("new", 0.5))
    assert [e.key for e in read_new_events(files, cursor)[0]] == ["new:finished"]


def test_the_file_stays_bounded_and_readers_resume_after_compaction(files, monkeypatch):
    monkeypatch.setattr(history, "MAX_HISTORY_BYTES", 4000)
    cursor = HistoryCursor()
    for n in range(40):
        claim(files, run_finished(f"run{n}", 0.1))
        _events, cursor = read_new_events(files, cursor)
    assert files.history.stat().st_size <= 4000
    kept = [r.event.key for r in read_history(files)]
    assert kept[-1] == "run39:finished" and "run0:finished" not in kept
    claim(files, run_finished("after", 0.1))
    events, cursor = read_new_events(files, cursor)
    assert all(e.key != "run0:finished" for e in events), "a compaction never replays old events"


def test_malformed_lines_are_skipped(files):
    files.ensure()
    files.history.write_text('not json\n{"record": "event", "event": {"key": 1}}\n[1]\n{"record": "delivery"}\n')
    claim(files, run_finished("r1", 0.5))
    assert [type(r) for r in read_history(files)] == [EventRecord]
    assert NotificationEvent.from_json({"key": "k", "kind": "future_kind", "subject": "dataset job",
                                        "subject_id": "d1", "title": "t", "body": "b"}) is not None


def test_summaries_say_where_each_notification_went(files):
    claim(files, run_finished("r1", 0.5), (("a", "json://127.0.0.1:1"), ("b", "json://127.0.0.1:2")))
    claim(files, run_finished("r2", 0.5))
    record_delivery(files, Delivery("r1:finished", "a", "json://127.0.0.1:1", 1, True, True, time_s=1.0))
    record_delivery(files, Delivery("r1:finished", "b", "json://127.0.0.1:2", 1, False, False, "refused", 2.0, 1.0))
    newest, older = summarize(read_history(files))
    assert newest.event.key == "r2:finished" and newest.delivery_text.startswith("browser only")
    assert [t.state for t in older.targets] == ["sent", "retrying"] and older.pending
    record_delivery(files, Delivery("r1:finished", "b", "json://127.0.0.1:2", 2, False, True, "refused", None, 2.0))
    _newest, older = summarize(read_history(files))
    assert not older.pending and "failed after 2 attempt(s): refused" in older.delivery_text
    claim(files, run_finished("r3", 0.5), (("a", "json://127.0.0.1:1"),))
    lost = summarize(read_history(files), now_s=read_history(files)[-1].time_s + SENDER_DEADLINE_S + 1)[0]
    assert lost.targets[0].state == "lost" and not lost.pending
