"""A sample's scores on disk: `<key>.scores.json` beside its WAV, written by the synthesis job.

The job scores each sample the moment it is made (it has torch and the scorers loaded already);
the page only reads these small files back, so it never loads an encoder or Whisper. A sample
without the file was made before scoring existed, or scoring failed: the page says "not scored".
"""
from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from core.base.atomic_io import read_json, write_json_atomic
from core.listen.intelligibility import Intelligibility
from core.listen.samples import Sample
from core.listen.sanity import Sanity
from core.listen.scores import CheckpointScores, SampleScores, summarise_checkpoint
from core.listen.speaker_similarity import SpeakerSimilarity

SUFFIX = ".scores.json"


def scores_path(sample: Sample) -> Path:
    return sample.wav_path.with_name(sample.wav_path.stem + SUFFIX)


def save_sample_scores(sample: Sample, scores: SampleScores) -> Path:
    """Write `scores` beside `sample` (atomically)."""
    path = scores_path(sample)
    write_json_atomic(path, _plain(asdict(scores)))
    return path


def _plain(value: Any) -> Any:
    # Scores computed with numpy may be numpy scalars, which json cannot write.
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        return value.item()
    return value


def sample_scores(sample: Sample) -> dict[str, Any] | None:
    """The saved scores of `sample` as written (text, similarity, intelligibility, sanity), or None."""
    data = read_json(scores_path(sample))
    return data if isinstance(data, dict) and "sanity" in data and "intelligibility" in data else None


def scores_from_json(data: dict[str, Any]) -> SampleScores | None:
    """The SampleScores a `sample_scores` dict was written from; None for a file of another version."""
    try:
        similarity = SpeakerSimilarity(**data["similarity"]) if data.get("similarity") else None
        sanity = dict(data["sanity"])
        sanity["flags"] = tuple(sanity.get("flags", ()))
        return SampleScores(str(data["text"]), similarity, Intelligibility(**data["intelligibility"]), Sanity(**sanity))
    except (KeyError, TypeError, ValueError):
        return None


def checkpoint_scores(checkpoint: str, step: int | None, eval_loss: float | None,
                      samples: list[Sample]) -> CheckpointScores:
    """`summarise_checkpoint` over the samples that have saved scores (none: only step and eval loss)."""
    scored = [s for s in (scores_from_json(d) for d in map(sample_scores, samples) if d) if s is not None]
    try:
        return summarise_checkpoint(checkpoint, step, eval_loss, scored)
    except ValueError:  # scored by different encoders over time: compare by eval loss only
        return CheckpointScores(checkpoint, step, eval_loss)
