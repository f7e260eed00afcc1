"""The trainer's real save sequence replayed file by file: bytes on disk after every save and prune.

coqui-tts-trainer 0.4 (trainer/io.py, trainer/trainer.py; docs/trainer-facts.md "What the trainer writes")
does, in this order:
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

from dataclasses import dataclass
from typing import Protocol

# Rough per-line sizes of what the trainer logs, fitted to a demo run (tens of KB in all).
_LOG_FIXED_BYTES = 30_000  # config.json, the copied training script, TB text summaries
_EVENT_BYTES_PER_PLOT = 330  # 7 scalars per plot_step
_LOG_BYTES_PER_PRINT = 330  # one progress block per print_step
_BYTES_PER_EPOCH = 1_500  # epoch and eval summaries in both files


class SavePruning(Protocol):
    """Which files the trainer deletes after each save. Its own rules are `TrainerPruning`.

    Not to be confused with core.checkpoints.retention (our kept/ copies, which the simulation
    counts through SaveSchedule's keep_best_k / milestone_every_steps).

    A later policy (keep the best K by eval loss, keep every K-th step) implements the same two
    methods; the simulation, timeline and peak follow from them unchanged.
    """

    def checkpoints_to_delete(self, kept_steps: tuple[int, ...], new_step: int) -> tuple[int, ...]: ...

    def best_to_delete(self, kept_steps: tuple[int, ...], new_step: int) -> tuple[int, ...]: ...


@dataclass(frozen=True)
class TrainerPruning:
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
    keep_best_k: int = 0  # our retention (core.checkpoints.retention): best models kept in kept/
    milestone_every_steps: int = 0  # our retention: checkpoints at these steps kept in kept/
    # A continue resumes at resume_step + 1 and runs epoch resume_epoch again (core.trainer.continuation).
    resume_step: int | None = None
    resume_epoch: int = 0

    @property
    def first_step(self) -> int:
        return 0 if self.resume_step is None else self.resume_step + 1

    @property
    def total_steps(self) -> int:
        return self.first_step + self.steps_per_epoch * (self.epochs - (0 if self.resume_step is None else self.resume_epoch))

    def checkpoint_steps(self) -> list[int]:
        end = self.total_steps if self.interrupt_at_step is None else min(self.interrupt_at_step, self.total_steps)
        if not self.save_checkpoints or self.save_step <= 0:
            return []
        return [s for s in range(self.save_step, end, self.save_step) if s >= self.first_step]

    def best_steps(self) -> list[int]:
        end = self.total_steps if self.interrupt_at_step is None else self.interrupt_at_step
        epochs_run = self.epochs - (0 if self.resume_step is None else self.resume_epoch)
        steps = (self.first_step + e * self.steps_per_epoch for e in range(1, epochs_run + 1))
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
        # Files hard-linked into kept/ by core.checkpoints.retention: deleting the original frees nothing.
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


def simulate_saves(schedule: SaveSchedule, sizes: FileSizes, *, pruning: SavePruning | None = None,
                   optimize_ready: bool = False, print_step: int = 50, plot_step: int = 100,
                   existing_files: tuple[tuple[str, int], ...] = ()) -> SaveSimulation:
    """Replay the trainer's saves and deletions in order; every intermediate state is a point.

    `existing_files` (name, bytes) are the model files a continued run folder already holds: the
    trainer prunes them like its own.
    """
    pruning = pruning or TrainerPruning(schedule.save_n_checkpoints)
    disk = _Disk(lambda step: log_bytes(step, schedule, print_step, plot_step))
    disk.change(schedule.first_step, "training starts" if not existing_files else "continues beside the files in its run folder",
                dict(existing_files))
    # At a step that is both an epoch end and a multiple of save_step the best save comes first:
    # it runs after the epoch, the checkpoint inside the next epoch's first batch.
    events = sorted([(s, 0, "best") for s in schedule.best_steps()] + [(s, 1, "checkpoint") for s in schedule.checkpoint_steps()])
    kept_best: list[int] = []
    for step, _, kind in events:
        if kind == "checkpoint":
            _save_checkpoint(disk, step, sizes, pruning)
            if schedule.milestone_every_steps and step % schedule.milestone_every_steps == 0:
                disk.links.add(f"checkpoint_{step}.pth")
        else:
            name = f"best_model_{step}.pth"
            disk.change(step, f"wrote {name}", {name: sizes.best_copy_bytes})
            gone = pruning.best_to_delete(disk.steps_of("best_model_"), step)
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
        _save_checkpoint(disk, schedule.interrupt_at_step, sizes, pruning, "SIGINT: ")
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


def _save_checkpoint(disk: _Disk, step: int, sizes: FileSizes, pruning: SavePruning, why: str = "") -> None:
    name = f"checkpoint_{step}.pth"
    kept = disk.steps_of("checkpoint_")
    disk.change(step, f"{why}wrote {name}", {name: sizes.checkpoint_bytes})
    gone = pruning.checkpoints_to_delete(kept, step)
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
