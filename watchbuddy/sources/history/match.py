"""Matching export rows to TMDB titles, by the strongest thing a row carries:

1. a TMDB id (Trakt): taken as it is, for the media type the row names;
2. an IMDb id (IMDb, or a Trakt row without a TMDB id): the pool title with that `imdb_id`;
3. a title and year (Letterboxd): pool titles whose normalized title or original title
   equals the row's, released within one year of it (any year when the row has none).
   Movies first (Letterboxd lists films); shows only when no movie matches. One candidate
   is a match; among several, the only one from the exact year is; otherwise the row is
   ambiguous, reported with its candidates, never guessed.
   An IMDb row whose id no pool title has (TMDB's TV dump has no IMDb ids) is matched the
   same way, by its title or original title and year, among titles of the media type its
   `Title Type` names only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import polars as pl

from watchbuddy.safe_text import clip
from watchbuddy.sources.history.entries import Entry
from watchbuddy.sources.history.normalize import keys_among, normalize_titles

Status = Literal["matched", "ambiguous", "unmatched"]
YEAR_TOLERANCE = 1
# A title's key, and the columns of the pool the matching reads.
KEY_COLUMNS = ("media_type", "tmdb_id")
POOL_COLUMNS = (*KEY_COLUMNS, "imdb_id", "title", "original_title", "year")
SHOWN_CANDIDATES = 5


@dataclass
class Outcome:
    entry: Entry
    status: Status
    reason: str = ""
    key: tuple[str, int] | None = None  # (media_type, tmdb_id) when matched
    candidates: list[tuple[str, int]] = field(default_factory=list)


def needs_pool(entries: list[Entry]) -> bool:
    return any(e.tmdb_id is None and not e.problem for e in entries)


def match(entries: list[Entry], pool: pl.DataFrame | None) -> list[Outcome]:
    """One outcome per entry, in order."""
    by_imdb = _imdb_index(pool, entries)
    by_title = _title_candidates(pool, entries, by_imdb)
    out = []
    for index, entry in enumerate(entries):
        if entry.problem:
            out.append(Outcome(entry, "unmatched", entry.problem))
        elif entry.tmdb_id is not None and entry.media_type is not None:
            out.append(Outcome(entry, "matched", key=(entry.media_type, entry.tmdb_id)))
        elif entry.imdb_id is not None and (by_imdb.get(entry.imdb_id) or not entry.title):
            found = by_imdb.get(entry.imdb_id, [])
            out.append(_decide(entry, found, f"IMDb id {entry.imdb_id}"))
        else:
            out.append(_by_title(entry, by_title.get(index, [])))
    return out


def _decide(entry: Entry, found: list[tuple[str, int]], what: str) -> Outcome:
    if len(found) == 1:
        return Outcome(entry, "matched", key=found[0])
    if not found:
        return Outcome(entry, "unmatched", f"no title in the pool has {what}")
    listed = ", ".join(f"{m}:{i}" for m, i in found[:SHOWN_CANDIDATES])
    return Outcome(entry, "ambiguous", f"{len(found)} titles have {what}: {listed}", None, found)


def _imdb_index(
    pool: pl.DataFrame | None, entries: list[Entry]
) -> dict[str, list[tuple[str, int]]]:
    wanted = {e.imdb_id for e in entries if e.imdb_id and e.tmdb_id is None and not e.problem}
    if pool is None or not wanted:
        return {}
    rows = pool.filter(pl.col("imdb_id").is_in(sorted(wanted))).sort("media_type", "tmdb_id")
    index: dict[str, list[tuple[str, int]]] = {}
    for imdb_id, media_type, tmdb_id in rows.select("imdb_id", "media_type", "tmdb_id").iter_rows():
        index.setdefault(imdb_id, []).append((media_type, tmdb_id))
    return index


def _title_candidates(
    pool: pl.DataFrame | None,
    entries: list[Entry],
    by_imdb: dict[str, list[tuple[str, int]]],
) -> dict[int, list[tuple[str, int, int | None]]]:
    """Per entry index: (media_type, tmdb_id, year) of the pool titles its title names
    within the year tolerance, once each (for rows without ids, and IMDb rows whose id no
    pool title has)."""
    asked = [
        (i, e.title, e.year)
        for i, e in enumerate(entries)
        if e.title
        and e.tmdb_id is None
        and (e.imdb_id is None or not by_imdb.get(e.imdb_id))
        and not e.problem
    ]
    if pool is None or not asked:
        return {}
    wanted = pl.DataFrame(
        asked, schema={"i": pl.Int64, "name": pl.String, "want_year": pl.Int64}, orient="row"
    )
    wanted = wanted.with_columns(key=normalize_titles(wanted.get_column("name")))
    names = pl.concat([pool.get_column("title"), pool.get_column("original_title")])
    keys = keys_among(names, wanted.get_column("key"))
    titles = pl.concat(
        [
            pool.select("media_type", "tmdb_id", "year", name=pl.col(column))
            for column in ("title", "original_title")
        ]
    ).join(keys, on="name")
    joined = (
        wanted.join(titles, on="key")
        .filter(
            pl.col("want_year").is_null()
            | ((pl.col("year").cast(pl.Int64) - pl.col("want_year")).abs() <= YEAR_TOLERANCE)
        )
        .unique(["i", "media_type", "tmdb_id"])
        .sort("i", "media_type", "tmdb_id")
    )
    found: dict[int, list[tuple[str, int, int | None]]] = {}
    for i, media_type, tmdb_id, year in joined.select(
        "i", "media_type", "tmdb_id", "year"
    ).iter_rows():
        found.setdefault(i, []).append((media_type, tmdb_id, year))
    return found


def _by_title(entry: Entry, found: list[tuple[str, int, int | None]]) -> Outcome:
    named = f"{clip(entry.title or '', 80)!r}" + (f" ({entry.year})" if entry.year else "")
    preferred = [c for c in found if c[0] == (entry.media_hint or "movie")]
    pick = preferred if preferred or entry.media_hint_only else found
    exact = [c for c in pick if entry.year is not None and c[2] == entry.year]
    if len(pick) == 1:
        return Outcome(entry, "matched", key=pick[0][:2])
    if len(exact) == 1:
        return Outcome(entry, "matched", key=exact[0][:2])
    if not pick:
        years = (
            f" from {entry.year - YEAR_TOLERANCE}-{entry.year + YEAR_TOLERANCE}"
            if entry.year
            else ""
        )
        name = f"{clip(entry.title or '', 80)!r}"
        has_id = f"has IMDb id {entry.imdb_id} or " if entry.imdb_id else ""
        return Outcome(entry, "unmatched", f"no title in the pool {has_id}is named {name}{years}")
    listed = ", ".join(f"{m}:{i} ({y or '?'})" for m, i, y in pick[:SHOWN_CANDIDATES])
    more = f" and {len(pick) - SHOWN_CANDIDATES} more" if len(pick) > SHOWN_CANDIDATES else ""
    return Outcome(
        entry,
        "ambiguous",
        f"{len(pick)} titles match {named}: {listed}{more}",
        None,
        [c[:2] for c in pick],
    )
