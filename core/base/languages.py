"""Language codes: the 17 XTTS v2 ships text rules for, and every code a new language may use.

ISO 639-1 (two letters) is listed in full, so a typo such as "xx" is caught and the page can show
a name. ISO 639-3 has about 8,000 three-letter codes, too many to carry: any three lowercase
letters are accepted and shown without a name.
"""
from __future__ import annotations

import re

# Same order as core.base.config.LANGUAGES (a test holds the two together).
XTTS_LANGUAGES = ("en", "es", "fr", "de", "it", "pt", "pl", "tr", "ru", "nl", "cs", "ar", "zh-cn",
                  "hu", "ko", "ja", "hi")

ISO_639_1 = {
    "aa": "Afar", "ab": "Abkhazian", "ae": "Avestan", "af": "Afrikaans", "ak": "Akan",
    "am": "Amharic", "an": "Aragonese", "ar": "Arabic", "as": "Assamese", "av": "Avaric",
    "ay": "Aymara", "az": "Azerbaijani", "ba": "Bashkir", "be": "Belarusian", "bg": "Bulgarian",
    "bi": "Bislama", "bm": "Bambara", "bn": "Bengali", "bo": "Tibetan", "br": "Breton",
    "bs": "Bosnian", "ca": "Catalan", "ce": "Chechen", "ch": "Chamorro", "co": "Corsican",
    "cr": "Cree", "cs": "Czech", "cu": "Church Slavonic", "cv": "Chuvash", "cy": "Welsh",
    "da": "Danish", "de": "German", "dv": "Divehi", "dz": "Dzongkha", "ee": "Ewe",
    "el": "Greek", "en": "English", "eo": "Esperanto", "es": "Spanish", "et": "Estonian",
    "eu": "Basque", "fa": "Persian", "ff": "Fulah", "fi": "Finnish", "fj": "Fijian",
    "fo": "Faroese", "fr": "French", "fy": "Western Frisian", "ga": "Irish", "gd": "Scottish Gaelic",
    "gl": "Galician", "gn": "Guarani", "gu": "Gujarati", "gv": "Manx", "ha": "Hausa",
    "he": "Hebrew", "hi": "Hindi", "ho": "Hiri Motu", "hr": "Croatian", "ht": "Haitian Creole",
    "hu": "Hungarian", "hy": "Armenian", "hz": "Herero", "ia": "Interlingua", "id": "Indonesian",
    "ie": "Interlingue", "ig": "Igbo", "ii": "Sichuan Yi", "ik": "Inupiaq", "io": "Ido",
    "is": "Icelandic", "it": "Italian", "iu": "Inuktitut", "ja": "Japanese", "jv": "Javanese",
    "ka": "Georgian", "kg": "Kongo", "ki": "Kikuyu", "kj": "Kuanyama", "kk": "Kazakh",
    "kl": "Kalaallisut", "km": "Khmer", "kn": "Kannada", "ko": "Korean", "kr": "Kanuri",
    "ks": "Kashmiri", "ku": "Kurdish", "kv": "Komi", "kw": "Cornish", "ky": "Kyrgyz",
    "la": "Latin", "lb": "Luxembourgish", "lg": "Ganda", "li": "Limburgish", "ln": "Lingala",
    "lo": "Lao", "lt": "Lithuanian", "lu": "Luba-Katanga", "lv": "Latvian", "mg": "Malagasy",
    "mh": "Marshallese", "mi": "Maori", "mk": "Macedonian", "ml": "Malayalam", "mn": "Mongolian",
    "mr": "Marathi", "ms": "Malay", "mt": "Maltese", "my": "Burmese", "na": "Nauru",
    "nb": "Norwegian Bokmål", "nd": "North Ndebele", "ne": "Nepali", "ng": "Ndonga", "nl": "Dutch",
    "nn": "Norwegian Nynorsk", "no": "Norwegian", "nr": "South Ndebele", "nv": "Navajo",
    "ny": "Chichewa", "oc": "Occitan", "oj": "Ojibwa", "om": "Oromo", "or": "Odia",
    "os": "Ossetian", "pa": "Punjabi", "pi": "Pali", "pl": "Polish", "ps": "Pashto",
    "pt": "Portuguese", "qu": "Quechua", "rm": "Romansh", "rn": "Rundi", "ro": "Romanian",
    "ru": "Russian", "rw": "Kinyarwanda", "sa": "Sanskrit", "sc": "Sardinian", "sd": "Sindhi",
    "se": "Northern Sami", "sg": "Sango", "sh": "Serbo-Croatian", "si": "Sinhala", "sk": "Slovak",
    "sl": "Slovenian", "sm": "Samoan", "sn": "Shona", "so": "Somali", "sq": "Albanian",
    "sr": "Serbian", "ss": "Swati", "st": "Southern Sotho", "su": "Sundanese", "sv": "Swedish",
    "sw": "Swahili", "ta": "Tamil", "te": "Telugu", "tg": "Tajik", "th": "Thai",
    "ti": "Tigrinya", "tk": "Turkmen", "tl": "Tagalog", "tn": "Tswana", "to": "Tongan",
    "tr": "Turkish", "ts": "Tsonga", "tt": "Tatar", "tw": "Twi", "ty": "Tahitian",
    "ug": "Uyghur", "uk": "Ukrainian", "ur": "Urdu", "uz": "Uzbek", "ve": "Venda",
    "vi": "Vietnamese", "vo": "Volapük", "wa": "Walloon", "wo": "Wolof", "xh": "Xhosa",
    "yi": "Yiddish", "yo": "Yoruba", "za": "Zhuang", "zh": "Chinese", "zu": "Zulu",
}  # 183 current codes plus "sh" (withdrawn, still found in datasets)

_KNOWN_BASES = frozenset(code.split("-")[0] for code in XTTS_LANGUAGES)  # "zh-cn" makes "zh" known
_ISO_639_3 = re.compile(r"[a-z]{3}")
_WITH_REGION = re.compile(r"([a-z]{2})-([a-z]{2}|[0-9]{3})")  # "pt-br", "es-419"
_EXAMPLE = "use a two-letter ISO 639-1 code such as 'am' (Amharic), or a three-letter ISO 639-3 code"


def base_code(code: str) -> str:
    """The code without its region, as coqui's tokenizer strips it: "pt-br" -> "pt"."""
    return code.split("-")[0]


def language_token(code: str) -> str:
    """The vocab.json token coqui's encode() puts before a text: "[am]"; "zh" and "zh-cn" use "[zh-cn]"."""
    base = base_code(code)
    return "[zh-cn]" if base == "zh" else f"[{base}]"


def is_new_language(code: str) -> bool:
    """True when XTTS has no text rules for `code` (anything outside its 17; "zh" counts as known)."""
    return base_code(code) not in _KNOWN_BASES


def language_problem(code: str) -> str | None:
    """None when `code` can name a dataset's language, else a sentence saying what is allowed."""
    if code in XTTS_LANGUAGES or code in ISO_639_1 or _ISO_639_3.fullmatch(code):
        return None
    region = _WITH_REGION.fullmatch(code)
    if region and region.group(1) in ISO_639_1:
        return None
    lowered = code.strip().lower()
    if lowered != code and language_problem(lowered) is None:
        return f"'{code}': language codes are written in lowercase without spaces; use '{lowered}'"
    return f"'{code}' is not an ISO 639 language code; {_EXAMPLE}"


def language_name(code: str) -> str:
    """The English name ("Amharic", "Portuguese (BR)"); a three-letter code we cannot name is returned as it is."""
    base = base_code(code)
    name = ISO_639_1.get(base)
    if name is None:
        return code
    region = code[len(base) + 1:]
    return f"{name} ({region.upper()})" if region and code != "zh-cn" else name


def describe(code: str) -> str:
    """One line for pickers and summaries: "am · Amharic (new language)", "en · English"."""
    name = language_name(code)
    label = code if name == code else f"{code} · {name}"
    return f"{label} (new language)" if is_new_language(code) else label
