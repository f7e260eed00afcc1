"""Metadata and integrity of real torch.save checkpoint files written into tmp_path."""

from __future__ import annotations

import os
import pickle
import struct
import time
import zipfile
from pathlib import Path

import pytest
import torch

from core.checkpoints.files import (
    CheckpointKind,
    CheckpointNotFoundError,
    Integrity,
    list_checkpoints,
    read_checkpoint_info,
)

VOCAB = 12
WIDTH = 8


def make_checkpoint(step: int = 40, *, eval_loss: float | None = 0.75, with_loss: bool = True) -> dict:
    """A small checkpoint with the trainer's keys, XTTS key names and a real AdamW state."""
    gpt = torch.nn.Linear(WIDTH, WIDTH)
    optimizer = torch.optim.AdamW(gpt.parameters(), lr=1e-3)
    gpt(torch.randn(2, WIDTH)).sum().backward()
    optimizer.step()
    model = {
        "xtts.gpt.text_embedding.weight": torch.randn(VOCAB, WIDTH),
        "xtts.gpt.text_head.weight": torch.randn(VOCAB, WIDTH),
        "xtts.gpt.text_head.bias": torch.randn(VOCAB),
        "xtts.gpt.gpt.h.0.attn.c_attn.weight": gpt.weight.detach().clone(),
        "xtts.hifigan_decoder.waveform_decoder.conv_pre.weight": torch.randn(4, 2, 3),
        "dvae.codebook.embed": torch.randn(16, WIDTH),
        "dvae.encoder.0.0.weight": torch.randn(WIDTH, 4, 3),
        "torch_mel_spectrogram_dvae.mel_stft.spectrogram.window": torch.ones(16),
        "torch_mel_spectrogram_style_encoder.mel_stft.spectrogram.window": torch.ones(16),
    }
    checkpoint = {
        "config": {"model": "xtts", "batch_size": 4, "output_path": "/runs"},
        "model": model,
        "optimizer": [optimizer.state_dict()],
        "scheduler": None,
        "scaler": None,
        "step": step,
        "epoch": 3,
        "date": "May 01, 2025",
    }
    if with_loss:
        checkpoint["model_loss"] = {"train_loss": 1.25, "eval_loss": eval_loss}
    return checkpoint


def save_checkpoint(path: Path, step: int = 40, **kwargs) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(make_checkpoint(step, **kwargs), path)
    return path


def age(path: Path, seconds: float = 3600) -> None:
    """Pretend the file was last written long ago (no sleeping)."""
    old = time.time() - seconds
    os.utime(path, (old, old))


def test_metadata_matches_what_was_saved(tmp_path):
    path = save_checkpoint(tmp_path / "best_model_40.pth", step=40, eval_loss=0.5)
    info = read_checkpoint_info(path)
    assert info.integrity is Integrity.COMPLETE and info.error is None
    assert info.kind is CheckpointKind.BEST_STEP
    assert (info.step, info.epoch, info.date) == (40, 3, "May 01, 2025")
    assert (info.train_loss, info.eval_loss) == (1.25, 0.5)
    assert info.has_optimizer and info.has_dvae
    assert info.text_vocab_size == VOCAB
    assert info.size_bytes == path.stat().st_size
    dvae_floats = 16 * WIDTH + WIDTH * 4 * 3 + 16  # dvae.* plus the mel window of the DVAE
    assert info.dvae_bytes == dvae_floats * 4
    # exp_avg + exp_avg_sq for weight and bias, plus the two scalar step tensors.
    assert info.optimizer_bytes == 2 * (WIDTH * WIDTH + WIDTH) * 4 + 2 * 4


def test_checkpoint_without_loss_or_optimizer(tmp_path):
    checkpoint = make_checkpoint(7, with_loss=False)
    checkpoint["optimizer"] = None
    path = tmp_path / "checkpoint_7.pth"
    torch.save(checkpoint, path)
    info = read_checkpoint_info(path)
    assert info.integrity is Integrity.COMPLETE
    assert (info.train_loss, info.eval_loss, info.has_optimizer, info.optimizer_bytes) == (None, None, False, 0)


def test_rewritten_file_is_read_again_not_served_from_cache(tmp_path):
    path = save_checkpoint(tmp_path / "best_model.pth", step=10)
    assert read_checkpoint_info(path).step == 10
    save_checkpoint(path, step=20)
    assert read_checkpoint_info(path).step == 20


@pytest.mark.parametrize("keep_fraction", [0.0, 0.1, 0.5, 0.97])
def test_cut_off_file_reads_truncated_once_old(tmp_path, keep_fraction):
    whole = save_checkpoint(tmp_path / "whole.pth").read_bytes()
    cut = tmp_path / "checkpoint_40.pth"
    cut.write_bytes(whole[: int(len(whole) * keep_fraction)])
    age(cut)
    info = read_checkpoint_info(cut)
    assert info.integrity is Integrity.TRUNCATED
    assert info.step == 40  # from the name, since the file can't say
    assert info.error


@pytest.mark.parametrize("bytes_short", [1, 21, 22, 200])
def test_file_missing_its_last_bytes_is_truncated(tmp_path, bytes_short):
    whole = save_checkpoint(tmp_path / "whole.pth").read_bytes()
    cut = tmp_path / "cut.pth"
    cut.write_bytes(whole[:-bytes_short])
    age(cut)
    assert read_checkpoint_info(cut).integrity is Integrity.TRUNCATED


def test_incomplete_fresh_file_is_being_written(tmp_path):
    whole = save_checkpoint(tmp_path / "whole.pth").read_bytes()
    growing = tmp_path / "checkpoint_80.pth"
    growing.write_bytes(whole[: len(whole) // 2])
    assert read_checkpoint_info(growing).integrity is Integrity.BEING_WRITTEN
    # The same bytes, untouched for an hour, are a cut-off save: incomplete results aren't cached.
    age(growing)
    assert read_checkpoint_info(growing).integrity is Integrity.TRUNCATED


def test_old_incomplete_file_open_for_writing_is_being_written(tmp_path):
    whole = save_checkpoint(tmp_path / "whole.pth").read_bytes()
    growing = tmp_path / "checkpoint_80.pth"
    with open(growing, "wb") as writer:
        writer.write(whole[:100])
        writer.flush()
        age(growing)
        assert read_checkpoint_info(growing).integrity is Integrity.BEING_WRITTEN


def test_corrupted_pickle_record_is_unreadable(tmp_path):
    path = save_checkpoint(tmp_path / "checkpoint_40.pth")
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        entry = next(i for i in zf.infolist() if i.filename.endswith("data.pkl"))
    name_len, extra_len = struct.unpack_from("<HH", data, entry.header_offset + 26)
    data[entry.header_offset + 30 + name_len + extra_len + entry.file_size // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    info = read_checkpoint_info(path)
    assert info.integrity is Integrity.UNREADABLE
    assert "CRC" in info.error


class _Payload:
    """Unpickling this with plain pickle creates a file: proof of code execution."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def _write_torch_like_zip(path: Path, pickled: bytes) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("archive/data.pkl", pickled)
        zf.writestr("archive/version", "3\n")
        zf.writestr("archive/byteorder", "little")


def test_malicious_pickle_is_unreadable_and_never_runs(tmp_path):
    payload = pickle.dumps({"model": {}, "step": 1, "x": _Payload(tmp_path / "pwned")}, protocol=2)
    armed = tmp_path / "armed"
    pickle.loads(pickle.dumps(_Payload(armed), protocol=2))  # the payload really does run under pickle
    assert armed.exists()

    path = tmp_path / "best_model.pth"
    _write_torch_like_zip(path, payload)
    info = read_checkpoint_info(path)
    assert info.integrity is Integrity.UNREADABLE
    assert "weights-only" in info.error
    assert not (tmp_path / "pwned").exists()


def test_foreign_file_is_unreadable(tmp_path):
    path = tmp_path / "model.pth"
    path.write_bytes(b"\x80\x02not a zip at all" * 10)
    assert read_checkpoint_info(path).integrity is Integrity.UNREADABLE


def test_missing_file_raises_with_a_fix(tmp_path):
    with pytest.raises(CheckpointNotFoundError, match="refresh"):
        read_checkpoint_info(tmp_path / "checkpoint_1.pth")


def test_list_checkpoints_sorts_by_step_and_skips_temp_files(tmp_path):
    save_checkpoint(tmp_path / "checkpoint_300.pth", step=300)
    save_checkpoint(tmp_path / "best_model_200.pth", step=200)
    save_checkpoint(tmp_path / "best_model.pth", step=200)
    save_checkpoint(tmp_path / "ready" / "model.pth", step=100)
    save_checkpoint(tmp_path / ".checkpoint_400.pth.partial-99999", step=400)
    (tmp_path / "config.json").write_text("{}")
    infos = list_checkpoints(tmp_path)
    assert [(i.step, i.kind) for i in infos] == [
        (100, CheckpointKind.OPTIMIZED),
        (200, CheckpointKind.BEST),
        (200, CheckpointKind.BEST_STEP),
        (300, CheckpointKind.CHECKPOINT),
    ]
