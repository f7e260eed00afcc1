"""Training XTTS on a language it does not know: codes, text rules and the vocabulary for it.

Which codes are valid and which XTTS already has text rules for is a base fact (core/base/languages.py,
used by the config's validation too); `normalise` holds the text rules of a new language (punctuation, optional romanisation, case,
whitespace) and hands known languages to coqui's own preprocessing; `tokenizer_patch` makes
coqui's VoiceBpeTokenizer use those rules in this process only; `vocab_extension` measures how
much of a text a vocab.json can encode and extends it with the new language's characters,
merges and `[lang]` token, leaving every base id unchanged.

May import: core.base only (coqui's TTS and uroman are imported inside functions).
"""
