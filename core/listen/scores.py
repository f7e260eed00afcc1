"""The three scores of a sample put together, and a checkpoint's scores over its samples.

`Scorers.open` loads what scoring needs once per run (the fixed speaker encoder and the reference's
embedding, the Whisper model, the dataset's speaking rate); `Scorers.score` then measures one
sample. A missing piece (no Whisper model, no encoder weights) leaves its score empty with the
reason, never the others. `summarise_checkpoint` averages a checkpoint's samples into the
`CheckpointScores` that `core.listen.recommend` compares. Loading imports torch and faster_whisper;
importing this module does not.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.dataset.audio import load_mono
from core.language.normalise import TextRules
from core.listen.intelligibility import DEFAULT_WHISPER_SIZE, Intelligibility, IntelligibilityScorer
from core.listen.sanity import Sanity, SpeakingRate, check_sample, dataset_speaking_rate
from core.listen.speaker_similarity import (EncoderUnavailable, SpeakerEncoder, SpeakerSimilarity,
                                            load_speaker_encoder, reference_embedding, speaker_similarity)


@dataclass(frozen=True)
class SampleScores:
    text: str
    similarity: SpeakerSimilarity | None  # None without an encoder (see Scorers.similarity_unavailable)
    intelligibility: Intelligibility
    sanity: Sanity


@dataclass(frozen=True)
class CheckpointScores:
    """What the recommendation compares for one checkpoint; any score may be missing."""

    checkpoint: str  # the file's name (or path) as the page shows it
    step: int | None
    eval_loss: float | None = None
    similarity: float | None = None  # mean over the scored samples
    cer: float | None = None  # mean over the transcribed samples (0.04 = 4 %)
    sanity_flags: tuple[str, ...] = ()  # "sentence 2: 62% silence", one per problem
    samples: int = 0  # how many samples the scores are over
    encoder_id: str = ""  # similarities compare only between equal ids
    cer_unavailable: str | None = None  # why there is no CER (no Whisper model ...)


@dataclass(frozen=True)
class Scorers:
    """What scoring a run needs, loaded once; `score` is safe to call for every sample of every checkpoint."""

    encoder: SpeakerEncoder | None
    reference: np.ndarray | None  # the reference clips' embedding by `encoder`
    intelligibility: IntelligibilityScorer
    speaking_rate: SpeakingRate | None
    similarity_unavailable: str | None = None

    @classmethod
    def open(cls, *, base_model_dir: str | os.PathLike | None, run_folder: str | os.PathLike | None,
             reference_wavs: Sequence[str | os.PathLike], train_csv: str | os.PathLike | None,
             models_dir: str | os.PathLike, whisper_size: str = DEFAULT_WHISPER_SIZE, whisper_local_dir: str = "",
             language: str | None = None, rules: TextRules | None = None, device: str = "cpu",
             encoder: SpeakerEncoder | None = None) -> Scorers:
        """Load the run's encoder (unless one is given), the Whisper model on disk and the dataset's rate.

        What is missing leaves its score empty with the reason; an unreadable reference clip raises
        AudioUnreadable (naming the file), since the user has to choose another.
        """
        reference, unavailable = None, None
        if not reference_wavs:
            encoder, unavailable = None, "no reference clip: choose one to compare the samples' voice with"
        else:
            if encoder is None:
                try:
                    encoder = load_speaker_encoder(base_model_dir, run_folder, device=device)
                except EncoderUnavailable as exc:
                    unavailable = str(exc)
            if encoder is not None:
                reference = reference_embedding(encoder, list(reference_wavs))
        whisper = IntelligibilityScorer.open(models_dir, size=whisper_size, local_dir=whisper_local_dir,
                                             language=language, rules=rules,
                                             device="cuda" if device.startswith("cuda") else "cpu")
        rate = dataset_speaking_rate(train_csv) if train_csv else None
        return cls(encoder, reference, whisper, rate, unavailable)

    def score(self, mono: np.ndarray, rate_hz: int, text: str) -> SampleScores:
        similarity = None
        if self.encoder is not None and self.reference is not None:
            similarity = speaker_similarity(self.encoder, mono, rate_hz, self.reference)
        return SampleScores(text, similarity, self.intelligibility.score(mono, rate_hz, text),
                            check_sample(mono, rate_hz, text, self.speaking_rate))

    def score_file(self, path: str | os.PathLike, text: str) -> SampleScores:
        mono, rate = load_mono(Path(path))
        return self.score(mono, rate, text)


def summarise_checkpoint(checkpoint: str, step: int | None, eval_loss: float | None,
                         samples: Sequence[SampleScores]) -> CheckpointScores:
    """Mean similarity and CER over a checkpoint's samples, and every sanity flag with its sentence number."""
    similarities = [s.similarity.similarity for s in samples if s.similarity is not None]
    encoder_ids = {s.similarity.encoder_id for s in samples if s.similarity is not None}
    if len(encoder_ids) > 1:
        raise ValueError(f"samples scored by different speaker encoders ({', '.join(sorted(encoder_ids))})")
    cers = [s.intelligibility.cer for s in samples if s.intelligibility.cer is not None]
    missing = next((s.intelligibility.unavailable for s in samples if s.intelligibility.cer is None), None)
    flags = tuple(f"sentence {i}: {flag}" for i, s in enumerate(samples, start=1) for flag in s.sanity.flags)
    return CheckpointScores(
        checkpoint=checkpoint, step=step, eval_loss=eval_loss,
        similarity=float(np.mean(similarities)) if similarities else None,
        cer=float(np.mean(cers)) if cers else None,
        sanity_flags=flags, samples=len(samples), encoder_id=next(iter(encoder_ids), ""),
        cer_unavailable=missing if not cers else None)
