"""A tiny, randomly initialised multilingual Whisper, converted with CTranslate2 for faster-whisper.

What faster-whisper 1.2 and CTranslate2 4.x need from a model folder (learnt from their source):
- CTranslate2 4.8.5 calls a Whisper model multilingual only when its vocabulary holds an empty
  token "" (read from its WhisperReplica constructor; older releases tested size >= 51865), and
  counts as languages the tokens between <|startoftranscript|> and <|nospeech|>, so the vocabulary
  keeps the real layout: 50257 ordinary tokens, <|endoftext|> (50257), <|startoftranscript|>, one token per language in
  faster_whisper.tokenizer._LANGUAGE_CODES (100, like large-v3), <|translate|>, <|transcribe|>,
  <|startoflm|>, <|startofprev|>, <|nospeech|>, <|notimestamps|>, then the 1501 timestamps
  <|0.00|> ... <|30.00|>: 51866 in all. faster-whisper decodes only ids below <|endoftext|> as text
  and takes the token after <|notimestamps|> as the first timestamp.
- faster-whisper reads tokenizer.json from the model folder (without it, it fetches one from the
  Hub), and preprocessor_config.json for the mel settings (80 bins here).
- The converter takes suppress ids, alignment heads and language ids from generation_config.json.
Ordinary tokens: the 256 byte-level characters (in GPT-2's order, so " " is 220), unreachable
fillers " w256" ... that decode as words (so random output splits into words), and "" last.
"""
from __future__ import annotations

import json
import tempfile
from pathlib import Path

N_ORDINARY = 50257
N_TIMESTAMPS = 1501
SPECIAL_BEFORE_LANGUAGES = ("<|endoftext|>", "<|startoftranscript|>")
SPECIAL_AFTER_LANGUAGES = (
    "<|translate|>", "<|transcribe|>", "<|startoflm|>", "<|startofprev|>", "<|nospeech|>",
    "<|notimestamps|>",
)


def _byte_level_alphabet() -> list[str]:
    """GPT-2's bytes_to_unicode characters, in its vocabulary order (printable bytes first)."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    rest = [b for b in range(256) if b not in printable]
    return [chr(b) for b in printable] + [chr(256 + i) for i in range(len(rest))]


def _tokenizer_json(path: Path) -> dict[str, int]:
    """Writes tokenizer.json; returns the id of every special and timestamp token."""
    from faster_whisper.tokenizer import _LANGUAGE_CODES
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers

    alphabet = _byte_level_alphabet()
    vocab = {token: i for i, token in enumerate(alphabet)}
    vocab.update({f"Ġw{i}": i for i in range(len(alphabet), N_ORDINARY - 1)})
    vocab[""] = N_ORDINARY - 1
    tokenizer = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    specials = [
        *SPECIAL_BEFORE_LANGUAGES,
        *(f"<|{code}|>" for code in _LANGUAGE_CODES),
        *SPECIAL_AFTER_LANGUAGES,
        *(f"<|{i * 0.02:.2f}|>" for i in range(N_TIMESTAMPS)),
    ]
    tokenizer.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in specials])
    tokenizer.save(str(path))
    return {t: tokenizer.token_to_id(t) for t in specials}


def make_tiny_whisper(folder: Path) -> Path:
    """Builds the model in `folder` (about 30 MB, a few seconds on a CPU) and returns it."""
    import ctranslate2
    import torch
    from faster_whisper.tokenizer import _LANGUAGE_CODES
    from transformers import GenerationConfig, WhisperConfig, WhisperForConditionalGeneration

    folder = Path(folder)
    with tempfile.TemporaryDirectory(prefix="tiny-whisper-hf-") as hf_dir:
        hf = Path(hf_dir)
        ids = _tokenizer_json(hf / "tokenizer.json")
        vocab_size = N_ORDINARY + len(ids)
        eot, sot = ids["<|endoftext|>"], ids["<|startoftranscript|>"]
        (hf / "tokenizer_config.json").write_text(json.dumps({
            "tokenizer_class": "PreTrainedTokenizerFast", "bos_token": "<|endoftext|>",
            "eos_token": "<|endoftext|>", "unk_token": "<|endoftext|>", "model_max_length": 448,
        }))
        (hf / "preprocessor_config.json").write_text(json.dumps({
            "feature_size": 80, "sampling_rate": 16000, "hop_length": 160, "chunk_length": 30,
            "n_fft": 400, "n_samples": 480000, "nb_max_frames": 3000,
        }))
        config = WhisperConfig(
            vocab_size=vocab_size, d_model=64, encoder_layers=2, decoder_layers=2,
            encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=128,
            decoder_ffn_dim=128, num_mel_bins=80, max_source_positions=1500,
            max_target_positions=448, pad_token_id=eot, bos_token_id=eot, eos_token_id=eot,
            decoder_start_token_id=sot, suppress_tokens=[], begin_suppress_tokens=[220, eot],
        )
        torch.manual_seed(0)
        WhisperForConditionalGeneration(config).save_pretrained(hf)
        GenerationConfig(
            decoder_start_token_id=sot, bos_token_id=eot, eos_token_id=eot, pad_token_id=eot,
            max_length=448, is_multilingual=True, suppress_tokens=[],
            begin_suppress_tokens=[220, eot], no_timestamps_token_id=ids["<|notimestamps|>"],
            lang_to_id={f"<|{code}|>": ids[f"<|{code}|>"] for code in _LANGUAGE_CODES},
            task_to_id={"transcribe": ids["<|transcribe|>"], "translate": ids["<|translate|>"]},
            alignment_heads=[[1, 0], [1, 1]],  # the last decoder layer's heads, as for real models
        ).save_pretrained(hf)
        converter = ctranslate2.converters.TransformersConverter(
            str(hf), copy_files=["tokenizer.json", "preprocessor_config.json"]
        )
        converter.convert(str(folder), quantization=None, force=True)
    return folder
