"""New notification events shown as toasts in this browser tab, from the tab's own cursor in the history.

Called by the router's slow poll, and by every live panel's refresh (pages.common.live_run_panel):
on a page that already refreshes for a live run, toasts ride on that refresh instead of a timer of
their own, because each timed rerun costs the browser a re-render of the whole page.
"""
from __future__ import annotations

import streamlit as st

from core.base.workspace import Workspace
from core.notify.events import Level, NotificationEvent
from core.notify.files import notify_files
from core.notify.history import end_cursor, read_new_events

CURSOR_KEY = "notify_toast_cursor"
TOAST_ICONS = {Level.INFO: ":material/notifications:", Level.SUCCESS: ":material/check_circle:",
               Level.WARNING: ":material/warning:", Level.FAILURE: ":material/error:"}


def start_toast_cursor(ws: Workspace) -> None:
    """A new tab starts at the end of the history: it shows what happens next, not what happened."""
    if CURSOR_KEY not in st.session_state:
        st.session_state[CURSOR_KEY] = end_cursor(notify_files(ws))


def show_new_toasts(ws: Workspace) -> None:
    """Toast what was recorded since this tab last looked (one stat() when nothing was)."""
    start_toast_cursor(ws)
    events, st.session_state[CURSOR_KEY] = read_new_events(notify_files(ws), st.session_state[CURSOR_KEY])
    for event in events:
        _toast(event)


def _toast(event: NotificationEvent) -> None:
    lead = event.body.split("\n\n", 1)[0]
    st.toast(f"**{event.title}**\n\n{lead}", icon=TOAST_ICONS.get(event.level, TOAST_ICONS[Level.INFO]),
             duration="long" if event.level in (Level.WARNING, Level.FAILURE) else "short")
