"""IMDb exports: `ratings.csv` (Your ratings) and list exports such as the watchlist, CSV
with `Const` (the tt id), `Your Rating` 1-10, `Date Rated` and `Title Type`; the pre-2017
header (`position,const,created,...,You rated`) too. Titles are matched through the pool's
`imdb_id` (the pool's row decides movie or show). A rated row is 'rated'; an unrated row is
'watchlist' in a file whose name says watchlist, else 'watched' (a list you keep of what you
saw). `Date Rated` is when you rated, not when you watched: it is no `watched_at`."""

from __future__ import annotations

import re

from watchbuddy.sources.history.csvrows import read_rows
from watchbuddy.sources.history.entries import (
    Entry,
    ParsedFile,
    parse_year,
    raw_text,
)

RATING_COLUMNS = ("your_rating", "you_rated")
# IMDb's title types (2024 wording and the older camelCase), as normalized keys: which ones
# TMDB has no title for.
EPISODE_TYPES = {"tvepisode", "podcastepisode"}
NOT_FILM_TYPES = {"videogame", "podcastseries"}
SHOW_TYPES = {"tvseries", "tvminiseries"}  # the rest are films of some kind (TMDB movies)
IMDB_ID = re.compile(r"tt\d{5,10}")


def is_imdb(header: list[str]) -> bool:
    return "const" in header


def parse(data: bytes, file_name: str) -> ParsedFile:
    header, rows = read_rows(data)
    rating_column = next((c for c in RATING_COLUMNS if c in header), None)
    unrated = "watchlist" if "watchlist" in file_name.lower() else "watched"
    entries = []
    for line, cells in rows:
        entry = Entry(line, raw_text(cells), unrated)
        entry.title = cells.get("title") or None
        entry.year = parse_year(cells.get("year"))
        const = cells.get("const", "").strip()
        kind = re.sub(r"[^a-z]", "", cells.get("title_type", "").lower())
        rating_text = cells.get(rating_column, "").strip() if rating_column else ""
        if not IMDB_ID.fullmatch(const):
            entry.problem = f"Const {const[:20]!r} is not an IMDb id (tt...)"
        elif kind in EPISODE_TYPES:
            entry.problem = "a TV episode: IMDb's export names the episode, not its series"
        elif kind in NOT_FILM_TYPES:
            entry.problem = f"a {cells.get('title_type')}, not a movie or show"
        entry.imdb_id = const
        # For a title match when no pool title has the id: among this media type only.
        entry.media_hint = "tv" if kind in SHOW_TYPES else "movie"
        entry.media_hint_only = True
        entry.title = entry.title or cells.get("original_title") or None
        if rating_text:
            try:
                rating = float(rating_text)
            except ValueError:
                rating = -1
            if 1 <= rating <= 10:
                entry.list, entry.rating = "rated", rating
            else:
                entry.problem = entry.problem or f"rating {rating_text[:20]!r} is not 1-10"
        entries.append(entry)
    rated = any(e.list == "rated" for e in entries)
    kind_name = "ratings" if rated else unrated
    return ParsedFile("imdb", kind_name, entries)
