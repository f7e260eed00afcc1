"""How much of a text a vocab.json can encode, and the same vocab.json extended to a new language.

The extension appends and never renumbers: every base token keeps its id and every base merge its
rank, so the GPT's learned text embedding rows still mean what they meant (core.trainer.vocabulary
only adds rows at the end), and a sentence in a base language encodes to the same ids as before.
Works on both kinds of vocab.json in use: XTTS v2's BPE model (merges) and single-character
vocabularies (BPE without merges, as the demo writes, or WordLevel).
"""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from core.base.atomic_io import write_json_atomic
from core.base.errors import ConfigInvalid, FieldError
from core.base.languages import language_token
from core.language.normalise import TextRules, normalise

STOP_ID, UNK_ID = 0, 1  # XTTS stops on id 0; XTTSDataset refuses any text holding id 1
SUPPORTED_MODELS = ("BPE", "WordLevel")
MIN_PAIR_FREQUENCY = 2  # a pair seen once teaches the model nothing it could reuse


@dataclass(frozen=True)
class Coverage:
    chars_total: int
    chars_known: int
    words_total: int
    words_known: int
    unknown_chars: dict[str, int]  # character (after the text rules) -> occurrences
    language_token_missing: bool  # no "[lang]": coqui would spell "[am]" out of other tokens

    @property
    def char_share(self) -> float:
        return self.chars_known / self.chars_total if self.chars_total else 1.0

    @property
    def word_share(self) -> float:
        return self.words_known / self.words_total if self.words_total else 1.0


@dataclass(frozen=True)
class Extension:
    base_size: int  # text tokens of the base GPT (max id + 1)
    new_size: int  # what gpt_number_text_tokens must be with the extended vocab
    added_tokens: tuple[str, ...]  # in id order, from base_size on
    language_token_id: int
    before: Coverage
    after: Coverage
    out_path: Path


def coverage(vocab_path: str | Path, texts: list[str], rules: TextRules) -> Coverage:
    """Characters and words of `texts` (after the text rules) that `vocab_path` encodes without [UNK]."""
    tokenizer = _load_tokenizer(_read_vocab(Path(vocab_path)))
    return _coverage(tokenizer, [normalise(rules, t) for t in texts], language_token(rules.language))


def extend_vocab(base_vocab_path: str | Path, texts: list[str], rules: TextRules, out_path: str | Path, *,
                 max_new_tokens: int = 1000) -> Extension:
    """Write `base_vocab_path` plus the characters, merges and `[lang]` token `texts` need to `out_path`.

    Every new character is added even past `max_new_tokens` (one left out would be [UNK], which the
    trainer refuses); merges fill the rest of the budget, most frequent first.
    """
    base_vocab_path, out_path = Path(base_vocab_path), Path(out_path)
    if out_path.resolve() == base_vocab_path.resolve() or (out_path.exists() and out_path.samefile(base_vocab_path)):
        raise ConfigInvalid([FieldError("vocab_path", (
            f"the extended vocabulary would overwrite the base {base_vocab_path.name}; write it to another file"))])
    data = _read_vocab(base_vocab_path)
    normalised = [normalise(rules, t) for t in texts]
    words = [w for text in normalised for w in text.split(" ") if w]
    if not words:
        raise ConfigInvalid([FieldError("train_csv", "the transcripts hold no text to learn from; "
                                                     "add transcribed clips")])
    base_tokenizer = _load_tokenizer(data)
    lang_token = language_token(rules.language)
    base_ids = dict(data["model"]["vocab"])
    base_size = max([*base_ids.values(), *(t["id"] for t in data.get("added_tokens") or [])]) + 1
    added = _append_tokens(data, base_tokenizer, words, lang_token, base_size, max_new_tokens)

    extended = _load_tokenizer(data)  # the JSON we built must load and keep every base id
    if any(extended.token_to_id(token) != i for token, i in base_ids.items()):
        raise RuntimeError("extending the vocabulary renumbered a base token")  # a bug here, not the user's input
    from TTS.tts.layers.xtts.tokenizer import VoiceBpeTokenizer

    counted = VoiceBpeTokenizer()
    counted.tokenizer = extended
    new_size = counted.get_number_tokens()  # coqui's own count: what its GPT's text embedding is built with
    if new_size != base_size + len(added):
        raise RuntimeError(f"coqui counts {new_size} text tokens, expected {base_size + len(added)}")
    write_json_atomic(out_path, data)
    return Extension(base_size, new_size, tuple(added), extended.token_to_id(lang_token),
                     before=_coverage(base_tokenizer, normalised, lang_token),
                     after=_coverage(extended, normalised, lang_token), out_path=out_path)


def _append_tokens(data: dict, base_tokenizer, words: list[str], lang_token: str, base_size: int,
                   max_new_tokens: int) -> list[str]:
    """Add `[lang]`, the new characters and (BPE) the new merges to `data`, with ids from `base_size` on."""
    model = data["model"]
    vocab: dict[str, int] = model["vocab"]
    added: list[str] = []
    # "[lang]" first: its id then does not depend on how many merges this dataset happens to yield.
    if base_tokenizer.token_to_id(lang_token) is None:
        added.append(lang_token)
        data["added_tokens"] = [*(data.get("added_tokens") or []), {
            "id": base_size, "content": lang_token, "single_word": False, "lstrip": False,
            "rstrip": False, "normalized": False, "special": True}]
    new_chars = sorted({ch for w in words for ch in w} - set(vocab))
    added += new_chars
    if model["type"] == "BPE":
        budget = max(0, max_new_tokens - len(new_chars))
        merges = _new_merges(base_tokenizer, model, words, budget, taken=set(vocab) | set(added))
        added += ["".join(pair) for pair in merges]
        old = model.get("merges") or []
        as_strings = bool(old) and isinstance(old[0], str)  # "a b" (older files) or ["a", "b"] (tokenizers 0.20+)
        model["merges"] = [*old, *(" ".join(p) if as_strings else list(p) for p in merges)]
    for offset, token in enumerate(added):
        vocab[token] = base_size + offset
    return added


def _new_merges(base_tokenizer, model: dict, words: list[str], budget: int, *,
                taken: set[str]) -> list[tuple[str, str]]:
    """Merges learned on `words` that can never fire on text the base vocabulary encodes.

    A merge of two base tokens would also join them inside an English word and change its ids, so
    only merges with a part holding a new character are kept (and merges built on a dropped one).
    """
    if budget == 0:
        return []
    from tokenizers import Tokenizer, models, trainers

    base_vocab = model["vocab"]
    # Same subword markers as the base (XTTS v2 has none); tokenizers refuses None for them.
    markers = {k: model[k] for k in ("continuing_subword_prefix", "end_of_word_suffix") if model.get(k)}
    trainer_tokenizer = Tokenizer(models.BPE(unk_token="[UNK]", **markers))
    if base_tokenizer.pre_tokenizer is not None:
        trainer_tokenizer.pre_tokenizer = base_tokenizer.pre_tokenizer  # the same word boundaries as at encode time
    alphabet = {ch for w in words for ch in w}
    # Ask for more than the budget: the merges of base tokens are learned too and then dropped.
    trainer = trainers.BpeTrainer(vocab_size=len(alphabet) + 3 * budget, min_frequency=MIN_PAIR_FREQUENCY,
                                  show_progress=False, **markers)
    trainer_tokenizer.train_from_iterator(words, trainer)
    learned = json.loads(trainer_tokenizer.to_str())["model"]["merges"]
    available = set(base_vocab) | alphabet
    kept: list[tuple[str, str]] = []
    for entry in learned:
        left, right = entry.split(" ") if isinstance(entry, str) else entry
        merged = left + right
        if left not in available or right not in available or merged in taken:
            continue
        if left in base_vocab and right in base_vocab:
            continue
        kept.append((left, right))
        available.add(merged)
        if len(kept) == budget:
            break
    return kept


def _coverage(tokenizer, normalised: list[str], lang_token: str) -> Coverage:
    chars, words = Counter(), Counter()
    for text in normalised:
        for word in text.split(" "):
            if word:
                words[word] += 1
                chars.update(word)
    # The text as coqui's encode() hands it to the tokenizer: spaces become [SPACE], so each word alone.
    unknown_chars = {ch: n for ch, n in chars.items() if UNK_ID in tokenizer.encode(ch).ids}
    words_known = sum(n for w, n in words.items() if UNK_ID not in tokenizer.encode(w).ids)
    chars_total = sum(chars.values())
    most_first = dict(sorted(unknown_chars.items(), key=lambda kv: -kv[1]))
    return Coverage(chars_total, chars_total - sum(unknown_chars.values()), sum(words.values()), words_known,
                    most_first, tokenizer.token_to_id(lang_token) is None)


def _read_vocab(path: Path) -> dict:
    def refuse(why: str) -> ConfigInvalid:
        return ConfigInvalid([FieldError("vocab_path", f"{path.name} {why}; "
                                                       "use the vocab.json that came with the base model")])

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise refuse("does not exist") from None
    except (OSError, ValueError) as exc:
        raise refuse(f"is not a readable JSON file ({exc})") from None
    model = data.get("model") if isinstance(data, dict) else None
    if (not isinstance(model, dict) or model.get("type") not in SUPPORTED_MODELS
            or not isinstance(model.get("vocab"), dict)):
        raise refuse("is not a tokenizers vocabulary with a BPE or WordLevel model")
    ids = dict(model["vocab"])
    ids.update({t.get("content"): t.get("id") for t in data.get("added_tokens") or [] if isinstance(t, dict)})
    if ids.get("[STOP]") != STOP_ID or ids.get("[UNK]") != UNK_ID:
        raise refuse(f"does not have [STOP] at id {STOP_ID} and [UNK] at id {UNK_ID}, as XTTS requires")
    _load_tokenizer(data, refuse)
    return data


def _load_tokenizer(data: dict, refuse=None):
    from tokenizers import Tokenizer

    try:
        return Tokenizer.from_str(json.dumps(data))
    except Exception as exc:  # tokenizers raises its own exception type for a malformed file
        if refuse is None:
            raise
        raise refuse(f"does not load as a tokenizer ({exc})") from None
