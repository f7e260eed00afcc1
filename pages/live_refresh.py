"""Live panels that refresh only while their browser tab is visible.

`st.fragment(run_every=...)` is a timer in Streamlit's front end with no visibility check: a tab in
the background reruns its fragments as often as the one in front, and each rerun re-renders the
whole page in the browser (about 0.1 s of its CPU on the 2-core box the benchmarks run on, measured
in benchmarks/bench_live.py). Five dashboard tabs watching a run so took a fifth of a core from the
training beside them.

So a live panel here is a plain fragment holding a hidden "refresh" button; one small script in the
page (installed by the router, `install_refresh_driver`) presses each panel's button when its
interval has passed, only while the tab is visible and no script run is in progress, one panel at
a time. A tab brought back to the front refreshes at once what fell due while it was hidden. The
interval travels in the button container's key, so the page needs no other channel to the script.
"""
from __future__ import annotations

import functools
import re
from typing import Callable

import streamlit as st

KEY_PREFIX = "live-refresh-"
TICK_MS = 250  # how often the script looks; a due refresh waits at most this long

_STYLE = f'[class*="st-key-{KEY_PREFIX}"] {{ display: none !important; }}'
_DRIVER = """
(() => {
  if (window.__liveRefreshDriver) return;
  window.__liveRefreshDriver = true;
  const prefix = "st-key-%(prefix)s";
  const lastRefresh = new Map();  // container class -> time of its last refresh (or first sight)
  function tick() {
    if (document.hidden) return;
    const app = document.querySelector('[data-testid="stApp"]');
    if (app && app.getAttribute("data-test-script-state") === "running") return;
    const now = performance.now();
    const seen = new Set();
    let pressed = false;
    for (const box of document.querySelectorAll('[class*="' + prefix + '"]')) {
      const name = Array.from(box.classList).find((c) => c.startsWith(prefix));
      const interval = /-(\\d+)ms$/.exec(name || "");
      const button = box.querySelector("button");
      if (!interval || !button) continue;
      seen.add(name);
      if (!lastRefresh.has(name)) lastRefresh.set(name, now);
      else if (!pressed && now - lastRefresh.get(name) >= Number(interval[1])) {
        lastRefresh.set(name, now);
        pressed = true;  // one panel per tick: its rerun sets the script state, the next waits for it
        button.click();
      }
    }
    for (const name of Array.from(lastRefresh.keys())) if (!seen.has(name)) lastRefresh.delete(name);
  }
  setInterval(tick, %(tick)d);
})();
""" % {"prefix": KEY_PREFIX, "tick": TICK_MS}


def install_refresh_driver() -> None:
    """Once per page run, in the router: the style that hides the refresh buttons and the script that
    presses them. The element's body never changes, so the browser runs the script once per tab."""
    with st.container(key=f"{KEY_PREFIX}driver"):
        st.html(f"<style>{_STYLE}</style><script>{_DRIVER}</script>", unsafe_allow_javascript=True)


def container_key(name: str, interval_s: float) -> str:
    """The key of a panel's refresh container: its name and its interval in milliseconds."""
    return f"{KEY_PREFIX}{re.sub(r'[^a-z0-9-]', '-', name.lower())}-{round(interval_s * 1000)}ms"


def refresh_button(name: str, interval_s: float) -> None:
    """The hidden button that reruns the fragment it is in; pressed by the driver script."""
    with st.container(key=container_key(name, interval_s)):
        st.button("Refresh", key=f"live_refresh_{name}")


def visible_fragment(name: str, interval_s: float | None) -> Callable[[Callable[[], None]], Callable[[], None]]:
    """Like `st.fragment(run_every=interval_s)`, but the timer runs only while the tab is visible.

    `name` must be unique on the page. With `interval_s=None` it is a plain fragment with no timer;
    a body that calls `st.rerun()` (to switch its timer off) leaves no button behind.
    """
    def decorate(body: Callable[[], None]) -> Callable[[], None]:
        @st.fragment
        @functools.wraps(body)
        def fragment() -> None:
            body()
            if interval_s:
                refresh_button(name, interval_s)

        return fragment

    return decorate
