"""Retention on real checkpoint files: milestones and best-K kept in kept/ as hard links."""
from __future__ import annotations

import json
from pathlib import Path

from core.checkpoints.files import checkpoint_looks_complete, read_checkpoint_info
from core.checkpoints.retention import RetentionPolicy, keep_best, keep_milestone
from tests.checkpoints.test_files import age, save_checkpoint


def kept_names(folder: Path) -> set[str]:
    kept = folder / "kept"
    return {p.name for p in kept.iterdir() if p.suffix == ".pth"} if kept.is_dir() else set()


def trainer_saves_best(folder: Path, step: int) -> Path:
    """The trainer's best-model save: the previous best_model_<step>.pth goes, the new one comes."""
    for old in folder.glob("best_model_*.pth"):
        old.unlink()
    return save_checkpoint(folder / f"best_model_{step}.pth", step=step)


def test_milestones_are_hard_links_that_outlive_the_original(tmp_path):
    policy = RetentionPolicy(milestone_every_steps=200)
    c200 = save_checkpoint(tmp_path / "checkpoint_200.pth", step=200)
    kept = keep_milestone(tmp_path, 200, policy)
    assert kept == tmp_path / "kept" / "checkpoint_200.pth"
    assert kept.stat().st_ino == c200.stat().st_ino and c200.stat().st_nlink == 2
    assert keep_milestone(tmp_path, 200, policy) == kept  # a second call changes nothing
    c200.unlink()  # the trainer's rotation deletes the original
    assert checkpoint_looks_complete(kept) and read_checkpoint_info(kept).step == 200
    assert kept.stat().st_nlink == 1


def test_only_complete_checkpoints_at_milestone_steps_are_kept(tmp_path):
    policy = RetentionPolicy(milestone_every_steps=200)
    save_checkpoint(tmp_path / "checkpoint_100.pth", step=100)
    good = save_checkpoint(tmp_path / "checkpoint_400.pth", step=400)
    cut = tmp_path / "checkpoint_600.pth"
    cut.write_bytes(good.read_bytes()[:-300])
    age(cut)
    assert keep_milestone(tmp_path, 100, policy) is None  # not a multiple of 200
    assert keep_milestone(tmp_path, 0, policy) is None
    assert keep_milestone(tmp_path, 600, policy) is None  # truncated: never linked
    assert keep_milestone(tmp_path, 800, policy) is None  # no such file
    assert kept_names(tmp_path) == set()
    assert keep_milestone(tmp_path, 400, policy) == tmp_path / "kept" / "checkpoint_400.pth"
    assert kept_names(tmp_path) == {"checkpoint_400.pth"}
    assert not list((tmp_path / "kept").glob(".*partial*"))


def test_keep_best_keeps_the_k_lowest_losses(tmp_path):
    policy = RetentionPolicy(keep_best_k=2)
    for step, loss in ((60, 1.0), (120, 0.8), (180, 0.9), (240, 0.85)):
        trainer_saves_best(tmp_path, step)
        kept = keep_best(tmp_path, loss, policy)
    assert kept == [tmp_path / "kept" / "best_model_120.pth", tmp_path / "kept" / "best_model_240.pth"]
    assert kept_names(tmp_path) == {"best_model_120.pth", "best_model_240.pth"}
    assert json.loads((tmp_path / "kept" / "index.json").read_text()) == {"best_model_120.pth": 0.8,
                                                                         "best_model_240.pth": 0.85}
    # best_model_120 outlived the trainer's deletion of it.
    assert not (tmp_path / "best_model_120.pth").exists()
    assert read_checkpoint_info(tmp_path / "kept" / "best_model_120.pth").step == 120


def test_keep_best_ties_go_to_the_newer_step(tmp_path):
    policy = RetentionPolicy(keep_best_k=1)
    trainer_saves_best(tmp_path, 60)
    assert keep_best(tmp_path, 0.5, policy) == [tmp_path / "kept" / "best_model_60.pth"]
    trainer_saves_best(tmp_path, 120)
    assert keep_best(tmp_path, 0.5, policy) == [tmp_path / "kept" / "best_model_120.pth"]
    assert kept_names(tmp_path) == {"best_model_120.pth"}


def test_keep_best_ranks_an_unknown_loss_last(tmp_path):
    policy = RetentionPolicy(keep_best_k=1)
    trainer_saves_best(tmp_path, 60)
    keep_best(tmp_path, 2.0, policy)
    trainer_saves_best(tmp_path, 120)
    assert keep_best(tmp_path, None, policy) == [tmp_path / "kept" / "best_model_60.pth"]
    assert kept_names(tmp_path) == {"best_model_60.pth"}


def test_keep_best_never_links_a_truncated_best_model(tmp_path):
    policy = RetentionPolicy(keep_best_k=3)
    good = trainer_saves_best(tmp_path, 60)
    keep_best(tmp_path, 1.0, policy)
    cut = tmp_path / "best_model_120.pth"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    age(cut)
    assert keep_best(tmp_path, 0.1, policy) == [tmp_path / "kept" / "best_model_60.pth"]
    assert kept_names(tmp_path) == {"best_model_60.pth"}


def test_inactive_policy_does_nothing(tmp_path):
    policy = RetentionPolicy()
    assert not policy.active
    assert RetentionPolicy(keep_best_k=1).active and RetentionPolicy(milestone_every_steps=100).active
    save_checkpoint(tmp_path / "checkpoint_200.pth", step=200)
    save_checkpoint(tmp_path / "best_model_200.pth", step=200)
    assert keep_milestone(tmp_path, 200, policy) is None
    assert keep_best(tmp_path, 0.5, policy) == []
    assert not (tmp_path / "kept").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best_model_200.pth", "checkpoint_200.pth"]
