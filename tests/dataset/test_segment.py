"""Segmentation on real speech (espeak-ng) with known pauses, and the clip planner's rules."""
from __future__ import annotations

import numpy as np
import pytest

from core.dataset.audio import load_mono
from core.dataset.segment import PAD_S, VAD_RATE_HZ, ClipLimits, Span, TimedWord, plan_clips, speech_spans
from tests.dataset.speech import long_recording


def test_vad_finds_each_sentence_at_its_pauses(tmp_path):
    spoken = long_recording(tmp_path / "long.wav")
    mono, _ = load_mono(tmp_path / "long.wav", VAD_RATE_HZ)
    total_s = mono.size / VAD_RATE_HZ
    plan = plan_clips(speech_spans(mono, max_s=11.0), ClipLimits(1.0, 11.0), total_s=total_s)
    assert len(plan.clips) == len(spoken), plan
    for clip, said in zip(plan.clips, spoken):
        assert 1.0 <= clip.duration_s <= 11.0
        # The clip holds the whole sentence and ends in the pause, before the next one starts.
        assert clip.start_s <= said.start_s + 0.1 and clip.end_s >= said.end_s - 0.1
        assert said.start_s - clip.start_s <= PAD_S + 0.35 and clip.end_s - said.end_s <= PAD_S + 0.35
    for first, second in zip(plan.clips, plan.clips[1:]):
        assert first.end_s <= second.start_s


def test_long_speech_is_cut_within_the_limit(tmp_path):
    long_recording(tmp_path / "long.wav", pause_s=0.6)
    mono, _ = load_mono(tmp_path / "long.wav", VAD_RATE_HZ)
    plan = plan_clips(speech_spans(mono, max_s=4.0), ClipLimits(1.0, 4.0), total_s=mono.size / VAD_RATE_HZ)
    assert plan.clips and all(c.duration_s <= 4.0 for c in plan.clips)


def test_short_neighbours_merge_and_lonely_short_speech_is_dropped():
    limits = ClipLimits(1.0, 11.0)
    speech = [Span(0.5, 0.9), Span(1.1, 3.0), Span(8.0, 8.4)]
    plan = plan_clips(speech, limits, total_s=20.0)
    assert [(round(c.start_s, 2), round(c.end_s, 2)) for c in plan.clips] == [(0.35, 3.15)]
    assert len(plan.dropped) == 1 and "shorter than 1 s" in plan.dropped[0][1]


def test_a_cut_never_falls_inside_a_word():
    words = [TimedWord(0.2, 0.6, " hello"), TimedWord(0.7, 1.5, " wonderful"), TimedWord(2.6, 3.4, " world")]
    # VAD ended the first span in the middle of "wonderful".
    plan = plan_clips([Span(0.2, 1.1), Span(2.6, 3.4)], ClipLimits(0.5, 11.0), total_s=5.0, words=words)
    assert plan.clips[0].end_s >= 1.5 and plan.clips[0].text == "hello wonderful"
    assert plan.clips[1].text == "world"


def test_limits_are_validated():
    with pytest.raises(ValueError, match="shortest < longest"):
        ClipLimits(5.0, 3.0)
