"""A run's scorers put together, checkpoint summaries, and what importing the scoring modules costs."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import soundfile

from core.dataset.transcribe import whisper_models_dir
from core.listen.scores import CheckpointScores, Scorers, summarise_checkpoint
from core.listen.speaker_similarity import SPECTRAL_ENCODER_ID, SpectralSpeakerEncoder
from tests.dataset.speech import SENTENCES, speak
from tests.listen.test_scores_intelligibility import tiny_whisper  # noqa: F401  (the shared fixture)

PROJECT = Path(__file__).resolve().parents[2]


def _write(path: Path, text: str, voice: str = "en-us") -> Path:
    samples, rate = speak(text, voice)
    soundfile.write(str(path), samples, rate)
    return path


@pytest.fixture(scope="module")
def run_inputs(tmp_path_factory):
    """A reference clip, a three-clip training CSV, and two 'samples' in the reference's voice and another."""
    folder = tmp_path_factory.mktemp("listen-run")
    (folder / "wavs").mkdir()
    lines = ["audio_file|text|speaker_name"]
    for i, text in enumerate(SENTENCES[:3]):
        _write(folder / "wavs" / f"{i}.wav", text)
        lines.append(f"wavs/{i}.wav|{text}|espeak")
    (folder / "metadata_train.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return {
        "folder": folder, "train_csv": folder / "metadata_train.csv",
        "reference": _write(folder / "reference.wav", SENTENCES[0]),
        "same": _write(folder / "same.wav", SENTENCES[3]),
        "other": _write(folder / "other.wav", SENTENCES[3], "en+f3"),
    }


def test_scorers_score_every_sample_and_a_checkpoint_summary_averages_them(tmp_path, run_inputs, tiny_whisper):
    models = tmp_path / "models"
    shutil.copytree(tiny_whisper, whisper_models_dir(models) / "small")
    scorers = Scorers.open(base_model_dir=None, run_folder=None, reference_wavs=[run_inputs["reference"]],
                           train_csv=run_inputs["train_csv"], models_dir=models, language="en",
                           encoder=SpectralSpeakerEncoder())
    assert scorers.similarity_unavailable is None and scorers.speaking_rate.clips == 3
    same = scorers.score_file(run_inputs["same"], SENTENCES[3])
    other = scorers.score_file(run_inputs["other"], SENTENCES[3])
    assert same.similarity.encoder_id == SPECTRAL_ENCODER_ID
    assert same.similarity.similarity > other.similarity.similarity
    assert same.intelligibility.whisper_model == "small" and same.intelligibility.cer is not None
    assert same.sanity.ok, same.sanity.flags

    summary = summarise_checkpoint("checkpoint_100.pth", 100, 2.5, [same, other])
    assert summary == CheckpointScores(
        "checkpoint_100.pth", 100, 2.5,
        similarity=pytest.approx((same.similarity.similarity + other.similarity.similarity) / 2),
        cer=pytest.approx((same.intelligibility.cer + other.intelligibility.cer) / 2),
        sanity_flags=tuple(f"sentence 2: {f}" for f in other.sanity.flags), samples=2,
        encoder_id=SPECTRAL_ENCODER_ID, cer_unavailable=None)


def test_missing_pieces_leave_their_score_empty_with_the_reason(tmp_path, run_inputs):
    scorers = Scorers.open(base_model_dir=tmp_path / "demo-base", run_folder=tmp_path / "no-run",
                           reference_wavs=[run_inputs["reference"]], train_csv=None, models_dir=tmp_path / "models")
    assert scorers.encoder is None and "No speaker encoder weights" in scorers.similarity_unavailable
    sample = scorers.score_file(run_inputs["same"], SENTENCES[3])
    assert sample.similarity is None and sample.intelligibility.cer is None
    assert sample.intelligibility.unavailable.startswith("no Whisper model: put one in ")
    assert sample.sanity.rate_ratio is None
    summary = summarise_checkpoint("checkpoint_200.pth", 200, None, [sample])
    assert (summary.similarity, summary.cer, summary.encoder_id) == (None, None, "")
    assert summary.cer_unavailable == sample.intelligibility.unavailable

    no_reference = Scorers.open(base_model_dir=None, run_folder=None, reference_wavs=[], train_csv=None,
                                models_dir=tmp_path / "models", encoder=SpectralSpeakerEncoder())
    assert no_reference.encoder is None and "no reference clip" in no_reference.similarity_unavailable


def test_importing_the_listen_scores_loads_neither_torch_nor_whisper():
    check = ("import sys; sys.modules['streamlit'] = None\n"
             "import core.listen.scores, core.listen.recommend, core.listen.sanity, core.listen.intelligibility, "
             "core.listen.speaker_similarity\n"
             "heavy = [m for m in ('torch', 'TTS', 'faster_whisper', 'ctranslate2') if m in sys.modules]\n"
             "assert not heavy, heavy\n")
    result = subprocess.run([sys.executable, "-c", check], cwd=PROJECT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
