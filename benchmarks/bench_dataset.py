"""Dataset check throughput, and a recheck served from the content cache, on 1,000 local clips.

    .venv/bin/python benchmarks/bench_dataset.py [--workspace DIR]

Ends with: dataset: check_clips_per_s=<x> recheck_speedup=<y> vad_x_realtime=<z>
where the speedup is the first (full) check's time over a recheck of the unchanged dataset (which
only reads the CSV and stats the files). coqui's tokenizer is imported before timing: a fresh
process pays that import (about 5 s here) once, on its first cache miss, whatever the dataset size.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.dataset.audio import TRAINING_RATE_HZ, load_mono, write_wav  # noqa: E402
from core.dataset.check import check_dataset  # noqa: E402
from core.trainer.demo import WORDS, ensure_demo  # noqa: E402

CLIPS = 1000
RECHECK_REPEATS = 5


def make_clips(folder: Path, count: int = CLIPS) -> Path:
    """`count` 1-3 s tones at 22.05 kHz with demo-vocabulary texts; returns the metadata CSV."""
    rng = np.random.default_rng(0)
    lines = ["audio_file|text|speaker_name"]
    for i in range(count):
        seconds = float(rng.uniform(1.0, 3.0))
        t = np.arange(int(seconds * TRAINING_RATE_HZ)) / TRAINING_RATE_HZ
        tone = 0.3 * np.sin(2 * np.pi * rng.uniform(110, 260) * t) + 0.01 * rng.standard_normal(t.size)
        write_wav(folder / "wavs" / f"clip_{i:04d}.wav", tone.astype(np.float32), TRAINING_RATE_HZ)
        words = " ".join(rng.choice(WORDS, size=max(2, round(seconds * 2.5))))
        lines.append(f"wavs/clip_{i:04d}.wav|{words.capitalize()}.|speaker_{i % 3}")
    csv_path = folder / "metadata_train.csv"
    csv_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return csv_path


def bench_check(tmp: Path) -> tuple[float, float]:
    """(clips checked per second on a cache miss, miss time / hit time) over CLIPS clips."""
    demo = ensure_demo(tmp / "demo")
    csv_path = make_clips(tmp / "dataset")
    from TTS.tts.layers.xtts.tokenizer import VoiceBpeTokenizer  # noqa: F401  (see the docstring)

    def check():
        started = time.perf_counter()
        report = check_dataset(csv_path, vocab_path=demo.base_dir / "vocab.json", language="en",
                               cache_dir=tmp / "cache")
        return report, time.perf_counter() - started

    first, first_s = check()
    assert not first.from_cache and first.clips == CLIPS, first
    rechecks = [check() for _ in range(RECHECK_REPEATS)]
    assert all(report.from_cache and report == first for report, _ in rechecks)
    recheck_s = min(seconds for _, seconds in rechecks)
    print(f"  first check {first_s:.2f} s ({first.kept_clips} kept, {len(first.issues)} issues), "
          f"recheck {recheck_s * 1000:.1f} ms")
    return CLIPS / first_s, first_s / recheck_s


def bench_vad(tmp: Path, minutes: float = 3.0) -> float:
    """Seconds of audio segmented per second of wall time, on one CPU core (Silero VAD + clip planning).

    The recording is espeak-ng speech (sentences with 0.4-1.5 s pauses) when espeak-ng is installed,
    else bursts of noise: VAD's cost depends on the length of the audio, not on what is said.
    """
    import shutil
    import subprocess

    from core.dataset.segment import VAD_RATE_HZ, ClipLimits, plan_clips, speech_spans

    rng = np.random.default_rng(0)
    pieces, total = [], 0
    espeak = shutil.which("espeak-ng")
    sentence = "the quick brown fox jumps over a lazy dog while seven small birds sing softly"
    if espeak:
        out = tmp / "sentence.wav"
        subprocess.run([espeak, "-w", str(out), sentence], check=True)
        speech, rate = load_mono(out, VAD_RATE_HZ)
    while total < minutes * 60 * VAD_RATE_HZ:
        burst = speech if espeak else rng.normal(0, 0.1, int(rng.uniform(2, 6) * VAD_RATE_HZ)).astype(np.float32)
        pause = np.zeros(int(rng.uniform(0.4, 1.5) * VAD_RATE_HZ), np.float32)
        pieces += [burst, pause]
        total += burst.size + pause.size
    audio = np.concatenate(pieces)
    speech_spans(audio[:VAD_RATE_HZ], max_s=11.0)  # loads the model: not part of the per-audio cost
    started = time.perf_counter()
    plan_clips(speech_spans(audio, max_s=11.0, threads=1), ClipLimits(), total_s=audio.size / VAD_RATE_HZ)
    return audio.size / VAD_RATE_HZ / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", type=Path, help="folder for the clips (default: a temp folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        tmp = args.workspace or Path(scratch)
        clips_per_s, speedup = bench_check(tmp)
        vad = f"{bench_vad(tmp):.1f}"
    print(f"dataset: check_clips_per_s={clips_per_s:.1f} recheck_speedup={speedup:.1f} vad_x_realtime={vad}")


if __name__ == "__main__":
    main()
