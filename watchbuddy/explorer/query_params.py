"""Candidate filters <-> URL query parameters, so a filtered Explore view can be shared.

A shared link must never break the page: every parameter is read on its own, and one that
is unknown, malformed or out of range is dropped with a note saying what was ignored and
why, while the rest still apply. Only values that differ from the defaults are written,
so links stay short and a default view has a bare URL. Which parameters exist, what they
hold and which values pass all come from the filter registry (`watchbuddy.pool.filters`):
a value is checked by the same entry `validated()` uses.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import parse_qs, urlencode

from watchbuddy.errors import InvalidValue
from watchbuddy.pool.filters import (
    FILTERS,
    MAX_LIMIT,
    MAX_OFFSET,
    YEAR_RANGE,
    CandidateFilters,
    Filter,
    missing_languages,
    order_errors,
)

__all__ = [
    "DEFAULTS",
    "MAX_LIMIT",
    "MAX_OFFSET",
    "PARAMETERS",
    "YEAR_RANGE",
    "ParsedParams",
    "filters_from_params",
    "params_from_filters",
    "query_string",
    "read_query_string",
]

DEFAULTS = CandidateFilters(limit=100)
# URL parameter -> its registry entry
LINKED: dict[str, Filter] = {spec.url: spec for spec in FILTERS if spec.url}
# field -> its URL parameter
LINK_OF: dict[str, str] = {spec.name: url for url, spec in LINKED.items()}
# URL parameter -> what it holds, for the README and for the "ignored" notes.
PARAMETERS = {name: spec.url_help for name, spec in LINKED.items()}


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


def _list(
    spec: Filter, name: str, raw: str | list[str], notes: list[str], languages: set[str] | None
) -> tuple[str, ...]:
    """The items of a comma-separated list that its entry accepts; a note for the others."""
    kept: list[str] = []
    for item in _items(raw):
        try:
            spec.validate((item,))
        except InvalidValue as exc:
            notes.append(f"Ignored {name} {item!r}: {exc.reason}.")
        else:
            kept.append(item)
    values: tuple[str, ...] = spec.validate(tuple(kept))
    if spec.name == "languages" and languages is not None:
        unknown = missing_languages(values, languages)
        if unknown:
            notes.append(f"Ignored {name} {', '.join(unknown)}: no titles in the pool.")
        values = tuple(code for code in values if code not in unknown)
    return values


def filters_from_params(
    params: Mapping[str, str | list[str]], languages: set[str] | None = None
) -> ParsedParams:
    """The filters a URL asks for, and a note for every part of it that was ignored.

    `languages`, when given, are the codes present in the pool; others are dropped with a
    note (they could only ever return nothing)."""
    values: dict[str, Any] = {}
    notes: list[str] = []
    for name, raw in params.items():
        spec = LINKED.get(name)
        if spec is None:
            notes.append(f"Ignored unknown parameter {name!r}; known: {', '.join(PARAMETERS)}.")
        elif spec.is_list:
            values[spec.name] = _list(spec, name, raw, notes, languages)
        else:
            text = _single(raw)
            try:
                values[spec.name] = spec.from_link(text)
            except ValueError as exc:
                notes.append(f"Ignored {name}={text!r}: {str(exc) or 'not a valid value'}.")
    for low, high, _error in order_errors(values):
        notes.append(
            f"Ignored {LINK_OF[low]}={values[low]} and {LINK_OF[high]}={values[high]}: "
            "the range is empty."
        )
        values.pop(low)
        values.pop(high)
    return ParsedParams(replace(DEFAULTS, **values), notes)


def params_from_filters(filters: CandidateFilters) -> dict[str, str]:
    """The query parameters for `filters`: only those that differ from the defaults."""
    params: dict[str, str] = {}
    for name, spec in LINKED.items():
        value = getattr(filters, spec.name)
        if value != getattr(DEFAULTS, spec.name):
            params[name] = spec.to_link(value)
    return params


def query_string(filters: CandidateFilters) -> str:
    """The link's query string for `filters` (what a saved view stores)."""
    return urlencode(params_from_filters(filters))


def read_query_string(query: str) -> tuple[ParsedParams, set[str]]:
    """The filters a stored query string asks for, with its notes, and the fields it sets:
    those that differ from the page's defaults, as a link holds only those (the others keep
    whatever default the reader has: `recommend --preset` keeps its own)."""
    parsed = filters_from_params(parse_qs(query, keep_blank_values=True))
    chosen = {
        spec.name
        for spec in LINKED.values()
        if getattr(parsed.filters, spec.name) != getattr(DEFAULTS, spec.name)
    }
    return parsed, chosen
