"""Candidate filters <-> URL query parameters, so a filtered Explore view can be shared.

A shared link must never break the page: every parameter is read on its own, and one that
is unknown, malformed or out of range is dropped with a note saying what was ignored and
why, while the rest still apply. Only values that differ from the defaults are written,
so links stay short and a default view has a bare URL.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from watchbuddy.pool.candidates import MODES, YEAR_RANGE, CandidateFilters
from watchbuddy.store.genres import CANONICAL_NAMES, normalize_request

DEFAULTS = CandidateFilters(limit=100)
MAX_LIMIT = 1000
MAX_OFFSET = 1_000_000
TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off"}

# URL parameter -> what it holds, for the README and for the "ignored" notes.
PARAMETERS = {
    "mode": f"discovery mode: {', '.join(MODES)}",
    "media": "movie, tv or both",
    "lang": "original language codes, comma-separated (da,sv)",
    "genre": "genres, comma-separated (Thriller,Crime)",
    "genre_mode": "any or all",
    "year_min": "earliest release year",
    "year_max": "latest release year",
    "min_rating": "lowest TMDB rating, 0-10",
    "min_votes": "vote floor (default: the mode's)",
    "adult": "include adult titles: true/false",
    "unreleased": "include unreleased titles: true/false",
    "limit": f"rows to show, 1-{MAX_LIMIT}",
    "offset": "rows to skip (the next page starts at limit)",
}


@dataclass
class ParsedParams:
    filters: CandidateFilters
    notes: list[str] = field(default_factory=list)


def _single(value: str | list[str]) -> str:
    """A repeated parameter counts by its last value, as in `st.query_params`."""
    return (value[-1] if value else "") if isinstance(value, list) else value


def _items(value: str | list[str]) -> list[str]:
    values = value if isinstance(value, list) else [value]
    return [item.strip() for v in values for item in v.split(",") if item.strip()]


def _int_in(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            number = int(text)
        except ValueError:
            raise ValueError("not a whole number") from None
        if not low <= number <= high:
            raise ValueError(f"not between {low} and {high}")
        return number

    return parse


def _rating(text: str) -> float:
    try:
        number = float(text)
    except ValueError:
        raise ValueError("not a number") from None
    if not 0 <= number <= 10:
        raise ValueError("not between 0 and 10")
    return number


def _bool(text: str) -> bool:
    word = text.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError("not true or false")


def _choice(options: tuple[str, ...]) -> Callable[[str], str]:
    def parse(text: str) -> str:
        word = text.strip().lower()
        if word not in options:
            raise ValueError(f"not one of {', '.join(options)}")
        return word

    return parse


# parameter -> (CandidateFilters field, parser of one value)
_SCALARS: dict[str, tuple[str, Callable[[str], Any]]] = {
    "mode": ("mode", _choice(tuple(MODES))),
    "media": ("media_type", _choice(("movie", "tv", "both"))),
    "genre_mode": ("genre_mode", _choice(("any", "all"))),
    "year_min": ("year_min", _int_in(*YEAR_RANGE)),
    "year_max": ("year_max", _int_in(*YEAR_RANGE)),
    "min_rating": ("min_rating", _rating),
    "min_votes": ("min_votes", _int_in(0, 10_000_000)),
    "adult": ("include_adult", _bool),
    "unreleased": ("include_unreleased", _bool),
    "limit": ("limit", _int_in(1, MAX_LIMIT)),
    "offset": ("offset", _int_in(0, MAX_OFFSET)),
}


def filters_from_params(
    params: Mapping[str, str | list[str]], languages: set[str] | None = None
) -> ParsedParams:
    """The filters a URL asks for, and a note for every part of it that was ignored.

    `languages`, when given, are the codes present in the pool; others are dropped with a
    note (they could only ever return nothing)."""
    values: dict[str, Any] = {}
    notes: list[str] = []
    for name, raw in params.items():
        if name in _SCALARS:
            target, parse = _SCALARS[name]
            text = _single(raw)
            try:
                values[target] = parse(text)
            except ValueError as exc:
                notes.append(f"Ignored {name}={text!r}: {str(exc) or 'not a valid value'}.")
        elif name == "lang":
            codes = sorted({code.lower() for code in _items(raw)})
            unknown = [c for c in codes if languages is not None and c not in languages]
            if unknown:
                notes.append(f"Ignored lang {', '.join(unknown)}: no titles in the pool.")
            values["languages"] = tuple(c for c in codes if c not in unknown)
        elif name == "genre":
            kept: list[str] = []
            for genre in _items(raw):
                try:
                    kept.extend(normalize_request((genre,)))
                except ValueError:
                    notes.append(
                        f"Ignored genre {genre!r}: not a known genre "
                        f"({', '.join(CANONICAL_NAMES)})."
                    )
            values["genres"] = tuple(dict.fromkeys(kept))
        else:
            notes.append(f"Ignored unknown parameter {name!r}; known: {', '.join(PARAMETERS)}.")
    low, high = values.get("year_min"), values.get("year_max")
    if low is not None and high is not None and low > high:
        notes.append(f"Ignored year_min={low} and year_max={high}: the range is empty.")
        values.pop("year_min")
        values.pop("year_max")
    return ParsedParams(replace(DEFAULTS, **values), notes)


def params_from_filters(filters: CandidateFilters) -> dict[str, str]:
    """The query parameters for `filters`: only those that differ from the defaults."""
    params: dict[str, str] = {}
    for name, (target, _parse) in _SCALARS.items():
        value = getattr(filters, target)
        if value != getattr(DEFAULTS, target):
            params[name] = str(value).lower() if isinstance(value, bool) else str(value)
    if filters.languages:
        params["lang"] = ",".join(filters.languages)
    if filters.genres:
        params["genre"] = ",".join(filters.genres)
    return params
