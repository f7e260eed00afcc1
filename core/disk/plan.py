"""A disk plan from the simulated save sequence: peak, final, ready/, free space, verdict and fixes.

Pure arithmetic over `DiskInputs`; core.disk.planner gathers the inputs from a run's settings.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, replace

from core.disk.simulation import (FileSizes, SavePruning, SaveSchedule, SaveSimulation, TimelinePoint, log_bytes,
                                  simulate_saves)
from core.base.machine import disk_space

# Below this share of the free space a plan "fits with margin"; up to all of it, "tight".
MARGIN_FRACTION = 0.9
MAX_SAVE_STEP = 5000  # core.base.config's range for save_step
KEPT_READY_LABEL = "earlier ready/ bundles (kept in ready/previous/)"


@dataclass(frozen=True)
class DiskInputs:
    """Everything a forecast needs; sizes come from core.disk.checkpoint_size (or a measured run)."""
    schedule: SaveSchedule
    sizes: FileSizes
    output_path: str = ""  # compared with the free space of its file system ("" : not compared)
    base_model_files: tuple[tuple[str, int], ...] = ()
    base_needs_download: bool = False  # counted in the total only when the files are not there yet
    optimize_ready: bool = False
    print_step: int = 50
    plot_step: int = 100
    pruning: SavePruning | None = None  # None: the trainer's own (keep the newest N)
    measured_checkpoint_bytes: int | None = None  # from real files of this architecture, if any
    estimated_checkpoint_bytes: int | None = None  # the architecture figure, kept beside a measured one
    free_bytes: int | None = None  # None: look it up at output_path
    existing_files: tuple[tuple[str, int], ...] = ()  # a continue: the model files already in its run folder
    # What <output>/ready/ holds already: the export moves it to ready/previous/, so it stays on disk
    # all through the run. Counted in the peak and final, not in the free space needed (it is on disk).
    kept_ready_bytes: int = 0


@dataclass(frozen=True)
class DiskPlan:
    """The forecast. All sizes in bytes; each `*_breakdown` is (label, bytes) pairs."""
    checkpoint_bytes: int
    checkpoint_breakdown: tuple[tuple[str, int], ...]
    checkpoint_source: str  # "architecture" or "measured"
    estimated_checkpoint_bytes: int | None
    measured_checkpoint_bytes: int | None
    best_copy_bytes: int
    peak_bytes: int
    peak_step: int
    peak_breakdown: tuple[tuple[str, int], ...]
    final_bytes: int
    final_breakdown: tuple[tuple[str, int], ...]
    ready_bytes: int
    ready_breakdown: tuple[tuple[str, int], ...]
    base_model_bytes: int
    base_breakdown: tuple[tuple[str, int], ...]
    logs_bytes: int  # event files + trainer log at the end
    total_bytes: int  # what the run needs free: peak (+ base files still to download)
    free_bytes: int | None
    free_path: str
    fits: bool
    verdict: str  # "fits with margin" / "tight" / "does not fit" / "free space unknown"
    fixes: tuple[str, ...]  # changes that would make it fit
    naive_bytes: int  # the guide's rule: checkpoint size x save_n_checkpoints
    total_steps: int
    steps_per_epoch: int
    checkpoint_saves: int
    best_saves: int
    timeline: tuple[TimelinePoint, ...]
    warnings: tuple[str, ...]


def free_bytes_at(path: str | os.PathLike) -> tuple[int, str]:
    """Free bytes of the file system holding `path` (or its nearest existing parent), and that folder."""
    space = disk_space(path)
    return space.free_bytes, str(space.measured_at)


def _needed(inputs: DiskInputs, schedule: SaveSchedule) -> int:
    sim = simulate_saves(schedule, inputs.sizes, pruning=inputs.pruning if schedule == inputs.schedule else None,
                         optimize_ready=inputs.optimize_ready, print_step=inputs.print_step, plot_step=inputs.plot_step,
                         existing_files=inputs.existing_files)
    base = sum(b for _, b in inputs.base_model_files) if inputs.base_needs_download else 0
    return sim.peak.bytes_on_disk - sum(b for _, b in inputs.existing_files) + base


def _fixes(inputs: DiskInputs, needed: int, free: int) -> tuple[str, ...]:
    """The smallest single changes that make the run fit `free`, plus the bytes to free."""
    sch, fixes = inputs.schedule, []
    for keep in range(sch.save_n_checkpoints - 1, 0, -1):
        if _needed(inputs, replace(sch, save_n_checkpoints=keep)) <= free:
            fixes.append(f"keep {keep} checkpoint(s): save_n_checkpoints={keep}")
            break
    last = sch.total_steps - 1
    for saves in range(min(len(sch.checkpoint_steps()), sch.save_n_checkpoints) - 1, -1, -1):
        step = last // (saves + 1) + 1  # the smallest save_step that makes only `saves` saves
        if step <= MAX_SAVE_STEP and step > sch.save_step and _needed(inputs, replace(sch, save_step=step)) <= free:
            fixes.append(f"save less often: save_step={step} or more ({saves} periodic save(s))")
            break
    if sch.save_checkpoints and _needed(inputs, replace(sch, save_checkpoints=False)) <= free:
        fixes.append("turn periodic checkpoints off (save_checkpoints=false): only best models are kept")
    fixes.append(f"or free {_gb(needed - free)} on that disk")
    return tuple(fixes)


def _gb(n: int) -> str:
    return f"{n / 1e9:.2f} GB"


def _counts(point: TimelinePoint, inputs: DiskInputs, logs: int) -> tuple[tuple[str, int], ...]:
    sz = inputs.sizes
    parts = [(f"{point.checkpoint_files} x checkpoint_<step>.pth", point.checkpoint_files * sz.checkpoint_bytes),
             (f"{point.best_files} x best_model copies", point.best_files * sz.best_copy_bytes)]
    kept = inputs.kept_ready_bytes
    ready = point.bytes_on_disk - logs - parts[0][1] - parts[1][1] - kept
    if ready:
        parts.append(("ready/", ready))
    if kept:
        parts.append((KEPT_READY_LABEL, kept))
    parts.append(("event files + logs", logs))
    return tuple(parts)


def _on_top(sim: SaveSimulation, kept_bytes: int) -> SaveSimulation:
    """The simulation with bytes that sit in the output path through the whole run added to every point."""
    if not kept_bytes:
        return sim
    lift = lambda p: replace(p, bytes_on_disk=p.bytes_on_disk + kept_bytes)  # noqa: E731
    return replace(sim, timeline=tuple(lift(p) for p in sim.timeline), peak=lift(sim.peak), final=lift(sim.final))


def plan_disk(inputs: DiskInputs) -> DiskPlan:
    """Forecast a run's disk use: peak, final, ready/, free space, verdict and fixes."""
    sch, sz = inputs.schedule, inputs.sizes
    sim = _on_top(simulate_saves(sch, sz, pruning=inputs.pruning, optimize_ready=inputs.optimize_ready,
                                 print_step=inputs.print_step, plot_step=inputs.plot_step,
                                 existing_files=inputs.existing_files), inputs.kept_ready_bytes)
    logs_at = lambda step: log_bytes(step, sch, inputs.print_step, inputs.plot_step)  # noqa: E731
    ready = (("unoptimize_model.pth", sz.unoptimized_bytes),
             *((("model.pth (optimize)", sz.optimized_bytes),) if inputs.optimize_ready else ()), *sz.ready_small_files)
    base_bytes = sum(b for _, b in inputs.base_model_files)
    # Earlier ready/ bundles and a continued run folder's files are on disk already: free space was
    # measured without them, so only what the run adds on top of them counts against it.
    on_disk_already = inputs.kept_ready_bytes + sum(b for _, b in inputs.existing_files)
    total = sim.peak.bytes_on_disk - on_disk_already + (base_bytes if inputs.base_needs_download else 0)
    free, free_path = inputs.free_bytes, inputs.output_path
    if free is None and inputs.output_path:
        free, free_path = free_bytes_at(inputs.output_path)
    if free is None:
        fits, verdict, fixes = True, "free space unknown", ()
    else:
        fits = total <= free
        verdict = "fits with margin" if total <= MARGIN_FRACTION * free else "tight" if fits else "does not fit"
        fixes = () if verdict == "fits with margin" else _fixes(inputs, total, int(free * (MARGIN_FRACTION if fits else 1)))
    return DiskPlan(
        checkpoint_bytes=sz.checkpoint_bytes, checkpoint_breakdown=sz.checkpoint_breakdown or (("checkpoint file", sz.checkpoint_bytes),),
        checkpoint_source="measured" if inputs.measured_checkpoint_bytes else "architecture",
        estimated_checkpoint_bytes=inputs.estimated_checkpoint_bytes, measured_checkpoint_bytes=inputs.measured_checkpoint_bytes,
        best_copy_bytes=sz.best_copy_bytes, peak_bytes=sim.peak.bytes_on_disk, peak_step=sim.peak.step,
        peak_breakdown=_counts(sim.peak, inputs, logs_at(sim.peak.step)), final_bytes=sim.final.bytes_on_disk,
        final_breakdown=_counts(sim.final, inputs, logs_at(sim.final.step)),
        ready_bytes=sum(b for _, b in ready) if sim.exported else 0, ready_breakdown=ready if sim.exported else (),
        base_model_bytes=base_bytes, base_breakdown=inputs.base_model_files, logs_bytes=logs_at(sim.final.step),
        total_bytes=total, free_bytes=free, free_path=str(free_path), fits=fits, verdict=verdict, fixes=fixes,
        naive_bytes=sz.checkpoint_bytes * sch.save_n_checkpoints, total_steps=sch.total_steps,
        steps_per_epoch=sch.steps_per_epoch, checkpoint_saves=sim.checkpoint_saves, best_saves=sim.best_saves,
        timeline=sim.timeline, warnings=_warnings(inputs, sim))


def _warnings(inputs: DiskInputs, sim: SaveSimulation) -> tuple[str, ...]:
    sch, out = inputs.schedule, []
    if sch.save_checkpoints and sch.total_steps <= sch.save_step:
        out.append(f"this run has {sch.total_steps} steps and never reaches save_step={sch.save_step}: "
                   "only best-model saves (after each epoch) will happen")
    if not sch.save_checkpoints:
        out.append("periodic checkpoints are off: only best models (and a checkpoint on stop) are saved")
    if sim.best_saves == 0:
        out.append(f"save_best_after={sch.save_best_after} is past the end of the run: no best model is saved"
                   + ("; ready/ is exported from the newest checkpoint" if sim.exported else ""))
    if sim.best_saves:
        out.append("assumes the worst case: the loss improves every epoch, so every epoch writes a best model")
    if inputs.kept_ready_bytes:
        out.append(f"ready/ already holds {_gb(inputs.kept_ready_bytes)}: the export moves it to ready/previous/ and "
                   "keeps it, so it is in the peak and the final figure (not in the free space needed: it is on disk)")
    if inputs.base_needs_download:
        out.append(f"the base model ({_gb(sum(b for _, b in inputs.base_model_files))}) is not on disk yet: counted in the total")
    if inputs.measured_checkpoint_bytes and inputs.estimated_checkpoint_bytes:
        diff = inputs.measured_checkpoint_bytes / inputs.estimated_checkpoint_bytes - 1
        out.append(f"using the measured checkpoint size; the architecture estimate differs by {diff:+.2%}")
    return tuple(out)
