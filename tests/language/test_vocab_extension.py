"""Extending a vocab.json to a new language: the gap closes, base ids stay, bad inputs write nothing."""
from __future__ import annotations

import json

import pytest

from core.base.errors import ConfigInvalid
from core.language.normalise import TextRules, normalise
from core.language.vocab_extension import UNK_ID, coverage, extend_vocab

KINDS = ["bpe_vocab", "demo_vocab", "wordlevel_vocab"]
AM = TextRules("am")


@pytest.fixture(params=KINDS)
def base_vocab(request):
    return request.getfixturevalue(request.param)


def test_coverage_shows_the_gap_of_a_base_vocab(base_vocab, amharic_texts):
    found = coverage(base_vocab, amharic_texts, AM)
    assert found.char_share < 0.1 and found.word_share == 0.0 and found.language_token_missing
    assert found.chars_total == sum(len(normalise(AM, t).replace(" ", "")) for t in amharic_texts)
    assert "\u1230" in found.unknown_chars and "." not in found.unknown_chars  # ። became "."


def test_extension_closes_the_gap_and_coqui_counts_the_new_size(base_vocab, amharic_texts, amharic_heldout, tmp_path):
    from TTS.tts.layers.xtts.tokenizer import VoiceBpeTokenizer

    out = tmp_path / "extended.json"
    ext = extend_vocab(base_vocab, amharic_texts, AM, out)
    assert ext.before.char_share < 0.1 and ext.before.language_token_missing
    assert ext.after.char_share >= 0.99 and ext.after.word_share >= 0.99 and not ext.after.language_token_missing
    assert ext.after.unknown_chars == {}
    held_out = coverage(out, amharic_heldout, AM)
    assert held_out.char_share >= 0.99 and held_out.word_share >= 0.99
    tokenizer = VoiceBpeTokenizer(str(out))
    assert ext.new_size == tokenizer.get_number_tokens() == ext.base_size + len(ext.added_tokens)
    assert ext.base_size == VoiceBpeTokenizer(str(base_vocab)).get_number_tokens()
    assert ext.added_tokens[0] == "[am]" and ext.language_token_id == ext.base_size
    assert [tokenizer.tokenizer.token_to_id(t) for t in ext.added_tokens] == list(range(ext.base_size, ext.new_size))
    assert ext.out_path == out


def test_base_ids_and_merges_are_unchanged(base_vocab, amharic_texts, english_sentences, tmp_path):
    from TTS.tts.layers.xtts.tokenizer import VoiceBpeTokenizer

    out = tmp_path / "extended.json"
    extend_vocab(base_vocab, amharic_texts, AM, out)
    base, extended = json.loads(base_vocab.read_text()), json.loads(out.read_text())
    assert extended["model"]["vocab"].items() >= base["model"]["vocab"].items()
    if "merges" in base["model"]:
        assert extended["model"]["merges"][:len(base["model"]["merges"])] == base["model"]["merges"]
    before, after = VoiceBpeTokenizer(str(base_vocab)), VoiceBpeTokenizer(str(out))
    for sentence in english_sentences:
        assert after.encode(sentence, "en") == before.encode(sentence, "en")


def test_bpe_learns_merges_within_the_budget(bpe_vocab, amharic_texts, tmp_path):
    roomy = extend_vocab(bpe_vocab, amharic_texts, AM, tmp_path / "roomy.json")
    chars = [t for t in roomy.added_tokens[1:] if len(t) == 1]
    merges = roomy.added_tokens[1 + len(chars):]
    assert merges and all(len(t) > 1 for t in merges)  # single characters first, then merges
    tight = extend_vocab(bpe_vocab, amharic_texts, AM, tmp_path / "tight.json", max_new_tokens=len(chars) + 10)
    assert len(tight.added_tokens) == 1 + len(chars) + 10
    none_left = extend_vocab(bpe_vocab, amharic_texts, AM, tmp_path / "chars.json", max_new_tokens=5)
    assert len(none_left.added_tokens) == 1 + len(chars) and none_left.after.char_share == 1.0


def test_older_string_merges_stay_strings(bpe_vocab, amharic_texts, english_sentences, tmp_path):
    """XTTS v2's own vocab.json writes merges as "a b"; tokenizers 0.20+ writes ["a", "b"]."""
    from TTS.tts.layers.xtts.tokenizer import VoiceBpeTokenizer

    data = json.loads(bpe_vocab.read_text())
    data["model"]["merges"] = [" ".join(pair) for pair in data["model"]["merges"]]
    old_style = tmp_path / "vocab.json"
    old_style.write_text(json.dumps(data), encoding="utf-8")
    extend_vocab(old_style, amharic_texts, AM, tmp_path / "extended.json")
    merges = json.loads((tmp_path / "extended.json").read_text())["model"]["merges"]
    assert all(isinstance(m, str) for m in merges) and len(merges) > len(data["model"]["merges"])
    before, after = VoiceBpeTokenizer(str(old_style)), VoiceBpeTokenizer(str(tmp_path / "extended.json"))
    assert all(after.encode(s, "en") == before.encode(s, "en") for s in english_sentences[:30])


def test_romanised_text_needs_only_the_language_token(demo_vocab, amharic_texts, tmp_path):
    rules = TextRules("am", "uroman")
    ext = extend_vocab(demo_vocab, amharic_texts[:30], rules, tmp_path / "extended.json")
    assert ext.before.char_share >= 0.99 and ext.before.language_token_missing
    assert all(token.isascii() for token in ext.added_tokens) and ext.after.char_share == 1.0


@pytest.mark.parametrize("texts", [[], ["", "   ", "\u1361 \u200b"]])
def test_no_text_to_learn_from_is_refused(bpe_vocab, texts, tmp_path):
    with pytest.raises(ConfigInvalid, match="no text to learn from") as caught:
        extend_vocab(bpe_vocab, texts, AM, tmp_path / "out.json")
    assert caught.value.errors[0].field == "train_csv" and not (tmp_path / "out.json").exists()


def test_a_file_that_is_no_xtts_vocab_is_refused(bpe_vocab, amharic_texts, tmp_path):
    data = json.loads(bpe_vocab.read_text())
    swapped = json.loads(bpe_vocab.read_text())
    vocab = swapped["model"]["vocab"]
    vocab["[STOP]"], vocab["[UNK]"] = vocab["[UNK]"], vocab["[STOP]"]
    for token in swapped["added_tokens"]:
        token["id"] = vocab[token["content"]]
    unigram = dict(data, model={"type": "Unigram", "vocab": [["a", 0.0]]})
    cases = {"text.json": "hello", "list.json": "[1, 2]", "nomodel.json": json.dumps({"version": "1.0"}),
             "unigram.json": json.dumps(unigram), "swapped.json": json.dumps(swapped)}
    for name, content in cases.items():
        (tmp_path / name).write_text(content, encoding="utf-8")
    messages = {}
    for name in [*cases, "missing.json"]:
        with pytest.raises(ConfigInvalid) as caught:
            extend_vocab(tmp_path / name, amharic_texts, AM, tmp_path / "out.json")
        assert caught.value.errors[0].field == "vocab_path", name
        messages[name] = caught.value.errors[0].message
        with pytest.raises(ConfigInvalid):
            coverage(tmp_path / name, amharic_texts, AM)
    assert "[STOP] at id 0 and [UNK] at id 1" in messages["swapped.json"]
    assert "BPE or WordLevel" in messages["unigram.json"] and "does not exist" in messages["missing.json"]
    assert not (tmp_path / "out.json").exists()


def test_the_base_file_is_never_overwritten(bpe_vocab, amharic_texts, tmp_path):
    original = bpe_vocab.read_bytes()
    link = tmp_path / "link.json"
    link.hardlink_to(bpe_vocab)
    for target in (bpe_vocab, link, bpe_vocab.parent / "." / bpe_vocab.name):
        with pytest.raises(ConfigInvalid, match="overwrite the base") as caught:
            extend_vocab(bpe_vocab, amharic_texts, AM, target)
        assert caught.value.errors[0].field == "vocab_path"
    assert bpe_vocab.read_bytes() == original
