"""Delivery through Apprise to real local targets: once per event, retried with backoff, never blocking the sender."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path

import pytest

from core.notify.channels import Channels, RetryPolicy, add_url, read_channels, remove_channel, write_channels
from core.notify.delivery import deliver
from core.notify.dispatch import Notifier
from core.notify.files import NotifyFiles
from core.notify.history import Delivery, claim, read_history
from core.notify.run_events import run_failed, run_finished
from core.notify.summary import summarize
from core.base.workspace import PROJECT_DIR
from tests.conftest import wait_for

SECRET = "t0kenSECRET42"


@pytest.fixture
def files(tmp_path) -> NotifyFiles:
    return NotifyFiles(tmp_path / "ws" / "notify")


def configure(files: NotifyFiles, *urls: str, delays_s=(5.0, 10.0)) -> list[str]:
    ids = [add_url(files, url).channel_id for url in urls]
    write_channels(files, replace(read_channels(files), retry=RetryPolicy(tuple(delays_s), 2.0)))
    return ids


def claim_for_all(files: NotifyFiles, event) -> None:
    assert claim(files, event, tuple((c.channel_id, c.label) for c in read_channels(files).channels))


def no_retry(delay_s: float) -> None:
    raise AssertionError(f"an unexpected retry (after {delay_s} s)")


def deliveries(files: NotifyFiles) -> list[Delivery]:
    return [r for r in read_history(files) if isinstance(r, Delivery)]


def files_mentioning(folder: Path, text: str) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.is_file() and text in p.read_text(errors="replace"))


def test_a_live_service_gets_the_event_once(files, receiver):
    configure(files, receiver.url(auth=f"bot:{SECRET}"))
    claim_for_all(files, run_finished("20260101-000000-aaaaaa", 0.123456, 60))
    deliver(files, "20260101-000000-aaaaaa:finished", sleep=no_retry)
    deliver(files, "20260101-000000-aaaaaa:finished")  # a second delivery process finds it settled
    assert len(receiver.requests) == 1
    payload = receiver.requests[0]["payload"]
    assert payload["title"] == "Run 20260101-000000-aaaaaa finished" and payload["type"] == "success"
    assert "20260101-000000-aaaaaa" in payload["message"] and "best loss 0.1235 (step 60)" in payload["message"]
    assert [(d.attempt, d.ok, d.final) for d in deliveries(files)] == [(1, True, True)]


def test_a_dead_service_is_retried_with_backoff_then_given_up(files, dead_url):
    configure(files, dead_url.replace("json://", f"json://bot:{SECRET}@"), delays_s=(5.0, 10.0))
    claim_for_all(files, run_failed("r1", "exit 1", ["ValueError: bad"]))
    slept: list[float] = []
    deliver(files, "r1:failed", sleep=slept.append)
    assert slept == [5.0, 10.0]
    tries = deliveries(files)
    assert [(d.attempt, d.ok, d.final, d.retry_in_s) for d in tries] == [
        (1, False, False, 5.0), (2, False, False, 10.0), (3, False, True, None)]
    assert all("Connection error" in d.error and SECRET not in d.error for d in tries)
    summary = summarize(read_history(files))[0]
    assert not summary.pending and "failed after 3 attempt(s)" in summary.delivery_text


def test_one_failing_service_does_not_resend_to_the_others(files, receiver, dead_url):
    configure(files, receiver.url(), dead_url)
    claim_for_all(files, run_finished("r1", 1.0))
    deliver(files, "r1:finished", sleep=lambda _s: None)
    assert len(receiver.requests) == 1
    assert [t.state for t in summarize(read_history(files))[0].targets] == ["sent", "failed"]


def test_a_channel_removed_before_delivery_is_reported_not_sent(files, receiver):
    channel_id, = configure(files, receiver.url())
    claim_for_all(files, run_finished("r1", 1.0))
    remove_channel(files, channel_id)
    deliver(files, "r1:finished", sleep=no_retry)
    assert receiver.requests == []
    assert deliveries(files)[0].final and "removed" in deliveries(files)[0].error


def test_the_delivery_outlives_a_sender_killed_with_its_process_group(files, receiver, dead_url):
    """What a stop's SIGKILL escalation does to a training process: the delivery goes on in its own session."""
    configure(files, receiver.url(auth=f"bot:{SECRET}"), dead_url, delays_s=(0.3, 0.3))
    script = textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        from core.notify.dispatch import Notifier
        from core.notify.files import NotifyFiles
        from core.notify.run_events import run_finished
        notifier = Notifier(NotifyFiles(Path({str(files.folder)!r})))
        first, repeat = run_finished("killed-run", 0.5), run_finished("killed-run", 0.4)
        print(notifier.notify(first), notifier.notify(repeat), flush=True)
        time.sleep(600)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=PROJECT_DIR, stdout=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        assert proc.stdout.readline().split() == ["True", "False"], "recorded once; the repeat is refused"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert wait_for(lambda: not any(s.pending for s in summarize(read_history(files))), timeout_s=60)
    assert len(receiver.requests) == 1 and receiver.requests[0]["payload"]["title"] == "Run killed-run finished"
    assert [t.state for t in summarize(read_history(files))[0].targets] == ["sent", "failed"]
    log = files.sender_log.read_text()
    assert "killed-run:finished -> json://127.0.0.1" in log and "attempt 3/3 failed" in log
    assert files_mentioning(files.folder, SECRET) == ["urls.json"]


def test_a_notifier_never_raises(tmp_path, capsys):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the notify folder should be")
    assert Notifier(NotifyFiles(blocked)).notify(run_finished("r1", 1.0)) is False
    assert "could not be recorded" in capsys.readouterr().out


def test_no_channels_means_browser_only_and_no_process(files, monkeypatch):
    import core.notify.dispatch as dispatch

    monkeypatch.setattr(dispatch, "start_delivery", lambda *_args: pytest.fail("no service: no delivery process"))
    write_channels(files, Channels())
    assert Notifier(files).notify(run_finished("r1", 1.0))
    assert summarize(read_history(files))[0].delivery_text.startswith("browser only")
