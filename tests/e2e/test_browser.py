"""A new user in a real browser: every page, a demo run started, watched, stopped, promoted, planned."""
from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e
PAGES = {"": "Train", "dataset": "Dataset", "monitor": "Monitor", "disk": "Disk", "checkpoints": "Checkpoints", "runs": "Runs"}
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def shot(tab, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    tab.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def open_page(tab, url: str, path: str) -> None:
    tab.goto(f"{url}/{path}")
    tab.get_by_role("heading", name=PAGES[path], exact=True).first.wait_for()
    tab.wait_for_load_state("networkidle")


def no_exceptions(tab) -> None:
    assert tab.locator("[data-testid='stException']").count() == 0, tab.locator("[data-testid='stException']").first.inner_text()


def test_every_page_opens_without_errors(tab, dashboard):
    url, _ = dashboard
    for path in PAGES:
        open_page(tab, url, path)
        time.sleep(1)
        no_exceptions(tab)
        shot(tab, f"page-{path or 'train'}")


def test_a_new_user_runs_the_demo_end_to_end(tab, dashboard):
    url, workspace = dashboard
    open_page(tab, url, "")
    # Long enough that Stop below always lands while it trains, even on a busy machine.
    epochs = tab.get_by_role("spinbutton", name="Epochs", exact=True)
    epochs.fill("12")
    epochs.press("Enter")
    tab.wait_for_load_state("networkidle")
    tab.get_by_role("button", name="Start", exact=True).click()
    tab.get_by_text(re.compile(r"Started run \d{8}-")).wait_for()
    tab.get_by_text(re.compile(r"Last checkpoint: step \d+")).wait_for(timeout=240_000)
    no_exceptions(tab)
    shot(tab, "train-running")
    # What a new user sees after Start, back at the top: the live status of the run (README "First run").
    tab.get_by_role("heading", name="Train", exact=True).first.scroll_into_view_if_needed()
    tab.screenshot(path=str(ARTIFACTS / "first-run-training.png"))

    # The gallery lists the checkpoint the running trainer just saved.
    open_page(tab, url, "checkpoints")
    # The table is a canvas grid; its accessible cells carry the file names.
    tab.get_by_text(re.compile(r"checkpoint_\d+\.pth")).first.wait_for(state="attached")
    no_exceptions(tab)

    # The Monitor page draws loss points read from the event file.
    open_page(tab, url, "monitor")
    # The charts are SVG images (plotly only behind the "Interactive charts" switch).
    tab.locator("[data-testid='stImage'] img[src^='data:image/svg+xml']").first.wait_for()
    assert tab.locator("[data-testid='stImage'] img[src^='data:image/svg+xml']").count() >= 2
    assert tab.locator(".js-plotly-plot").count() == 0
    no_exceptions(tab)
    shot(tab, "monitor")

    # Stop from the Train page: SIGINT, the trainer saves a checkpoint, the run reads "stopped".
    open_page(tab, url, "")
    tab.get_by_role("button", name="Stop", exact=True).click()
    tab.get_by_text(re.compile(r"stopped by SIGINT")).first.wait_for(timeout=180_000)
    no_exceptions(tab)
    shot(tab, "train-stopped")

    # Promote a checkpoint to the custom model path.
    open_page(tab, url, "checkpoints")
    tab.get_by_role("button", name="Promote", exact=True).click()
    tab.get_by_text(re.compile(r"Promoted to .*\.pth")).wait_for(timeout=120_000)
    assert list((workspace / "models" / "custom").glob("*.pth"))
    no_exceptions(tab)
    shot(tab, "checkpoints")

    # The disk planner gives its verdict.
    open_page(tab, url, "disk")
    verdict = tab.locator("[data-testid='stAlert']").filter(has_text=re.compile(r"fits with margin|tight|does not fit", re.I))
    verdict.first.wait_for()
    no_exceptions(tab)
    shot(tab, "disk")


def test_form_values_survive_a_visit_to_another_page(tab, dashboard):
    url, _ = dashboard
    open_page(tab, url, "")
    epochs = tab.get_by_role("spinbutton", name="Epochs", exact=True)
    epochs.fill("7")
    epochs.press("Enter")
    tab.wait_for_timeout(1500)
    tab.get_by_role("link", name="Disk").click()
    tab.get_by_role("heading", name="Disk", exact=True).first.wait_for()
    tab.get_by_role("link", name="Train").click()
    tab.get_by_role("heading", name="Train", exact=True).first.wait_for()
    # The widget first renders before the session's values arrive; wait for them, then compare.
    from playwright.sync_api import expect

    tab.wait_for_load_state("networkidle")
    expect(tab.get_by_role("spinbutton", name="Epochs", exact=True)).to_have_value("7", timeout=30_000)


def test_the_dashboard_listens_on_localhost_only(dashboard):
    import psutil

    url, _ = dashboard
    port = int(url.rsplit(":", 1)[1])
    listening = [c for c in psutil.net_connections(kind="inet") if c.status == psutil.CONN_LISTEN and c.laddr.port == port]
    assert listening and all(c.laddr.ip == "127.0.0.1" for c in listening)
