"""Train: configure a run, start / stop / resume it, and watch its compact live status."""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from core.trainer.base_model import LICENSE_TEXT, download_xtts_v2, xtts_v2_cache_dir
from core.config import FIELD_BY_NAME, FIELDS, PRESETS, apply_preset, validate_config
from core.trainer.demo import NOISE_NOTICE, demo_config
from core.devices import describe_device, list_gpus
from core.disk.planner import plan_run
from core.trainer.preflight import MAX_CPU_RANKS, preflight
from core.errors import ConfigInvalid, LaunchRefused
from core.path_guard import outside_roots_errors
from core.runs.launcher import request_stop, start_run
from core.checkpoints.resume import all_checkpoints, newest_resumable_folder
from core.registry.records import last_log_lines, list_run_ids
from core.registry.state import RunPhase
from core.text import format_clock
from pages.common import SELECTED_RUN_KEY, demo_assets, live_run_panel, workspace

FLASH_KEY = "train_flash"
BASE_CHOICES = ("Demo (tiny, produces noise)", "XTTS v2 (downloaded into the workspace)", "Local folder")
GROUPS = {
    "Checkpoints": ("save_step", "save_n_checkpoints", "save_checkpoints", "save_best_after", "keep_best_k",
                    "milestone_every_steps"),
    "Logging": ("print_step", "plot_step", "log_model_step"),
    "Training": ("epochs", "batch_size", "grad_accum_steps", "learning_rate", "max_audio_length_s",
                 "language", "seed", "num_loader_workers", "mixed_precision", "run_name"),
}
PATH_WIDGETS = ("train_csv", "eval_csv", "output_path", "custom_model_path", "vocab_path")

ws = workspace()
demo = demo_assets()


def key(name: str) -> str:
    return f"cfg_{name}"


def init_form() -> None:
    """Demo defaults for every field not set yet (the gallery may have set some already)."""
    for name, value in demo_config(ws, demo).to_dict().items():
        st.session_state.setdefault(key(name), value)
    st.session_state.setdefault("cfg_base_choice", BASE_CHOICES[0])
    st.session_state.setdefault("cfg_local_base", "")


def on_pick_custom() -> None:
    st.session_state[key("custom_model_path")] = st.session_state["cfg_pick_custom"]


def flash(level: str, text: str) -> None:
    st.session_state.setdefault(FLASH_KEY, []).append((level, text))


def base_model_dir() -> str:
    choice = st.session_state["cfg_base_choice"]
    if choice == BASE_CHOICES[0]:
        return str(demo.base_dir)
    if choice == BASE_CHOICES[1]:
        return str(xtts_v2_cache_dir(ws.models_dir))
    return st.session_state["cfg_local_base"]


def raw_config() -> dict:
    raw = {spec.name: st.session_state.get(key(spec.name), spec.default) for spec in FIELDS}
    raw["base_model_dir"] = base_model_dir()
    return raw


def on_preset() -> None:
    name = st.session_state["cfg_preset"]
    config = apply_preset(validate_config({"save_step": 1000}), name)
    st.session_state[key("save_step")] = config.save_step
    st.session_state[key("save_n_checkpoints")] = config.save_n_checkpoints
    flash("info", f"Preset '{name}': save every {config.save_step} steps, keep {config.save_n_checkpoints}.")


def ranks() -> dict:
    """start_run's world_size / gpus from the GPU multiselect, or the CPU ranks number without GPUs."""
    gpus = tuple(st.session_state.get("cfg_gpus") or ())
    return {"world_size": len(gpus) or int(st.session_state.get("cfg_cpu_ranks", 1)), "gpus": gpus}


def launch(mode: str, resume_from: str = "") -> None:
    try:
        raw = raw_config()
        outside = outside_roots_errors(ws, [(name, raw[name]) for name in (*PATH_WIDGETS, "base_model_dir")])
        if outside:
            raise ConfigInvalid(outside)
        config = validate_config(raw)
        record = start_run(ws, config, mode=mode, resume_from=resume_from,
                           disk_override=st.session_state.get("cfg_disk_override", False), **ranks())
    except ConfigInvalid as exc:
        for error in exc.errors:
            flash("error", f"{error.field}: {error.message}")
        flash("error", "Nothing was launched: fix the fields above.")
        return
    except LaunchRefused as exc:
        flash("error", f"Not started: {exc}")
        return
    st.session_state[SELECTED_RUN_KEY] = record.run_id
    st.session_state["run_picker"] = record.run_id
    flash("success", f"Started run {record.run_id} ({mode}).")


def on_start() -> None:
    launch("new")


def on_continue() -> None:
    folder = newest_resumable_folder(st.session_state[key("output_path")])
    if folder is None:
        flash("error", "Nothing to continue: this output path has no run with an intact checkpoint.")
        return
    launch("continue", str(folder))


def on_restore() -> None:
    checkpoint = st.session_state.get("cfg_restore_checkpoint")
    if not checkpoint:
        flash("error", "Choose a checkpoint to start from.")
        return
    launch("restore", checkpoint)


def on_stop(run_id: str) -> None:
    outcome = request_stop(ws, run_id)
    flash("info" if outcome.signalled else "warning", f"Stop {run_id}: {outcome.message}")


def on_download() -> None:
    try:
        files = download_xtts_v2(ws.models_dir, license_accepted=st.session_state.get("cfg_license", False))
        flash("success", f"XTTS v2 is ready in {files.folder}.")
    except ConfigInvalid as exc:
        flash("error", str(exc.errors[0].message))


def number_widget(name: str) -> None:
    spec = FIELD_BY_NAME[name]
    if spec.minimum is None:
        label = name
    elif spec.kind is int:
        label = f"{name} ({int(spec.minimum):,}-{int(spec.maximum):,})"
    else:
        label = f"{name} ({spec.minimum:g}-{spec.maximum:g})"
    if spec.kind is bool:
        st.toggle(name, key=key(name), help=spec.help)
    elif spec.choices:
        st.selectbox(name, spec.choices, key=key(name), help=spec.help)
    elif spec.kind is str:
        st.text_input(name, key=key(name), help=spec.help)
    elif spec.kind is int:
        st.number_input(label, min_value=int(spec.minimum), max_value=int(spec.maximum), step=1,
                        key=key(name), help=spec.help)
    else:
        st.number_input(label, min_value=float(spec.minimum), max_value=float(spec.maximum),
                        key=key(name), help=spec.help, format="%.2e" if name == "learning_rate" else "%.1f",
                        step=1e-6 if name == "learning_rate" else 0.5)


def render_form() -> None:
    st.subheader("Base model and data")
    st.radio("Base model", BASE_CHOICES, key="cfg_base_choice", horizontal=True)
    choice = st.session_state["cfg_base_choice"]
    if choice == BASE_CHOICES[0]:
        st.info(NOISE_NOTICE)
    elif choice == BASE_CHOICES[1]:
        st.caption(f"Files go to `{xtts_v2_cache_dir(ws.models_dir)}` via coqui's downloader.")
        st.checkbox(LICENSE_TEXT + " I accept it.", key="cfg_license")
        st.button("Download XTTS v2", on_click=on_download)
    else:
        st.text_input("Local base model folder (model.pth, config.json, vocab.json, dvae.pth, mel_stats.pth)",
                      key="cfg_local_base")
    promoted = sorted(str(p) for p in ws.custom_models_dir.glob("*.pth")) if ws.custom_models_dir.is_dir() else []
    if promoted:
        st.selectbox("Promoted models (sets custom_model_path)", promoted, index=None, key="cfg_pick_custom",
                     on_change=on_pick_custom, placeholder="Choose a model promoted on the Checkpoints page")
    cols = st.columns(2)
    for index, name in enumerate(PATH_WIDGETS):
        with cols[index % 2]:
            st.text_input(name, key=key(name), help=FIELD_BY_NAME[name].help)
    for title, names in GROUPS.items():
        st.subheader(title)
        cols = st.columns(4)
        for index, name in enumerate(names):
            with cols[index % 4]:
                number_widget(name)


@st.cache_data(show_spinner=False, ttl=30)
def disk_forecast_line(raw: tuple, world_size: int = 1, gpus: tuple = ()) -> tuple[str, str]:
    """(level, sentence) of the disk forecast for the form's current values (rank 0 saves; only steps change)."""
    try:
        checked = preflight(validate_config(dict(raw)), world_size=world_size, gpus=gpus)
        plan = plan_run(checked.config, base=checked.base, steps_per_epoch=checked.steps_per_epoch, train=checked.train)
    except ConfigInvalid:
        return "caption", "Disk forecast: fix the settings below first."
    gb = 1e9
    text = (f"Disk forecast: peak {plan.peak_bytes / gb:.2f} GB at step {plan.peak_step}, "
            f"{plan.final_bytes / gb:.2f} GB at the end; {(plan.free_bytes or 0) / gb:.1f} GB free — {plan.verdict}.")
    return ("success" if plan.verdict == "fits with margin" else "warning" if plan.fits else "error"), text


def render_actions() -> None:
    st.subheader("Run")
    st.caption(f"Device: {describe_device(dict(ws.env_overrides))}")
    gpus = list_gpus()
    if gpus:
        names = {g.index: f"{g.index}: {g.name} ({g.free_bytes / 2**30:.1f} GiB free)" for g in gpus}
        st.multiselect("GPUs (one DDP rank each; none: the default device)", list(names), key="cfg_gpus",
                       format_func=names.get)
    else:
        st.number_input(f"Ranks on CPU (gloo, for testing DDP; 1-{MAX_CPU_RANKS})", min_value=1,
                        max_value=MAX_CPU_RANKS, step=1, key="cfg_cpu_ranks", value=1)
    level, text = disk_forecast_line(tuple(sorted(raw_config().items())), **ranks())
    getattr(st, level)(text)
    st.checkbox("Start even if the disk forecast says it will not fit", key="cfg_disk_override")
    cols = st.columns(3)
    cols[0].button("Start", type="primary", on_click=on_start, width="stretch")
    cols[1].button("Continue newest run (keeps step and optimizer)", on_click=on_continue,
                   width="stretch")
    with cols[2]:
        options = [str(p) for p in all_checkpoints(st.session_state[key("output_path")])]
        st.selectbox("Start from a checkpoint's weights (step restarts at 0)", options or ["(no checkpoints yet)"],
                     key="cfg_restore_checkpoint", disabled=not options)
        st.button("Start from these weights", on_click=on_restore, disabled=not options)


def render_status(run_id: str) -> None:
    live_run_panel(run_id, show_run_status, refresh_s=2.0)


def show_run_status(state) -> None:
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
    for note in status.adjustments:
        st.warning(f"Adjusted: {note}")
    for note in status.warnings:
        st.caption(f"⚠️ {note}")
    lines = last_log_lines(ws, state.run_id, count=12)
    if lines:
        st.code("\n".join(lines), language=None)


init_form()
st.title("Train")
for level, text in st.session_state.pop(FLASH_KEY, []):
    getattr(st, level)(text)
selected = st.session_state.get(SELECTED_RUN_KEY) or next(iter(list_run_ids(ws)), None)
if selected:
    render_status(selected)
render_actions()
st.divider()
st.selectbox("Preset (from the guide)", [p.name for p in PRESETS], key="cfg_preset", index=None,
             placeholder="Choose a preset to set save frequency and checkpoints kept", on_change=on_preset)
render_form()
