"""Fake run records on real files, laid out as the launcher, the trainer and our callbacks write them.

A run is finished, failed or running according to its outcome.json and whose process identity its
record holds: a process that has ended (`dead_identity`) or this test process (`identify(os.getpid())`,
a run that is "running" for as long as the test lasts). No trainer runs; the overview reads files.
"""
from __future__ import annotations

import os
import time
import wave
from dataclasses import dataclass
from pathlib import Path

from core.base.atomic_io import write_json_atomic
from core.base.config import RunConfig
from core.registry.process_identity import ProcessIdentity, identify
from core.registry.records import RunFiles, RunRecord, run_files, save_record
from core.base.workspace import Workspace

STARTED_S = 1_767_261_600.0  # 2026-01-01 10:00 UTC
CLIP_S = 1.5
CLIPS = 4


@dataclass(frozen=True)
class FakeRun:
    run_id: str
    output: Path
    folder: Path | None  # the trainer run folder
    files: RunFiles


def fake_dataset(folder: Path, clips: int = CLIPS, seconds: float = CLIP_S) -> Path:
    """A coqui metadata CSV with `clips` silent WAVs of `seconds` each; its path."""
    csv = folder / "metadata.csv"
    if csv.is_file():
        return csv
    (folder / "wavs").mkdir(parents=True, exist_ok=True)
    lines = ["audio_file|text|speaker_name"]
    for i in range(clips):
        with wave.open(str(folder / "wavs" / f"{i}.wav"), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(22050)
            out.writeframes(b"\0\0" * int(22050 * seconds))
        lines.append(f"wavs/{i}.wav|Clip number {i}.|speaker")
    csv.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return csv


def write_loss_events(folder: Path, points: list[tuple[int, float]], tag: str = "TrainIterStats/loss") -> None:
    """Real TensorBoard records of (step, value), as the trainer writes them."""
    from tensorboard.compat.proto.event_pb2 import Event
    from tensorboard.compat.proto.summary_pb2 import Summary

    from tests.monitor.test_events import _record

    with open(folder / "events.out.tfevents.1767261600.host.1.0", "ab") as handle:
        for step, value in points:
            summary = Summary(value=[Summary.Value(tag=tag, simple_value=value)])
            handle.write(_record(Event(wall_time=STARTED_S + step, step=step, summary=summary)))


def fake_run(ws: Workspace, run_id: str, identity: ProcessIdentity, *, phase: str = "finished",
             output_name: str = "voice", dataset: Path | None = None, config: dict | None = None,
             step: int = 240, total_steps: int = 240, best: tuple[int, float] | None = (240, 0.5),
             checkpoint_bytes: int = 3000, ready: bool = True, trainer_folder: bool = True, mode: str = "new",
             resume_from: str = "", status_folder: Path | None = None, duration_s: float = 600.0,
             started_s: float = STARTED_S) -> FakeRun:
    """One run: record, status, outcome (finished: 0, failed: 1, running: none), trainer folder, ready/.

    The trainer folder holds checkpoint_<step>.pth, best_model_<step>.pth, best_model.pth, config.json and a
    hard link of the checkpoint in kept/ (counted once); ready/ holds a bundle whose manifest names the run.
    """
    output = ws.outputs_dir / output_name
    csv = dataset or fake_dataset(ws.root / "data")
    settings = RunConfig(**{"output_path": str(output), "train_csv": str(csv), "eval_csv": str(csv),
                            "base_model_dir": str(ws.models_dir / "xtts_v2"), "epochs": 4, **(config or {})})
    name = f"{settings.run_name}-{run_id}"
    folder = status_folder
    if trainer_folder and folder is None:
        folder = output / "run" / "training" / f"{name}-January-01-2026_10+00AM-0a1b2c3"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"checkpoint_{step}.pth").write_bytes(b"c" * checkpoint_bytes)
        (folder / "kept").mkdir(exist_ok=True)
        os.link(folder / f"checkpoint_{step}.pth", folder / "kept" / f"checkpoint_{step}.pth")
        if best:
            (folder / f"best_model_{best[0]}.pth").write_bytes(b"b" * checkpoint_bytes)
            (folder / "best_model.pth").write_bytes(b"b" * checkpoint_bytes)
        (folder / "config.json").write_text("{}")
    save_record(ws, RunRecord(run_id=run_id, output_path=str(output), config=settings.to_dict(), command=[],
                              pid=identity.pid, process_start_time=identity.start_time, started_at=started_s,
                              mode=mode, resume_from=resume_from, trainer_run_name=name))
    files = run_files(ws, run_id)
    files.log().write_text("a line of the log\n")
    status = {"phase": {"running": "training"}.get(phase, phase), "started_at_s": started_s,
              "updated_at_s": started_s + duration_s, "step": step, "total_steps": total_steps,
              "train_loss": 0.7, "eval_loss": best[1] if best else None,
              "trainer_run_folder": str(folder) if folder else "",
              "best_model": {"step": best[0], "path": str(folder / "best_model.pth"), "loss": best[1]}
              if best and folder else None}
    if ready and phase == "finished":
        bundle = output / "ready"
        bundle.mkdir(parents=True, exist_ok=True)
        (bundle / "unoptimize_model.pth").write_bytes(b"r" * checkpoint_bytes)
        write_json_atomic(bundle / "manifest.json", {"run_id": run_id, "step": best[0] if best else step,
                                                     "files": ["unoptimize_model.pth"], "version": 1})
        status["ready"] = {"folder": str(bundle), "source": str(folder / "best_model.pth") if folder else ""}
    write_json_atomic(files.status, status)
    if phase == "finished":
        write_json_atomic(files.outcome, {"exit_code": 0, "message": "finished"})
    elif phase == "failed":
        write_json_atomic(files.outcome, {"exit_code": 1, "message": "exited with status 1"})
    return FakeRun(run_id, output, folder, files)


def ended_identity() -> ProcessIdentity:
    """A process that is not there any more: pid 1 with a start time it never had (a reused pid)."""
    return ProcessIdentity(1, 1.0)


@dataclass(frozen=True)
class ThreeRuns:
    ws: Workspace
    finished: FakeRun
    failed: FakeRun
    running: FakeRun


def three_runs(ws: Workspace) -> ThreeRuns:
    """A finished run, a failed one (other epochs and learning rate) and a running one (other save step)."""
    finished = fake_run(ws, "20260101-100000-aaaaaa", ended_identity(), output_name="voice-a")
    failed = fake_run(ws, "20260101-110000-bbbbbb", ended_identity(), phase="failed", output_name="voice-b",
                      config={"epochs": 2, "learning_rate": 1e-5}, step=100, best=(100, 0.9), duration_s=300.0)
    running = fake_run(ws, "20260101-120000-cccccc", live_identity(), phase="running", output_name="voice-c",
                       config={"save_step": 500}, step=50, best=None, started_s=time.time() - 120, duration_s=110)
    return ThreeRuns(ws, finished, failed, running)


def live_identity() -> ProcessIdentity:
    """This test process: a run recorded with it reads as running while the test lasts."""
    identity = identify(os.getpid())
    assert identity is not None
    return identity
