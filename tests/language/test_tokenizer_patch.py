"""coqui's VoiceBpeTokenizer with our text rules installed: the new language encodes, the others do not change."""
from __future__ import annotations

import pytest

from core.base.errors import ConfigInvalid
from core.language.normalise import TextRules
from core.language.tokenizer_patch import install_text_rules, installed_rules, uninstall_text_rules
from core.language.vocab_extension import UNK_ID

TABLE = "\u1230\tse\n\u120b\tla\n\u121d\tm\n"


@pytest.fixture(autouse=True)
def coquis_own_tokenizer():
    uninstall_text_rules()
    yield
    uninstall_text_rules()


@pytest.fixture(scope="module")
def VoiceBpeTokenizer():
    from TTS.tts.layers.xtts.tokenizer import VoiceBpeTokenizer

    return VoiceBpeTokenizer


def test_the_new_language_raises_before_and_encodes_without_unk_after(VoiceBpeTokenizer, extended_bpe_vocab, amharic_heldout):
    tokenizer = VoiceBpeTokenizer(str(extended_bpe_vocab))
    with pytest.raises(NotImplementedError):
        tokenizer.encode(amharic_heldout[0], "am")
    install_text_rules(TextRules("am"))
    am_id = tokenizer.tokenizer.token_to_id("[am]")
    for sentence in amharic_heldout:
        ids = tokenizer.encode(sentence, "am")
        assert ids[0] == am_id and UNK_ID not in ids
    assert tokenizer.encode(amharic_heldout[0], "am-et") == tokenizer.encode(amharic_heldout[0], "am")
    assert installed_rules().language == "am"


def test_known_languages_are_untouched(VoiceBpeTokenizer, bpe_vocab, english_sentences):
    tokenizer = VoiceBpeTokenizer(str(bpe_vocab))
    before = [tokenizer.encode(s, "en") for s in english_sentences[:20]]
    install_text_rules(TextRules("am"))
    assert [tokenizer.encode(s, "en") for s in english_sentences[:20]] == before
    with pytest.raises(NotImplementedError):
        tokenizer.preprocess_text("x", "yo")  # only the installed language gets rules


def test_installing_twice_keeps_one_wrapper_and_new_rules_replace_old(VoiceBpeTokenizer, tmp_path):
    original = VoiceBpeTokenizer.preprocess_text
    install_text_rules(TextRules("am"))
    wrapper = VoiceBpeTokenizer.preprocess_text
    install_text_rules(TextRules("am"))
    assert VoiceBpeTokenizer.preprocess_text is wrapper and wrapper.__wrapped__ is original
    table = tmp_path / "am.tsv"
    table.write_text(TABLE, encoding="utf-8")
    install_text_rules(TextRules("am", str(table)))
    assert VoiceBpeTokenizer.preprocess_text is wrapper
    assert VoiceBpeTokenizer().preprocess_text("\u1230\u120b\u121d\u1362", "am") == "selam."
    assert installed_rules().romanize == str(table) and installed_rules().mapping is not None
    install_text_rules(TextRules("ti"))
    with pytest.raises(NotImplementedError):
        VoiceBpeTokenizer().preprocess_text("\u1230", "am")
    uninstall_text_rules()
    assert VoiceBpeTokenizer.preprocess_text is original and installed_rules() is None


def test_the_new_language_gets_coquis_default_char_limit(VoiceBpeTokenizer, extended_bpe_vocab):
    install_text_rules(TextRules("am"))
    limits = VoiceBpeTokenizer(str(extended_bpe_vocab)).char_limits
    assert limits["am"] == 250 and limits["en"] == 250 and limits["zh"] == 82


def test_bad_rules_are_refused_before_anything_is_patched(VoiceBpeTokenizer, tmp_path):
    original = VoiceBpeTokenizer.preprocess_text
    for rules in (TextRules("en"), TextRules("am", str(tmp_path / "gone.tsv")), TextRules("xx")):
        with pytest.raises(ConfigInvalid):
            install_text_rules(rules)
    assert VoiceBpeTokenizer.preprocess_text is original and installed_rules() is None
