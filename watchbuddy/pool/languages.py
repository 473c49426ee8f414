"""Language names and codes: people say "Danish" or "Deutsch", TMDB stores `da` and `de`.

TMDB's `original_language` is an ISO 639-1 code, with quirks of its own: `cn` for Cantonese,
`tl` for Filipino/Tagalog, `xx` for "no language". A request may give a code (`da`, `DA`,
`dan`, `pt-BR`) or a name in English or in the language itself ("Danish", "Farsi",
"Deutsch", "日本語"); langcodes (with its language-data tables) knows those names and
aliases, which no hand-written table here would keep up with. Its tables take a tenth of a
second to load, and two-letter codes (what most requests give) need none of it, so it is
imported by the functions that look something up, on first use, not with this module (which
every command imports through the filter registry).
"""

from __future__ import annotations

import re
from functools import cache

from watchbuddy.errors import ConfigError
from watchbuddy.safe_text import clip

# langcodes' code -> the code TMDB uses for the same language
TMDB_CODES = {"yue": "cn", "fil": "tl", "cmn": "zh", "hbs": "sh"}
# TMDB's codes that are not ISO 639-1, or that langcodes would rewrite (sh: Serbo-Croatian)
TMDB_NAMES = {"cn": "Cantonese", "xx": "No language", "sh": "Serbo-Croatian"}
_NAMED = {name.lower(): code for code, name in TMDB_NAMES.items()}
_TWO_LETTERS = re.compile(r"[A-Za-z]{2}")
_CODE = re.compile(r"[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*")


def _unknown(given: str) -> ConfigError:
    return ConfigError(
        f"Unknown language {clip(given)!r}: give a code such as da or a name such as Danish."
    )


@cache
def to_code(text: str) -> str:
    """The TMDB language code for a code or a language name; ConfigError if neither."""
    given = text.strip()
    if _TWO_LETTERS.fullmatch(given):
        return given.lower()  # already TMDB's kind of code; langcodes would rewrite sh to sr
    if given.lower() in _NAMED:
        return _NAMED[given.lower()]
    code = None
    # A name has no control characters; langcodes' name trie crashes on a NUL byte
    # (SystemError, UnicodeDecodeError), so such text is refused before it gets there.
    if len(given) < 3 or not given.isprintable():
        raise _unknown(given)
    import langcodes

    if _CODE.fullmatch(given):
        try:
            code = langcodes.Language.get(given.replace("_", "-")).language
        except (ValueError, LookupError):
            code = None
    if not code:
        try:
            code = langcodes.find(given).language
        except LookupError:
            raise _unknown(given) from None
    code = (code or "").lower()
    return TMDB_CODES.get(code, code)


@cache
def name(code: str) -> str:
    """The English name of a TMDB language code ('da' -> 'Danish'); the code if unknown."""
    if code in TMDB_NAMES:
        return TMDB_NAMES[code]
    import langcodes

    try:
        language = langcodes.Language.get(code)
    except (ValueError, LookupError):
        return code
    return language.display_name() if language.is_valid() else code


def label(code: str) -> str:
    """'da (Danish)': how a code is shown in lists and errors."""
    shown = name(code)
    return code if shown == code else f"{code} ({shown})"


def picker_label(code: str) -> str:
    """'Danish (da)': how a pickable language is shown (the name first, to find it by)."""
    shown = name(code)
    return code if shown == code else f"{shown} ({code})"
