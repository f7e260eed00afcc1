"""Notifications: where they go (Apprise URLs, shown masked), a test button, and what was sent.

`render_notifications_panel()` is placed on a page (the Runs page); `toast_new_notifications()` is
called by the router, so every open tab shows new events as toasts. Events are recorded and sent
by the training process itself (core.notify): this module only reads the history and edits the
channel list. A URL typed here is cleared from the input as soon as Add is pressed, refused or
not, and is never written back to the page: it may hold a password or token.
"""
from __future__ import annotations

import time

import pandas as pd
import streamlit as st

from core.notify.channels import UrlRefused, add_url, read_channels, remove_channel
from core.notify.dispatch import Notifier
from core.notify.files import notify_files
from core.notify.history import read_history
from core.notify.run_events import event_for_test_button
from core.notify.summary import summarize
from core.registry.process_identity import is_alive
from core.registry.records import list_run_ids, load_record, run_files
from core.base.text import format_local_time
from core.base.workspace import Workspace
from pages.common import workspace
from pages.live_refresh import visible_fragment
from pages.toasts import show_new_toasts, start_toast_cursor

URL_INPUT_KEY = "notify_new_url"
MESSAGE_KEY = "notify_message"  # (level, text) left by the last action for the next render
# One stat() of the history per tick, only while a run is live and the page has no live panel of its own
# (each timed rerun re-renders the whole page in the browser: about 0.1 s of its CPU here).
TOAST_REFRESH_S = 6.0
PENDING_REFRESH_S = 1.5  # the history table, only while a delivery is being retried
# A run writes outcome.json moments before it exits; one whose outcome is older than this is over.
ENDED_LONG_AGO_S = 60.0
URL_HELP = ("Any service Apprise supports, as one URL: ntfys://ntfy.sh/<topic>, "
            "mailto://<user>:<app password>@gmail.com, tgram://<bot token>/<chat id>, "
            "discord://<webhook id>/<token>, json://<host>:<port>/<path>... Formats: "
            "https://github.com/caronc/apprise/wiki. Stored in the workspace's notify/urls.json, readable "
            "only by you; shown here only as scheme and host.")


def _any_run_live(ws: Workspace) -> bool:
    """Cheaply: is any training process of this workspace still alive (so events may still come)?"""
    now = time.time()
    for run_id in list_run_ids(ws):
        outcome = run_files(ws, run_id).outcome
        try:
            if now - outcome.stat().st_mtime > ENDED_LONG_AGO_S:
                continue
        except FileNotFoundError:
            pass
        record = load_record(ws, run_id)
        if record is not None and is_alive(record.identity):
            return True
    return False


def toast_new_notifications(poll: bool = True) -> None:
    """In the router: toast what was recorded since this tab last looked, and keep looking every
    TOAST_REFRESH_S while a run is live, unless `poll` is False (the page's live panel looks instead)."""
    ws = workspace()
    start_toast_cursor(ws)
    interval = TOAST_REFRESH_S if poll and _any_run_live(ws) else None

    @visible_fragment("toasts", interval)
    def poll_history() -> None:
        show_new_toasts(ws)
        if interval and not _any_run_live(ws):
            st.rerun()  # the run ended (its last event is toasted above): a full rerun switches the timer off

    poll_history()


def on_add_url() -> None:
    url = st.session_state.get(URL_INPUT_KEY, "")
    st.session_state[URL_INPUT_KEY] = ""  # the secret leaves the widget at once, accepted or not
    try:
        channel = add_url(notify_files(workspace()), url)
        st.session_state[MESSAGE_KEY] = ("success", f"Added {channel.label}. Send a test notification to check it.")
    except UrlRefused as refused:
        st.session_state[MESSAGE_KEY] = ("error", str(refused))
    except OSError as exc:
        st.session_state[MESSAGE_KEY] = ("error", f"The URL could not be saved ({exc.strerror or exc}); "
                                                  "check that the workspace is writable.")


def on_remove(channel_id: str, label: str) -> None:
    remove_channel(notify_files(workspace()), channel_id)
    st.session_state[MESSAGE_KEY] = ("success", f"Removed {label}.")


def on_send_test() -> None:
    ws = workspace()
    files = notify_files(ws)
    services = len(read_channels(files).channels)
    sent = Notifier(files, ws.python_executable).notify(event_for_test_button())
    if not sent:
        st.session_state[MESSAGE_KEY] = ("error", "The test notification could not be recorded: "
                                                  "check that the workspace is writable.")
        return
    where = f" and is being sent to {services} service(s); the history below shows the result" if services else (
        "; add an Apprise URL above to receive notifications outside the dashboard too")
    st.session_state[MESSAGE_KEY] = ("success",
                                     f"Test notification recorded: it shows as a toast in every open tab{where}.")


def _history_table(ws: Workspace) -> None:
    files = notify_files(ws)
    interval = PENDING_REFRESH_S if any(s.pending for s in summarize(read_history(files))) else None

    @visible_fragment("notify-history", interval)
    def table() -> None:
        summaries = summarize(read_history(files))
        if interval and not any(s.pending for s in summaries):
            st.rerun()  # every delivery settled: a full rerun switches the refresh off
        if not summaries:
            st.caption("Nothing sent yet.")
            return
        st.dataframe(pd.DataFrame([{
            "When": format_local_time(s.recorded_at_s, seconds=True),
            "Event": s.event.title,
            "Details": s.event.body.split("\n\n", 1)[0],
            "Delivery": s.delivery_text,
        } for s in summaries]), hide_index=True, width="stretch")

    table()


def render_notifications_panel() -> None:
    """Channels (masked), add / remove, a test button and the history of sent notifications."""
    ws = workspace()
    files = notify_files(ws)
    st.subheader("Notifications")
    st.caption("When a run finishes, fails or stops, or its disk will be full within the hour, the training "
               "process itself says so: as a toast in every open tab of this dashboard and on the services "
               "below. It works with no browser open; a service that is down is retried and never holds up a run.")
    channels = read_channels(files).channels
    for channel in channels:
        cols = st.columns([4, 1])
        cols[0].markdown(f"`{channel.label}`")
        cols[1].button("Remove", key=f"notify_remove_{channel.channel_id}", on_click=on_remove,
                       args=(channel.channel_id, channel.label))
    if not channels:
        st.caption("No Apprise services yet: notifications show in the browser only.")
    st.text_input("Apprise URL", key=URL_INPUT_KEY, type="password", help=URL_HELP,
                  placeholder="ntfys://ntfy.sh/<topic>")
    cols = st.columns(2)
    cols[0].button("Add", on_click=on_add_url, key="notify_add")
    cols[1].button("Send a test notification", on_click=on_send_test, key="notify_test")
    message = st.session_state.pop(MESSAGE_KEY, None)
    if message:
        (st.error if message[0] == "error" else st.success)(message[1])
    st.markdown("**Sent notifications**")
    _history_table(ws)
