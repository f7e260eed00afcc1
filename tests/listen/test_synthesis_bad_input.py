"""Bad requests are refused before any job starts, each with a typed error that says what to fix."""
from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from core.base.errors import ConfigInvalid
from core.listen.fingerprint import CheckpointUnusable
from core.listen.sentences import SentenceInvalid
from core.listen.synthesis import ReferenceUnusable, SampleRequest, request_samples
from core.base.workspace import Workspace


def _tone(path: Path, seconds: float) -> Path:
    t = np.arange(int(seconds * 22050)) / 22050
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(22050)
        out.writeframes((0.3 * np.sin(2 * np.pi * 220 * t) * 32767).astype("<i2").tobytes())
    return path


def _cut(src: Path, dst: Path) -> Path:
    dst.parent.mkdir(parents=True, exist_ok=True)
    with open(src, "rb") as fin, open(dst, "wb") as fout:
        fout.write(fin.read(src.stat().st_size - 1000))  # the save stopped before its zip directory
    return dst


def _foreign(dst: Path) -> Path:
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_bytes(b"not a checkpoint at all, just some bytes a user renamed to .pth" * 10)
    return dst


CASES = {
    "unreadable reference": (ReferenceUnusable, "cannot be decoded",
                             lambda tmp, good: dict(references=(str(_text_as_wav(tmp)),))),
    "reference too short": (ReferenceUnusable, "needs at least 1 s",
                            lambda tmp, good: dict(references=(str(_tone(tmp / "blip.wav", 0.2)),))),
    "empty sentence": (SentenceInvalid, "sentence 2: is empty", lambda tmp, good: dict(sentences=("Hello.", "   "))),
    "sentence over the limit": (SentenceInvalid, "has 251 characters; XTTS takes at most 250 in 'en'",
                                lambda tmp, good: dict(sentences=("a" * 251,))),
    "truncated checkpoint": (CheckpointUnusable, "is cut off",
                             lambda tmp, good: dict(checkpoints=(str(_cut(good, tmp / "custom" / "cut.pth")),))),
    "not a checkpoint": (CheckpointUnusable, "is not a torch checkpoint",
                         lambda tmp, good: dict(checkpoints=(str(_foreign(tmp / "custom" / "x.pth")),))),
    "language the model does not speak": (CheckpointUnusable, "was trained for en · English, not de · German",
                                          lambda tmp, good: dict(language="de", sentences=("Guten Tag.",))),
}


def _text_as_wav(tmp: Path) -> Path:
    path = tmp / "notes.wav"
    path.write_text("these are my notes, not audio\n")
    return path


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_refused_with_a_clear_message_and_no_job(case, demo_run, tmp_path):
    error_type, message, change = CASES[case]
    ws_root = tmp_path / "ws"
    ws = Workspace.at(ws_root)
    good = demo_run.run_folder / "best_model.pth"
    fields = dict(checkpoints=(str(good),), sentences=("Hello there.",), language="en")
    fields.update(change(tmp_path, good))
    with pytest.raises(error_type) as raised:
        request_samples(ws, SampleRequest(**fields))
    assert isinstance(raised.value, ConfigInvalid)  # pages show every one with st.error, like other bad input
    assert message in str(raised.value), str(raised.value)
    assert not (ws_root / "jobs").exists() and not ws.samples_dir.exists()
