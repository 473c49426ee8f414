"""Hostile files in the data dir: links out of it, FIFOs, directories, unreadable files,
over-long lines and duplicate columns. Real files in temporary folders, the real CLI."""

from __future__ import annotations

import json
import logging
import urllib.parse
from pathlib import Path

import pytest

from watchbuddy.settings import Secret, Settings
from watchbuddy.tmdb import TmdbClient, redact

KEY = "k3y/with+plus and=eq&amp;0123456789abcdef"


# --- the credential scrubber --------------------------------------------------------------


def encoded_forms(secret: str) -> list[str]:
    quoted = urllib.parse.quote(secret, safe="")
    return [
        secret,
        quoted,
        quoted.lower(),
        urllib.parse.quote(secret),  # `/` left as is
        urllib.parse.quote_plus(secret),
        urllib.parse.quote_plus(secret).lower(),
        "".join(f"%{b:02X}" for b in secret.encode()),  # every byte escaped
        urllib.parse.quote(urllib.parse.quote(secret, safe=""), safe=""),  # twice
        json.dumps(secret)[1:-1].replace("/", "\\/"),  # JSON, `/` escaped as some encoders do
        "".join(f"\\u{ord(c):04x}" for c in secret),
    ]


@pytest.mark.parametrize("form", range(len(encoded_forms(KEY))))
def test_the_scrubber_removes_the_key_in_every_likely_encoding(form: int) -> None:
    settings = Settings(tmdb_api_key=Secret(KEY), tmdb_read_access_token=Secret("tok.en-_9"))
    encoded = encoded_forms(KEY)[form]
    for text in (
        f"GET https://api.themoviedb.org/3/movie/1?language=en&api_key={encoded}&page=2",
        f"Authorization: Bearer {encoded}",
        f"error: {encoded}",
    ):
        scrubbed = redact(text, settings)
        assert encoded not in scrubbed and "***" in scrubbed
        assert "k3y" not in scrubbed and "0123456789abcdef" not in scrubbed
    assert redact("Bearer tok.en-_9 and tok%2Een%2D_9", settings).count("***") == 2
    # Words that merely share letters with the key stay.
    assert redact("plus and equals", settings) == "plus and equals"


def test_http_client_logs_scrub_the_encoded_key(tmp_path: Path, caplog) -> None:
    caplog.set_level(logging.INFO)
    TmdbClient(Settings(tmdb_api_key=Secret(KEY), tmdb_base_url="http://127.0.0.1:9/3"))
    logging.getLogger("httpx").info(
        "HTTP Request: GET %s", f"http://x/3/movie?api_key={urllib.parse.quote_plus(KEY)}"
    )
    assert urllib.parse.quote_plus(KEY) not in caplog.text and "api_key=***" in caplog.text
