"""Test sentences: coqui's character limits, the built-in lists, and the user's edits kept per language."""
from __future__ import annotations

import pytest

from core.base.languages import XTTS_LANGUAGES
from core.listen.sentence_defaults import DEFAULT_SENTENCES
from core.listen.sentences import (CHAR_LIMITS, SentenceInvalid, char_limit, check_sentences, default_test_sentences,
                                   load_test_sentences, reset_test_sentences, save_test_sentences)
from core.base.workspace import Workspace


def test_the_character_limits_are_coquis_own():
    from TTS.tts.layers.xtts.tokenizer import VoiceBpeTokenizer

    assert CHAR_LIMITS == VoiceBpeTokenizer().char_limits
    assert char_limit("pt-br") == 203 and char_limit("zh-cn") == 82 and char_limit("am") == 250


def test_every_xtts_language_has_a_short_a_long_a_question_and_numbers_within_its_limit():
    assert set(DEFAULT_SENTENCES) == set(XTTS_LANGUAGES)
    for language in XTTS_LANGUAGES:
        short, long, question, numbers = default_test_sentences(language)
        assert check_sentences((short, long, question, numbers), language)
        assert len(short) < len(question) < len(long) and len(long) > char_limit(language) / 2, language
        assert question.rstrip()[-1] in "?？؟" and any(c.isdigit() for c in numbers), language
    assert default_test_sentences("am") == ()  # a new language: the user's own, in its own script


def test_edited_sentences_are_kept_per_language_and_can_be_reset(tmp_path):
    ws = Workspace.at(tmp_path / "ws")
    assert load_test_sentences(ws, "en") == default_test_sentences("en")
    assert save_test_sentences(ws, "en", ["  One.  ", "Two?"]) == ("One.", "Two?")
    save_test_sentences(ws, "am", ["ሰላም ነው?"])
    fresh = Workspace(root=ws.root)  # another dashboard process reads the same file
    assert load_test_sentences(fresh, "en") == ("One.", "Two?") and load_test_sentences(fresh, "am") == ("ሰላም ነው?",)
    with pytest.raises(SentenceInvalid, match="sentence 1: is empty"):
        save_test_sentences(ws, "en", [""])
    with pytest.raises(SentenceInvalid, match="add at least one sentence"):
        save_test_sentences(ws, "en", [])
    assert load_test_sentences(ws, "en") == ("One.", "Two?")  # a refused edit leaves the saved list alone
    assert reset_test_sentences(ws, "en") == default_test_sentences("en") == load_test_sentences(ws, "en")
    assert load_test_sentences(ws, "am") == ("ሰላም ነው?",)
