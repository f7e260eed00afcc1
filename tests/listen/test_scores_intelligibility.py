"""Character error rate: the normalisation and edit distance, and a known clip through the locally made Whisper."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from core.dataset.transcribe import WhisperUnavailable, whisper_models_dir
from core.language.normalise import TextRules
from core.listen.intelligibility import (CharacterErrors, IntelligibilityScorer, character_error_rate,
                                         character_errors, find_whisper_model, levenshtein, normalise_for_cer)
from tests.dataset.speech import SENTENCES, speak
from tests.dataset.tiny_whisper import make_tiny_whisper


@pytest.fixture(scope="module")
def tiny_whisper(tmp_path_factory) -> Path:
    """The tiny random Whisper, built once per session for every listen test (kept: "tiny-whisper" prefix)."""
    folder = tmp_path_factory.getbasetemp() / "tiny-whisper-listen" / "model"
    if not (folder / "model.bin").is_file():
        folder.parent.mkdir(parents=True, exist_ok=True)
        make_tiny_whisper(folder)
    return folder


def _place(model: Path, models_dir: Path, size: str) -> Path:
    folder = whisper_models_dir(models_dir) / size
    shutil.copytree(model, folder)
    return folder


def test_normalisation_drops_case_punctuation_and_extra_space():
    assert normalise_for_cer("  Hello, World!\n It's\tme... ") == "hello world its me"
    assert normalise_for_cer("well-known \u201cquotes\u201d \u2014 and 100%") == "well known quotes and 100"
    assert normalise_for_cer("\u00c7a va? Stra\u00dfe") == "\u00e7a va stra\u00dfe"


def test_levenshtein():
    assert levenshtein("kitten", "sitting") == levenshtein("sitting", "kitten") == 3
    assert levenshtein("", "abc") == levenshtein("abc", "") == 3
    assert levenshtein("same", "same") == 0


def test_cer_counts_edits_per_reference_character_after_normalising():
    assert character_error_rate("The quick brown fox.", "the quick brown fox") == 0.0
    assert character_errors("the quick brown fox", "the quik brown fox") == CharacterErrors(1, 19)
    assert character_error_rate("the quick brown fox", "the quik brown fox") == pytest.approx(1 / 19)
    assert character_error_rate("abc", "") == 1.0
    assert character_error_rate("abc", "abc abc abc") > 1.0  # babbling on costs more than silence
    assert character_error_rate("", "") == 0.0 and character_error_rate("...", "uh") == 1.0


def test_a_new_language_meets_its_transcript_through_the_runs_text_rules():
    rules = TextRules("am", mapping=(("\u1230", "se"), ("\u120b", "la"), ("\u121d", "m")))
    assert character_error_rate("\u1230\u120b\u121d\u1362", "Selam.", rules) == 0.0
    assert character_error_rate("\u1230\u120b\u121d", "Selam.") == 5 / 3  # without the rules: nothing in common


def test_no_whisper_model_says_where_to_put_one(tmp_path):
    models = tmp_path / "models"
    expected = f"no Whisper model: put one in {models / 'whisper' / 'small'} (see the Dataset page)"
    with pytest.raises(WhisperUnavailable) as caught:
        find_whisper_model(models, "small")
    assert str(caught.value) == expected
    scorer = IntelligibilityScorer.open(models, size="small")
    assert not scorer.available
    result = scorer.score(speak(SENTENCES[0])[0], 22050, SENTENCES[0])
    assert (result.cer, result.transcript, result.whisper_model, result.unavailable) == (None, "", "", expected)
    # A chosen folder that is not a model: the resolver's own message, naming what is missing.
    (tmp_path / "not-a-model").mkdir()
    local = IntelligibilityScorer.open(models, local_dir=str(tmp_path / "not-a-model"))
    assert "lacks model.bin" in local.missing


def test_any_model_on_disk_is_used_when_the_chosen_size_is_missing(tmp_path, tiny_whisper):
    models = tmp_path / "models"
    base = _place(tiny_whisper, models, "base")
    assert find_whisper_model(models, "small") == base
    small = _place(tiny_whisper, models, "small")
    assert find_whisper_model(models, "small") == small
    assert find_whisper_model(models, "small", local_dir=str(tiny_whisper)) == tiny_whisper


def test_cer_of_a_known_clip_through_the_local_whisper_path(tmp_path, tiny_whisper):
    """The real faster-whisper path on a random tiny model: the transcript is nonsense, the CER is its CER."""
    models = tmp_path / "models"
    _place(tiny_whisper, models, "small")
    scorer = IntelligibilityScorer.open(models, size="small", language="en", device="cpu")
    assert scorer.available and scorer.language == "en"
    samples, rate = speak(SENTENCES[0])
    result = scorer.score(samples, rate, SENTENCES[0])
    assert (result.text, result.whisper_model, result.unavailable) == (SENTENCES[0], "small", None)
    assert isinstance(result.transcript, str)
    assert result.cer == character_error_rate(SENTENCES[0], result.transcript) >= 0.0
    assert scorer.score(samples, rate, SENTENCES[0]) == result  # greedy decoding: the same every time
