"""Checkpoints: every checkpoint of every run; promote, export ready/, optimize, resume from, clean up; ready/ bundles."""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from core.checkpoints.files import CheckpointError
from core.checkpoints.deletion import bytes_freed_by_deleting
from core.checkpoints.ready_bundles import ReadyBundleInfo, workspace_ready_bundles
from core.checkpoints.targets import default_optimize_target
from core.base.errors import ConfigInvalid
from core.monitor.chart_svg import Dot, line_chart_svg
from core.offload import OffloadError
from core.base.path_guard import outside_roots_errors
from core.checkpoints.gallery import GalleryEntry, checkpoint_marks, default_promote_target
from core.registry.records import read_status
from core.base.text import format_local_time
from pages.common import heavy, heavy_with_progress, human_bytes, run_curves, workspace
from pages.listen_panel import render_listen_panel

LOSS_TAG = "TrainIterStats/loss"

FLASH_KEY = "gallery_flash"
ws = workspace()


def flash(level: str, text: str) -> None:
    st.session_state.setdefault(FLASH_KEY, []).append((level, text))


def inside(path: str, what: str) -> bool:
    """Refuse (with a message) a file operation outside the workspace roots."""
    errors = outside_roots_errors(ws, [(what, path)])
    for error in errors:
        flash("error", f"Refused: {error}")
    return not errors


def entry_label(entry: GalleryEntry) -> str:
    info = entry.info
    step = f"step {info.step}" if info.step is not None else "no step"
    star = " ★ best" if entry.is_best else ""
    # kept/ and incomplete/ hold files under their run folder names: without the prefix two labels would be one.
    prefix = {"kept": "kept/", "incomplete": "incomplete/", "previous ready": f"ready/previous/{info.path.parent.name}/"}
    name = prefix.get(entry.location, "") + info.path.name
    return f"{entry.run_id or 'custom'} · {name} · {step}{star} · {info.integrity.value}"


def table_rows(entries: list[GalleryEntry]) -> list[dict]:
    return [{
        "run": e.run_id or "-", "file": e.info.path.name, "where": e.location, "kind": e.info.kind.value,
        "step": e.info.step, "epoch": e.info.epoch, "date": format_local_time(e.info.mtime_s),
        "train loss": e.info.train_loss, "eval loss": e.info.eval_loss, "size MB": round(e.info.size_bytes / 1e6, 1),
        "integrity": e.info.integrity.value, "optimizer": e.info.has_optimizer, "dvae": e.info.has_dvae,
        "text vocab": e.info.text_vocab_size, "best": e.is_best, "protected": e.protected, "path": str(e.info.path),
    } for e in entries]


def on_promote(source: str, target: str) -> None:
    if not inside(target, "custom model path"):
        return
    bar = st.progress(0.0, text="Promoting...")
    try:
        result = heavy_with_progress("core.checkpoints.ops:promote", Path(source), Path(target),
                                     overwrite=st.session_state.get("gal_overwrite", False), bar=bar,
                                     label=lambda done, total: f"{human_bytes(done)} / {human_bytes(total)}")
    except (CheckpointError, OSError, OffloadError) as exc:
        flash("error", f"Not promoted: {exc}")
        return
    finally:
        bar.empty()  # made in the callback, it would otherwise stay above the page's title
    backup = f" The previous file was kept as {result.backup.name}." if result.backup else ""
    flash("success", f"Promoted to {result.target} ({human_bytes(result.bytes_copied)}).{backup}")
    st.session_state["gal_last_promoted"] = str(result.target)


def on_use_as_custom(path: str) -> None:
    st.session_state["cfg_custom_model_path"] = path
    flash("success", f"{Path(path).name} is now the custom base model on the Train page.")


def on_use_as_resume(path: str) -> None:
    st.session_state["cfg_restore_checkpoint"] = path
    flash("success", f"{Path(path).name} is the checkpoint to start from on the Train page (weights only).")


def on_export(run_id: str, source: str, folder: str) -> None:
    if folder and not inside(folder, "ready/ folder"):
        return
    try:
        bundle = heavy("core.trainer.ready_export:export_ready_from", ws, run_id, Path(source),
                       Path(folder) if folder else None, working="Exporting ready/...", timeout_s=3600)
    except (ConfigInvalid, CheckpointError, OSError, ValueError, OffloadError) as exc:
        flash("error", f"Not exported: {exc}")
        return
    kept = f" The bundle it replaced is kept in {bundle.previous}." if bundle.previous else ""
    flash("success", f"ready/ written to {bundle.folder}: {', '.join(p.name for p in bundle.files)}.{kept}")


def on_optimize(source: str, target: str) -> None:
    if not inside(target, "optimized model path"):
        return
    try:
        result = heavy("core.checkpoints.ops:optimize", Path(source), Path(target),
                       overwrite=st.session_state.get("gal_opt_overwrite", False),
                       delete_source=st.session_state.get("gal_opt_delete", False),
                       working="Optimizing (the model's weights are streamed into a new file)...", timeout_s=3600)
    except (CheckpointError, OSError, OffloadError) as exc:
        flash("error", f"Not optimized: {exc}")
        return
    flash("success", f"Optimized {Path(source).name} -> {result.target}: {human_bytes(result.bytes_before)} -> "
                     f"{human_bytes(result.bytes_after)}, {human_bytes(result.bytes_saved)} saved.")


def on_delete(paths: list[str], protected: list[str]) -> None:
    if not all(inside(p, "delete") for p in paths):
        return
    try:
        freed = heavy("core.checkpoints.deletion:delete_checkpoints", [Path(p) for p in paths],
                      protected={Path(p) for p in protected}, working="Deleting...")
    except (CheckpointError, OffloadError) as exc:
        flash("error", f"Nothing deleted: {exc}")
        return
    flash("success", f"Deleted {len(paths)} file(s), {human_bytes(freed)} freed.")
    st.session_state["gal_delete"] = []


def render_actions(entries: list[GalleryEntry]) -> None:
    usable = [e for e in entries if e.info.is_complete]
    if not usable:
        st.info("No complete checkpoint to act on yet.")
        return
    by_label = {entry_label(e): e for e in usable}
    choice = by_label[st.selectbox("Checkpoint", list(by_label), key="gal_choice")]
    source = str(choice.path)
    promote_tab, export_tab, optimize_tab, resume_tab = st.tabs(["Promote", "Export ready/", "Optimize", "Resume / fine-tune"])
    with promote_tab:
        target = st.text_input("Custom model path", value=str(default_promote_target(ws, choice)), key=f"gal_target_{source}")
        st.checkbox("Replace an existing file (the old one is kept as a timestamped backup)", key="gal_overwrite")
        st.button("Promote", on_click=on_promote, args=(source, target), type="primary")
        last = st.session_state.get("gal_last_promoted")
        if last:
            st.button(f"Use {Path(last).name} as the custom base model", on_click=on_use_as_custom, args=(last,))
    with export_tab:
        folder = st.text_input("ready/ folder (empty: the run's <output>/ready)", key="gal_ready_folder")
        st.button("Export ready/", on_click=on_export, args=(choice.run_id, source, folder), disabled=choice.run_id is None)
    with optimize_tab:
        target = st.text_input("Optimized model path", value=str(default_optimize_target(choice.path)),
                               key=f"gal_opt_target_{source}")
        st.caption(f"Drops the optimizer state ({human_bytes(choice.info.optimizer_bytes)}) and DVAE weights "
                   f"({human_bytes(choice.info.dvae_bytes)}), as the guide's Step 2.5. Never written inside the "
                   "trainer's run folders (its rotation would delete or miscount the file): by default into the run's ready/.")
        st.checkbox("Replace an existing file", key="gal_opt_overwrite")
        st.checkbox("Delete the unoptimized file afterwards", key="gal_opt_delete")
        st.button("Optimize", on_click=on_optimize, args=(source, target))
    with resume_tab:
        st.button("Fine-tune from it (custom base model)", on_click=on_use_as_custom, args=(source,))
        st.button("Start a new run from its weights (step restarts at 0)", on_click=on_use_as_resume, args=(source,))


def render_loss_curve(entries: list[GalleryEntry], run_id: str | None) -> None:
    """The run's train loss with each of its checkpoints placed on the curve (an SVG, as on Monitor)."""
    folder = read_status(ws, run_id).trainer_run_folder if run_id else ""
    if not folder:
        return
    curves = run_curves(folder)
    curves.reader.refresh()
    found = curves.curves((LOSS_TAG,), ema_weight=0.0)
    if not found:
        return
    (curve,) = found
    marks = checkpoint_marks([e for e in entries if e.run_id == run_id], curve.x, curve.raw)
    best_at = {}  # one dot per step: best_model.pth, best_model_<step>.pth and ready/ share one
    for mark in marks:
        best_at[mark.step] = best_at.get(mark.step, False) or mark.is_best
    losses = {m.step: m.loss for m in marks}
    dots = tuple(Dot(float(step), losses[step], f"step {step}" + (" (best)" if best else ""), best)
                 for step, best in sorted(best_at.items()))
    st.image(line_chart_svg(f"Checkpoints of {run_id} on its train loss", [curve], dots=dots, height=280),
             width="stretch")


def render_cleanup(entries: list[GalleryEntry]) -> None:
    st.subheader("Clean up")
    deletable = {entry_label(e): e for e in entries if not e.protected}
    chosen = st.multiselect("Delete these files", list(deletable), key="gal_delete")
    freed = bytes_freed_by_deleting([deletable[c].path for c in chosen])
    st.caption(f"Frees about {human_bytes(freed)} (a file with another name outside the selection, such as a kept/ "
               "link, frees nothing). The running run's newest checkpoint and best model are protected.")
    st.button("Delete selected", on_click=on_delete, args=([str(deletable[c].path) for c in chosen],
                                                           [str(e.path) for e in entries if e.protected]),
              disabled=not chosen)


def bundle_rows(bundles: tuple[ReadyBundleInfo, ...]) -> list[dict]:
    rows = []
    for b in bundles:
        m, opt = b.manifest, b.manifest.optimized if b.manifest else None
        rows.append({
            "bundle": b.label, "source": (m.source if m else None) or "unknown", "run": m.run_id if m else None,
            "step": m.step if m else None, "train loss": m.train_loss if m else None, "eval loss": m.eval_loss if m else None,
            "made": format_local_time(m.made_at_s) if m and m.made_at_s else None,
            "model.pth from": opt.source if opt else None, "files": ", ".join(b.files),
            "size MB": round(b.size_bytes / 1e6, 1), "manifest": m is not None, "folder": str(b.folder),
        })
    return rows


def render_ready_bundles() -> None:
    """Each output path's ready/ bundle and the earlier ones kept in ready/previous/, with their origin."""
    outputs = [o for o in workspace_ready_bundles(ws) if o.bundles]
    if not outputs:
        return
    st.subheader("ready/ bundles")
    st.caption("A new export never overwrites ready/: the bundle there moves to ready/previous/<time>/ first.")
    for output in outputs:
        st.markdown(f"**`{output.output_path}`**")
        st.dataframe(bundle_rows(output.bundles), hide_index=True, width="stretch")
        for b in output.bundles:
            if b.manifest is None:
                st.caption(f"{b.label}: no manifest.json (made by an older version), so its origin is unknown.")
            elif b.manifest.optimized and not b.manifest.optimized.from_bundle:
                st.warning(f"{b.label}: model.pth was optimized from {b.manifest.optimized.source}, not from this "
                           "bundle's unoptimize_model.pth; the two do not match.")


st.title("Checkpoints")
for level, text in st.session_state.pop(FLASH_KEY, []):
    getattr(st, level)(text)
entries = heavy("core.checkpoints.gallery:gallery", ws, working="Reading the checkpoints...")
if not entries:
    st.info("No checkpoints yet: start a run on the Train page.")
else:
    st.caption(f"{len(entries)} files, {human_bytes(sum(e.info.size_bytes for e in entries))} in all.")
    cols = st.columns(3)
    runs = cols[0].multiselect("Runs", sorted({e.run_id or "custom" for e in entries}), key="gal_runs")
    kinds = cols[1].multiselect("Kinds", sorted({e.info.kind.value for e in entries}), key="gal_kinds")
    states = cols[2].multiselect("Integrity", sorted({e.info.integrity.value for e in entries}), key="gal_states")
    shown = [e for e in entries if (not runs or (e.run_id or "custom") in runs)
             and (not kinds or e.info.kind.value in kinds) and (not states or e.info.integrity.value in states)]
    st.dataframe(table_rows(shown), hide_index=True, width="stretch")
    render_actions(shown)
    chosen = next((e for e in shown if entry_label(e) == st.session_state.get("gal_choice")), None)
    render_loss_curve(entries, chosen.run_id if chosen else next((e.run_id for e in shown if e.run_id), None))
    render_listen_panel(ws, entries, label=entry_label, on_promote=on_promote, on_export=on_export)
    render_cleanup(shown)
render_ready_bundles()
