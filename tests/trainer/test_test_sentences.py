"""Test sentences: which ones, where they land in coqui's config, what they cost."""
from __future__ import annotations

import pytest

from core.base.config import FIELD_BY_NAME, RunConfig
from core.trainer.demo import demo_config
from core.trainer.gpt_config import build_gpt_trainer_config
from core.trainer.preflight import preflight
from core.trainer.ready_export import reference_clip
from core.trainer.test_sentences import (CHARS_PER_SPEECH_S, TEST_SENTENCE_COUNT, default_test_sentences_each_epoch,
                                         estimate_test_sentences_cost, pick_test_sentences)


@pytest.fixture(scope="module")
def checked(demo_workspace):
    ws, demo = demo_workspace
    return preflight(demo_config(ws, demo))


def test_off_for_the_cpu_demo_on_with_a_gpu():
    assert FIELD_BY_NAME["test_sentences_each_epoch"].default is False and RunConfig().test_sentences_each_epoch is False
    assert default_test_sentences_each_epoch(gpu_found=True) and not default_test_sentences_each_epoch(gpu_found=False)
    help_text = FIELD_BY_NAME["test_sentences_each_epoch"].tooltip
    assert "`test_sentences_each_epoch`" in help_text and "time" in help_text


def test_sentences_come_from_the_eval_set_in_the_reference_voice(checked):
    sentences = pick_test_sentences(checked.train, checked.eval, "en")
    assert len(sentences) == TEST_SENTENCE_COUNT
    assert [s.text for s in sentences] == [c.text for c in checked.eval.clips][:TEST_SENTENCE_COUNT]
    assert {s.speaker_wav for s in sentences} == {reference_clip(checked.train)}  # the ready/ bundle's voice
    assert sentences[0].to_coqui() == {"text": sentences[0].text, "speaker_wav": str(reference_clip(checked.train)),
                                       "language": "en"}


def test_coqui_gets_them_only_when_the_setting_is_on(checked):
    sentences = pick_test_sentences(checked.train, checked.eval, "en")
    off = build_gpt_trainer_config(checked.config, checked.base, "t", sentences)
    on = build_gpt_trainer_config(checked.config.with_changes(test_sentences_each_epoch=True), checked.base, "t",
                                  sentences)
    assert off.test_sentences == []
    assert on.test_sentences == [s.to_coqui() for s in sentences]
    assert on.test_delay_epochs == 0  # after every epoch, from the first


def test_the_cost_rule_of_thumb():
    texts = ["a" * 75, "b" * 30]  # 5 s and 2 s of speech
    gpu = estimate_test_sentences_cost(texts, on_gpu=True, max_speech_s=11.0)
    cpu = estimate_test_sentences_cost(texts, on_gpu=False, max_speech_s=11.0)
    assert gpu.speech_s == pytest.approx(105 / CHARS_PER_SPEECH_S) == cpu.speech_s
    assert 0 < gpu.seconds_per_epoch < cpu.seconds_per_epoch
    assert gpu.seconds_per_epoch == pytest.approx(7 * 0.3 + 2 * 1.0)
    assert "GPU" in gpu.basis and "CPU" in cpu.basis
    # Until the model learns to stop, each sentence runs to the cap.
    assert gpu.worst_seconds_per_epoch == pytest.approx(2 * (11 * 0.3 + 1.0))
    capped = estimate_test_sentences_cost(["c" * 600], on_gpu=True, max_speech_s=11.0)
    assert capped.speech_s == 11.0
