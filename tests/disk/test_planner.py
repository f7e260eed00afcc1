"""The save-sequence simulation against hand-worked cases, the plan, the CLI, and a real demo run."""
from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from core.disk.plan import DiskInputs, plan_disk
from core.disk.simulation import FileSizes, SaveSchedule, TrainerPruning, log_bytes, simulate_saves
from core.disk.planner import measure_checkpoints, plan_run
from core.trainer.base_model import resolve_base_model
from core.trainer.dataset import read_dataset, steps_per_epoch

C, B, U = 1000, 1001, 990  # checkpoint, best copy, ready/unoptimize_model.pth: distinct to tell them apart
SIZES = FileSizes(checkpoint_bytes=C, best_copy_bytes=B, unoptimized_bytes=U, optimized_bytes=400)
PROJECT = Path(__file__).resolve().parents[2]


def files_bytes(point, schedule):
    """A point's model bytes, without the (rough) log estimate."""
    return point.bytes_on_disk - log_bytes(point.step, schedule, 50, 100)


def trace(sim):
    return [(p.step, p.event.split(" ")[0], p.checkpoint_files, p.best_files) for p in sim.timeline]


def test_demo_schedule_step_by_step():
    # 60 steps/epoch x 4: checkpoints at 100 and 200 (inside epochs 2 and 4), best after every epoch.
    sch = SaveSchedule(steps_per_epoch=60, epochs=4, save_step=100, save_n_checkpoints=2)
    sim = simulate_saves(sch, SIZES)
    assert trace(sim) == [
        (0, "training", 0, 0),
        (60, "wrote", 0, 1), (60, "deleted", 0, 1), (60, "copied", 0, 2),
        (100, "wrote", 1, 2),
        (120, "wrote", 1, 3), (120, "deleted", 1, 1), (120, "copied", 1, 2),
        (180, "wrote", 1, 3), (180, "deleted", 1, 1), (180, "copied", 1, 2),
        (200, "wrote", 2, 2),
        (240, "wrote", 2, 3), (240, "deleted", 2, 1), (240, "copied", 2, 2),
        (240, "wrote", 2, 2),  # ready/
    ]
    assert sim.peak.step == 240 and sim.peak.event == "wrote best_model_240.pth"
    assert files_bytes(sim.peak, sch) == 2 * C + 3 * B
    assert files_bytes(sim.final, sch) == 2 * C + 2 * B + U
    assert (sim.checkpoint_saves, sim.best_saves, sim.exported) == (2, 4, True)


def test_keep_one_peaks_at_n_plus_3_and_best_comes_before_checkpoint_at_an_epoch_end():
    # 100 steps/epoch x 3, save_step 100: saves at 100 and 200 (300 is past the last batch, 299).
    sch = SaveSchedule(steps_per_epoch=100, epochs=3, save_step=100, save_n_checkpoints=1)
    sim = simulate_saves(sch, SIZES)
    events = [p.event for p in sim.timeline]
    assert events.index("wrote best_model_100.pth") < events.index("wrote checkpoint_100.pth")
    assert "wrote checkpoint_300.pth" not in events
    assert files_bytes(sim.peak, sch) == C + 3 * B  # best_model_200 written beside best_model_100 + best_model.pth
    ckpt_200 = next(p for p in sim.timeline if p.event == "wrote checkpoint_200.pth")
    assert files_bytes(ckpt_200, sch) == 2 * C + 2 * B  # N + 1 during the save
    assert max(p.checkpoint_files for p in sim.timeline) == 2
    assert files_bytes(sim.final, sch) == C + 2 * B + U


def test_n_plus_one_checkpoints_then_pruned_to_n():
    sch = SaveSchedule(steps_per_epoch=1000, epochs=1, save_step=100, save_n_checkpoints=2)
    sim = simulate_saves(sch, SIZES)
    assert sim.checkpoint_saves == 9
    assert max(p.checkpoint_files for p in sim.timeline) == 3
    pruned = [p.event for p in sim.timeline if p.event.startswith("pruned")]
    assert pruned[0] == "pruned checkpoint_100.pth" and pruned[-1] == "pruned checkpoint_700.pth"
    assert (sim.final.checkpoint_files, sim.final.best_files) == (2, 2)


def test_run_shorter_than_save_step_only_writes_best_models():
    sch = SaveSchedule(steps_per_epoch=25, epochs=2, save_step=100)
    sim = simulate_saves(sch, SIZES)
    assert sim.checkpoint_saves == 0
    assert files_bytes(sim.peak, sch) == 3 * B
    plan = plan_disk(DiskInputs(sch, SIZES, free_bytes=10**9))
    assert any("never reaches save_step=100" in w for w in plan.warnings)


def test_checkpoints_off_and_save_best_after():
    sch = SaveSchedule(steps_per_epoch=100, epochs=3, save_step=100, save_checkpoints=False, save_best_after=150)
    sim = simulate_saves(sch, SIZES)
    assert [p.step for p in sim.timeline if p.event.startswith("wrote best")] == [200, 300]
    assert max(p.checkpoint_files for p in sim.timeline) == 0
    # save_best_after past the end: no best model, ready/ comes from the newest checkpoint.
    late = SaveSchedule(steps_per_epoch=100, epochs=3, save_step=100, save_best_after=300)
    sim = simulate_saves(late, SIZES)
    assert sim.best_saves == 0 and sim.exported
    assert any("no best model" in w for w in plan_disk(DiskInputs(late, SIZES, free_bytes=10**9)).warnings)


def test_sigint_saves_one_more_checkpoint_and_skips_ready():
    sch = SaveSchedule(steps_per_epoch=100, epochs=3, save_step=100, save_n_checkpoints=1, interrupt_at_step=150)
    sim = simulate_saves(sch, SIZES)
    assert [p.event for p in sim.timeline][-2:] == ["SIGINT: wrote checkpoint_150.pth", "pruned checkpoint_100.pth"]
    assert files_bytes(sim.peak, sch) == 2 * C + 2 * B
    assert not sim.exported and sim.final.checkpoint_files == 1


@dataclass(frozen=True)
class KeepEveryKth:
    """A plug-in policy: keep every k-th checkpoint forever, the newest one always."""
    k_steps: int

    def checkpoints_to_delete(self, kept_steps, new_step):
        return tuple(s for s in kept_steps if s % self.k_steps)

    def best_to_delete(self, kept_steps, new_step):
        return TrainerPruning(1).best_to_delete(kept_steps, new_step)


def test_retention_policy_is_pluggable():
    sch = SaveSchedule(steps_per_epoch=1000, epochs=1, save_step=100, save_n_checkpoints=1)
    sim = simulate_saves(sch, SIZES, pruning=KeepEveryKth(300))
    # 100 goes when 200 lands, 200 when 300 lands, 400 when 500 lands ... 300, 600 and 900 stay.
    assert sim.final.checkpoint_files == 3
    assert files_bytes(sim.final, sch) == 3 * C + 2 * B + U
    pruned = [p.event for p in sim.timeline if p.event.startswith("pruned")]
    assert pruned == [f"pruned checkpoint_{s}.pth" for s in (100, 200, 400, 500, 700, 800)]


def test_verdicts_and_fixes():
    sch = SaveSchedule(steps_per_epoch=1000, epochs=2, save_step=100, save_n_checkpoints=3)
    need = plan_disk(DiskInputs(sch, SIZES, free_bytes=10**12)).peak_bytes
    assert plan_disk(DiskInputs(sch, SIZES, free_bytes=10 * need)).verdict == "fits with margin"
    tight = plan_disk(DiskInputs(sch, SIZES, free_bytes=need))
    assert tight.fits and tight.verdict == "tight"
    short = plan_disk(DiskInputs(sch, SIZES, free_bytes=need - 500))
    assert not short.fits and short.verdict == "does not fit"
    assert short.fixes[0] == "keep 2 checkpoint(s): save_n_checkpoints=2"
    assert short.fixes[-1].startswith("or free ")
    assert short.naive_bytes == 3 * C


def test_plan_keys_and_timeline_peak_marked():
    sch = SaveSchedule(steps_per_epoch=60, epochs=4, save_step=100, save_n_checkpoints=2)
    plan = plan_disk(DiskInputs(sch, SIZES, free_bytes=10**9))
    assert sum(p.is_peak for p in plan.timeline) == 1
    assert next(p for p in plan.timeline if p.is_peak).bytes_on_disk == plan.peak_bytes
    assert sum(b for _, b in plan.peak_breakdown) == plan.peak_bytes
    assert sum(b for _, b in plan.final_breakdown) == plan.final_bytes


def test_cli_json_for_xtts_v2(tmp_path):
    out = subprocess.run([sys.executable, "-m", "core.disk", "--base", "xtts_v2", "--save-step", "1000",
                          "--keep", "1", "--steps", "20000", "--json", "--workspace", str(tmp_path / "ws"),
                          "--output", str(tmp_path / "out")], cwd=PROJECT, capture_output=True, text=True, timeout=300)
    plan = json.loads(out.stdout)
    for key in ("checkpoint_bytes", "best_copy_bytes", "peak_bytes", "final_bytes", "free_bytes"):
        assert isinstance(plan[key], int), key
    assert isinstance(plan["fits"], bool)
    assert 5.5e9 < plan["checkpoint_bytes"] < 5.7e9
    assert plan["peak_bytes"] >= 4 * plan["checkpoint_bytes"]  # 1 kept + 3 best copies, or + ready/
    assert plan["naive_bytes"] == plan["checkpoint_bytes"]
    assert plan["base_model_bytes"] > 2e9


def test_cli_table_for_demo_dataset(tmp_path):
    out = subprocess.run([sys.executable, "-m", "core.disk", "--base", "demo", "--save-step", "100", "--keep", "2",
                          "--epochs", "4", "--batch-size", "2", "--workspace", str(tmp_path / "ws")],
                         cwd=PROJECT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "verdict: fits with margin" in out.stdout and "peak (step 240)" in out.stdout


def test_cli_refuses_bad_values(tmp_path):
    out = subprocess.run([sys.executable, "-m", "core.disk", "--save-step", "7", "--steps", "100", "--json"],
                         cwd=PROJECT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 2 and "save_step" in out.stderr


def test_forecast_matches_a_real_demo_run(demo_run):
    """THE KEY TEST: the sampled bytes of a real trainer run vs the forecast, within 1%."""
    config = demo_run.config
    base = resolve_base_model(config.base_model_dir)
    train = read_dataset(config.train_csv, "train_csv")
    spe = steps_per_epoch(len(train.clips), config.batch_size)
    plan = plan_run(config, base=base, steps_per_epoch=spe, train=train, use_measured=False, free_bytes=10**12)
    # The sampler watched <output>/run/training; ready/ is written after training, into a still folder.
    measured_peak = max(demo_run.disk.peak_bytes, demo_run.disk.final_bytes + demo_run.ready_bytes)
    measured_final = demo_run.disk.final_bytes + demo_run.ready_bytes
    assert plan.peak_bytes == pytest.approx(measured_peak, rel=0.01)
    assert plan.final_bytes == pytest.approx(measured_final, rel=0.01)
    assert plan.naive_bytes < 0.5 * measured_peak  # the guide's rule misses most of it
    # The architecture figure is the real file size, up to one 64-byte zip alignment step (a few
    # bytes more or less of pickled paths and floats can cross a boundary).
    real = {p.name: p.stat().st_size for p in demo_run.run_folder.glob("*.pth")}
    for name, size in real.items():
        assert abs(size - (plan.best_copy_bytes if name.startswith("best_model") else plan.checkpoint_bytes)) <= 64, name
    measured = measure_checkpoints(config.output_path)
    assert measured is not None and measured.checkpoint_bytes == plan.checkpoint_bytes
    with_measured = plan_run(config, base=base, steps_per_epoch=spe, train=train, free_bytes=10**12)
    assert with_measured.checkpoint_source == "measured"
    assert abs(with_measured.measured_checkpoint_bytes - with_measured.estimated_checkpoint_bytes) <= 64


def test_retention_keeps_milestones_and_best_k_in_the_forecast():
    sizes = FileSizes(checkpoint_bytes=100, best_copy_bytes=100, unoptimized_bytes=100, optimized_bytes=50)
    plain = simulate_saves(SaveSchedule(60, 4, 100, 1), sizes, print_step=10**9, plot_step=10**9)
    kept = simulate_saves(SaveSchedule(60, 4, 100, 1, keep_best_k=2, milestone_every_steps=100), sizes,
                          print_step=10**9, plot_step=10**9)
    # Plain: checkpoint_200, best_model_240, best_model.pth, ready/ copy.
    # Kept adds checkpoint_100 (pruned by the trainer, alive in kept/) and best_model_180 (kept best K=2).
    assert kept.final.bytes_on_disk - plain.final.bytes_on_disk == 200


def test_checkpoints_of_another_architecture_are_not_taken_as_measured(demo_run):
    """The demo's 310 MB checkpoints in an output path must not shrink an XTTS v2 forecast."""
    plan = plan_run(demo_run.config, base=None, steps_per_epoch=60)
    assert plan.checkpoint_source == "architecture" and plan.checkpoint_bytes > 5_000_000_000
    same = plan_run(demo_run.config, base=resolve_base_model(demo_run.config.base_model_dir), steps_per_epoch=60)
    assert same.checkpoint_source == "measured"
