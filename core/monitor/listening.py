"""The test sentences of a run, as the Monitor page plays them: clips by step, newest first, and their cost.

The trainer logs the sentences of one epoch together, one tag per sentence (TestAudios/0-audio,
TestAudios/1-audio, ...), all at the step the epoch ended. It synthesises them right after the
evaluation, whose losses it logs just before, so the time from the eval losses to the first clip
of a step is what the test sentences cost that epoch.
"""
from __future__ import annotations

from dataclasses import dataclass

from core.monitor.audio import TEST_AUDIO_PREFIX, AudioSample
from core.monitor.events import RunEventReader
from core.monitor.overfit import EVAL_LOSS_TAG, TRAIN_EPOCH_LOSS_TAG


@dataclass(frozen=True)
class SentenceClips:
    """The test sentences spoken at one step, in sentence order."""

    step: int
    wall_time_s: float  # when the first of them was logged
    clips: tuple[AudioSample, ...]


def sentence_tags(reader: RunEventReader) -> list[str]:
    """The test-sentence tags, in sentence order (TestAudios/0-audio before TestAudios/10-audio)."""
    tags = [t for t in reader.audio_tags() if t.startswith(TEST_AUDIO_PREFIX)]
    return sorted(tags, key=lambda t: (int(n) if (n := t[len(TEST_AUDIO_PREFIX):].split("-")[0]).isdigit() else 1 << 62, t))


def sentence_steps(reader: RunEventReader) -> list[int]:
    """Steps with test sentences, newest first: the positions of the page's step slider."""
    return sorted({step for tag in sentence_tags(reader) for step in reader.audio_steps(tag)}, reverse=True)


def sentence_clips(reader: RunEventReader, step: int | None = None) -> SentenceClips | None:
    """The clips spoken at `step` (default: the newest step), or None when there are none."""
    if step is None:
        steps = sentence_steps(reader)
        if not steps:
            return None
        step = steps[0]
    clips = tuple(c for c in (reader.audio_sample(tag, step) for tag in sentence_tags(reader)) if c is not None)
    if not clips:
        return None
    return SentenceClips(step, min(c.wall_time_s for c in clips), clips)


def measured_test_sentences_s(reader: RunEventReader, step: int | None = None) -> float | None:
    """Seconds the test sentences took at `step` (default: the newest), measured in the event file:
    from the losses the trainer logged just before them (eval, else the epoch's train average) to
    the first clip. None while no test sentence has been logged."""
    spoken = sentence_clips(reader, step)
    if spoken is None:
        return None
    for tag in (EVAL_LOSS_TAG, TRAIN_EPOCH_LOSS_TAG):
        series = reader.series(tag)
        at = [w for s, w in zip(series.steps.tolist(), series.wall_times_s.tolist()) if s == spoken.step]
        if at:
            return max(0.0, spoken.wall_time_s - at[-1])
    return None
