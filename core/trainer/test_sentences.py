"""Test sentences: what coqui's GPTTrainer speaks after each epoch, and what that costs.

`GPTTrainer.test_run` synthesises every entry of `config.test_sentences` ({"text", "speaker_wav",
"language"}) after each epoch's evaluation, on rank 0, and the trainer logs the results as
TensorBoard audio under `TestAudios/<index>-audio` (24 kHz). Training waits meanwhile, so the
setting costs time every epoch. The texts come from the run's own evaluation set, so they are in
the run's language (a new language included) and were never trained on; the voice is the run's
reference clip, the one the ready/ bundle ships.

A model that has not learnt to stop (any model early on, the demo's always) speaks until the
GPT's limit, about 28 s per sentence, every epoch; on a CPU the HiFi-GAN decoder alone then takes
minutes. So the training process caps a test sentence at the longest clip the run trains on
(`max_audio_length_s`), which no sentence of the evaluation set needs to exceed.

The cost before a run is a rule of thumb (below); once a run has logged test audio, the time it
really took is in its event file (core.monitor.listening.measured_test_sentences_s).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from core.base.config import SAMPLE_RATE_HZ
from core.trainer.dataset import Dataset
from core.trainer.ready_export import reference_clip

TEST_SENTENCE_COUNT = 2  # enough to hear two texts; each one costs a synthesis per epoch

# Rule of thumb for XTTS v2 (coqui's published speed figures and common reports): speech runs at
# about 15 characters a second; the GPT makes ~21.5 audio tokens per second of speech, one at a
# time, so synthesis takes a fixed share of the speech's length (real-time factor): about 0.3 on a
# recent GPU without DeepSpeed and about 3 on a desktop CPU. Each sentence also computes the
# reference clip's conditioning latents and each epoch sets the GPT up for inference (~1-2 s GPU).
CHARS_PER_SPEECH_S = 15.0
REAL_TIME_FACTOR = {"gpu": 0.3, "cpu": 3.0}
OVERHEAD_PER_SENTENCE_S = {"gpu": 1.0, "cpu": 5.0}


def default_test_sentences_each_epoch(gpu_found: bool) -> bool:
    """The form's default for `test_sentences_each_epoch`: on with a GPU, off on a CPU (the demo)."""
    return gpu_found


@dataclass(frozen=True)
class TestSentence:
    """One entry of coqui's `test_sentences`."""

    __test__ = False  # not a pytest test class, whatever its name

    text: str
    speaker_wav: Path
    language: str

    def to_coqui(self) -> dict:
        return {"text": self.text, "speaker_wav": str(self.speaker_wav), "language": self.language}


def pick_test_sentences(train: Dataset, evalset: Dataset, language: str,
                        count: int = TEST_SENTENCE_COUNT) -> tuple[TestSentence, ...]:
    """The first `count` distinct texts of the evaluation set, in the voice of the reference clip."""
    voice = reference_clip(train)
    texts: list[str] = []
    for clip in evalset.clips:
        if clip.text.strip() and clip.text not in texts:
            texts.append(clip.text)
        if len(texts) == count:
            break
    return tuple(TestSentence(text, voice, language) for text in texts)


@dataclass(frozen=True)
class TestSentencesCost:
    """Time the test sentences add to every epoch, before a run (rule of thumb) or measured in one."""

    __test__ = False

    seconds_per_epoch: float
    speech_s: float  # how long the spoken sentences are, by the same rule
    basis: str  # how the figure was found, in words, for the page to show beside it
    worst_seconds_per_epoch: float | None = None  # every sentence spoken to the cap (a model that cannot stop yet)


def estimate_test_sentences_cost(texts: list[str] | tuple[str, ...], *, on_gpu: bool,
                                  max_speech_s: float) -> TestSentencesCost:
    """Seconds the test sentences add to each epoch, by the rule of thumb above.

    `max_speech_s` is the cap on one sentence (the run's `max_audio_length_s`); `worst_seconds_per_epoch`
    is the cost while the model has not learnt to stop and every sentence runs to it."""
    kind = "gpu" if on_gpu else "cpu"
    speech_s = sum(min(len(t) / CHARS_PER_SPEECH_S, max_speech_s) for t in texts)
    rtf, overhead = REAL_TIME_FACTOR[kind], OVERHEAD_PER_SENTENCE_S[kind]
    where = "a GPU" if on_gpu else "the CPU"
    return TestSentencesCost(speech_s * rtf + overhead * len(texts), speech_s, (
        f"rule of thumb for XTTS v2 on {where}: {len(texts)} sentence(s), about {speech_s:.0f} s of speech, "
        f"synthesised at {rtf:g} x real time plus {overhead:g} s each"),
        worst_seconds_per_epoch=len(texts) * (max_speech_s * rtf + overhead))


def limit_test_speech(model, max_speech_s: float) -> int:
    """Cap the GPT's generation for test sentences at `max_speech_s` of speech; returns the cap in
    audio tokens. Only synthesis reads `max_gen_mel_tokens`: training is unchanged."""
    gpt = model.xtts.gpt
    tokens = max(1, math.ceil(max_speech_s * SAMPLE_RATE_HZ / model.args.gpt_code_stride_len))
    gpt.max_gen_mel_tokens = min(gpt.max_gen_mel_tokens, tokens)
    return gpt.max_gen_mel_tokens
