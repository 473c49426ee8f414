"""Explore links: any filter set survives the trip through the URL, and no URL, however
mangled, raises: what cannot be used is dropped with a note."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from watchbuddy.explorer.query_params import (
    DEFAULTS,
    MAX_LIMIT,
    PARAMETERS,
    YEAR_RANGE,
    filters_from_params,
    params_from_filters,
)
from watchbuddy.pool.candidates import MODES, CandidateFilters
from watchbuddy.store.genres import CANONICAL_NAMES

years = st.none() | st.integers(*YEAR_RANGE)
filters_strategy = st.builds(
    CandidateFilters,
    media_type=st.sampled_from(["movie", "tv", "both"]),
    languages=st.lists(st.sampled_from(["en", "da", "fr", "ja", "xx"]), unique=True).map(
        lambda codes: tuple(sorted(codes))
    ),
    genres=st.lists(st.sampled_from(CANONICAL_NAMES), unique=True).map(tuple),
    genre_mode=st.sampled_from(["any", "all"]),
    year_min=years,
    year_max=years,
    min_rating=st.none() | st.sampled_from([0.5, 5.0, 7.5, 10.0]),
    min_votes=st.none() | st.integers(0, 100_000),
    include_adult=st.booleans(),
    include_unreleased=st.booleans(),
    mode=st.sampled_from(list(MODES)),
    limit=st.integers(1, MAX_LIMIT),
    offset=st.integers(0, 5000),
).filter(lambda f: f.year_min is None or f.year_max is None or f.year_min <= f.year_max)


@given(filters_strategy)
def test_every_filter_set_round_trips_through_the_url(filters: CandidateFilters) -> None:
    params = params_from_filters(filters)
    assert set(params) <= set(PARAMETERS)
    parsed = filters_from_params(params)
    assert parsed.notes == []
    assert parsed.filters == filters


text = st.text(max_size=12)


@given(st.dictionaries(st.sampled_from([*PARAMETERS, "junk", "utm"]) | text, text | st.lists(text)))
def test_no_url_raises_and_the_result_is_always_a_valid_filter_set(params: dict) -> None:
    parsed = filters_from_params(params, languages={"en", "fr"})
    parsed.filters.validated()  # would raise ConfigError on an invalid combination
    unknown = [k for k in params if k not in PARAMETERS]
    assert all(any(repr(k) in note for note in parsed.notes) for k in unknown)


def test_a_default_view_has_no_parameters() -> None:
    assert params_from_filters(DEFAULTS) == {}
    assert filters_from_params({}).filters == DEFAULTS


def test_an_empty_year_range_is_dropped_with_a_note() -> None:
    parsed = filters_from_params({"year_min": "2010", "year_max": "1990"})
    assert parsed.filters.year_min is None and parsed.filters.year_max is None
    assert parsed.notes == ["Ignored year_min=2010 and year_max=1990: the range is empty."]
