"""Disk forecast for a run: the trainer's real save sequence replayed file by file.

coqui-tts-trainer 0.4 (trainer/io.py, trainer/trainer.py) does, in this order:
- in train_step, when total_steps_done % save_step == 0 and != 0 (steps are 0-indexed, so a run
  of T batches saves at the multiples of save_step in 1..T-1): write checkpoint_<s>.pth, then
  delete the oldest until save_n_checkpoints remain (N + 1 exist for a moment);
- after each epoch's eval, at current_step = batches done so far, if the loss improved and
  current_step > save_best_after: write best_model_<s>.pth, delete every other best_model*.pth,
  copy the new one to best_model.pth (three full copies for a moment, two after);
- on SIGINT: one more checkpoint (pruned the same way), then exit without ready/;
- at the end our training process copies best_model.pth (else the newest checkpoint) to
  ready/unoptimize_model.pth plus small files; the optional optimize writes ready/model.pth.
Which epochs improve is unknowable in advance: the forecast takes the worst case, every epoch.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

# Rough per-line sizes of what the trainer logs, fitted to a demo run (tens of KB in all).
_LOG_FIXED_BYTES = 30_000  # config.json, the copied training script, TB text summaries
_EVENT_BYTES_PER_PLOT = 330  # 7 scalars per plot_step
_LOG_BYTES_PER_PRINT = 330  # one progress block per print_step
_BYTES_PER_EPOCH = 1_500  # epoch and eval summaries in both files


class RetentionPolicy(Protocol):
    """Which files go after each save. The trainer's own rules are `TrainerRetention`.

    A later policy (keep the best K by eval loss, keep every K-th step) implements the same two
    methods; the simulation, timeline and peak follow from them unchanged.
    """

    def checkpoints_to_delete(self, kept_steps: tuple[int, ...], new_step: int) -> tuple[int, ...]: ...

    def best_to_delete(self, kept_steps: tuple[int, ...], new_step: int) -> tuple[int, ...]: ...


@dataclass(frozen=True)
class TrainerRetention:
    """keep_n_checkpoints after every checkpoint; one best_model_<step> (plus best_model.pth)."""
    save_n_checkpoints: int

    def checkpoints_to_delete(self, kept_steps, new_step):
        ordered = sorted((*kept_steps, new_step))
        return tuple(ordered[:-self.save_n_checkpoints]) if len(ordered) > self.save_n_checkpoints else ()

    def best_to_delete(self, kept_steps, new_step):
        return tuple(s for s in kept_steps if s != new_step)


@dataclass(frozen=True)
class SaveSchedule:
    """When the trainer saves: the RunConfig fields that matter plus the run length."""
    steps_per_epoch: int
    epochs: int
    save_step: int
    save_n_checkpoints: int = 1
    save_checkpoints: bool = True
    save_best_after: int = 0
    interrupt_at_step: int | None = None  # SIGINT while this batch runs (None: runs to the end)
    keep_best_k: int = 0  # our retention (core.retention): best models kept in kept/
    milestone_every_steps: int = 0  # our retention: checkpoints at these steps kept in kept/

    @property
    def total_steps(self) -> int:
        return self.steps_per_epoch * self.epochs

    def checkpoint_steps(self) -> list[int]:
        end = self.total_steps if self.interrupt_at_step is None else min(self.interrupt_at_step, self.total_steps)
        return list(range(self.save_step, end, self.save_step)) if self.save_checkpoints and self.save_step > 0 else []

    def best_steps(self) -> list[int]:
        end = self.total_steps if self.interrupt_at_step is None else self.interrupt_at_step
        steps = (e * self.steps_per_epoch for e in range(1, self.epochs + 1))
        return [s for s in steps if 0 < s <= end and s > self.save_best_after]


@dataclass(frozen=True)
class FileSizes:
    """Bytes of each kind of file the run writes."""
    checkpoint_bytes: int
    best_copy_bytes: int
    unoptimized_bytes: int  # ready/unoptimize_model.pth (a copy of best_model.pth)
    optimized_bytes: int  # ready/model.pth
    ready_small_files: tuple[tuple[str, int], ...] = ()  # config.json, vocab.json, speakers, reference.wav
    checkpoint_breakdown: tuple[tuple[str, int], ...] = ()  # model state / optimizer state / overhead


@dataclass(frozen=True)
class TimelinePoint:
    step: int
    bytes_on_disk: int
    event: str  # what just happened, e.g. "wrote checkpoint_200.pth"
    checkpoint_files: int
    best_files: int
    is_peak: bool = False


@dataclass(frozen=True)
class SaveSimulation:
    timeline: tuple[TimelinePoint, ...]
    peak: TimelinePoint
    final: TimelinePoint
    checkpoint_saves: int
    best_saves: int
    exported: bool  # ready/ written (not after a SIGINT, not without any model file)


def log_bytes(step: int, schedule: SaveSchedule, print_step: int, plot_step: int) -> int:
    """Event files + trainer log after `step` steps (a rough linear model; small next to models)."""
    epochs_done = step // schedule.steps_per_epoch if schedule.steps_per_epoch else 0
    return (_LOG_FIXED_BYTES + (step // max(plot_step, 1) + 1) * _EVENT_BYTES_PER_PLOT
            + (step // max(print_step, 1) + 1) * _LOG_BYTES_PER_PRINT + epochs_done * _BYTES_PER_EPOCH)


class _Disk:
    """The files of one run and a timeline point after every change."""

    def __init__(self, logs) -> None:
        self.files: dict[str, int] = {}
        self.points: list[TimelinePoint] = []
        self.logs = logs
        # Files hard-linked into kept/ by core.retention: deleting the original frees nothing.
        self.links: set[str] = set()

    def change(self, step: int, event: str, add: dict[str, int] = {}, remove: tuple[str, ...] = ()) -> None:  # noqa: B006
        self.files.update(add)
        for name in remove:
            if name in self.links and name in self.files:
                self.links.discard(name)
                self.files[f"kept/{name}"] = self.files.pop(name)
            else:
                self.files.pop(name, None)
        ckpts = sum(1 for n in self.files if n.startswith("checkpoint_"))
        bests = sum(1 for n in self.files if n.startswith("best_model"))
        self.points.append(TimelinePoint(step, sum(self.files.values()) + self.logs(step), event, ckpts, bests))

    def drop_link(self, step: int, name: str) -> None:
        """Retention lets go of a kept file: bytes are freed only if the original is gone too."""
        if name in self.links:
            self.links.discard(name)
        else:
            self.change(step, f"retention deleted kept/{name}", remove=(f"kept/{name}",))

    def steps_of(self, prefix: str) -> tuple[int, ...]:
        return tuple(int(n[len(prefix):-4]) for n in self.files if n.startswith(prefix) and n[len(prefix):-4].isdigit())


def simulate_saves(schedule: SaveSchedule, sizes: FileSizes, *, retention: RetentionPolicy | None = None,
                   optimize_ready: bool = False, print_step: int = 50, plot_step: int = 100) -> SaveSimulation:
    """Replay the trainer's saves and deletions in order; every intermediate state is a point."""
    retention = retention or TrainerRetention(schedule.save_n_checkpoints)
    disk = _Disk(lambda step: log_bytes(step, schedule, print_step, plot_step))
    disk.change(0, "training starts")
    # At a step that is both an epoch end and a multiple of save_step the best save comes first:
    # it runs after the epoch, the checkpoint inside the next epoch's first batch.
    events = sorted([(s, 0, "best") for s in schedule.best_steps()] + [(s, 1, "checkpoint") for s in schedule.checkpoint_steps()])
    kept_best: list[int] = []
    for step, _, kind in events:
        if kind == "checkpoint":
            _save_checkpoint(disk, step, sizes, retention)
            if schedule.milestone_every_steps and step % schedule.milestone_every_steps == 0:
                disk.links.add(f"checkpoint_{step}.pth")
        else:
            name = f"best_model_{step}.pth"
            disk.change(step, f"wrote {name}", {name: sizes.best_copy_bytes})
            gone = retention.best_to_delete(disk.steps_of("best_model_"), step)
            disk.change(step, "deleted older best models", remove=(*(f"best_model_{s}.pth" for s in gone), "best_model.pth"))
            disk.change(step, "copied best_model.pth", {"best_model.pth": sizes.best_copy_bytes})
            if schedule.keep_best_k:
                # Worst case, every best save improves the loss, so the K kept are the newest K.
                disk.links.add(name)
                kept_best.append(step)
                while len(kept_best) > schedule.keep_best_k:
                    disk.drop_link(step, f"best_model_{kept_best.pop(0)}.pth")
    exported = False
    if schedule.interrupt_at_step is not None:
        _save_checkpoint(disk, schedule.interrupt_at_step, sizes, retention, "SIGINT: ")
    elif disk.files:
        end = schedule.total_steps
        ready = {"ready/unoptimize_model.pth": sizes.unoptimized_bytes,
                 **{f"ready/{name}": size for name, size in sizes.ready_small_files}}
        disk.change(end, "wrote ready/", ready)
        if optimize_ready:
            disk.change(end, "optimized ready/model.pth", {"ready/model.pth": sizes.optimized_bytes})
        exported = True
    peak_index = max(range(len(disk.points)), key=lambda i: disk.points[i].bytes_on_disk)
    points = list(disk.points)
    points[peak_index] = _with_peak(points[peak_index])
    return SaveSimulation(tuple(points), points[peak_index], points[-1], len(schedule.checkpoint_steps())
                          + (schedule.interrupt_at_step is not None), len(schedule.best_steps()), exported)


def _save_checkpoint(disk: _Disk, step: int, sizes: FileSizes, retention: RetentionPolicy, why: str = "") -> None:
    name = f"checkpoint_{step}.pth"
    kept = disk.steps_of("checkpoint_")
    disk.change(step, f"{why}wrote {name}", {name: sizes.checkpoint_bytes})
    gone = retention.checkpoints_to_delete(kept, step)
    if gone:
        disk.change(step, "pruned " + ", ".join(f"checkpoint_{s}.pth" for s in gone),
                    remove=tuple(f"checkpoint_{s}.pth" for s in gone))


def _with_peak(point: TimelinePoint) -> TimelinePoint:
    return TimelinePoint(point.step, point.bytes_on_disk, point.event, point.checkpoint_files, point.best_files, True)


def thin_timeline(points: tuple[TimelinePoint, ...], max_points: int = 2000) -> tuple[TimelinePoint, ...]:
    """At most `max_points` for a chart, always keeping the first, the last and the peak."""
    if len(points) <= max_points:
        return points
    stride = -(-len(points) // max_points)
    keep = {0, len(points) - 1, *range(0, len(points), stride), *(i for i, p in enumerate(points) if p.is_peak)}
    return tuple(points[i] for i in sorted(keep))


# Below this share of the free space a plan "fits with margin"; up to all of it, "tight".
MARGIN_FRACTION = 0.9
MAX_SAVE_STEP = 5000  # core.config's range for save_step


@dataclass(frozen=True)
class DiskInputs:
    """Everything a forecast needs; sizes come from core.checkpoint_size (or a measured run)."""
    schedule: SaveSchedule
    sizes: FileSizes
    output_path: str = ""  # compared with the free space of its file system ("" : not compared)
    base_model_files: tuple[tuple[str, int], ...] = ()
    base_needs_download: bool = False  # counted in the total only when the files are not there yet
    optimize_ready: bool = False
    print_step: int = 50
    plot_step: int = 100
    retention: RetentionPolicy | None = None
    measured_checkpoint_bytes: int | None = None  # from real files of this architecture, if any
    estimated_checkpoint_bytes: int | None = None  # the architecture figure, kept beside a measured one
    free_bytes: int | None = None  # None: look it up at output_path


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
    """Free bytes of the file system holding `path` (or its nearest existing parent)."""
    import psutil

    probe = Path(path).expanduser().absolute()
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    return int(psutil.disk_usage(str(probe)).free), str(probe)


def _needed(inputs: DiskInputs, schedule: SaveSchedule) -> int:
    sim = simulate_saves(schedule, inputs.sizes, retention=inputs.retention if schedule == inputs.schedule else None,
                         optimize_ready=inputs.optimize_ready, print_step=inputs.print_step, plot_step=inputs.plot_step)
    base = sum(b for _, b in inputs.base_model_files) if inputs.base_needs_download else 0
    return sim.peak.bytes_on_disk + base


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
    ready = point.bytes_on_disk - logs - parts[0][1] - parts[1][1]
    if ready:
        parts.append(("ready/", ready))
    parts.append(("event files + logs", logs))
    return tuple(parts)


def plan_disk(inputs: DiskInputs) -> DiskPlan:
    """Forecast a run's disk use: peak, final, ready/, free space, verdict and fixes."""
    sch, sz = inputs.schedule, inputs.sizes
    sim = simulate_saves(sch, sz, retention=inputs.retention, optimize_ready=inputs.optimize_ready,
                         print_step=inputs.print_step, plot_step=inputs.plot_step)
    logs_at = lambda step: log_bytes(step, sch, inputs.print_step, inputs.plot_step)  # noqa: E731
    ready = (("unoptimize_model.pth", sz.unoptimized_bytes),
             *((("model.pth (optimize)", sz.optimized_bytes),) if inputs.optimize_ready else ()), *sz.ready_small_files)
    base_bytes = sum(b for _, b in inputs.base_model_files)
    total = sim.peak.bytes_on_disk + (base_bytes if inputs.base_needs_download else 0)
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
    if inputs.base_needs_download:
        out.append(f"the base model ({_gb(sum(b for _, b in inputs.base_model_files))}) is not on disk yet: counted in the total")
    if inputs.measured_checkpoint_bytes and inputs.estimated_checkpoint_bytes:
        diff = inputs.measured_checkpoint_bytes / inputs.estimated_checkpoint_bytes - 1
        out.append(f"using the measured checkpoint size; the architecture estimate differs by {diff:+.2%}")
    return tuple(out)
