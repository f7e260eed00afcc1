"""The compact live status of one run, at the top of the Train page: phase, progress, losses, ETA,
the files it saved and the last lines of its log."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import streamlit as st

from core.registry.records import last_log_lines
from core.registry.state import RunPhase, RunState
from core.base.text import format_clock
from pages.common import live_run_panel, log_box, workspace


# The Train page's summary, as often as the Monitor's numbers. Each timed rerun re-renders its
# elements in the browser (pages.status_html), and the Train page is the largest one.
STATUS_REFRESH_S = 5.0


def render_run_status(run_id: str, on_stop: Callable[[str], None]) -> None:
    """The run's status, refreshed every STATUS_REFRESH_S while it is live; `on_stop(run_id)` behind its Stop button."""
    st.subheader("Current run")
    live_run_panel("run-status", run_id, lambda state: show_run_status(state, on_stop), refresh_s=STATUS_REFRESH_S)


def show_run_status(state: RunState, on_stop: Callable[[str], None]) -> None:
    status = state.status
    badge = {RunPhase.RUNNING: ":green[:material/play_circle:]", RunPhase.STOPPING: ":orange[:material/pending:]",
             RunPhase.FINISHED: ":green[:material/check_circle:]", RunPhase.STOPPED: ":gray[:material/stop_circle:]",
             RunPhase.FAILED: ":red[:material/error:]"}.get(state.phase, ":material/help:")
    st.markdown(f"**Run `{state.run_id}`: {badge} {state.phase.value}** {state.detail}")
    if state.phase.is_live:
        st.button("Stop", on_click=on_stop, args=(state.run_id,), key=f"stop_{state.run_id}")
    if status.progress_fraction is not None:
        st.progress(status.progress_fraction,
                    text=f"step {status.step} / {status.total_steps} · epoch {status.epoch} / {status.total_epochs}")
    cols = st.columns(5)
    cols[0].metric("train loss", f"{status.train_loss:.4f}" if status.train_loss is not None else "-")
    cols[1].metric("eval loss", f"{status.eval_loss:.4f}" if status.eval_loss is not None else "-")
    cols[2].metric("s / step", f"{status.s_per_step:.2f}" if status.s_per_step else "-")
    cols[3].metric("ETA", format_clock(status.eta_s) if state.phase.is_live else "-")
    cols[4].metric("device", status.device or "-")
    if status.last_checkpoint:
        st.caption(f"Last checkpoint: step {status.last_checkpoint.step} · `{Path(status.last_checkpoint.path).name}`")
    if status.best_model:
        best = status.best_model
        st.caption(f"Best model: step {best.step}" + (f" (loss {best.loss:.4f})" if best.loss is not None else ""))
    if status.ready:
        st.success(f"ready/ written: `{status.ready.folder}`")
    if status.overfit_warning:
        warning = status.overfit_warning
        st.warning(f"Overfitting watch: {warning.reason} The checkpoint worth going back to is the one nearest step "
                   f"{warning.started_step} (Checkpoints page)."
                   + (f" The run was stopped for it at step {status.overfit_stop_step}." if status.overfit_stop_step
                      else ""), icon=":material/trending_up:")
    for note in status.adjustments:
        st.warning(f"Adjusted: {note}")
    for note in status.warnings:
        st.caption(f"⚠️ {note}")
    lines = last_log_lines(workspace(), state.run_id, count=12)
    if lines:
        log_box(lines)
