"""Scrub the TMDB credentials from any text that is shown, logged or stored.

A credential leaks in more spellings than its own: a v3 key travels as a query value, which
HTTP clients percent-encode (upper- or lower-case hex, `+` or `%20` for a space, every byte
or only the unsafe ones), a URL carried inside another URL is encoded twice, a v4 token
travels after `Bearer `, and JSON writers escape `/` as `\\/` and any character as
`\\uXXXX`. Rather than list whole spellings, each character of the secret is matched in any
of these encodings, so a mixed spelling is caught too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from watchbuddy.settings import Settings

MASK = "***"


def _character(char: str) -> str:
    """A regex for one character of a secret in each encoding it may have on the wire."""
    options = [re.escape(char)]
    # Percent-encoding of each UTF-8 byte, hex in either case, optionally encoded again
    # (`%` itself as `%25`).
    options.append("".join(f"%(?:25)?(?i:{b:02x})" for b in char.encode("utf-8")))
    if char == " ":
        options.append(r"\+")  # form encoding (`quote_plus`)
    if ord(char) <= 0xFFFF:
        options.append(rf"\\u(?i:{ord(char):04x})")  # JSON's \uXXXX
    if char in '/"\\':
        options.append(re.escape("\\" + char))  # JSON's \/ \" \\
    return "(?:" + "|".join(options) + ")"


@lru_cache(maxsize=16)
def _pattern(secrets: tuple[str, ...]) -> re.Pattern[str] | None:
    spelled = ["".join(_character(c) for c in s) for s in sorted(secrets, key=len, reverse=True)]
    return re.compile("|".join(spelled)) if spelled else None


def scrub(text: str, secrets: Iterable[str]) -> str:
    """`text` with every spelling of each secret replaced by `***`."""
    pattern = _pattern(tuple(sorted({s for s in secrets if s})))
    return pattern.sub(MASK, text) if pattern else text


def redact(text: str, settings: Settings) -> str:
    """Remove the configured credentials from any text that might be shown or stored."""
    secrets = (settings.tmdb_api_key, settings.tmdb_read_access_token)
    return scrub(text, (s.reveal() for s in secrets if s))
