"""A sample's scores saved beside it, read back without torch, and summarised per checkpoint."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile

from core.listen.samples import SampleKey, clean_orphan_samples, save_sample
from core.listen.sampling import SamplingSettings
from core.listen.score_files import checkpoint_scores, sample_scores, save_sample_scores, scores_path
from core.listen.scores import Scorers
from core.listen.speaker_similarity import SPECTRAL_ENCODER_ID, SpectralSpeakerEncoder
from core.base.workspace import Workspace
from tests.dataset.speech import SENTENCES, speak

PROJECT = Path(__file__).resolve().parents[2]


def test_scores_saved_beside_a_sample_read_back_and_summarise(tmp_path):
    ws = Workspace.at(tmp_path / "ws")
    reference = tmp_path / "reference.wav"
    samples, rate = speak(SENTENCES[0])
    soundfile.write(str(reference), samples, rate)
    spoken, spoken_rate = speak(SENTENCES[1])
    assert spoken_rate == rate
    key = SampleKey("a" * 64, SENTENCES[1], "en", ("r" * 64,), SamplingSettings())
    sample = save_sample(ws, key, np.interp(np.arange(0, spoken.size, rate / 24000), np.arange(spoken.size), spoken),
                         references=(str(reference),), synthesis_s=0.1, device="cpu")
    assert sample_scores(sample) is None  # not scored yet
    scorers = Scorers.open(base_model_dir=None, run_folder=None, reference_wavs=[reference], train_csv=None,
                           models_dir=tmp_path / "models", encoder=SpectralSpeakerEncoder())
    save_sample_scores(sample, scorers.score_file(sample.wav_path, sample.text))
    assert scores_path(sample).name == f"{key.key_id}.scores.json"
    saved = sample_scores(sample)
    assert saved["text"] == SENTENCES[1] and saved["similarity"]["encoder_id"] == SPECTRAL_ENCODER_ID
    assert -1 <= saved["similarity"]["similarity"] <= 1
    assert saved["intelligibility"]["cer"] is None
    assert saved["intelligibility"]["unavailable"].startswith("no Whisper model")
    assert isinstance(saved["sanity"]["flags"], list)
    summary = checkpoint_scores("/m/100.pth", 100, 0.5, [sample])
    assert summary.samples == 1 and summary.similarity == saved["similarity"]["similarity"]
    assert summary.cer is None and summary.cer_unavailable.startswith("no Whisper model")
    # The scores file is neither a sample of the cache nor left behind by its cleanup.
    assert [s.wav_path for s in _samples_of(ws, key)] == [sample.wav_path]
    assert clean_orphan_samples(ws, now_s=1e12).samples_removed == 1 and not scores_path(sample).exists()


def _samples_of(ws, key):
    from core.listen.samples import _samples_in, checkpoint_dir

    return _samples_in(checkpoint_dir(ws, key.checkpoint_hash))


def test_a_checkpoint_without_scored_samples_keeps_its_step_and_eval_loss():
    summary = checkpoint_scores("/m/200.pth", 200, 0.4, [])
    assert (summary.step, summary.eval_loss, summary.samples, summary.similarity) == (200, 0.4, 0, None)


def test_reading_scores_loads_no_torch():
    code = ("import sys, core.listen.score_files, core.listen.preferences; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'TTS', 'faster_whisper', 'trainer'}))")
    out = subprocess.run([sys.executable, "-c", code], cwd=PROJECT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
