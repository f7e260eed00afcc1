"""Text rules of a new language, coqui's own preprocessing for a known one, and the rules as JSON."""
from __future__ import annotations

import json

import pytest

from core.base.errors import ConfigInvalid
from core.language.normalise import TextRules, check_rules, normalise, rules_from_json, rules_to_json

TABLE = "# Amharic to Latin, a small test table\n\u1230\tse\n\u120b\tla\n\u120b\u121d\tlam\n\u121d\tm\n\n\u1290\tne\n\u12cd\twe\n"


def write_table(tmp_path, text=TABLE, name="am.tsv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_ethiopic_punctuation_becomes_ascii_and_whitespace_collapses():
    text = "  \u1230\u120b\u121d\u1361\u1290\u12cd\u1363   \u12a5\u1295\u12f4\u1275\u1367 \u1210\u1362\u1364\u1365\u1366\u1368 "
    assert normalise(TextRules("am"), text) == "\u1230\u120b\u121d \u1290\u12cd, \u12a5\u1295\u12f4\u1275? \u1210.;,:."


def test_other_scripts_punctuation_quotes_and_dashes():
    rules = TextRules("fa")
    assert normalise(rules, "\u0633\u0644\u0627\u0645\u060c \u062e\u0648\u0628\u061f\u061b") == "\u0633\u0644\u0627\u0645, \u062e\u0648\u0628?;"
    assert normalise(rules, "\u00abhi\u00bb \u201eyes\u201c \u2018no\u2019 a\u2014b a\u2013b wait\u2026") == '"hi" "yes" \'no\' a-b a-b wait...'
    assert normalise(TextRules("yue"), "\u4f60\u597d\uff0c\u4e16\u754c\u3002\u300c\u597d\u300d\uff01") == '\u4f60\u597d,\u4e16\u754c."\u597d"!'


def test_nfc_lowercase_and_digits_kept():
    # Yoruba written with combining accents and capitals; the vocabulary sees one form only.
    assert normalise(TextRules("yo"), "E\u0301 KU\u0300 12 O\u0300SE\u0323") == "\u00e9 k\u00f9 12 \u00f2s\u1eb9"
    assert normalise(TextRules("am"), "\u1230\u120b\u121d 2024") == "\u1230\u120b\u121d 2024"


def test_a_known_language_gets_coquis_own_preprocessing():
    from TTS.tts.layers.xtts.tokenizer import VoiceBpeTokenizer

    text = "Hello, Dr. Smith: it's 2 o'clock!"
    assert normalise(TextRules("en"), text) == VoiceBpeTokenizer().preprocess_text(text, "en") == "hello, doctor smith: it's two o'clock!"
    assert normalise(TextRules("pt-br"), "Olá 3") == VoiceBpeTokenizer().preprocess_text("Olá 3", "pt")


def test_uroman_romanises_and_is_recorded():
    rules = check_rules(TextRules("am", "uroman"))
    assert normalise(rules, "\u1230\u120b\u121d\u1361\u1290\u12cd\u1362") == "salaame nawe."
    assert rules_to_json(rules) == {"language": "am", "romanize": "uroman", "mapping_table": None}
    assert rules_from_json(json.loads(json.dumps(rules_to_json(rules)))) == TextRules("am", "uroman")


def test_a_mapping_table_applies_longest_match_first(tmp_path):
    rules = TextRules("am", str(write_table(tmp_path)))
    assert normalise(rules, "\u1230\u120b\u121d\u1363 \u1230\u120b\u1362") == "selam, sela."


def test_the_json_carries_the_table_so_a_bundle_stands_alone(tmp_path):
    table = write_table(tmp_path)
    saved = json.loads(json.dumps(rules_to_json(TextRules("am", str(table)))))
    assert saved["romanize"] == str(table)
    assert ["\u120b\u121d", "lam"] in saved["mapping_table"] and len(saved["mapping_table"]) == 6
    table.unlink()
    restored = rules_from_json(saved)
    assert normalise(restored, "\u1230\u120b\u121d \u1290\u12cd") == "selam newe"
    assert rules_to_json(restored) == saved


def test_no_romanisation_round_trips():
    assert rules_from_json(rules_to_json(TextRules("am"))) == TextRules("am")


@pytest.mark.parametrize("content, words", [
    (TABLE + "\u1230 se\n", "line 9: has no tab"),
    ("\u1230\tse\n\tx\n", "line 2: has nothing before the tab"),
    ("\u1230\tse\n# c\n\u1230\tsa\n", "line 3: maps '\u1230' again (first on line 1)"),
])
def test_a_bad_table_line_is_named(tmp_path, content, words):
    rules = TextRules("am", str(write_table(tmp_path, content)))
    with pytest.raises(ConfigInvalid) as caught:
        normalise(rules, "\u1230")
    assert caught.value.errors[0].field == "romanize" and words in caught.value.errors[0].message


def test_a_missing_or_unreadable_table_is_refused(tmp_path):
    for romanize, words in ((str(tmp_path / "gone.tsv"), "does not exist"), (str(tmp_path), "is not a romanisation")):
        with pytest.raises(ConfigInvalid, match=words):
            check_rules(TextRules("am", romanize))
    latin1 = tmp_path / "latin1.tsv"
    latin1.write_bytes("\u00e9\te\n".encode("latin-1"))
    with pytest.raises(ConfigInvalid, match="not UTF-8") as caught:
        check_rules(TextRules("am", str(latin1)))
    assert caught.value.errors[0].field == "romanize"
    folder = tmp_path / "folder.tsv"
    folder.mkdir()
    with pytest.raises(ConfigInvalid, match="cannot be read"):
        check_rules(TextRules("am", str(folder)))


def test_unknown_romanisation_and_language_are_refused():
    with pytest.raises(ConfigInvalid, match="'icu' is not a romanisation") as caught:
        normalise(TextRules("am", "icu"), "x")
    assert caught.value.errors[0].field == "romanize"
    with pytest.raises(ConfigInvalid, match="not an ISO 639 language code") as caught:
        check_rules(TextRules("xx"))
    assert caught.value.errors[0].field == "language"
    for bad in (None, [], {"romanize": "uroman"}, {"language": "am", "mapping_table": [["a"]]}, {"language": "xx"}):
        with pytest.raises(ConfigInvalid):
            rules_from_json(bad)
