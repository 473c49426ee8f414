"""Letterboxd exports: `ratings.csv`, `watched.csv`, `diary.csv`, `watchlist.csv` (and
`reviews.csv`), CSV with `Name` and `Year` and no ids, ratings 0.5-5 in half stars (doubled
to 0-10). Which list a file is comes from its header: `Watched Date` -> the diary (watched,
one row per viewing, a rewatch is another row), `Rating` -> ratings (rated); otherwise the
file name says watchlist or watched. Titles are matched by normalized title and year
(`match.py`)."""

from __future__ import annotations

from watchbuddy.sources.history.csvrows import read_rows
from watchbuddy.sources.history.entries import (
    Entry,
    ParsedFile,
    parse_date,
    parse_year,
    raw_text,
)


def is_letterboxd(header: list[str]) -> bool:
    return "name" in header and ("letterboxd_uri" in header or "year" in header)


def _kind(header: list[str], file_name: str) -> tuple[str, str]:
    """(what the file is, the list its rows go to)."""
    if "watched_date" in header:
        return "diary", "watched"
    if "rating" in header:
        return "ratings", "rated"
    if "watchlist" in file_name.lower():
        return "watchlist", "watchlist"
    return "watched", "watched"


def parse(data: bytes, file_name: str) -> ParsedFile:
    header, rows = read_rows(data)
    kind, list_name = _kind(header, file_name)
    entries = []
    for line, cells in rows:
        entry = Entry(line, raw_text(cells), list_name, media_hint="movie")
        entry.title = cells.get("name", "").strip() or None
        year_text = cells.get("year", "").strip()
        entry.year = parse_year(year_text)
        if entry.title is None:
            entry.problem = "no Name"
        elif year_text and entry.year is None:
            entry.problem = f"Year {year_text[:20]!r} is not a year"
        rating_text = cells.get("rating", "").strip()
        if rating_text:
            try:
                stars = float(rating_text)
            except ValueError:
                stars = -1
            if 0.5 <= stars <= 5 and (stars * 2).is_integer():
                entry.rating = stars * 2
            else:
                entry.problem = entry.problem or f"rating {rating_text[:20]!r} is not 0.5-5"
        elif list_name == "rated":
            entry.problem = entry.problem or "no rating"
        if list_name == "watched":
            entry.watched_at = parse_date(cells.get("watched_date") or cells.get("date"))
        entries.append(entry)
    return ParsedFile("letterboxd", kind, entries)
