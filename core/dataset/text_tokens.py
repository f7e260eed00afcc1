"""A transcript as XTTS's trainer tokenises it, and the characters its vocabulary cannot encode.

Uses coqui's own VoiceBpeTokenizer (imported on first use: it pulls in torch, seconds of import
that a cached check never pays), so the counts are the trainer's, not an imitation of them.
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path

from core.base.errors import ConfigInvalid, FieldError
from core.base.languages import is_new_language, language_problem, language_token
from core.language.normalise import TextRules
from core.language.tokenizer_patch import install_text_rules

# XTTSDataset.get_text asserts `not any(tokens == 1)`: id 1 exactly, whatever the vocab calls it.
UNK_ID = 1
DEFAULT_CHAR_LIMIT = 250  # what VoiceBpeTokenizer.check_input_length uses for unlisted languages


class XttsText:
    """Tokenise transcripts for one vocabulary and language, as the trainer will."""

    def __init__(self, vocab_path: str | Path, language: str, romanize: str = ""):
        from TTS.tts.layers.xtts.tokenizer import VoiceBpeTokenizer

        problem = language_problem(language)
        if problem:
            raise ConfigInvalid([FieldError("language", problem)])
        if is_new_language(language):
            # Our text rules for a language coqui has none for, exactly as the training process installs them.
            install_text_rules(TextRules(language, romanize))

        try:
            self._tokenizer = VoiceBpeTokenizer(str(vocab_path))
        except Exception as exc:  # tokenizers raises its own exception type for a malformed file
            raise ConfigInvalid([FieldError("vocab_path", (
                f"{Path(vocab_path).name} is not a tokenizer vocabulary ({exc}); "
                "use the vocab.json that came with the base model"))]) from None
        self.language = language
        base_language = language.split("-")[0]
        try:
            self._tokenizer.preprocess_text("a", base_language)
        except NotImplementedError:
            raise ConfigInvalid([FieldError("language", (
                f"XTTS has no text rules for '{language}'; choose one of "
                f"{', '.join(sorted(self._tokenizer.char_limits))}"))]) from None
        if is_new_language(language) and self._tokenizer.tokenizer.token_to_id(language_token(language)) is None:
            raise ConfigInvalid([FieldError("vocab_path", (
                f"{Path(vocab_path).name} has no {language_token(language)} token: XTTS does not know '{language}', so extend the "
                "vocabulary for it first (Train page, New language), then check with the extended vocab.json"))])
        self.char_limit = self._tokenizer.char_limits.get(base_language, DEFAULT_CHAR_LIMIT)
        self._unknown_by_char: dict[str, bool] = {}

    def token_ids(self, text: str) -> list[int]:
        """Exactly what the trainer feeds the model (language token, cleaners, [SPACE])."""
        return self._tokenizer.encode(text, self.language)

    def unknown_chars(self, text: str) -> Counter[str]:
        """Characters of `text` (as written) that end up as [UNK], with how often each occurs."""
        return Counter(ch for ch in text if not ch.isspace() and self._is_unknown(ch))

    def _is_unknown(self, ch: str) -> bool:
        if ch not in self._unknown_by_char:
            # Each character through the same cleaners alone: "%" becomes "percent", '"' nothing.
            cleaned = self._tokenizer.preprocess_text(ch, self.language.split("-")[0]).strip()
            ids = self._tokenizer.tokenizer.encode(cleaned.replace(" ", "[SPACE]")).ids if cleaned else []
            self._unknown_by_char[ch] = UNK_ID in ids
        return self._unknown_by_char[ch]
