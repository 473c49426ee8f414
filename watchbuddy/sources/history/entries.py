"""The one shape every export is parsed into, whatever its format: a row of a list of yours
(watched, rated, watchlist) and what identifies its title (a TMDB id, an IMDb id, or only a
title and year), before it is matched against the pool."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

SOURCES = ("trakt", "letterboxd", "imdb")
APP_SOURCE = "watchbuddy"  # the app's own lists ("not interested")
LISTS = ("watched", "rated", "watchlist", "not_interested")
# Lists that mean "you have seen it or do not want it": what `--for-me` leaves out.
SEEN_LISTS = ("watched", "rated", "not_interested")


@dataclass
class Entry:
    """One row of an export. `problem` set: the row cannot name a title (it is reported as
    unmatched with that reason, never stored)."""

    line: int  # the CSV record's line, or the JSON item's position (1-based)
    raw: str  # the row as read (JSON of its fields), kept with a reject
    list: str
    media_type: str | None = None  # None: the pool's row decides (an IMDb id)
    # Matching by title: the media type to look among first, and whether only that one.
    media_hint: str | None = None
    media_hint_only: bool = False
    tmdb_id: int | None = None
    imdb_id: str | None = None
    title: str | None = None
    year: int | None = None
    rating: float | None = None  # 0-10
    watched_at: dt.datetime | None = None
    problem: str | None = None


@dataclass
class ParsedFile:
    """A file read by one format's parser: its source and its rows, in file order."""

    source: str
    kind: str  # what the file is, in words ("ratings", "diary", "history")
    entries: list[Entry] = field(default_factory=list)


def raw_text(fields: Any) -> str:
    """A row's fields as JSON, for `rejects.raw` (the same form the CSV landing keeps)."""
    return json.dumps(fields, ensure_ascii=False, default=str)


def parse_date(text: str | None) -> dt.datetime | None:
    """'2017-12-15', '2022-05-25T20:26:25.000Z' (UTC) -> a UTC timestamp; anything else None."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def parse_year(text: str | None) -> int | None:
    text = (text or "").strip()
    return int(text) if text.isdigit() and len(text) == 4 else None
