"""coqui-tts 0.28.0's XTTS generation on the transformers installed beside it: one renamed keyword.

transformers 5.2x renamed the generation cache's keyword from `past_key_values` to `cache` (the old
name is deprecated until 5.40). `generate()` now hands `cache=` to the model's forward, but coqui's
`GPT2InferenceModel.forward` reads only `past_key_values`: from the second generated audio token on
it finds None and fails with "'NoneType' object has no attribute 'get_seq_length'". Training never
generates, so only inference meets it: Xtts.inference, and GPTTrainer.test_run through it
(requirements.txt does not pin transformers; coqui-tts asks for >= 4.57 only).

`patch_gpt_inference_cache` wraps that forward in this process only (site-packages is never edited),
handing `cache` on as `past_key_values`. GPT2Model still takes that name and fills the same cache
object in place, the one generate() keeps between steps: with the wrapper, kv-cached generation gives
the samples of uncached generation bit for bit (tests/listen/test_loader.py). On a transformers that
still passes `past_key_values`, nothing is changed.
"""
from __future__ import annotations

import functools
import inspect
import threading

_lock = threading.Lock()


def needs_cache_keyword_shim() -> bool:
    """True when transformers' GPT2 takes its cache as `cache=` (the renamed keyword)."""
    from transformers.models.gpt2.modeling_gpt2 import GPT2Model

    return "cache" in inspect.signature(GPT2Model.forward).parameters


def patch_gpt_inference_cache() -> bool:
    """Make coqui's GPT2InferenceModel accept `cache=` (idempotent); True when the wrapper is in place.

    Call it in any process that synthesises (the training process with test sentences, the
    synthesis job) before the first generation."""
    from TTS.tts.layers.xtts.gpt_inference import GPT2InferenceModel

    with _lock:
        if getattr(GPT2InferenceModel.forward, "_core_cache_shim", False):
            return True
        if not needs_cache_keyword_shim():
            return False
        original = GPT2InferenceModel.forward

        @functools.wraps(original)
        def forward(self, *args, cache=None, past_key_values=None, **kwargs):
            return original(self, *args, past_key_values=past_key_values if past_key_values is not None else cache,
                            **kwargs)

        forward._core_cache_shim = True
        GPT2InferenceModel.forward = forward
        return True
