"""Language codes: the 17 XTTS knows, every ISO 639-1 code, and what a wrong code is told."""
from __future__ import annotations

import pytest

from core.base import config
from core.base.languages import (ISO_639_1, XTTS_LANGUAGES, describe, is_new_language, language_name,
                                 language_problem, language_token)


def test_the_17_are_the_config_languages_in_the_same_order():
    assert XTTS_LANGUAGES == config.LANGUAGES
    assert len(XTTS_LANGUAGES) == 17


def test_every_iso_639_1_code_is_listed_with_a_name():
    assert len(ISO_639_1) == 184  # 183 current codes plus the withdrawn "sh"
    assert all(len(code) == 2 and code.isascii() and code.islower() and name for code, name in ISO_639_1.items())
    assert {code.split("-")[0] for code in XTTS_LANGUAGES} <= set(ISO_639_1)
    assert (ISO_639_1["am"], ISO_639_1["yo"], ISO_639_1["zh"]) == ("Amharic", "Yoruba", "Chinese")


@pytest.mark.parametrize("code", ["am", "en", "zh-cn", "zh", "yo", "pt-br", "es-419", "amh", "gsw"])
def test_valid_codes_have_no_problem(code):
    assert language_problem(code) is None


@pytest.mark.parametrize("code", ["xx", "e", "english", "am_ET", "a1", "", "qq-br", "amh-et"])
def test_a_wrong_code_is_told_what_is_allowed(code):
    assert language_problem(code) == (
        f"'{code}' is not an ISO 639 language code; use a two-letter ISO 639-1 code such as 'am' (Amharic), "
        "or a three-letter ISO 639-3 code")


def test_an_uppercase_code_is_told_the_lowercase_one():
    assert language_problem("AM") == "'AM': language codes are written in lowercase without spaces; use 'am'"
    assert language_problem(" am") is not None


def test_new_languages_are_those_outside_the_17():
    assert is_new_language("am") and is_new_language("yo") and is_new_language("amh")
    assert not any(is_new_language(code) for code in ("en", "zh", "zh-cn", "pt-br", "hi"))


def test_names_descriptions_and_tokens():
    assert describe("am") == "am · Amharic (new language)"
    assert describe("en") == "en · English"
    assert describe("amh") == "amh (new language)"
    assert language_name("pt-br") == "Portuguese (BR)"
    assert language_name("zh-cn") == "Chinese"
    assert (language_token("am"), language_token("am-et"), language_token("zh")) == ("[am]", "[am]", "[zh-cn]")
