"""Browser toasts in a real browser: two open tabs both show an event the moment another process records it.

While a run is live, a page's live panel (Train here) polls the notification history on its own
refresh (one stat per tick), and the router polls it on the other pages (Checkpoints here); the run here is a
sleeping process registered as a run, so the test needs no trainer, and the event comes from this test
process through the same Notifier the training process uses.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import time

import pytest

from core.notify.dispatch import Notifier
from core.notify.files import notify_files
from core.notify.run_events import run_finished
from core.registry.process_identity import identify
from core.registry.records import RunRecord, new_run_id, save_record
from core.base.workspace import Workspace
from tests.e2e.conftest import serve, stop

pytestmark = pytest.mark.e2e

TOAST_RECORDER = """() => {
  window.__toastsSeen = [];
  const record = () => document.querySelectorAll("[data-testid='stToast']").forEach((toast) => {
    if (!window.__toastsSeen.includes(toast.innerText)) window.__toastsSeen.push(toast.innerText);
  });
  new MutationObserver(record).observe(document.body, {childList: true, subtree: true, characterData: true});
}"""


@pytest.fixture
def live_dashboard(tmp_path, demo_workspace):
    """The dashboard on a workspace with one live run (a sleeping process recorded as a run)."""
    demo_ws, _demo = demo_workspace
    shutil.copytree(demo_ws.demo_dir, tmp_path / "workspace" / "demo")
    ws = Workspace.at(tmp_path / "workspace")
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"], start_new_session=True)
    run_id = new_run_id()
    save_record(ws, RunRecord(run_id=run_id, output_path=str(ws.outputs_dir / "demo"), config={},
                              command=["sleep"], pid=sleeper.pid, process_start_time=identify(sleeper.pid).start_time,
                              started_at=time.time()))
    server, url = serve(ws.root, tmp_path / "streamlit.log")
    yield url, ws, run_id
    stop(server)
    sleeper.kill()
    sleeper.wait()


def test_every_open_tab_toasts_a_new_event(browser, live_dashboard):
    url, ws, run_id = live_dashboard
    contexts = [browser.new_context(viewport={"width": 1400, "height": 1000}) for _ in range(2)]
    try:
        tabs = [context.new_page() for context in contexts]
        # Train refreshes for its live run and toasts on that refresh; Checkpoints has no live panel, so
        # the router's own slower poll toasts there.
        for tab, (path, title) in zip(tabs, [("", "Train"), ("/checkpoints", "Checkpoints")]):
            tab.set_default_timeout(90_000)
            tab.goto(url + path)
            tab.get_by_role("heading", name=title, exact=True).first.wait_for()
        # A short toast is gone after 4 s: each tab records what it showed, so neither is missed while the
        # test waits for the other.
        for tab in tabs:
            tab.evaluate(TOAST_RECORDER)
        assert Notifier(notify_files(ws)).notify(run_finished(run_id, 0.4242, 60))
        for tab in tabs:
            tab.wait_for_function("(text) => window.__toastsSeen.some((t) => t.includes(text))",
                                  arg=f"Run {run_id} finished", timeout=30_000)
            seen = [t for t in tab.evaluate("() => window.__toastsSeen") if f"Run {run_id} finished" in t]
            assert "best loss 0.4242" in seen[0], seen
    finally:
        for context in contexts:
            context.close()
