"""Real demo runs (1 epoch) notify through a real Apprise json:// target on 127.0.0.1.

One run finishes with two services configured: a live one (gets "finished" exactly once, with the run
id and best loss) and a dead one (refused connections: retried with backoff after the run has already
ended finished). A second run fails for real: its dataset lists audio files that are not audio, so
coqui's loader gives up (RecursionError) inside the trainer, the way a bad dataset fails in use; the
training process's own exit path sends "failed" with the log's last lines. (A run SIGKILLed as a whole
cannot notify: nothing of it runs any more; a multi-rank run's leader covers a killed rank, see
tests/runs/test_run_notifications.py.)
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import pytest
from streamlit.testing.v1 import AppTest

from core.notify.channels import RetryPolicy, add_url, read_channels, write_channels
from core.notify.files import NotifyFiles, notify_files
from core.notify.history import Delivery, read_history
from core.notify.summary import NotificationSummary, summarize
from core.registry.records import read_status, run_files
from core.registry.state import RunPhase, RunState, read_run_state
from core.runs.launcher import start_run, wait_until_ended
from core.trainer.demo import demo_config
from core.base.workspace import Workspace
from tests.conftest import wait_for
from tests.notify.receiver import JsonReceiver, bound_dead_port, start_receiver, stop_receiver

SECRET = "hunter2SECRETpass"
RETRY_DELAYS_S = (3.0, 6.0)  # long next to a process exit, so "still retrying when the run ended" is clear-cut


def toast_script() -> None:
    from pages.notifications_panel import toast_new_notifications

    toast_new_notifications()


@dataclass
class NotifiedRun:
    ws: Workspace
    files: NotifyFiles
    state: RunState
    receiver: JsonReceiver
    dead_target: str  # masked label of the dead service ("" when there is none)
    at_end: tuple[NotificationSummary, ...]  # the history as it stood when the run was seen ended
    toasts: list[str]  # what a tab opened before the run toasted after it


def run_and_notify(tmp_path_factory, demo_workspace, name: str, urls, **changes) -> NotifiedRun:
    _ws, demo = demo_workspace
    ws = Workspace.at(tmp_path_factory.mktemp(name))
    files = notify_files(ws)
    receiver, server = start_receiver()
    dead = bound_dead_port()
    try:
        for url in urls(receiver, dead.getsockname()[1]):
            add_url(files, url)
        write_channels(files, replace(read_channels(files), retry=RetryPolicy(RETRY_DELAYS_S, 2.0)))
        tab = AppTest.from_function(toast_script, default_timeout=60)
        tab.session_state["workspace_root"] = str(ws.root)
        tab.run()
        # The failing run's dataset is refused by the dataset check; the override lets it fail in training.
        record = start_run(ws, demo_config(ws, demo).with_changes(epochs=1, **changes), dataset_override=True)
        wait_until_ended(ws, record.run_id, 900)
        at_end = summarize(read_history(files))
        tab.run()
        assert wait_for(lambda: not any(s.pending for s in summarize(read_history(files))), timeout_s=120)
        dead_port = str(dead.getsockname()[1])
        dead_label = next((c.label for c in read_channels(files).channels if dead_port in c.url), "")
        return NotifiedRun(ws, files, read_run_state(ws, record.run_id), receiver, dead_label, at_end,
                           [t.value for t in tab.toast])
    finally:
        stop_receiver(server)
        dead.close()


@pytest.fixture(scope="module")
def finished(tmp_path_factory, demo_workspace) -> NotifiedRun:
    return run_and_notify(tmp_path_factory, demo_workspace, "notify-finished",
                          lambda live, port: [live.url(auth=f"bot:{SECRET}"), f"json://127.0.0.1:{port}/down"])


@pytest.fixture(scope="module")
def failed(tmp_path_factory, demo_workspace) -> NotifiedRun:
    _ws, demo = demo_workspace
    data = tmp_path_factory.mktemp("not-audio")
    for csv in (demo.train_csv, demo.eval_csv):
        text = csv.read_text()
        (data / csv.name).write_text(text)
        for line in text.splitlines()[1:]:
            target = data / line.split("|")[0]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(b"RIFF....WAVE but not really audio" * 8)
    return run_and_notify(tmp_path_factory, demo_workspace, "notify-failed", lambda live, _port: [live.url()],
                          train_csv=str(data / demo.train_csv.name), eval_csv=str(data / demo.eval_csv.name))


def test_a_finished_run_notifies_once_with_its_run_id_and_best_loss(finished):
    assert finished.state.phase is RunPhase.FINISHED, finished.state.detail
    run_id = finished.state.run_id
    best = read_status(finished.ws, run_id).best_model
    assert best is not None and best.loss is not None
    assert len(finished.receiver.requests) == 1
    request = finished.receiver.requests[0]
    assert request["path"] == "/hook" and request["authorization"].startswith("Basic ")
    payload = request["payload"]
    assert payload["title"] == f"Run {run_id} finished" and payload["type"] == "success"
    assert run_id in payload["message"] and f"best loss {best.loss:.4f} (step {best.step})" in payload["message"]


def test_an_open_tab_toasts_the_runs_end(finished):
    assert len(finished.toasts) == 1 and f"Run {finished.state.run_id} finished" in finished.toasts[0]


def test_a_dead_service_neither_slows_nor_fails_the_run(finished):
    assert finished.state.phase is RunPhase.FINISHED and finished.state.exit_code == 0
    (at_end,) = finished.at_end
    dead_then = next(t for t in at_end.targets if t.target == finished.dead_target)
    assert dead_then.state == "retrying", "the run had ended while its notification was still being retried"
    tries = [d for d in read_history(finished.files) if isinstance(d, Delivery) and d.target == finished.dead_target]
    assert [(d.attempt, d.ok, d.final, d.retry_in_s) for d in tries] == [
        (1, False, False, RETRY_DELAYS_S[0]), (2, False, False, RETRY_DELAYS_S[1]), (3, False, True, None)]
    (now,) = summarize(read_history(finished.files))
    assert "failed after 3 attempt(s)" in now.delivery_text and ": sent" in now.delivery_text


def test_secrets_stay_in_the_0600_url_file(finished):
    outcome_folder = run_files(finished.ws, finished.state.run_id).folder
    holders = [p for p in finished.ws.root.rglob("*") if p.is_file() and SECRET.encode() in p.read_bytes()]
    assert holders == [finished.files.urls], holders
    assert (outcome_folder / "train.log").exists() and finished.files.sender_log.exists()
    assert (finished.files.urls.stat().st_mode & 0o777) == 0o600


def test_a_failing_run_notifies_failed_with_its_last_lines(failed):
    assert failed.state.phase is RunPhase.FAILED
    run_id = failed.state.run_id
    assert len(failed.receiver.requests) == 1
    payload = failed.receiver.requests[0]["payload"]
    assert payload["title"] == f"Run {run_id} failed" and payload["type"] == "failure"
    assert "Last lines of its log:" in payload["message"] and "RecursionError" in payload["message"]
    last = payload["message"].split("Last lines of its log:\n", 1)[1].splitlines()
    assert last[-1] == failed.state.last_lines[-1].rstrip(), "the log's real last line ends the message"
    assert len(failed.toasts) == 1 and f"Run {run_id} failed" in failed.toasts[0]
