"""Saves a crash cut short, set aside by a continue: out of the trainer's reach, never replaced, listed.

Real torch.save files in tmp_path, and the trainer's own pruning (trainer.io.keep_n_checkpoints)
run on them: that is the function that deleted the fresh checkpoint beside a renamed cut one.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from trainer.io import keep_n_checkpoints

from core.checkpoints.files import Integrity, checkpoint_looks_complete
from core.checkpoints.gallery import gallery, protected_paths
from core.checkpoints.layout import incomplete_dir, incomplete_names
from core.checkpoints.deletion import delete_checkpoints
from core.checkpoints.resume import MovedCutSave, set_aside_cut_saves
from core.registry.process_identity import identify
from tests.checkpoints.test_files import save_checkpoint
from tests.checkpoints.test_gallery import dead_identity, lay_out_run
from tests.checkpoints.test_resume import truncated


@pytest.fixture
def folder(tmp_path) -> Path:
    """A run folder after a crash mid-save: intact files, cut ones, and one an older version renamed."""
    folder = tmp_path / "run"
    c100 = save_checkpoint(folder / "checkpoint_100.pth", step=100)
    save_checkpoint(folder / "best_model_180.pth", step=180)
    truncated(folder / "checkpoint_200.pth", c100)
    truncated(folder / "best_model_240.pth", c100)
    truncated(folder / "best_model.pth", c100)  # cut while the trainer copied best_model_240.pth to it
    truncated(folder / "checkpoint_150.pth.incomplete", c100)  # what earlier versions left in place
    (folder / "config.json").write_text("{}")
    return folder


def test_cut_checkpoints_and_best_models_move_to_incomplete_under_their_own_names(folder):
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    moved = set_aside_cut_saves(folder)
    aside = incomplete_dir(folder)
    assert set(moved) == {
        MovedCutSave(folder / "checkpoint_200.pth", aside / "checkpoint_200.pth"),
        MovedCutSave(folder / "best_model_240.pth", aside / "best_model_240.pth"),
        MovedCutSave(folder / "best_model.pth", aside / "best_model.pth"),
        MovedCutSave(folder / "checkpoint_150.pth.incomplete", aside / "checkpoint_150.pth"),
    }
    for entry in moved:
        assert entry.moved_to.read_bytes() == before[entry.original.name], "moved whole, byte for byte"
    assert sorted(p.name for p in folder.iterdir()) == ["best_model_180.pth", "checkpoint_100.pth", "config.json",
                                                      "incomplete"]
    assert set_aside_cut_saves(folder) == ()  # nothing left to move


def test_a_step_cut_twice_never_replaces_the_first_cut_file(folder):
    set_aside_cut_saves(folder)
    first = (incomplete_dir(folder) / "checkpoint_200.pth").read_bytes()
    for _ in range(2):  # the same save cut again after the next continue, twice
        (folder / "checkpoint_200.pth").write_bytes(first[:1000])
        os.utime(folder / "checkpoint_200.pth", (0, 0))
        set_aside_cut_saves(folder)
    aside = incomplete_dir(folder)
    assert (aside / "checkpoint_200.pth").read_bytes() == first
    assert (aside / "checkpoint_200.2.pth").read_bytes() == first[:1000]
    assert (aside / "checkpoint_200.3.pth").is_file()


def test_incomplete_names_keep_the_model_suffix():
    names = incomplete_names("best_model.pth")
    assert [next(names) for _ in range(3)] == ["best_model.pth", "best_model.2.pth", "best_model.3.pth"]


def assert_nothing_cut_in_reach(folder: Path) -> None:
    for path in {*folder.glob("checkpoint_*"), *folder.glob("best_model*")}:
        assert checkpoint_looks_complete(path), f"{path.name} is in the trainer's reach"


@pytest.mark.parametrize("keep", [1, 2])
def test_the_trainers_pruning_keeps_the_step_saved_again(folder, keep):
    set_aside_cut_saves(folder)
    fresh = save_checkpoint(folder / "checkpoint_200.pth", step=200)  # the continued run saves step 200 again
    keep_n_checkpoints(folder, keep)
    assert fresh.is_file() and checkpoint_looks_complete(fresh)
    assert (incomplete_dir(folder) / "checkpoint_200.pth").is_file()
    assert_nothing_cut_in_reach(folder)


def test_the_trainer_prunes_the_fresh_file_beside_a_cut_one_renamed_in_place(tmp_path):
    """Why cut files leave the run folder (docs/trainer-facts.md): the old in-place rename at keep=1."""
    folder = tmp_path / "run"
    c100 = save_checkpoint(folder / "checkpoint_100.pth", step=100)
    truncated(folder / "checkpoint_200.pth.incomplete", c100)
    fresh = save_checkpoint(folder / "checkpoint_200.pth", step=200)
    keep_n_checkpoints(folder, 1)
    assert not fresh.exists() and (folder / "checkpoint_200.pth.incomplete").is_file()


def test_the_patched_continue_sets_cut_files_aside_and_resumes_from_the_newest_intact(folder, monkeypatch, capsys):
    import trainer.trainer

    from core.trainer.intact_resume import use_only_intact_checkpoints

    monkeypatch.setattr(trainer.trainer, "get_last_checkpoint", trainer.trainer.get_last_checkpoint)  # undone after
    last, best = use_only_intact_checkpoints()(str(folder))
    assert (Path(last), Path(best)) == (folder / "best_model_180.pth", folder / "best_model_180.pth")
    assert (incomplete_dir(folder) / "checkpoint_200.pth").is_file()
    log = capsys.readouterr().out
    assert " > Skipping incomplete checkpoint checkpoint_200.pth (moved to incomplete/checkpoint_200.pth)" in log
    assert "checkpoint_150.pth.incomplete (moved to incomplete/checkpoint_150.pth)" in log


@pytest.mark.parametrize("live", [False, True], ids=["dead run", "live run"])
def test_the_gallery_lists_set_aside_files_truncated_and_lets_them_be_deleted(tmp_path, live):
    layout = lay_out_run(tmp_path, identify(os.getpid()) if live else dead_identity())
    like = layout.folder / "checkpoint_200.pth"
    truncated(layout.folder / "best_model_300.pth", like)
    truncated(layout.folder / "checkpoint_300.pth", like)
    set_aside_cut_saves(layout.folder)
    aside = incomplete_dir(layout.folder)
    entries = {e.path: e for e in gallery(layout.ws) if e.location == "incomplete"}
    assert set(entries) == {aside / "best_model_300.pth", aside / "checkpoint_300.pth"}
    for entry in entries.values():
        assert entry.info.integrity is Integrity.TRUNCATED and entry.info.step == 300
        assert entry.run_id == layout.run_id and not entry.is_best and not entry.protected
    # A live run protects its newest intact checkpoint in the run folder, never a set-aside file.
    assert protected_paths(layout.ws) == ({layout.folder / "checkpoint_200.pth", layout.folder / "best_model.pth",
                                           layout.folder / "best_model_240.pth"} if live else set())
    freed = delete_checkpoints(list(entries), protected=protected_paths(layout.ws))
    assert freed == 2 * (like.stat().st_size // 2) and not list(aside.iterdir())
