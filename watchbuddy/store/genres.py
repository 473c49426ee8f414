"""One genre vocabulary for movies and shows, so that filters match on both sides.

TMDB names movie and TV genres differently ("Science Fiction" vs "Sci-Fi & Fantasy",
"Action" + "Adventure" vs "Action & Adventure"), and CSVs add their own spellings. Every
genre, in the pool and in a request, is mapped to canonical names through `CANONICAL`
before comparing; the system this replaces normalized only one side, so "Science Fiction"
never matched a show.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from watchbuddy.safe_text import clip
from watchbuddy.sql import literal
from watchbuddy.store.schema import genre_table

# TMDB genre (movie or TV) or common spelling -> the canonical genres it counts as.
CANONICAL: dict[str, tuple[str, ...]] = {
    "action": ("Action",),
    "adventure": ("Adventure",),
    "action & adventure": ("Action", "Adventure"),
    "animation": ("Animation",),
    "comedy": ("Comedy",),
    "crime": ("Crime",),
    "documentary": ("Documentary",),
    "drama": ("Drama",),
    "family": ("Family",),
    "kids": ("Kids",),
    "fantasy": ("Fantasy",),
    "science fiction": ("Science Fiction",),
    "sci-fi": ("Science Fiction",),
    "scifi": ("Science Fiction",),
    "sci fi": ("Science Fiction",),
    "sf": ("Science Fiction",),
    "sci-fi & fantasy": ("Science Fiction", "Fantasy"),
    "history": ("History",),
    "horror": ("Horror",),
    "music": ("Music",),
    "musical": ("Music",),
    "mystery": ("Mystery",),
    "romance": ("Romance",),
    "thriller": ("Thriller",),
    "tv movie": ("TV Movie",),
    "war": ("War",),
    "politics": ("Politics",),
    "war & politics": ("War", "Politics"),
    "western": ("Western",),
    "news": ("News",),
    "reality": ("Reality",),
    "soap": ("Soap",),
    "talk": ("Talk",),
}

CANONICAL_NAMES: tuple[str, ...] = tuple(
    sorted({name for names in CANONICAL.values() for name in names})
)


def _key(name: str) -> str:
    key = re.sub(r"\s+", " ", name.strip().lower())
    return key.replace(" and ", " & ")


def canonical(name: str) -> tuple[str, ...]:
    """The canonical genres a name counts as; () for a name nobody knows."""
    return CANONICAL.get(_key(name), ())


def normalize_request(names: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Canonical genres for a user's request; raises ValueError naming unknown ones."""
    unknown = [n for n in names if not canonical(n)]
    if unknown:
        more = f" and {len(unknown) - 3} more" if len(unknown) > 3 else ""
        raise ValueError(", ".join(clip(n) for n in unknown[:3]) + more)
    out: list[str] = []
    for name in names:
        for c in canonical(name):
            if c not in out:
                out.append(c)
    return tuple(out)


def genre_mask(genres: tuple[str, ...]) -> int:
    """Canonical genres as a bitmask over CANONICAL_NAMES (bit i = the i-th name), as the
    pool's `genre_mask` column holds them (`sql_mask`)."""
    return sum(1 << CANONICAL_NAMES.index(g) for g in genres)


def tmdb_genre_ids(genres: tuple[str, ...], media_type: str) -> dict[str, list[int]]:
    """Canonical genre -> the TMDB genre ids of this media type that count as it."""
    out: dict[str, list[int]] = {g: [] for g in genres}
    for tmdb_id, name in genre_table()[media_type].items():
        for c in canonical(name):
            if c in out:
                out[c].append(tmdb_id)
    return out


def sql_map() -> str:
    """The table as a DuckDB MAP literal (lower-case name -> canonical list), our constants."""
    items = ", ".join(f"{literal(k)}: {_list_literal(v)}" for k, v in sorted(CANONICAL.items()))
    return f"MAP {{{items}}}"


def _list_literal(names: Iterable[str]) -> str:
    return "[" + ", ".join(literal(n) for n in names) + "]"


def sql_mask(column: str) -> str:
    """SQL for a genre list column as a BIGINT bitmask over CANONICAL_NAMES (bit i = the
    i-th name): genre filters and the genre match become integer operations. `column` is
    our own identifier, never user input."""
    names = _list_literal(CANONICAL_NAMES)
    return f"""CAST(coalesce(list_sum(list_transform(
        list_distinct(flatten(list_transform(
            {column},
            lambda g: coalesce(({sql_map()})[regexp_replace(lower(trim(g)), ' and ', ' & ')],
                               []::VARCHAR[])
        ))),
        lambda g: (1::BIGINT << (list_position({names}, g) - 1)))), 0) AS BIGINT)"""
