"""The inference loader on real demo checkpoints: mapped weights only, coqui's generation, refused vocabularies."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from core.language.normalise import TextRules, rules_to_json
from core.language.tokenizer_patch import installed_rules
from core.listen.fingerprint import CheckpointUnusable
from core.listen.loader import inference_weights, install_rules, load_for_inference
from core.listen.model_files import model_files
from core.listen.sampling import SamplingSettings
from core.listen.synthesis_job import conditioning, synthesise
from core.trainer.ready_export import TEXT_RULES_NAME


def _mapped_ranges(path: Path) -> list[tuple[int, int]]:
    ranges = []
    for line in Path("/proc/self/maps").read_text().splitlines():
        parts = line.split(maxsplit=5)
        if len(parts) == 6 and parts[5] == str(path):
            low, high = (int(x, 16) for x in parts[0].split("-"))
            ranges.append((low, high))
    return ranges


def test_parameters_are_the_files_mapped_pages_and_cached_generation_matches_uncached(demo_run):
    best = (demo_run.run_folder / "best_model.pth").resolve()
    loaded = load_for_inference(model_files(demo_run.ws, best), "en")
    ranges = _mapped_ranges(best)
    params = [p for p in loaded.model.parameters() if p.numel()]
    # No parameter was copied into memory of its own: each one lies in the mapped checkpoint.
    assert ranges and all(any(lo <= p.data_ptr() < hi for lo, hi in ranges) for p in params)
    assert loaded.inference_bytes >= sum(p.numel() * p.element_size() for p in params)  # + persistent buffers
    assert loaded.inference_bytes < best.stat().st_size / 3  # DVAE and optimizer state were never taken

    model = loaded.model
    latents = conditioning(model, (str(Path(demo_run.config.output_path) / "ready" / "reference.wav"),))
    settings = SamplingSettings(max_audio_tokens=16)
    first = synthesise(model, "Hello there.", "en", latents, settings)
    again = synthesise(model, "Hello there.", "en", latents, settings)
    assert first.size > 0 and np.isfinite(first).all() and np.array_equal(first, again)  # one seed, one sample
    import torch

    # transformers hands generate's cache over as `cache=` now; coqui's forward needs it as past_key_values
    # (core.trainer.inference_compat). Generation without any cache must give the very same samples.
    torch.manual_seed(settings.seed)
    model.gpt.max_gen_mel_tokens = 16
    uncached = model.inference("Hello there.", "en", *latents, temperature=settings.temperature,
                               repetition_penalty=settings.repetition_penalty, top_k=settings.top_k,
                               top_p=settings.top_p, length_penalty=settings.length_penalty, use_cache=False)["wav"]
    assert np.array_equal(first, uncached)


def test_inference_weights_are_coquis_keys_without_the_dvae_and_mel_front_ends():
    state = {"xtts.gpt.a": 1, "xtts.hifigan_decoder.b": 2, "xtts.mel_stats": 3, "dvae.codebook": 4,
             "torch_mel_spectrogram_dvae.mel_stft.window": 5, "gpt.c": 6}
    assert inference_weights(state) == {"gpt.a": 1, "hifigan_decoder.b": 2, "mel_stats": 3, "gpt.c": 6}


def test_a_vocabulary_that_does_not_fit_the_weights_is_refused_with_both_sizes(demo_run, tmp_path):
    custom = tmp_path / "custom"
    custom.mkdir()
    model = custom / "mine.pth"
    os.link(demo_run.run_folder / "checkpoint_200.pth", model)  # the same file under a custom model's name
    vocab = json.loads((Path(demo_run.config.base_model_dir) / "vocab.json").read_text())
    vocab["model"]["vocab"]["zz"] = max(vocab["model"]["vocab"].values()) + 1
    (custom / "mine.vocab.json").write_text(json.dumps(vocab))
    files = model_files(demo_run.ws, model)
    assert files.config_json is None and files.vocab_json == custom / "mine.vocab.json"
    with pytest.raises(CheckpointUnusable, match="trained with 37 text tokens but its vocabulary has 38"):
        load_for_inference(files, "en")


def test_a_new_languages_ready_bundle_speaks_through_its_own_text_rules(demo_run, tmp_path):
    """A bundle for Amharic ('am', unknown to coqui): its text_rules.json, its [am] token, its language."""
    source, ready = Path(demo_run.config.output_path) / "ready", tmp_path / "out" / "ready"
    ready.mkdir(parents=True)
    os.link(source / "unoptimize_model.pth", ready / "unoptimize_model.pth")
    shutil.copyfile(source / "reference.wav", ready / "reference.wav")
    config = json.loads((source / "config.json").read_text())
    (ready / "config.json").write_text(json.dumps({**config, "languages": ["am"]}))
    # The demo's 37 tokens with [en] renamed [am]: the same size, so the demo's weights fit.
    vocab = json.loads((source / "vocab.json").read_text())
    vocab["model"]["vocab"]["[am]"] = vocab["model"]["vocab"].pop("[en]")
    for token in vocab["added_tokens"]:
        token["content"] = "[am]" if token["content"] == "[en]" else token["content"]
    (ready / "vocab.json").write_text(json.dumps(vocab))
    (ready / TEXT_RULES_NAME).write_text(json.dumps(rules_to_json(TextRules("am"))))

    files = model_files(demo_run.ws, ready / "unoptimize_model.pth")
    assert files.rules is not None and files.rules.language == "am" and files.languages == ("am",)
    loaded = load_for_inference(files, "am")
    try:
        tokenizer = loaded.model.tokenizer
        assert installed_rules().language == "am" and tokenizer.char_limits["am"] == 250
        ids = tokenizer.encode("Selam, dehna neh\u1367", "am")  # Ethiopic question mark
        assert ids[0] == vocab["model"]["vocab"]["[am]"] and ids == tokenizer.encode("selam, dehna neh?", "am")
        latents = conditioning(loaded.model, (str(ready / "reference.wav"),))
        wav = synthesise(loaded.model, "Selam, dehna neh?", "am", latents, SamplingSettings(max_audio_tokens=8))
        assert wav.size > 0 and np.isfinite(wav).all()
    finally:
        install_rules(None)  # coqui's own rules again for the rest of the session
