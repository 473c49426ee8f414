"""Which export a file is, and its rows: the one entry point from a path to parsed rows.
Detection reads the content, not the name (a JSON list is Trakt's, a CSV with `Const` is
IMDb's, one with `Name` and `Year` Letterboxd's); the name only tells a Letterboxd watchlist
or an IMDb watchlist from a watched list, which share a header."""

from __future__ import annotations

import csv
from pathlib import Path

from watchbuddy.errors import HistoryFileError
from watchbuddy.sources.history import imdb, letterboxd, trakt
from watchbuddy.sources.history.csvrows import header_of
from watchbuddy.sources.history.entries import SOURCES, ParsedFile

# What each source's export looks like, in words (the error for a file none of them reads).
FORMATS = {
    "trakt": "Trakt JSON (watched, history, ratings, watchlist: items with ids.tmdb)",
    "letterboxd": "Letterboxd CSV (ratings, watched, diary, watchlist: Name and Year columns)",
    "imdb": "IMDb CSV (ratings or a list export: a Const column)",
}
SOURCE_CHOICES = ("auto", *SOURCES)
MAX_BYTES = 512 * 1024 * 1024  # far past any real export; a bigger file is no export


def understood() -> str:
    return "; ".join(FORMATS.values())


def detect(data: bytes) -> str | None:
    """'trakt', 'letterboxd', 'imdb', or None when the content is none of them."""
    start = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if start in (b"[", b"{"):
        return "trakt"
    try:
        header = header_of(data)
    except (UnicodeDecodeError, ValueError, csv.Error):
        return None
    if imdb.is_imdb(header):
        return "imdb"
    if letterboxd.is_letterboxd(header):
        return "letterboxd"
    return None


def read_export(path: Path, source: str = "auto") -> ParsedFile:
    """The file's rows; HistoryFileError (one sentence) when it cannot be read or is no
    export of `source` (or of any source, for 'auto')."""
    if not path.is_file():
        raise HistoryFileError(f"{path} is not a file; give an exported .csv or .json file.")
    try:
        if path.stat().st_size > MAX_BYTES:
            raise HistoryFileError(f"{path} is over 512 MB: no watch-history export is.")
        data = path.read_bytes()
    except OSError as exc:
        raise HistoryFileError(f"Cannot read {path}: {exc.strerror}.") from None
    found = detect(data)
    if found is None or (source != "auto" and found != source):
        wanted = FORMATS[source] if source != "auto" else understood()
        raise HistoryFileError(
            f"{path.name} is not a {'known export' if source == 'auto' else source + ' export'}"
            f"; understood: {wanted}."
        )
    try:
        if found == "trakt":
            return trakt.parse(data.decode("utf-8-sig"))
        if found == "imdb":
            return imdb.parse(data, path.name)
        return letterboxd.parse(data, path.name)
    except trakt.NotTrakt as exc:
        raise HistoryFileError(f"{path.name} is not a Trakt export: {exc}.") from None
    except UnicodeDecodeError:
        raise HistoryFileError(
            f"{path.name} is not UTF-8 JSON; export it from Trakt again."
        ) from None
    except csv.Error as exc:
        raise HistoryFileError(
            f"{path.name} is not a readable CSV ({exc}); export it from {found} again."
        ) from None
