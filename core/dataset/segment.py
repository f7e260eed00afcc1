"""Cutting long recordings into training clips at pauses.

Silero VAD (its weights ship inside the `silero-vad` wheel, so this works offline) finds speech;
`plan_clips` turns speech spans into clips within the trainer's limits: short neighbours are
merged, a cut never falls inside a word when word timestamps are known, and a little silence is
kept on each side so no clip starts or ends on a cut-off phoneme.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Sequence

import numpy as np

VAD_RATE_HZ = 16000
# Pauses shorter than this stay inside a clip: commas and breaths, not sentence ends.
MIN_PAUSE_S = 0.4
PAD_S = 0.15
# A short span joins a neighbour only across a pause this long: more would put seconds of silence in a clip.
MAX_MERGE_GAP_S = 1.5


@dataclass(frozen=True)
class ClipLimits:
    min_s: float = 1.0
    max_s: float = 11.0

    def __post_init__(self) -> None:
        if not 0.2 <= self.min_s < self.max_s:
            raise ValueError(f"clip length limits must satisfy 0.2 <= shortest < longest (got {self.min_s}-{self.max_s} s)")


@dataclass(frozen=True)
class Span:
    start_s: float
    end_s: float
    text: str = ""  # the words spoken in it, when a transcript is known

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


@dataclass(frozen=True)
class TimedWord:
    start_s: float
    end_s: float
    text: str  # as Whisper gives it: with its leading space


@dataclass(frozen=True)
class ClipPlan:
    clips: tuple[Span, ...]
    dropped: tuple[tuple[Span, str], ...]  # spans left out, and why


def speech_spans(mono_16k: np.ndarray, *, max_s: float, threads: int = 1) -> list[Span]:
    """Speech found by Silero VAD; spans longer than `max_s` are split at their last pause."""
    import torch
    from silero_vad import get_speech_timestamps, load_silero_vad

    torch.set_num_threads(threads)  # one core: the data loader of a live training run needs the rest
    model = _vad_model(load_silero_vad)
    found = get_speech_timestamps(torch.from_numpy(np.ascontiguousarray(mono_16k, dtype=np.float32)), model,
                                  sampling_rate=VAD_RATE_HZ, min_silence_duration_ms=int(MIN_PAUSE_S * 1000),
                                  max_speech_duration_s=max_s - 2 * PAD_S, speech_pad_ms=0, return_seconds=False)
    return [Span(s["start"] / VAD_RATE_HZ, s["end"] / VAD_RATE_HZ) for s in found]


_MODEL: list = []


def _vad_model(loader):
    if not _MODEL:
        _MODEL.append(loader())
    _MODEL[0].reset_states()
    return _MODEL[0]


def plan_clips(speech: Sequence[Span], limits: ClipLimits, *, total_s: float,
               words: Sequence[TimedWord] = ()) -> ClipPlan:
    """Clips within `limits` from speech spans (and word timestamps, when known)."""
    spans = sorted(speech, key=lambda s: s.start_s)
    if words:
        spans = _snap_to_words(spans, words)
    merged = _merge_short(spans, limits)
    clips, dropped = [], []
    for span in merged:
        if span.duration_s < limits.min_s:
            dropped.append((span, f"shorter than {limits.min_s:g} s after merging with its neighbours"))
        elif span.duration_s > limits.max_s - 2 * PAD_S:
            dropped.append((span, f"no pause to cut at within {limits.max_s:g} s"))
        else:
            clips.append(span)
    padded = _pad(clips, total_s)
    if words:
        padded = [replace(c, text=_words_in(c, words)) for c in padded]
    return ClipPlan(tuple(padded), tuple(dropped))


def _snap_to_words(spans: list[Span], words: Sequence[TimedWord]) -> list[Span]:
    """Move every boundary that falls inside a word to that word's edge, then join overlaps."""
    snapped = []
    for span in spans:
        start, end = span.start_s, span.end_s
        for word in words:
            if word.start_s < start < word.end_s:
                start = word.start_s
            if word.start_s < end < word.end_s:
                end = word.end_s
        snapped.append(Span(start, end, span.text))
    joined: list[Span] = []
    for span in snapped:
        if joined and span.start_s <= joined[-1].end_s:
            joined[-1] = Span(joined[-1].start_s, max(joined[-1].end_s, span.end_s), _join(joined[-1].text, span.text))
        else:
            joined.append(span)
    return joined


def _merge_short(spans: list[Span], limits: ClipLimits) -> list[Span]:
    """Join a span shorter than the minimum to the neighbour it is closest to, when that fits."""
    room = limits.max_s - 2 * PAD_S
    result = list(spans)
    changed = True
    while changed:
        changed = False
        for i, span in enumerate(result):
            if span.duration_s >= limits.min_s:
                continue
            candidates = []
            if i > 0 and span.end_s - result[i - 1].start_s <= room:
                candidates.append((span.start_s - result[i - 1].end_s, i - 1))
            if i + 1 < len(result) and result[i + 1].end_s - span.start_s <= room:
                candidates.append((result[i + 1].start_s - span.end_s, i + 1))
            candidates = [c for c in candidates if c[0] <= MAX_MERGE_GAP_S]
            if not candidates:
                continue
            _gap, j = min(candidates)
            first, second = (result[j], span) if j < i else (span, result[j])
            result[min(i, j)] = Span(first.start_s, second.end_s, _join(first.text, second.text))
            del result[max(i, j)]
            changed = True
            break
    return result


def _pad(clips: list[Span], total_s: float) -> list[Span]:
    """Keep up to PAD_S of silence on each side, never reaching into the neighbouring clip."""
    padded = []
    for i, clip in enumerate(clips):
        low = clips[i - 1].end_s if i > 0 else 0.0
        high = clips[i + 1].start_s if i + 1 < len(clips) else total_s
        start = max(low if i == 0 else (low + clip.start_s) / 2, clip.start_s - PAD_S, 0.0)
        end = min(high if i + 1 == len(clips) else (clip.end_s + high) / 2, clip.end_s + PAD_S, total_s)
        padded.append(Span(start, end, clip.text))
    return padded


def _words_in(clip: Span, words: Sequence[TimedWord]) -> str:
    """The words whose middle lies inside the clip, as one line of text."""
    inside = [w.text for w in words if clip.start_s <= (w.start_s + w.end_s) / 2 <= clip.end_s]
    return " ".join("".join(inside).split())


def _join(first: str, second: str) -> str:
    return " ".join(part for part in (first.strip(), second.strip()) if part)
