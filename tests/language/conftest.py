"""Fixtures for the new-language tests: Amharic-like text made locally and three small vocab.json kinds.

The text is built from the Ethiopic syllables U+1200-U+135A and Ethiopic punctuation, from a fixed
seed, so every run sees the same sentences (no dataset download). The vocabularies mirror what the
extension meets in practice: XTTS v2's BPE-with-merges file, the demo's single-character file, and
a WordLevel one.
"""
from __future__ import annotations

import json
import random
import unicodedata
from pathlib import Path

import pytest

SYLLABLES = [chr(c) for c in range(0x1200, 0x135B) if unicodedata.category(chr(c)) == "Lo"]
ENGLISH = ("the quick brown fox jumps over a lazy dog while seven small birds sing softly near old river "
           "stones and bright yellow flowers in the morning light there is nothing better than this").split()
SPECIAL_TOKENS = ["[STOP]", "[UNK]", "[SPACE]", "[en]"]


def amharic_lexicon() -> list[str]:
    """Words of 2-4 syllables; together they use every syllable, so held-out text has no new character."""
    rng = random.Random(7)
    shuffled = SYLLABLES[:]
    rng.shuffle(shuffled)
    words = ["".join(shuffled[i:i + 3]) for i in range(0, len(shuffled), 3)]
    common = shuffled[:25]  # a few syllables recur often, so BPE has pairs worth merging
    words += ["".join(rng.choice(common) for _ in range(rng.randint(2, 4))) for _ in range(80)]
    return words


def amharic_sentences(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    lexicon = amharic_lexicon()
    sentences, order = [], iter(lexicon)
    for _ in range(count):
        words = [next(order, None) or rng.choice(lexicon[-80:] * 3 + lexicon) for _ in range(rng.randint(3, 7))]
        if len(words) > 3 and rng.random() < 0.4:
            words[1] += "\u1363"  # ፣ comma
        separator = "\u1361" if rng.random() < 0.1 else " "  # ፡ the traditional word space
        sentences.append(separator.join(words) + rng.choice(["\u1362", "\u1362", "\u1367"]))  # ። or ፧
    return sentences


@pytest.fixture(scope="session")
def amharic_texts() -> list[str]:
    return amharic_sentences(300, seed=0)


@pytest.fixture(scope="session")
def amharic_heldout() -> list[str]:
    return amharic_sentences(40, seed=1)


@pytest.fixture(scope="session")
def english_sentences() -> list[str]:
    rng = random.Random(3)
    return [" ".join(rng.choice(ENGLISH) for _ in range(rng.randint(4, 9))) + "." for _ in range(200)]


@pytest.fixture(scope="session")
def bpe_vocab(tmp_path_factory, english_sentences) -> Path:
    """A small vocab.json shaped like XTTS v2's: special tokens 0-3, Whitespace pre-tokenizer, BPE merges."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE(unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    trainer = trainers.BpeTrainer(vocab_size=200, special_tokens=SPECIAL_TOKENS, show_progress=False)
    tokenizer.train_from_iterator(english_sentences + ["0123456789 ,;:?!'\"-()"], trainer)
    path = tmp_path_factory.mktemp("bpe") / "vocab.json"
    tokenizer.save(str(path))
    assert json.loads(path.read_text())["model"]["merges"], "the BPE case needs base merges"
    return path


@pytest.fixture(scope="session")
def demo_vocab(tmp_path_factory) -> Path:
    from core.trainer.demo import ensure_demo

    return ensure_demo(tmp_path_factory.mktemp("demo")).base_dir / "vocab.json"


@pytest.fixture(scope="session")
def wordlevel_vocab(tmp_path_factory) -> Path:
    """One token per character, split by a character pre-tokenizer."""
    from tokenizers import Regex, Tokenizer, models, pre_tokenizers

    chars = "abcdefghijklmnopqrstuvwxyz'.,?!-"
    vocab = {tok: i for i, tok in enumerate(SPECIAL_TOKENS + list(chars))}
    tokenizer = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Split(Regex("."), behavior="isolated")
    tokenizer.add_special_tokens(SPECIAL_TOKENS)
    path = tmp_path_factory.mktemp("wordlevel") / "vocab.json"
    tokenizer.save(str(path))
    return path


@pytest.fixture(scope="session")
def extended_bpe_vocab(tmp_path_factory, bpe_vocab, amharic_texts) -> Path:
    from core.language.normalise import TextRules
    from core.language.vocab_extension import extend_vocab

    out = tmp_path_factory.mktemp("extended") / "vocab.json"
    extend_vocab(bpe_vocab, amharic_texts, TextRules("am"), out)
    return out
