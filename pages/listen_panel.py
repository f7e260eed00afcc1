"""The Checkpoints page's listening view: synthesise one sentence from 2-4 checkpoints, play them side by side.

The view asks `core.listen` for the samples (a detached synthesis job makes what is not cached),
follows the job in a fragment that finds it again after a reload, then shows one player per
checkpoint with its step, eval loss, scores and blind-test wins, the recommended checkpoint of
each run, and a blind A/B test. Promote and export reuse the page's own callbacks, passed in, so
this module knows nothing of the page. Everything here is light: no torch, no encoder, no Whisper.
"""
from __future__ import annotations

import hashlib
import random
from pathlib import Path
from typing import Callable

import streamlit as st

from core.checkpoints.gallery import GalleryEntry, default_promote_target
from core.base.config import LANGUAGES
from core.base.errors import ConfigInvalid, LaunchRefused
from core.base.languages import describe
from core.listen.choices import base_model_file, dataset_clips
from core.listen.preferences import record_preference, tally
from core.listen.recommend import Recommendation, recommend_checkpoint
from core.listen.samples import Sample, cached_sample, clean_orphan_samples, list_samples_for
from core.listen.sampling import SamplingSettings
from core.listen.score_files import checkpoint_scores, sample_scores
from core.listen.sentences import SentenceInvalid, load_test_sentences, save_test_sentences
from core.listen.synthesis import (SampleRequest, live_synthesis_job, plan_samples, request_samples, stop_synthesis,
                                   synthesis_jobs, synthesis_state)
from core.registry.records import load_record
from core.base.workspace import Workspace
from pages.common import show_field_errors
from pages.live_refresh import visible_fragment

REQUEST_KEY = "lis_request"  # the comparison on show (SampleRequest.to_json)
FLASH_KEY = "lis_flash"
PICKS_KEY = "lis_blind_picks"  # comparison id -> the winner's checkpoint path
DEMO_AUDIO_TOKENS = 24  # the demo GPT never learnt to stop: about a second of audio
MAX_COMPARED = 4
MAX_REFERENCES = 5


def _run_config(ws: Workspace, run_id: str | None) -> dict:
    record = load_record(ws, run_id) if run_id else None
    return record.config if record is not None and isinstance(record.config, dict) else {}


def _is_demo(ws: Workspace, run_id: str | None) -> bool:
    base = str(_run_config(ws, run_id).get("base_model_dir", ""))
    return bool(base) and Path(base).resolve().is_relative_to(ws.demo_dir.resolve())


def _entry_name(entry: GalleryEntry | None, path: str) -> str:
    if entry is None:
        return f"base model · {Path(path).name}" if Path(path).name == "model.pth" else Path(path).name
    step = f"step {entry.info.step}" if entry.info.step is not None else "no step"
    return f"{step} · {Path(path).name}"


def _settings_text(settings: SamplingSettings) -> str:
    cap = (f"at most {settings.max_audio_tokens} audio tokens (about {settings.max_audio_tokens / 21.5:.1f} s)"
           if settings.max_audio_tokens else "the model's own length limit")
    return (f"Same for every sample: seed {settings.seed}, temperature {settings.temperature:g}, top-k {settings.top_k}, "
            f"top-p {settings.top_p:g}, repetition penalty {settings.repetition_penalty:g}, {cap}.")


def on_pick_sentence() -> None:
    st.session_state["lis_sentence"] = st.session_state.get("lis_pick") or ""


def on_save_sentences(ws: Workspace, language: str) -> None:
    lines = [line for line in st.session_state.get(f"lis_saved_{language}", "").splitlines() if line.strip()]
    try:
        saved = save_test_sentences(ws, language, lines)
    except SentenceInvalid as exc:
        st.session_state[FLASH_KEY] = exc
        return
    st.session_state["lis_saved_note"] = f"Saved {len(saved)} test sentences for {describe(language)}."


def on_synthesise(ws: Workspace, paths_by_label: dict[str, str]) -> None:
    chosen = [paths_by_label[c] for c in st.session_state.get("lis_checkpoints") or [] if c in paths_by_label]
    if not 2 <= len(chosen) <= MAX_COMPARED:
        st.session_state[FLASH_KEY] = ValueError("Pick two to four checkpoints to compare.")
        return
    cap = int(st.session_state.get("lis_tokens") or 0)
    settings = SamplingSettings(seed=int(st.session_state.get("lis_seed", SamplingSettings.seed)),
                                max_audio_tokens=cap or None)
    request = SampleRequest(checkpoints=tuple(chosen), sentences=(st.session_state.get("lis_sentence") or "",),
                            language=st.session_state.get("lis_language") or "en", settings=settings,
                            references=tuple(st.session_state.get("lis_refs") or ()))
    try:
        answer = request_samples(ws, request)
    except (ConfigInvalid, LaunchRefused) as exc:
        st.session_state[FLASH_KEY] = exc
        return
    st.session_state[REQUEST_KEY] = request.to_json()
    if not isinstance(answer, list):
        st.session_state["lis_job"] = answer.job_id


def on_prefer(ws: Workspace, run_id: str, winner: str, loser: str, comparison: str) -> None:
    record_preference(ws, run_id, winner, loser)
    st.session_state.setdefault(PICKS_KEY, {})[comparison] = winner


def current_request(ws: Workspace) -> SampleRequest | None:
    """The comparison this session asked for, else the latest synthesis job's (after a reload)."""
    data = st.session_state.get(REQUEST_KEY)
    if data is None:
        for job_id in synthesis_jobs(ws)[:1]:
            record = synthesis_state(ws, job_id).record
            data = record.params.get("request") if record is not None else None
    try:
        return SampleRequest.from_json(data) if isinstance(data, dict) else None
    except (ConfigInvalid, KeyError, TypeError, ValueError):
        return None


def render_form(ws: Workspace, complete: list[GalleryEntry], label: Callable[[GalleryEntry], str]) -> None:
    paths_by_label = {label(e): str(e.path) for e in complete}
    chosen = [e for e in complete if label(e) in (st.session_state.get("lis_checkpoints") or [])]
    run_id = next((e.run_id for e in chosen if e.run_id), next((e.run_id for e in complete if e.run_id), None))
    base = base_model_file(_run_config(ws, run_id))
    if base:
        paths_by_label[f"base model · {base}"] = base
    st.multiselect("Checkpoints to compare (two to four)", list(paths_by_label), key="lis_checkpoints",
                   max_selections=MAX_COMPARED,
                   help="Any complete checkpoint, best model or ready/ model of any run" +
                        (", and the run's base model." if base else ". The base model is offered when its folder "
                         "has its weights (model.pth); the demo's base starts from random weights and has none."))
    language = str(_run_config(ws, run_id).get("language") or "en")
    left, right = st.columns([1, 2])
    options = list(dict.fromkeys([language, *LANGUAGES]))
    language = left.selectbox("Language", options, key="lis_language", format_func=describe, accept_new_options=True,
                              help="The language the samples are spoken in: the one the run trained for.")
    saved = load_test_sentences(ws, language)
    st.session_state.setdefault("lis_sentence", saved[0] if saved else "")
    right.selectbox("Saved test sentence", saved, key="lis_pick", index=None, on_change=on_pick_sentence,
                    placeholder="Pick one to copy it into the sentence below")
    st.text_input("Sentence to synthesise", key="lis_sentence")
    clips = dataset_clips(_run_config(ws, run_id))
    if clips:
        st.multiselect("Reference clips (empty: the run's ready/reference.wav)", clips, key="lis_refs",
                       max_selections=MAX_REFERENCES, format_func=lambda p: Path(p).name,
                       help="The voice every sample is conditioned on (references). XTTS takes several clips at once; "
                            "pick clean clips of the speaker from the run's training data.")
    with st.expander(f"Edit the saved test sentences for {describe(language)}"):
        st.text_area("One sentence a line", value="\n".join(saved), key=f"lis_saved_{language}", height=150)
        st.button("Save the test sentences", key="lis_save_sentences", on_click=on_save_sentences, args=(ws, language))
        note = st.session_state.pop("lis_saved_note", None)
        if note:
            st.success(note)
    a, b, c = st.columns(3)
    a.number_input("Seed", 0, 2**32 - 1, SamplingSettings.seed, key="lis_seed",
                   help="Every checkpoint starts from this seed (seed), so what differs between the samples is the "
                        "weights.")
    b.number_input("Audio tokens at most (0: the model's own limit)", 0, 2000,
                   DEMO_AUDIO_TOKENS if _is_demo(ws, run_id) else 0, key="lis_tokens",
                   help="About 21.5 tokens a second (max_audio_tokens). The demo model never learnt to stop, so its "
                        "samples are capped at 24 tokens.")
    c.checkbox("Also play the reference clip", key="lis_reference", value=True)
    st.button("Synthesise", type="primary", key="lis_synthesise", on_click=on_synthesise, args=(ws, paths_by_label),
              icon=":material/record_voice_over:")


ENDED = ("finished", "stopped", "failed")


def pending_job(ws: Workspace) -> str | None:
    """The synthesis job running now, or the one this session just started that has not ended yet.

    Right after the start the job may not be live yet (its process is still coming up): without
    this the page would show neither progress nor players, and no timer to notice the job later.
    """
    live = live_synthesis_job(ws)
    if live:
        return live
    mine = st.session_state.get("lis_job")
    if mine and synthesis_state(ws, mine).phase.value not in ENDED:
        return mine
    return None


def job_panel(ws: Workspace, job_id: str) -> None:
    @visible_fragment("listen-job", 1.0)
    def panel() -> None:
        state = synthesis_state(ws, job_id)
        if state.phase.value in ENDED:
            st.session_state.pop("lis_job", None)
            st.rerun()  # one full rerun switches the timer off and shows the players
        progress = state.progress
        eta = f", about {progress.eta_s:.0f} s left" if progress.eta_s else ""
        st.progress(progress.fraction, text=f"Synthesising: {progress.done} of {progress.total or '?'} samples{eta}. "
                                            f"{progress.message}")
        st.button("Stop synthesising", key="lis_stop", on_click=stop_synthesis, args=(ws, job_id),
                  icon=":material/stop_circle:")

    panel()


def scores_text(sample: Sample) -> str:
    scores = sample_scores(sample)
    if scores is None:
        return "Not scored."
    similarity = scores.get("similarity")
    parts = [f"speaker similarity {similarity['similarity']:.2f}" if similarity else "speaker similarity not measured"]
    intelligibility = scores["intelligibility"]
    if intelligibility.get("cer") is not None:
        parts.append(f"CER {intelligibility['cer']:.0%} (heard: “{intelligibility.get('transcript', '')}”)")
    else:
        parts.append(f"no CER: {intelligibility.get('unavailable') or 'nothing transcribed'}")
    flags = scores["sanity"].get("flags") or []
    parts.append("sanity: " + ("; ".join(flags) if flags else "fine"))
    return " · ".join(parts)


def recommendations(ws: Workspace, entries: list[GalleryEntry], run_ids: set[str]) -> dict[str, Recommendation]:
    """Per run: the recommended checkpoint among those that have samples (eval loss from the gallery)."""
    chosen = {}
    for run_id in sorted(run_ids):
        summaries, seen = [], set()
        for entry in entries:
            if entry.run_id != run_id or not entry.info.is_complete or str(entry.path) in seen:
                continue
            seen.add(str(entry.path))
            samples = list_samples_for(ws, entry.path)
            if samples:
                summaries.append(checkpoint_scores(str(entry.path), entry.info.step, entry.info.eval_loss, samples))
        recommendation = recommend_checkpoint(summaries)
        if recommendation is not None:
            chosen[run_id] = recommendation
    return chosen


def _audio(path: str | Path) -> None:
    st.audio(Path(path).read_bytes(), format="audio/wav")


def render_blind(ws: Workspace, samples: list[tuple[str, Sample]], by_path: dict[str, GalleryEntry]) -> bool:
    """A and B with their buttons; True once this comparison has a pick (the names are then revealed)."""
    (first_path, first), (second_path, second) = samples[:2]
    comparison = hashlib.sha256(f"{first.wav_path}|{second.wav_path}".encode()).hexdigest()[:16]
    pair = [(first_path, first), (second_path, second)]
    if random.Random(comparison).random() < 0.5:  # the same order on every rerun of this comparison
        pair.reverse()
    entry = by_path.get(pair[0][0]) or by_path.get(pair[1][0])
    run_id = (entry.run_id if entry else None) or "custom"
    st.caption("Two of the samples, in a random order and without names. Listen to both, then pick the better one.")
    picked = st.session_state.get(PICKS_KEY, {}).get(comparison)
    for column, name, (path, sample), (other, _) in zip(st.columns(2), "AB", pair, reversed(pair)):
        with column:
            st.markdown(f"**{name}**")
            _audio(sample.wav_path)
            st.button(f"{name} is better", key=f"lis_pick_{name}", on_click=on_prefer,
                      args=(ws, run_id, path, other, comparison), disabled=picked is not None)
    if picked is not None:
        names = [f"{letter} was {_entry_name(by_path.get(p), p)}" for letter, (p, _) in zip("AB", pair)]
        st.success(f"Recorded: you preferred {_entry_name(by_path.get(picked), picked)}. {'; '.join(names)}.")
    return picked is not None


def render_results(ws: Workspace, request: SampleRequest, entries: list[GalleryEntry],
                   on_promote: Callable[[str, str], None], on_export: Callable[[str, str, str], None]) -> None:
    by_path = {str(e.path): e for e in entries}
    try:
        request, planned = plan_samples(ws, request)
    except ConfigInvalid as exc:
        st.info("The last comparison cannot be shown any more (a checkpoint or the reference changed): "
                f"synthesise again. {exc}")
        return
    found = [(str(p.checkpoint), cached_sample(ws, p.key)) for p in planned]
    samples = [(path, s) for path, s in found if s is not None]
    if len(samples) < len(found):
        last = synthesis_jobs(ws)[:1]
        state = synthesis_state(ws, last[0]) if last else None
        if state is not None and state.phase.value in ("failed", "stopped"):
            st.error(f"Synthesis {state.phase.value}: {state.message}")
        if not samples:
            return
    # Paths as the request names them (the gallery's); plan_samples resolves them.
    names = {str(Path(p).resolve()): p for p in request.checkpoints}
    samples = [(names.get(path, path), s) for path, s in samples]
    run_ids = {by_path[p].run_id for p, _ in samples if p in by_path and by_path[p].run_id}
    recommended = recommendations(ws, entries, run_ids)
    for run_id, rec in recommended.items():
        st.info(f"Recommended for {run_id}: {_entry_name(by_path.get(rec.checkpoint), rec.checkpoint)}. {rec.reason}.",
                icon=":material/thumb_up:")
    st.markdown(f"**“{request.sentences[0]}”** ({describe(request.language)})")
    st.caption(_settings_text(request.settings))
    if st.toggle("Blind test (two samples as A and B, names hidden)", key="lis_blind") and len(samples) >= 2:
        if not render_blind(ws, samples, by_path):
            return  # the named players would give the answer away
    show_reference = st.session_state.get("lis_reference", True) and request.references
    columns = st.columns(len(samples) + (1 if show_reference else 0))
    for column, (path, sample) in zip(columns, samples):
        entry = by_path.get(path)
        with column:
            st.markdown(f"**{_entry_name(entry, path)}**")
            _audio(sample.wav_path)
            loss = entry.info.eval_loss if entry else None
            st.caption(f"Eval loss {loss:.3f}" if loss is not None else "No eval loss recorded")
            st.caption(scores_text(sample))
            wins = tally(ws, (entry.run_id if entry else None) or "custom").get(path, 0)
            st.caption(f"Won {wins} blind test{'s' if wins != 1 else ''}")
    if show_reference:
        with columns[-1]:
            st.markdown("**Reference clip**")
            _audio(request.references[0])
            st.caption(Path(request.references[0]).name)
    render_promote(ws, [p for p, _ in samples], by_path, recommended, on_promote, on_export)


def render_promote(ws: Workspace, paths: list[str], by_path: dict[str, GalleryEntry],
                   recommended: dict[str, Recommendation], on_promote, on_export) -> None:
    usable = [p for p in dict.fromkeys(paths) if p in by_path]
    if not usable:
        return
    best = {rec.checkpoint for rec in recommended.values()}
    index = next((i for i, p in enumerate(usable) if p in best), 0)
    choice = st.selectbox("Checkpoint to keep", usable, index=index, key="lis_keep",
                          format_func=lambda p: _entry_name(by_path[p], p) + (" (recommended)" if p in best else ""))
    entry = by_path[choice]
    left, right = st.columns(2)
    left.button("Promote it to a custom model", key="lis_promote", on_click=on_promote,
                args=(choice, str(default_promote_target(ws, entry))),
                help="Copies it into the workspace's custom models, as the Promote tab above does.")
    right.button("Export it as ready/", key="lis_export", on_click=on_export, args=(entry.run_id, choice, ""),
                 disabled=entry.run_id is None, help="Writes the run's ready/ bundle from it, as the Export tab above does.")


def render_listen_panel(ws: Workspace, entries: list[GalleryEntry], *, label: Callable[[GalleryEntry], str],
                        on_promote: Callable[[str, str], None], on_export: Callable[[str, str, str], None]) -> None:
    """The whole listening view for the gallery's `entries`."""
    clean_orphan_samples(ws)  # light: zip directories and folder listings; a deleted checkpoint's samples go
    st.subheader("Listen and compare")
    complete = [e for e in entries if e.info.is_complete]
    if len(complete) < 2:
        st.info("Two complete checkpoints are needed to compare them by ear.")
        return
    render_form(ws, complete, label)
    flash = st.session_state.pop(FLASH_KEY, None)
    if flash is not None:
        show_field_errors(flash)
    job_id = pending_job(ws)
    if job_id:
        job_panel(ws, job_id)
        return
    request = current_request(ws)
    if request is not None:
        render_results(ws, request, entries, on_promote, on_export)
