"""Speech with a known text, made locally with Debian's espeak-ng (installed by `make test`)."""
from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import soundfile

ESPEAK = shutil.which("espeak-ng")
SENTENCES = (
    "the quick brown fox jumps over a lazy dog",
    "seven small birds sing softly near old river stones",
    "bright yellow flowers grow beside the quiet road",
    "a cold wind blows across the open field at night",
)


@dataclass(frozen=True)
class Spoken:
    start_s: float
    end_s: float
    text: str


def speak(text: str, voice: str = "en") -> tuple[np.ndarray, int]:
    if ESPEAK is None:
        pytest.fail("espeak-ng is missing: `make test` installs Debian's espeak-ng")
    done = subprocess.run([ESPEAK, "-v", voice, "-s", "150", "--stdout", text], capture_output=True, check=True)
    import io

    samples, rate = soundfile.read(io.BytesIO(done.stdout), dtype="float32")
    return samples, rate


def long_recording(path: Path, texts=SENTENCES, pause_s: float = 1.2, voice: str = "en") -> list[Spoken]:
    """The sentences one after another with `pause_s` of silence between them; where each one is."""
    pieces, spoken, clock = [], [], pause_s
    rate = 22050
    silence = None
    for text in texts:
        samples, rate = speak(text, voice)
        # espeak pads its output with silence; keep only the voiced part, so the pause is what we say.
        voiced = np.flatnonzero(np.abs(samples) > 0.01)
        samples = samples[voiced[0]:voiced[-1] + 1]
        silence = np.zeros(int(pause_s * rate), np.float32)
        if not pieces:
            pieces.append(silence)
        pieces += [samples, silence]
        spoken.append(Spoken(clock, clock + samples.size / rate, text))
        clock += samples.size / rate + pause_s
    soundfile.write(str(path), np.concatenate(pieces), rate)
    return spoken


def write_srt(path: Path, spoken: list[Spoken]) -> None:
    def stamp(t: float) -> str:
        ms = int(round(t * 1000))
        return f"{ms // 3600000:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"

    blocks = [f"{i}\n{stamp(s.start_s)} --> {stamp(s.end_s)}\n{s.text}\n" for i, s in enumerate(spoken, 1)]
    path.write_text("\n".join(blocks), encoding="utf-8")
