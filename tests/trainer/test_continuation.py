"""Continue says what it will do: the resume file, its step, epoch and loss, and the steps that remain."""
from __future__ import annotations

import torch

from core.disk.planner import plan_preflighted
from core.disk.simulation import FileSizes, SaveSchedule, simulate_saves
from core.trainer.continuation import plan_continue
from core.trainer.preflight import preflight
from tests.checkpoints.test_files import make_checkpoint


def save_at(path, step: int, epoch: int):
    checkpoint = make_checkpoint(step)
    checkpoint["epoch"] = epoch
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(checkpoint, path)
    return path


def test_resumes_from_the_highest_step_and_reruns_its_epoch(tmp_path):
    folder = tmp_path / "run"
    save_at(folder / "checkpoint_100.pth", 100, 1)
    save_at(folder / "checkpoint_200.pth", 200, 3)
    save_at(folder / "best_model_180.pth", 180, 2)
    plan = plan_continue(folder, steps_per_epoch=60, epochs=4)
    assert plan.resume_file == folder / "checkpoint_200.pth" and (plan.resume_step, plan.resume_epoch) == (200, 3)
    # The trainer resumes at step 201 and runs the 4th epoch again from its start: 60 steps.
    assert (plan.steps_left, plan.epochs_left, plan.final_step) == (60, 1, 261)
    assert plan.eval_loss == 0.75
    text = plan.describe()
    assert "checkpoint_200.pth (step 200, epoch 4, loss 0.7500)" in text and "60 steps" in text and "step 261" in text


def test_a_newer_best_model_wins_and_a_cut_file_is_skipped(tmp_path):
    folder = tmp_path / "run"
    save_at(folder / "checkpoint_200.pth", 200, 3)
    best = save_at(folder / "best_model_240.pth", 240, 3)
    cut = folder / "checkpoint_300.pth"
    cut.write_bytes(best.read_bytes()[:1000])
    plan = plan_continue(folder, steps_per_epoch=60, epochs=6)
    assert plan.resume_file == best and plan.final_step == 240 + 1 + 3 * 60


def test_no_intact_checkpoint_means_no_plan(tmp_path):
    assert plan_continue(tmp_path, steps_per_epoch=60, epochs=4) is None
    (tmp_path / "checkpoint_5.pth").write_bytes(b"PK\x03\x04 cut")
    assert plan_continue(tmp_path, steps_per_epoch=60, epochs=4) is None


def test_the_save_simulation_of_a_continue_starts_at_its_resume_step():
    sizes = FileSizes(checkpoint_bytes=100, best_copy_bytes=100, unoptimized_bytes=100, optimized_bytes=50)
    schedule = SaveSchedule(60, 6, 100, 1, resume_step=200, resume_epoch=3)
    assert schedule.total_steps == 201 + 3 * 60
    assert schedule.checkpoint_steps() == [300]  # 100 and 200 happened before the continue
    assert schedule.best_steps() == [261, 321, 381]
    sim = simulate_saves(schedule, sizes, print_step=10**9, plot_step=10**9,
                         existing_files=(("checkpoint_200.pth", 100), ("best_model_180.pth", 100), ("best_model.pth", 100)))
    assert sim.timeline[0].step == 201 and sim.timeline[0].bytes_on_disk >= 300
    # The old best models go at the first new best save, checkpoint_200 when checkpoint_300 lands.
    names_at_end = sim.final.checkpoint_files, sim.final.best_files
    assert names_at_end == (1, 2)


def test_preflight_and_disk_plan_of_a_continue_use_the_real_remaining_steps(demo_run):
    checked = preflight(demo_run.config, mode="continue", resume_from=str(demo_run.run_folder))
    plan = checked.continuation
    # The finished demo's newest file is best_model_240.pth, saved during the 4th epoch (epoch 3).
    assert plan.resume_file.name == "best_model_240.pth" and plan.resume_epoch == 3
    assert checked.total_steps == plan.final_step == 301  # not the first run's 240
    disk = plan_preflighted(checked, use_measured=True, free_bytes=10**13)
    assert disk.total_steps == 301 and disk.timeline[0].step == 241
    existing = sum(p.stat().st_size for p in demo_run.run_folder.glob("*.pth"))
    assert disk.timeline[0].bytes_on_disk >= existing
    # Those files are on disk already: the free space needed is what the continue adds on top.
    assert disk.total_bytes <= disk.peak_bytes - existing
