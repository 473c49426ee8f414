"""Trakt exports (trakt.tv's data export and the API backups: `watched-*.json`,
`history-*.json`, `ratings-*.json`, `watchlist-*.json`): JSON lists of items that carry a
`movie` or `show` object with `ids.tmdb`. Which list an item belongs to is read from the
item itself (`rating` -> rated, `listed_at` -> watchlist, `watched_at`, `last_watched_at` or
`plays` -> watched), so a renamed file imports the same way. An item without a TMDB id is
matched by its IMDb id, then by its title and year (`match.py`). A season or episode item counts
for its show: an episode's own `ids.tmdb` is the episode's id, not the show's."""

from __future__ import annotations

import json
from typing import Any

from watchbuddy.sources.history.entries import Entry, ParsedFile, parse_date, raw_text

TITLE_OBJECTS = {"movie": "movie", "show": "tv"}
PART_OBJECTS = ("episode", "season")


class NotTrakt(ValueError):
    """The text is not a Trakt export (the message says why)."""


def parse(text: str) -> ParsedFile:
    try:
        items = json.loads(text)
    except json.JSONDecodeError as exc:
        raise NotTrakt(f"not valid JSON ({exc.msg} at line {exc.lineno})") from None
    except RecursionError:
        raise NotTrakt("nested deeper than any export is") from None
    if not isinstance(items, list):
        raise NotTrakt("not a JSON list of items")
    entries = [_entry(position, item) for position, item in enumerate(items, start=1)]
    lists = {e.list for e in entries if not e.problem}
    kind = "/".join(sorted(lists)) or "items"
    return ParsedFile("trakt", kind, entries)


def _list_of(item: dict[str, Any]) -> str | None:
    if "rating" in item:
        return "rated"
    if "listed_at" in item:
        return "watchlist"
    if {"watched_at", "last_watched_at", "plays"} & item.keys():
        return "watched"
    return None


def _entry(position: int, item: Any) -> Entry:
    raw = raw_text(item)
    if not isinstance(item, dict):
        return Entry(position, raw, "watched", problem="not a Trakt item (a JSON object)")
    kind = _list_of(item)
    entry = Entry(position, raw, kind or "watched")
    if kind is None:
        entry.problem = "not a watched, rated or watchlist item (no rating, listed_at or plays)"
        return entry
    part = next((p for p in PART_OBJECTS if isinstance(item.get(p), dict)), None)
    holder = next((k for k in ("movie", "show") if isinstance(item.get(k), dict)), None)
    if holder is None:
        what = str(part or item.get("type") or "item")
        article = "an" if what[:1] in "aeiou" else "a"
        entry.problem = f"{article} {what} without its movie or show"
        return entry
    entry.media_type = TITLE_OBJECTS[holder]
    title: dict[str, Any] = item[holder]
    entry.title = title.get("title") if isinstance(title.get("title"), str) else None
    year = title.get("year")
    entry.year = year if isinstance(year, int) else None
    ids: dict[str, Any] = title["ids"] if isinstance(title.get("ids"), dict) else {}
    tmdb = ids.get("tmdb")
    if isinstance(tmdb, int) and not isinstance(tmdb, bool) and 0 < tmdb < 2**31:
        entry.tmdb_id = tmdb
    imdb = ids.get("imdb")
    if isinstance(imdb, str) and imdb.startswith("tt"):
        entry.imdb_id = imdb
    # Without a TMDB id: by IMDb id, then by title and year, among this media type only.
    entry.media_hint, entry.media_hint_only = entry.media_type, True
    if entry.tmdb_id is None and entry.imdb_id is None and not entry.title:
        entry.problem = f"the {holder} has no TMDB or IMDb id and no title in the export"
    if kind == "rated":
        rating = item.get("rating")
        if part is not None:
            # A season's or an episode's rating is not the show's: the show counts as watched.
            entry.list = "watched"
        elif isinstance(rating, int | float) and not isinstance(rating, bool) and 1 <= rating <= 10:
            entry.rating = float(rating)
        else:
            entry.problem = entry.problem or f"rating {rating!r} is not 1-10"
    if kind == "watched":
        entry.watched_at = parse_date(item.get("watched_at") or item.get("last_watched_at"))
    return entry
