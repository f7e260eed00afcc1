"""The Notifications panel (AppTest): add / refuse / remove URLs, the test button, the history, the toasts."""
from __future__ import annotations

from dataclasses import replace

import pytest
from streamlit.testing.v1 import AppTest

from core.notify.channels import RetryPolicy, read_channels, write_channels
from core.notify.files import notify_files
from core.notify.history import claim, read_history
from core.notify.run_events import run_finished, run_stopped
from core.notify.summary import summarize
from core.base.workspace import Workspace
from tests.conftest import wait_for
from tests.notify.receiver import dead_url, receiver  # noqa: F401 - fixtures

SECRET = "sw0rdfishSECRET"


def panel_script() -> None:
    from pages.notifications_panel import render_notifications_panel, toast_new_notifications

    toast_new_notifications()
    render_notifications_panel()


@pytest.fixture
def ws(tmp_path) -> Workspace:
    return Workspace.at(tmp_path / "ws")


@pytest.fixture
def panel(ws):
    at = AppTest.from_function(panel_script, default_timeout=60)
    at.session_state["workspace_root"] = str(ws.root)
    return at.run()


def page_text(at: AppTest) -> str:
    """Everything the page holds: every element's and block's protobuf, widget values and labels included."""
    return "\n".join(str(getattr(node, "proto", "")) + str(getattr(node, "value", "")) for node in at._tree)


def add(at: AppTest, url: str) -> AppTest:
    at.text_input(key="notify_new_url").input(url).run()
    return at.button(key="notify_add").click().run()


def test_an_empty_workspace_shows_browser_only_and_nothing_sent(panel):
    assert not panel.exception
    captions = [c.value for c in panel.caption]
    assert any("browser only" in c for c in captions) and "Nothing sent yet." in captions
    assert [b.label for b in panel.button] == ["Add", "Send a test notification"]
    assert panel.toast.len == 0


@pytest.mark.parametrize("url", [f"json://bot:{SECRET}@", f"nosuchservice://{SECRET}@example.com",
                                 f"bot:{SECRET}@example.com"])
def test_a_malformed_url_is_refused_with_a_message_and_never_shown(panel, ws, url):
    add(panel, url)
    assert not panel.exception
    (error,) = panel.error
    assert "Apprise cannot use this URL" in error.value and "apprise/wiki" in error.value
    assert panel.text_input(key="notify_new_url").value == "", "the typed secret is cleared"
    assert SECRET not in page_text(panel)
    assert read_channels(notify_files(ws)).channels == ()


def test_an_accepted_url_is_listed_masked_and_removable(panel, ws):
    add(panel, f"json://bot:{SECRET}@127.0.0.1:8999/hook/{SECRET}")
    assert [s.value for s in panel.success] == ["Added json://127.0.0.1:8999. Send a test notification to check it."]
    assert "`json://127.0.0.1:8999`" in [m.value for m in panel.markdown]
    assert panel.text_input(key="notify_new_url").value == ""
    assert "json://127.0.0.1:8999" in page_text(panel) and SECRET not in page_text(panel)
    add(panel, f"tgram://123456:{SECRET}/-100")
    assert "`tgram://•••`" in [m.value for m in panel.markdown] and SECRET not in page_text(panel)
    panel.button(key=f"notify_remove_{read_channels(notify_files(ws)).channels[0].channel_id}").click().run()
    assert [s.value for s in panel.success] == ["Removed json://127.0.0.1:8999."]
    assert [c.label for c in read_channels(notify_files(ws)).channels] == ["tgram://•••"]


def test_the_test_button_toasts_sends_and_shows_the_result(panel, ws, receiver, dead_url):  # noqa: F811
    add(panel, receiver.url(auth=f"bot:{SECRET}"))
    add(panel, dead_url)
    files = notify_files(ws)
    write_channels(files, replace(read_channels(files), retry=RetryPolicy((0.5, 0.5), 2.0)))
    panel.button(key="notify_test").click().run()
    assert not panel.exception
    assert "being sent to 2 service(s)" in panel.success[0].value
    assert [t.value.split("\n")[0] for t in panel.toast] == ["**Test notification**"]
    assert "sending" in panel.dataframe[0].value["Delivery"][0], "while the dead service is retried"
    assert wait_for(lambda: len(receiver.requests) == 1, timeout_s=60)
    assert receiver.requests[0]["payload"]["title"] == "Test notification"
    assert wait_for(lambda: not summarize(read_history(files))[0].pending, timeout_s=60)
    panel.run()
    delivery = panel.dataframe[0].value["Delivery"][0]
    assert "json://127.0.0.1" in delivery and ": sent" in delivery and "failed after 3 attempt(s)" in delivery
    assert panel.toast.len == 0, "a toast is shown once"
    assert SECRET not in page_text(panel)


def test_a_tab_toasts_events_recorded_after_it_opened(panel, ws):
    files = notify_files(ws)
    claim(files, run_finished("before-the-second-tab", 0.5))
    second = AppTest.from_function(panel_script, default_timeout=60)
    second.session_state["workspace_root"] = str(ws.root)
    second.run()
    assert second.toast.len == 0, "a new tab does not replay the history"
    claim(files, run_stopped("r2", "stopped by SIGINT at step 3"))
    panel.run()
    second.run()
    assert [t.value.split("\n")[0] for t in panel.toast] == ["**Run before-the-second-tab finished**",
                                                              "**Run r2 stopped**"]
    assert [t.value.split("\n")[0] for t in second.toast] == ["**Run r2 stopped**"]
    assert panel.dataframe[0].value["Event"].tolist() == ["Run r2 stopped", "Run before-the-second-tab finished"]


def live_panel_script() -> None:
    import streamlit as st

    from pages.common import live_panel_shows_toasts, live_run_panel

    st.session_state["covers"] = {t: live_panel_shows_toasts(t) for t in ("Train", "Monitor", "Disk", "Checkpoints")}
    live_run_panel("test", st.session_state["selected_run_id"], lambda state: st.write(state.phase.value), refresh_s=60)


def test_a_live_panel_toasts_on_its_own_refresh_and_the_router_poll_stands_down(ws):
    import subprocess
    import sys
    import time

    from core.registry.process_identity import identify
    from core.registry.records import RunRecord, new_run_id, save_record

    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"], start_new_session=True)
    try:
        run_id = new_run_id()
        save_record(ws, RunRecord(run_id=run_id, output_path=str(ws.outputs_dir / "demo"), config={},
                                  command=["sleep"], pid=sleeper.pid,
                                  process_start_time=identify(sleeper.pid).start_time, started_at=time.time()))
        at = AppTest.from_function(live_panel_script, default_timeout=60)
        at.session_state["workspace_root"] = str(ws.root)
        at.session_state["selected_run_id"] = run_id
        at.run()
        assert at.session_state["covers"] == {"Train": True, "Monitor": True, "Disk": True, "Checkpoints": False}
        assert at.toast.len == 0, "a new tab does not replay the history"
        claim(notify_files(ws), run_finished(run_id, 0.25))
        at.button(key="live_refresh_test").click().run()  # the panel's refresh (no router poll in this script)
        assert [t.value.split("\n")[0] for t in at.toast] == [f"**Run {run_id} finished**"]
    finally:
        sleeper.kill()
        sleeper.wait()
    at.run()
    assert not any(at.session_state["covers"].values()), "no live run: nothing rides on a live panel"
