"""Disk: how much a run will really take before it starts, and what it takes while it runs."""
from __future__ import annotations

from dataclasses import asdict

import plotly.graph_objects as go
import streamlit as st

from core.base.config import FIELD_BY_NAME
from core.disk.plan import DiskPlan, free_bytes_at
from core.disk.simulation import thin_timeline
from core.disk.page_inputs import XTTS_V2_ARCHITECTURE, PlanInputs
from core.disk.tracking import DiskSample, SampleReader, disk_trend, sample_run_disk, samples_path
from core.base.errors import ConfigInvalid
from core.registry.records import list_run_ids
from core.registry.state import RunState, read_run_state
from core.base.text import format_duration_words
from core.trainer.demo import demo_config
from core.base.workspace import Workspace
from pages.disk_charts import run_timeline_svg
from pages.common import SELECTED_RUN_KEY, demo_assets, heavy, human_bytes, live_run_panel, show_field_errors, workspace

BASE_CHOICES = ("Demo (tiny)", "XTTS v2 architecture", "Local folder")
# What the guide claims for each preset, shown beside the planner's figures.
GUIDE_CLAIMS = {"Fast experimentation": "~1-2 GB", "Balanced": "~3-6 GB", "Production": "~5-20 GB",
                "Very long training": "~5-10 GB"}
VERDICT_LEVEL = {"fits with margin": "success", "tight": "warning", "does not fit": "error"}
LIVE_REFRESH_S = 5.0
PLAN_TTL_S = 30  # free space and measured checkpoints change; re-plan at most this often
READERS_KEY = "tracking_readers"  # run id -> SampleReader, per browser session

ws = workspace()
demo = demo_assets()


def init_inputs() -> None:
    defaults = demo_config(ws, demo)
    for name in ("save_step", "save_n_checkpoints", "epochs", "batch_size", "keep_best_k", "milestone_every_steps",
                 "train_csv", "output_path"):
        st.session_state.setdefault(f"disk_{name}", getattr(defaults, name))
    st.session_state.setdefault("disk_base_choice", BASE_CHOICES[0])
    st.session_state.setdefault("disk_local_base", "")
    st.session_state.setdefault("disk_optimize", False)


def current_inputs() -> PlanInputs:
    state = st.session_state
    choice = state["disk_base_choice"]
    base = (str(demo.base_dir) if choice == BASE_CHOICES[0] else XTTS_V2_ARCHITECTURE if choice == BASE_CHOICES[1]
            else state["disk_local_base"])
    return PlanInputs(int(state["disk_save_step"]), int(state["disk_save_n_checkpoints"]), int(state["disk_epochs"]),
                      int(state["disk_batch_size"]), state["disk_train_csv"], state["disk_output_path"], base,
                      int(state["disk_keep_best_k"]), int(state["disk_milestone_every_steps"]),
                      bool(state["disk_optimize"]))


@st.cache_data(ttl=PLAN_TTL_S, show_spinner="Planning; the first plan sizes a checkpoint from the model architecture...",
               max_entries=64)
def cached_plan(root: str, **inputs) -> DiskPlan:
    return heavy("core.disk.page_inputs:plan_page_inputs", Workspace.at(root), PlanInputs(**inputs), working=None)


@st.cache_data(ttl=PLAN_TTL_S, show_spinner="Planning the guide's presets...", max_entries=16)
def cached_preset_plans(root: str, **inputs) -> list[tuple[str, int, int, DiskPlan]]:
    return [(p.name, p.save_step, p.save_n_checkpoints, plan)
            for p, plan in heavy("core.disk.page_inputs:preset_plans", Workspace.at(root), PlanInputs(**inputs),
                                 working=None)]


@st.cache_data(ttl=PLAN_TTL_S, show_spinner="Re-planning the run...", max_entries=16)
def cached_forecast(root: str, run_id: str) -> DiskPlan:
    return heavy("core.disk.page_inputs:plan_recorded_run", Workspace.at(root), run_id, working=None)


def number(name: str) -> None:
    spec = FIELD_BY_NAME[name]
    st.number_input(spec.form_label, min_value=int(spec.minimum), max_value=int(spec.maximum), step=1,
                    key=f"disk_{name}", help=spec.tooltip)


def text_setting(name: str, key: str) -> None:
    spec = FIELD_BY_NAME[name]
    st.text_input(spec.form_label, key=key, help=spec.tooltip)


def render_inputs() -> None:
    st.radio("Base model", BASE_CHOICES, key="disk_base_choice", horizontal=True,
             help="XTTS v2 architecture plans the full-size model without its files (a copy in the workspace is measured).")
    if st.session_state["disk_base_choice"] == BASE_CHOICES[2]:
        text_setting("base_model_dir", "disk_local_base")
    cols = st.columns(2)
    with cols[0]:
        text_setting("train_csv", "disk_train_csv")
    with cols[1]:
        text_setting("output_path", "disk_output_path")
    cols = st.columns(4)
    for index, name in enumerate(("save_step", "save_n_checkpoints", "epochs", "batch_size", "keep_best_k",
                                  "milestone_every_steps")):
        with cols[index % 4]:
            number(name)
    with cols[2]:
        st.checkbox("Optimize ready/", key="disk_optimize",
                    help="Count the optimized ready/model.pth too (the guide's Step 2.5: no optimizer state, no DVAE).")


def timeline_figure(plan: DiskPlan) -> go.Figure:
    """Bytes on disk over the planned run's steps: the forecast sawtooth (hover: what each point is), its
    peak, free space. A live run's chart is an SVG instead (run_timeline_svg)."""
    points = thin_timeline(plan.timeline)
    fig = go.Figure()
    # Files appear and vanish at saves: the bytes hold between points ("hv" steps), never slope.
    fig.add_scatter(x=[p.step for p in points], y=[p.bytes_on_disk for p in points], mode="lines", name="forecast",
                    line_shape="hv", text=[p.event for p in points], hovertemplate="step %{x}<br>%{y:.4s}B<br>%{text}<extra></extra>")
    fig.add_scatter(x=[plan.peak_step], y=[plan.peak_bytes], mode="markers", name="peak",
                    marker=dict(size=12, color="crimson", symbol="diamond"),
                    hovertemplate="peak at step %{x}<br>%{y:.4s}B<extra></extra>")
    fig.add_annotation(x=plan.peak_step, y=plan.peak_bytes, text=f"peak {human_bytes(plan.peak_bytes)} (step {plan.peak_step})",
                       showarrow=True, arrowhead=2, ay=-30)
    top = plan.peak_bytes
    free = plan.free_bytes
    if free is not None and free <= 4 * top:
        fig.add_hline(y=free, line_dash="dash", line_color="gray", annotation_text=f"free space {human_bytes(free)}")
        top = max(top, free)
    elif free is not None:  # far above the curve: a line up there would flatten the sawtooth
        fig.add_annotation(xref="paper", yref="paper", x=1, y=1, showarrow=False,
                           text=f"free space {human_bytes(free)} (far above)")
    fig.update_layout(height=360, margin=dict(l=10, r=10, t=30, b=10), xaxis_title="step",
                      yaxis=dict(title="bytes on disk", tickformat=".3s", ticksuffix="B", range=[0, top * 1.15]),
                      legend=dict(orientation="h"))
    return fig


def breakdown_rows(plan: DiskPlan) -> list[dict]:
    rows = []
    for part, pairs in (("checkpoint", plan.checkpoint_breakdown), (f"peak (step {plan.peak_step})", plan.peak_breakdown),
                        ("at the end", plan.final_breakdown), ("ready/", plan.ready_breakdown),
                        ("base model files", plan.base_breakdown)):
        rows += [{"part": part, "item": label, "size": human_bytes(n), "bytes": n} for label, n in pairs]
    return rows


def render_plan(plan: DiskPlan) -> None:
    source = "measured from this output's checkpoints" if plan.checkpoint_source == "measured" else "estimated from the architecture"
    cols = st.columns(4)
    cols[0].metric("Checkpoint", human_bytes(plan.checkpoint_bytes), source, delta_color="off")
    cols[1].metric("Best-model copy", human_bytes(plan.best_copy_bytes))
    cols[2].metric("Peak", human_bytes(plan.peak_bytes), f"at step {plan.peak_step} of {plan.total_steps}", delta_color="off")
    cols[3].metric("At the end", human_bytes(plan.final_bytes))
    cols = st.columns(4)
    cols[0].metric("ready/", human_bytes(plan.ready_bytes))
    cols[1].metric("Base model files", human_bytes(plan.base_model_bytes))
    cols[2].metric("Logs and event files", human_bytes(plan.logs_bytes))
    cols[3].metric("Needed free (total)", human_bytes(plan.total_bytes))
    if plan.measured_checkpoint_bytes and plan.estimated_checkpoint_bytes:
        st.caption(f"Checkpoint size: measured {human_bytes(plan.measured_checkpoint_bytes)}, architecture estimate "
                   f"{human_bytes(plan.estimated_checkpoint_bytes)}. The plan uses the measured size.")
    st.caption(f"{plan.total_steps} steps ({plan.steps_per_epoch} per epoch), {plan.checkpoint_saves} periodic "
               f"checkpoint save(s), {plan.best_saves} best-model save(s). Guide's rule (checkpoint x N): "
               f"{human_bytes(plan.naive_bytes)}.")
    with st.expander("Breakdown"):
        st.dataframe(breakdown_rows(plan), hide_index=True, width="stretch")
    st.plotly_chart(timeline_figure(plan), key="plan-chart")
    st.metric(f"Free space at `{plan.free_path}`", human_bytes(plan.free_bytes))
    render_verdict(plan)
    for note in plan.warnings:
        st.caption(f"Note: {note}")


def render_verdict(plan: DiskPlan) -> None:
    text = (f"**{plan.verdict.capitalize()}**: needs {human_bytes(plan.total_bytes)}, "
            f"{human_bytes(plan.free_bytes)} free.")
    getattr(st, VERDICT_LEVEL.get(plan.verdict, "info"))(text)
    if plan.fixes:
        st.markdown("Fixes, any one of:\n" + "\n".join(f"- {fix.removeprefix('or ')}" for fix in plan.fixes))


def render_presets(inputs: dict, plan: DiskPlan) -> None:
    st.subheader("The guide's presets, planned for this base and dataset")
    try:
        presets = cached_preset_plans(str(ws.root), **inputs)
    except ConfigInvalid as exc:
        show_field_errors(exc)
        return
    every, kept = FIELD_BY_NAME["save_step"].form_label, FIELD_BY_NAME["save_n_checkpoints"].form_label
    rows = [{"configuration": "Your settings", every: inputs["save_step"], kept: inputs["save_n_checkpoints"],
             "periodic saves": plan.checkpoint_saves, "peak": human_bytes(plan.peak_bytes), "peak step": plan.peak_step, "final": human_bytes(plan.final_bytes),
             "guide claims": "-", "guide's rule (checkpoint x N)": human_bytes(plan.naive_bytes), "verdict": plan.verdict}]
    rows += [{"configuration": name, every: save_step, kept: keep, "periodic saves": p.checkpoint_saves,
              "peak": human_bytes(p.peak_bytes),
              "peak step": p.peak_step, "final": human_bytes(p.final_bytes), "guide claims": GUIDE_CLAIMS.get(name, "-"),
              "guide's rule (checkpoint x N)": human_bytes(p.naive_bytes), "verdict": p.verdict}
             for name, save_step, keep, p in presets]
    st.dataframe(rows, hide_index=True, width="stretch", key="presets-table")
    st.caption("Same epochs, batch size, dataset, base and output; best models also kept and milestones off, as in "
               "the guide.")


def history(run_id: str) -> tuple[DiskSample, ...]:
    readers = st.session_state.setdefault(READERS_KEY, {})
    reader = readers.get(run_id) or readers.setdefault(run_id, SampleReader(samples_path(ws, run_id)))
    return reader.load()


def show_run_disk(state: RunState) -> None:
    run_id = state.run_id
    try:
        now = sample_run_disk(ws, run_id)
    except ConfigInvalid as exc:
        show_field_errors(exc)
        return
    samples = list(history(run_id))
    if not samples or samples[-1].time_s < now.time_s:
        samples.append(now)  # a finished run is measured, not recorded
    free, free_path = free_bytes_at(state.record.output_path)
    trend = disk_trend(samples, free, horizon_s=state.status.eta_s)
    st.markdown(f"**Run `{run_id}`**: {state.phase.value}" + (f", step {now.step}" if now.step is not None else ""))
    cols = st.columns(4)
    cols[0].metric("Measured now", human_bytes(now.bytes_on_disk),
                   f"run folder {human_bytes(now.trainer_bytes)} + ready/ {human_bytes(now.ready_bytes)}", delta_color="off")
    cols[1].metric("Growth", f"{human_bytes(trend.bytes_per_s)}/s" if trend.bytes_per_s is not None else "-",
                   f"over the last {trend.window_s:.0f} s" if trend.bytes_per_s is not None else None, delta_color="off")
    cols[3].metric(f"Free at `{free_path}`", human_bytes(free))
    if state.phase.is_live and trend.full_in_s is not None:
        st.error(f"Disk full in about {format_duration_words(trend.full_in_s)} at the current rate "
                 f"({human_bytes(trend.bytes_per_s)}/s), before the run ends. Free space now or stop the run.")
    try:
        forecast = cached_forecast(str(ws.root), run_id)
    except ConfigInvalid as exc:
        st.warning("No forecast for this run (its files changed since it started): "
                   + "; ".join(str(e) for e in exc.errors))
        return
    cols[2].metric("Forecast peak", human_bytes(forecast.peak_bytes), f"at step {forecast.peak_step}", delta_color="off")
    st.image(run_timeline_svg(forecast, samples, free), width="stretch")
    st.caption(f"Measured: the run's trainer folder and {state.record.output_path}/ready, each file once "
               f"(hard links in kept/ are not counted twice). Forecast final: {human_bytes(forecast.final_bytes)}. "
               + ("The training process records a sample every few seconds; this page only reads them."
                  if state.phase.is_live else "The run is not live: no refresh."))


def render_selected_run() -> None:
    st.header("Selected run")
    run_id = st.session_state.get(SELECTED_RUN_KEY) or next(iter(list_run_ids(ws)), None)
    if not run_id:
        st.info("No runs yet: start one on the Train page to see its measured disk use here.")
        return
    state = read_run_state(ws, run_id)
    if state.record is None:
        st.error(f"Run {run_id}: {state.detail}")
        return
    live_run_panel("disk-run", run_id, show_run_disk, refresh_s=LIVE_REFRESH_S)


init_inputs()
st.title("Disk")
st.caption("What a run will really take: every save, prune and best-model copy the trainer makes, replayed in order.")
render_inputs()
inputs = asdict(current_inputs())
try:
    plan = cached_plan(str(ws.root), **inputs)
except ConfigInvalid as exc:
    show_field_errors(exc)
    plan = None
if plan is not None:
    render_plan(plan)
    render_presets(inputs, plan)
st.divider()
render_selected_run()
