"""Train: a run in the order of the work (base model and data, settings, disk forecast, start),
with the live status of the current run at the top and, until dismissed, a "Start here" panel."""
from __future__ import annotations

import streamlit as st

from core.trainer.base_model import LICENSE_TEXT, xtts_v2_cache_dir
from core.base.config import FIELD_BY_NAME, FIELDS, PRESETS, apply_preset, field_error_text, validate_config
from core.trainer.demo import NOISE_NOTICE, demo_config
from core.base.devices import describe_device, list_gpus
from core.base.languages import describe
from core.base.text import format_duration_words
from core.trainer.dataset import read_dataset
from core.trainer.preflight import MAX_CPU_RANKS
from core.trainer.test_sentences import (default_test_sentences_each_epoch, estimate_test_sentences_cost,
                                         pick_test_sentences)
from core.base.errors import ConfigInvalid, LaunchRefused
from core.offload import OffloadError
from core.base.path_guard import outside_roots_errors
from core.runs.launcher import request_stop
from core.registry.records import list_run_ids
from core.base.workspace_settings import read_settings, update_settings
from pages.common import SELECTED_RUN_KEY, demo_assets, heavy, select_run, workspace
from pages.run_status import render_run_status
from pages.train_checks import render_dataset_check, render_new_language

FLASH_KEY = "train_flash"  # {area: [(level, text)]}: each message shows where its action was taken
BASE_CHOICES = ("Demo (tiny, produces noise)", "XTTS v2 (downloaded into the workspace)", "Local folder")
GROUPS = {
    "Checkpoints": ("save_step", "save_n_checkpoints", "save_checkpoints", "save_best_after", "keep_best_k",
                    "milestone_every_steps"),
    "Logging": ("print_step", "plot_step", "log_model_step"),
    "Listening and overfitting": ("test_sentences_each_epoch", "overfit_patience_evals", "overfit_gap_ratio",
                                  "stop_on_overfit"),
    "Training": ("epochs", "batch_size", "grad_accum_steps", "learning_rate", "max_audio_length_s",
                 "language", "romanize", "seed", "num_loader_workers", "mixed_precision", "run_name"),
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
    # Test sentences cost minutes per epoch on a CPU: on by default only with a GPU.
    st.session_state.setdefault(key("test_sentences_each_epoch"), default_test_sentences_each_epoch(bool(list_gpus())))
    st.session_state.setdefault("cfg_base_choice", BASE_CHOICES[0])
    st.session_state.setdefault("cfg_local_base", "")


def on_pick_custom() -> None:
    st.session_state[key("custom_model_path")] = st.session_state["cfg_pick_custom"]


def flash(level: str, text: str, area: str = "start") -> None:
    st.session_state.setdefault(FLASH_KEY, {}).setdefault(area, []).append((level, text))


def show_flashes(area: str) -> None:
    for level, text in st.session_state.get(FLASH_KEY, {}).pop(area, []):
        getattr(st, level)(text)


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
    flash("info", f"Preset '{name}': a checkpoint every {config.save_step} steps, {config.save_n_checkpoints} kept.",
          area="settings")


def ranks() -> dict:
    """start_run's world_size / gpus from the GPU multiselect, or the CPU ranks number without GPUs."""
    gpus = tuple(st.session_state.get("cfg_gpus") or ())
    return {"world_size": len(gpus) or int(st.session_state.get("cfg_cpu_ranks", 1)), "gpus": gpus}


def launch(mode: str, resume_from: str = "") -> None:
    try:
        raw = raw_config()
        paths = [(name, raw[name]) for name in (*PATH_WIDGETS, "base_model_dir")]
        if raw.get("romanize") not in ("", "uroman", None):
            paths.append(("romanize", raw["romanize"]))  # a mapping table's path
        outside = outside_roots_errors(ws, paths)
        if outside:
            raise ConfigInvalid(outside)
        config = validate_config(raw)
        record = heavy("core.runs.launcher:start_run", ws, config, mode=mode, resume_from=resume_from,
                       disk_override=st.session_state.get("cfg_disk_override", False),
                       dataset_override=st.session_state.get("cfg_dataset_override", False), **ranks(),
                       working="Checking the run (settings, base model, dataset, disk) and starting it...",
                       timeout_s=3600)
    except ConfigInvalid as exc:
        for error in exc.errors:
            flash("error", field_error_text(error))
        flash("error", "Nothing was launched: fix the settings named above, then start again.")
        return
    except (LaunchRefused, OffloadError) as exc:
        flash("error", f"Not started: {str(exc).rstrip('.')}.")
        return
    select_run(record.run_id)
    flash("success", f"Started run {record.run_id} ({mode}). Its live status is at the top of this page; "
                     "the Monitor page shows its log and loss curves.")


def on_start() -> None:
    launch("new")


def on_continue() -> None:
    try:
        folder = heavy("core.checkpoints.resume:newest_resumable_folder", st.session_state[key("output_path")],
                       working="Looking for the newest intact checkpoint...")
    except OffloadError as exc:
        flash("error", f"Not continued: {exc}")
        return
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
    flash("info" if outcome.signalled else "warning", f"Stop {run_id}: {outcome.message}", area="status")


def on_download() -> None:
    try:
        with st.spinner("Downloading XTTS v2 with coqui's downloader: about 2 GB, minutes on a fast connection...",
                        show_time=True):
            files = heavy("core.trainer.base_model:download_xtts_v2", ws.models_dir,
                          license_accepted=st.session_state.get("cfg_license", False), working=None,
                          timeout_s=6 * 3600)
        flash("success", f"XTTS v2 is ready in {files.folder}.", area="base")
    except ConfigInvalid as exc:
        flash("error", str(exc.errors[0].message), area="base")
    except OffloadError as exc:
        flash("error", f"Not downloaded: {exc}", area="base")


def on_dismiss_start_here() -> None:
    update_settings(ws, start_here_dismissed=True)


def setting_widget(name: str) -> None:
    """One setting's widget from its FieldSpec: label in words and unit; range, advice and config key in the help."""
    spec = FIELD_BY_NAME[name]
    label, help_text = spec.form_label, spec.tooltip
    if spec.kind is bool:
        st.toggle(label, key=key(name), help=help_text)
    elif spec.choices and spec.open_choices:  # the language: XTTS's 17, or a new one typed in
        options = list(spec.choices)
        current = st.session_state.get(key(name))
        if current and current not in options:
            options.append(current)
        st.selectbox(label, options, key=key(name), help=help_text, accept_new_options=True, format_func=describe)
    elif spec.choices:
        st.selectbox(label, spec.choices, key=key(name), help=help_text)
    elif spec.kind is str:
        st.text_input(label, key=key(name), help=help_text)
    elif spec.kind is int:
        st.number_input(label, min_value=int(spec.minimum), max_value=int(spec.maximum), step=1,
                        key=key(name), help=help_text)
    else:
        st.number_input(label, min_value=float(spec.minimum), max_value=float(spec.maximum),
                        key=key(name), help=help_text, format="%.2e" if name == "learning_rate" else "%.1f",
                        step=1e-6 if name == "learning_rate" else 0.5)


def render_start_here() -> None:
    """The demo in three steps, for a new user; closed for good (in this workspace) with its button."""
    if read_settings(ws).start_here_dismissed:
        return
    started = bool(list_run_ids(ws))
    with st.container(border=True, key="start_here"):
        st.markdown("#### :material/flag: Start here: the demo in three steps")
        st.markdown(
            ("1. :green[:material/check_circle:] Started: the run's live status is at the top of this page.\n"
             if started else
             "1. Press **Start** at the bottom of this page. The demo is filled in: a tiny model trains on a "
             "synthetic dataset for about a minute, on the CPU when there is no GPU.\n")
            + "2. Open **Monitor** in the sidebar to watch its progress, live log and loss curves.\n"
            "3. Open **Checkpoints** to see the files it saved: promote one to the custom model path, export "
            "`ready/` or optimize it.")
        st.caption("For a real voice, choose XTTS v2 or a local folder as the base model below, and your own "
                   "metadata CSVs.")
        st.button("Got it, hide this", key="start_here_dismiss", on_click=on_dismiss_start_here)


def render_base_and_data() -> None:
    st.header("1. Base model and data")
    show_flashes("base")
    st.radio("Base model", BASE_CHOICES, key="cfg_base_choice", horizontal=True)
    choice = st.session_state["cfg_base_choice"]
    if choice == BASE_CHOICES[0]:
        st.info(NOISE_NOTICE)
    elif choice == BASE_CHOICES[1]:
        st.caption(f"Files go to `{xtts_v2_cache_dir(ws.models_dir)}` via coqui's downloader.")
        st.checkbox(LICENSE_TEXT + " I accept it.", key="cfg_license")
        st.button("Download XTTS v2", on_click=on_download)
    else:
        spec = FIELD_BY_NAME["base_model_dir"]
        st.text_input(spec.form_label, key="cfg_local_base", help=spec.tooltip)
    promoted = sorted(str(p) for p in ws.custom_models_dir.glob("*.pth")) if ws.custom_models_dir.is_dir() else []
    if promoted:
        st.selectbox("Promoted models (sets the custom model to start from)", promoted, index=None,
                     key="cfg_pick_custom", on_change=on_pick_custom,
                     placeholder="Choose a model promoted on the Checkpoints page")
    cols = st.columns(2)
    for index, name in enumerate(PATH_WIDGETS):
        with cols[index % 2]:
            setting_widget(name)
    render_dataset_check(ws, raw_config())


def on_extend_vocab() -> None:
    try:
        config = validate_config({**raw_config(), "vocab_path": ""})
        result = heavy("core.trainer.new_language:extend_for_run", ws, config,
                       working="Extending the vocabulary from the training texts...")
    except ConfigInvalid as exc:
        for error in exc.errors:
            flash("error", field_error_text(error), "language")
        return
    except OffloadError as exc:
        flash("error", f"The vocabulary was not extended: {exc}", "language")
        return
    st.session_state[key("vocab_path")] = str(result.out_path)
    flash("success", f"Extended vocabulary written to {result.out_path} ({result.base_size} + {len(result.added_tokens)} "
                     f"tokens, [{config.language}] is id {result.language_token_id}); it is now the run's extended "
                     "vocabulary.", "language")


@st.cache_data(show_spinner=False, ttl=30)
def test_sentence_cost_line(train_csv: str, eval_csv: str, language: str, max_audio_length_s: float,
                            on_gpu: bool) -> str:
    """What the test sentences add to each epoch, for the form's datasets ('' when they cannot be read)."""
    try:
        sentences = pick_test_sentences(read_dataset(train_csv, "train_csv"), read_dataset(eval_csv, "eval_csv"),
                                        language)
    except ConfigInvalid:
        return ""
    cost = estimate_test_sentences_cost([s.text for s in sentences], on_gpu=on_gpu, max_speech_s=max_audio_length_s)
    worst = (f", up to {format_duration_words(cost.worst_seconds_per_epoch)} while the model cannot stop speaking yet"
             if cost.worst_seconds_per_epoch else "")
    return (f"Test sentences add about {format_duration_words(cost.seconds_per_epoch)} to every epoch{worst} "
            f"({cost.basis}). Monitor plays them, newest first.")


def render_test_sentence_cost(raw: dict) -> None:
    if not raw.get("test_sentences_each_epoch"):
        return
    line = test_sentence_cost_line(raw["train_csv"], raw["eval_csv"], raw["language"],
                                   float(raw["max_audio_length_s"]), bool(st.session_state.get("cfg_gpus")))
    if line:
        st.caption(line)


def render_settings() -> None:
    st.header("2. Settings")
    show_flashes("settings")
    st.selectbox("Preset (from the guide)", [p.name for p in PRESETS], key="cfg_preset", index=None,
                 placeholder="Choose a preset to set the checkpoint save frequency and the checkpoints kept",
                 on_change=on_preset)
    for title, names in GROUPS.items():
        st.subheader(title)
        cols = st.columns(4)
        for index, name in enumerate(names):
            with cols[index % 4]:
                setting_widget(name)
    render_test_sentence_cost(raw_config())
    render_new_language(raw_config(), on_extend_vocab, lambda: show_flashes("language"))
    st.subheader("Device")
    st.caption(f"Device: {describe_device(dict(ws.env_overrides))}")
    gpus = list_gpus()
    if gpus:
        names = {g.index: f"{g.index}: {g.name} ({g.free_bytes / 2**30:.1f} GiB free)" for g in gpus}
        st.multiselect("GPUs (one DDP rank each; none: the default device)", list(names), key="cfg_gpus",
                       format_func=names.get)
    else:
        st.columns(4)[0].number_input("Ranks on the CPU", min_value=1, max_value=MAX_CPU_RANKS, step=1,
                                      key="cfg_cpu_ranks", value=1,
                                      help=f"DDP ranks on the CPU (gloo), for trying several ranks out; 1 to "
                                           f"{MAX_CPU_RANKS}. Each rank holds a full copy of the model.")


@st.cache_data(show_spinner=False, ttl=30)
def disk_forecast_line(raw: tuple, world_size: int = 1, gpus: tuple = ()) -> tuple[str, str]:
    """(level, sentence) of the disk forecast for the form's current values (rank 0 saves; only steps change)."""
    try:
        plan = heavy("core.disk.page_inputs:plan_form", dict(raw), world_size=world_size, gpus=gpus, working=None)
    except ConfigInvalid:
        return "caption", "Disk forecast: fix the settings above first."
    gb = 1e9
    text = (f"Disk forecast: peak {plan.peak_bytes / gb:.2f} GB at step {plan.peak_step}, "
            f"{plan.final_bytes / gb:.2f} GB at the end; {(plan.free_bytes or 0) / gb:.1f} GB free — {plan.verdict}.")
    return ("success" if plan.verdict == "fits with margin" else "warning" if plan.fits else "error"), text


@st.cache_data(show_spinner=False, ttl=30)
def continue_line(raw: tuple, world_size: int = 1, gpus: tuple = ()) -> str:
    """What Continue would do with the form's values: resume file, step, epoch, loss, steps left, disk."""
    try:
        planned = heavy("core.disk.page_inputs:plan_form_continue", dict(raw), world_size=world_size, gpus=gpus,
                        working=None)
    except ConfigInvalid:
        return "Continue: fix the settings above first."
    if planned is None:
        return "Continue: this output path has no run with an intact checkpoint yet."
    continuation, plan = planned
    return (f"{continuation} Disk: peak {plan.peak_bytes / 1e9:.2f} GB, "
            f"{plan.final_bytes / 1e9:.2f} GB at the end — {plan.verdict}.")


def render_forecast() -> None:
    st.header("3. Disk forecast")
    # The first forecast sizes a checkpoint from the model architecture (seconds); later ones are cached.
    with st.spinner("Computing the disk forecast; the first one sizes a checkpoint from the model architecture..."):
        level, text = disk_forecast_line(tuple(sorted(raw_config().items())), **ranks())
    getattr(st, level)(text)
    st.caption("The Disk page shows where the peak comes from, save by save, and the guide's presets side by side.")


@st.cache_data(show_spinner=False, ttl=10)
def intact_checkpoints(output_path: str) -> list:
    return heavy("core.checkpoints.resume:all_checkpoints", output_path, working=None)


def render_start() -> None:
    st.header("4. Start")
    show_flashes("start")
    st.checkbox("Start even if the disk forecast says it will not fit", key="cfg_disk_override")
    st.checkbox("Start even if the dataset check found errors (the trainer swaps those clips for others)",
                key="cfg_dataset_override")
    cols = st.columns(3)
    cols[0].button("Start", type="primary", on_click=on_start, width="stretch")
    cols[1].button("Continue the newest run", on_click=on_continue, width="stretch",
                   help="Resumes the newest run of this output folder from its newest intact checkpoint, "
                        "with its step, optimizer and scheduler state.")
    with cols[2]:
        options = [str(p) for p in intact_checkpoints(st.session_state[key("output_path")])]
        st.selectbox("Start from a checkpoint's weights (step restarts at 0)", options or ["(no checkpoints yet)"],
                     key="cfg_restore_checkpoint", disabled=not options)
        st.button("Start from these weights", on_click=on_restore, disabled=not options)
    st.caption(continue_line(tuple(sorted(raw_config().items())), **ranks()))


init_form()
st.title("Train")
show_flashes("status")
selected = st.session_state.get(SELECTED_RUN_KEY) or next(iter(list_run_ids(ws)), None)
if selected:
    render_run_status(selected, on_stop)
render_start_here()
render_base_and_data()
render_settings()
render_forecast()
render_start()
