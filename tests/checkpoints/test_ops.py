"""Promote, optimize, delete and vocab resize on real checkpoint files in tmp_path."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from core.checkpoints.files import Integrity, read_checkpoint_info
from core.checkpoints.deletion import ProtectedCheckpointError, bytes_freed_by_deleting, delete_checkpoints
from core.checkpoints.ops import (
    CheckpointIncompleteError,
    SourceChangedError,
    TargetExistsError,
    clean_stale_temp_files,
    optimize,
    promote,
)
from core.checkpoints.files import CheckpointError
from core.checkpoints.ready_bundles import read_manifest
from core.trainer.vocabulary import VocabShrinkError, resize_text_vocab
from tests.checkpoints.test_files import VOCAB, WIDTH, age, make_checkpoint, save_checkpoint

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_promote_copies_and_reports_progress(tmp_path):
    src = save_checkpoint(tmp_path / "run" / "best_model_40.pth")
    seen = []
    progress = lambda done, total: seen.append((done, total))  # noqa: E731
    result = promote(src, tmp_path / "model.pth", progress=progress, chunk_bytes=1024)
    assert result.target.read_bytes() == src.read_bytes()
    assert result.backup is None and result.bytes_copied == src.stat().st_size
    assert seen[-1] == (src.stat().st_size, src.stat().st_size) and len(seen) > 1
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_promote_refuses_existing_target_without_overwrite(tmp_path):
    src = save_checkpoint(tmp_path / "best_model_40.pth", step=40)
    target = save_checkpoint(tmp_path / "model.pth", step=1)
    before = target.read_bytes()
    with pytest.raises(TargetExistsError, match="backup"):
        promote(src, target)
    assert target.read_bytes() == before


def test_promote_with_overwrite_keeps_a_backup(tmp_path):
    src = save_checkpoint(tmp_path / "best_model_40.pth", step=40)
    target = save_checkpoint(tmp_path / "model.pth", step=1)
    old = target.read_bytes()
    result = promote(src, target, overwrite=True)
    assert result.backup is not None and result.backup.name.startswith("model.pth.bak-")
    assert result.backup.read_bytes() == old
    assert read_checkpoint_info(target).step == 40


@pytest.mark.parametrize("fresh", [True, False])
def test_promote_refuses_incomplete_source(tmp_path, fresh):
    whole = save_checkpoint(tmp_path / "whole.pth").read_bytes()
    src = tmp_path / "checkpoint_40.pth"
    src.write_bytes(whole[: len(whole) // 2])
    if not fresh:
        age(src)
    with pytest.raises(CheckpointIncompleteError, match="wait" if fresh else "earlier checkpoint"):
        promote(src, tmp_path / "model.pth")
    assert not (tmp_path / "model.pth").exists()


def test_promote_refuses_a_source_changed_while_copying(tmp_path):
    src = save_checkpoint(tmp_path / "best_model.pth")
    touched = []

    def trainer_resaves(done, total):
        if not touched:  # the trainer rewrites the file under us once, mid-copy
            age(src, seconds=60)
            touched.append(done)

    with pytest.raises(SourceChangedError):
        promote(src, tmp_path / "model.pth", progress=trainer_resaves, chunk_bytes=512)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best_model.pth"]


def _wait_for(condition, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def test_promote_killed_midway_leaves_old_target_and_stale_temp_is_cleaned(tmp_path):
    src = save_checkpoint(tmp_path / "best_model_40.pth", step=40)
    target = save_checkpoint(tmp_path / "model.pth", step=1)
    old = target.read_bytes()
    started = tmp_path / "copy-started"
    # The child's progress callback announces the first chunk, then stalls: we kill it mid-copy.
    script = (
        "import sys, time\n"
        f"sys.path.insert(0, {str(REPO_ROOT)!r})\n"
        "from core.checkpoints.ops import promote\n"
        "def stall(done, total):\n"
        f"    open({str(started)!r}, 'w').close()\n"
        "    time.sleep(600)\n"
        f"promote({str(src)!r}, {str(target)!r}, overwrite=True, progress=stall, chunk_bytes=512)\n"
    )
    child = subprocess.Popen([sys.executable, "-c", script])
    try:
        _wait_for(lambda: started.exists() or child.poll() is not None)
        assert child.poll() is None, "promote child exited before it was killed"
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait()
    assert target.read_bytes() == old
    temp = tmp_path / f".model.pth.partial-{child.pid}"
    assert temp.exists() and 0 < temp.stat().st_size < src.stat().st_size
    assert sorted(p.name for p in tmp_path.glob("model.pth*")) == ["model.pth"]  # no backup, no stray
    assert clean_stale_temp_files(tmp_path) == [temp]
    assert not temp.exists()


def test_clean_stale_temp_files_keeps_live_writers(tmp_path):
    live = tmp_path / f".model.pth.partial-{os.getpid()}"
    live.write_bytes(b"x")
    assert clean_stale_temp_files(tmp_path) == []
    assert live.exists()


def test_optimize_drops_optimizer_and_dvae(tmp_path):
    src = save_checkpoint(tmp_path / "best_model.pth", step=40)
    result = optimize(src, tmp_path / "model.pth")
    out = torch.load(result.target, weights_only=True)
    assert "optimizer" not in out
    assert not [k for k in out["model"] if "dvae" in k]
    kept = make_checkpoint()["model"].keys() - {k for k in make_checkpoint()["model"] if "dvae" in k}
    assert set(out["model"]) == kept
    assert (out["step"], out["epoch"], out["model_loss"]["train_loss"]) == (40, 3, 1.25)
    assert result.removed_model_keys == 3
    assert result.bytes_saved == result.bytes_before - result.bytes_after > 0
    assert src.exists() and not result.source_deleted
    info = read_checkpoint_info(result.target)
    assert info.integrity is Integrity.COMPLETE and not info.has_optimizer and not info.has_dvae


def test_optimize_can_delete_source_and_refuses_existing_target(tmp_path):
    src = save_checkpoint(tmp_path / "best_model.pth")
    dst = save_checkpoint(tmp_path / "model.pth")
    with pytest.raises(TargetExistsError):
        optimize(src, dst)
    result = optimize(src, dst, overwrite=True, delete_source=True)
    assert result.source_deleted and not src.exists() and result.backup.exists()


def test_delete_refuses_protected_before_deleting_anything(tmp_path):
    a = save_checkpoint(tmp_path / "checkpoint_10.pth")
    b = save_checkpoint(tmp_path / "best_model.pth")
    with pytest.raises(ProtectedCheckpointError, match="best_model.pth"):
        delete_checkpoints([a, b], protected={tmp_path / "." / "best_model.pth"})
    assert a.exists() and b.exists()
    size = a.stat().st_size
    assert delete_checkpoints([a, tmp_path / "already_gone.pth"], protected={b}) == size
    assert not a.exists()


def test_delete_counts_hard_linked_backup_as_freeing_nothing(tmp_path):
    a = save_checkpoint(tmp_path / "model.pth")
    os.link(a, tmp_path / "model.pth.bak-20250101-000000")
    assert delete_checkpoints([a]) == 0


# Trainer run folders and what is inside them: the run folder itself, our kept/ links, the set-aside
# incomplete/ files, and run/training itself.
TRAINER_AREA = ["run/training/GPT-June-01-2026_10+00AM-abc/model.pth",
                "run/training/GPT-June-01-2026_10+00AM-abc/best_model-optimized.pth",
                "run/training/GPT-June-01-2026_10+00AM-abc/kept/model.pth",
                "run/training/GPT-June-01-2026_10+00AM-abc/incomplete/model.pth",
                "run/training/model.pth"]


@pytest.mark.parametrize("relative", TRAINER_AREA)
def test_optimize_refuses_a_target_inside_the_trainers_run_folders(tmp_path, relative):
    target = tmp_path / "out" / relative
    src = save_checkpoint(target.with_name("best_model.pth"))  # the old default wrote beside its source
    with pytest.raises(CheckpointError) as caught:
        optimize(src, target)
    message = str(caught.value)
    assert "rotation deletes or miscounts" in message and "ready/" in message and "custom models folder" in message
    assert not target.exists() and not list(target.parent.glob(".*partial*"))


@pytest.mark.parametrize("relative", TRAINER_AREA)
def test_promote_refuses_a_target_inside_the_trainers_run_folders(tmp_path, relative):
    src = save_checkpoint(tmp_path / "custom" / "voice.pth")
    target = tmp_path / "out" / relative
    with pytest.raises(CheckpointError, match="rotation deletes or miscounts"):
        promote(src, target)
    assert not target.exists()


def test_a_symlink_into_the_trainers_folder_is_refused_too(tmp_path):
    run_folder = tmp_path / "out" / "run" / "training" / "GPT-abc"
    run_folder.mkdir(parents=True)
    (tmp_path / "shortcut").symlink_to(run_folder)
    src = save_checkpoint(tmp_path / "custom" / "voice.pth")
    with pytest.raises(CheckpointError, match="run/training"):
        optimize(src, tmp_path / "shortcut" / "model.pth")
    assert list(run_folder.iterdir()) == []


def test_optimize_and_promote_still_write_to_ready_and_custom_folders(tmp_path):
    src = save_checkpoint(tmp_path / "out" / "run" / "training" / "GPT-abc" / "best_model.pth")
    assert optimize(src, tmp_path / "out" / "ready" / "model.pth").target.is_file()
    assert promote(src, tmp_path / "models" / "custom" / "voice.pth").target.is_file()


def test_optimize_into_ready_records_model_pth_in_the_manifest(tmp_path):
    import hashlib

    src = save_checkpoint(tmp_path / "out" / "run" / "training" / "GPT-abc" / "checkpoint_300.pth", step=300)
    ready = tmp_path / "out" / "ready"
    result = optimize(src, ready / "model.pth")
    assert result.sha256 == hashlib.sha256((ready / "model.pth").read_bytes()).hexdigest()
    manifest = read_manifest(ready)  # an older bundle without a manifest gets one
    assert manifest is not None and manifest.optimized is not None
    assert (manifest.optimized.file, manifest.optimized.sha256) == ("model.pth", result.sha256)
    assert manifest.optimized.source == str(src) and manifest.optimized.step == 300
    assert not manifest.optimized.from_bundle and manifest.source is None  # nothing says where unoptimize came from
    assert "model.pth" in manifest.files
    elsewhere = optimize(src, tmp_path / "models" / "custom" / "voice.pth")
    assert not (elsewhere.target.parent / "manifest.json").exists()  # a manifest belongs to a bundle only


def test_bytes_freed_counts_a_hard_linked_file_once_and_only_when_every_link_goes(tmp_path):
    run_folder = tmp_path / "out" / "run" / "training" / "GPT-abc"
    ckpt = save_checkpoint(run_folder / "checkpoint_100.pth", step=100)
    (run_folder / "kept").mkdir()
    kept = run_folder / "kept" / "checkpoint_100.pth"
    os.link(ckpt, kept)  # a retention link: one inode, two names
    other = save_checkpoint(run_folder / "checkpoint_200.pth", step=200)
    size, other_size = ckpt.stat().st_size, other.stat().st_size
    assert bytes_freed_by_deleting([ckpt, kept]) == size  # not 2 x size
    assert bytes_freed_by_deleting([ckpt]) == 0  # kept/ still holds it
    assert bytes_freed_by_deleting([kept]) == 0
    assert bytes_freed_by_deleting([ckpt, kept, other]) == size + other_size
    assert bytes_freed_by_deleting([other, run_folder / "." / "checkpoint_200.pth"]) == other_size  # one name, twice
    assert bytes_freed_by_deleting([run_folder / "gone.pth"]) == 0


def test_delete_returns_what_bytes_freed_by_deleting_predicted(tmp_path):
    a = save_checkpoint(tmp_path / "checkpoint_100.pth", step=100)
    os.link(a, tmp_path / "kept_100.pth")
    b = save_checkpoint(tmp_path / "checkpoint_200.pth", step=200)
    os.link(b, tmp_path / "kept_200.pth")
    c = save_checkpoint(tmp_path / "checkpoint_300.pth", step=300)
    selection = [a, tmp_path / "kept_100.pth", b, c, tmp_path / "." / "checkpoint_300.pth"]
    predicted = bytes_freed_by_deleting(selection)
    assert predicted == a.stat().st_size + c.stat().st_size  # b keeps its kept_200 link
    assert delete_checkpoints(selection) == predicted
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept_200.pth"]


def _coqui_resize(gpt: dict, new_vocab: int) -> dict:
    """The num_new_tokens block of coqui's gpt_trainer.py, copied as reference."""
    num_new_tokens = new_vocab - gpt["text_embedding.weight"].shape[0]
    emb_g = gpt["text_embedding.weight"]
    new_row = torch.randn(num_new_tokens, emb_g.shape[1])
    start_token_row = emb_g[-1, :]
    emb_g = torch.cat([emb_g, new_row], dim=0)
    emb_g[-1, :] = start_token_row
    head = gpt["text_head.weight"]
    start_token_row = head[-1, :]
    head = torch.cat([head, torch.randn(num_new_tokens, head.shape[1])], dim=0)
    head[-1, :] = start_token_row
    bias = gpt["text_head.bias"]
    start_token_row = bias[-1]
    bias = torch.cat([bias, torch.zeros(num_new_tokens)], dim=0)
    bias[-1] = start_token_row
    return {"text_embedding.weight": emb_g, "text_head.weight": head, "text_head.bias": bias}


@pytest.mark.parametrize("prefix", ["xtts.gpt.", "gpt."])
def test_resize_text_vocab_matches_coqui(prefix):
    model = {k.replace("xtts.gpt.", prefix): v for k, v in make_checkpoint()["model"].items()}
    torch.manual_seed(0)
    resized, report = resize_text_vocab(model, VOCAB + 5, new_rows="random")
    torch.manual_seed(0)
    expected = _coqui_resize({k[len(prefix):]: v for k, v in model.items() if k.startswith(prefix)}, VOCAB + 5)
    assert (report.key_prefix, report.old_vocab_size, report.added_rows) == (prefix, VOCAB, 5)
    for name, tensor in expected.items():
        assert torch.equal(resized[prefix + name], tensor)
    emb = resized[prefix + "text_embedding.weight"]
    assert emb.shape == (VOCAB + 5, WIDTH) and resized[prefix + "text_head.bias"].shape == (VOCAB + 5,)
    assert torch.equal(emb[:VOCAB], model[prefix + "text_embedding.weight"])  # old rows kept
    assert torch.equal(emb[-1], model[prefix + "text_embedding.weight"][-1])  # start token at the end
    assert model[prefix + "text_embedding.weight"].shape[0] == VOCAB  # input untouched


def test_grown_rows_start_at_the_mean_of_the_learned_ones():
    model = make_checkpoint()["model"]
    prefix = "xtts.gpt." if "xtts.gpt.text_embedding.weight" in model else "gpt."
    emb = model[f"{prefix}text_embedding.weight"]
    resized, _ = resize_text_vocab(model, VOCAB + 3)
    grown = resized[f"{prefix}text_embedding.weight"]
    assert torch.equal(grown[:VOCAB], emb) and torch.equal(grown[-1], emb[-1])
    # Rows VOCAB and VOCAB + 1 are new (the last one is the start token's, copied to the end as coqui does).
    for row in grown[VOCAB:VOCAB + 2]:
        assert torch.allclose(row, emb.mean(dim=0))
    with pytest.raises(ValueError, match="new_rows"):
        resize_text_vocab(model, VOCAB + 3, new_rows="zeros")


def test_resize_text_vocab_shrinks_keeping_the_start_token_row():
    state = make_checkpoint()["model"]
    prefix = "xtts.gpt." if "xtts.gpt.text_embedding.weight" in state else "gpt."
    emb = state[f"{prefix}text_embedding.weight"]
    out, report = resize_text_vocab(state, VOCAB - 3)
    small = out[f"{prefix}text_embedding.weight"]
    assert small.shape[0] == VOCAB - 3 and report.added_rows == -3
    assert torch.equal(small[:-1], emb[: VOCAB - 4]) and torch.equal(small[-1], emb[-1])
    with pytest.raises(VocabShrinkError):
        resize_text_vocab(state, 1)
