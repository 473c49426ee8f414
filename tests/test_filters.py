"""The filter registry: every filter is declared once, and the CLI, the Explore links and
`validated()` agree on every value of every filter, because they all ask its entry."""

from __future__ import annotations

import ast
import datetime as dt
from dataclasses import replace
from pathlib import Path
from typing import Any

import click
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from watchbuddy.cli import filter_options
from watchbuddy.errors import ConfigError
from watchbuddy.explorer.query_params import DEFAULTS, filters_from_params, params_from_filters
from watchbuddy.pool.filters import (
    BY_NAME,
    FILTERS,
    CandidateFilters,
    Filter,
    discover_queries,
    readme_table,
)
from watchbuddy.pool.modes import MODES
from watchbuddy.sources.tmdb.ingest import DATE_FIELD
from watchbuddy.sql import statements
from watchbuddy.store.genres import CANONICAL_NAMES

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
TODAY = dt.date(2024, 6, 1)


@click.command()
@filter_options
def probe(chosen: dict[str, Any]) -> CandidateFilters:
    """What `recommend` does with its filter options, without a pool."""
    chosen.pop("exclude")
    return CandidateFilters(**chosen).validated()


def by_cli(spec: Filter, value: Any) -> CandidateFilters | None:
    """The filters `recommend` would use for this value, or None if it refuses it."""
    if spec.base is bool:
        args = [spec.cli] if value else []
    elif spec.is_list:
        args = [f"{spec.cli}={item}" for item in value]
    else:
        args = [] if value is None else [f"{spec.cli}={value}"]
    try:
        return probe.main(args, standalone_mode=False)
    except (click.ClickException, ConfigError):
        return None


def by_python(spec: Filter, value: Any) -> CandidateFilters | None:
    try:
        return CandidateFilters(**{spec.name: value}).validated()
    except ConfigError:
        return None


WORDS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_&- ", min_size=1, max_size=14).map(str.strip)
ITEMS = (
    st.sampled_from([*CANONICAL_NAMES, "Sci-Fi", "Telenovela", "en", "da", "xx", "Danish", "zz"])
    | WORDS
).filter(bool)


def values(spec: Filter) -> st.SearchStrategy[Any]:
    """Values of the entry's type, inside and outside what it accepts."""
    if spec.base is bool:
        return st.booleans()
    if spec.options:
        return st.sampled_from(spec.options) | WORDS.filter(lambda w: w == w.lower())
    if spec.is_list:
        return st.lists(ITEMS, max_size=3).map(tuple)
    low, high = spec.bounds or (0, 100)
    if spec.base is float:
        drawn = st.floats(low - 1, high + 1, allow_nan=False)
    else:
        drawn = (
            st.integers(int(low) - 3, int(low) + 3)
            | st.integers(int(high) - 3, int(high) + 3)
            | st.integers(-(2**70), 2**70)
        )
    return st.none() | drawn if spec.default is None else drawn


TESTED = [spec for spec in FILTERS if (spec.cli and not spec.cli_file) or spec.url]


@pytest.mark.parametrize("spec", TESTED, ids=lambda s: s.name)
@settings(deadline=None, max_examples=60)
@given(data=st.data())
def test_the_cli_and_links_agree_with_validated(spec: Filter, data: st.DataObject) -> None:
    value = data.draw(values(spec))
    expected = by_python(spec, value)
    if spec.cli:
        cli = by_cli(spec, value)
        assert (cli is None) == (expected is None), (value, cli, expected)
        if expected is not None and cli is not None:
            assert getattr(cli, spec.name) == getattr(expected, spec.name)
    if not spec.url or value is None or value == ():
        return
    low, high = spec.url_bounds or (value, value)
    in_links = low <= value <= high
    parsed = filters_from_params({spec.url: spec.to_link(value)})
    if expected is not None and in_links:
        assert parsed.notes == [], (value, parsed.notes)
        shared = replace(DEFAULTS, **{spec.name: getattr(expected, spec.name)})
        assert parsed.filters == shared
        # ... and back: the link for the filters is the link we read
        again = filters_from_params(params_from_filters(shared))
        assert again.notes == [] and again.filters == shared
    else:
        assert parsed.notes and all(spec.url in note for note in parsed.notes), parsed.notes


def test_the_readme_filter_table_is_the_registry() -> None:
    assert readme_table() in README.read_text(encoding="utf-8")


def test_every_entry_is_declared_consistently() -> None:
    names = [spec.name for spec in FILTERS]
    assert names == list(CandidateFilters.__dataclass_fields__)
    for attribute in ("cli", "url"):
        taken = [getattr(spec, attribute) for spec in FILTERS if getattr(spec, attribute)]
        assert len(taken) == len(set(taken)), attribute
    for spec in FILTERS:
        assert spec.help.endswith("."), spec.name
        if spec.widget is not None:
            assert spec.url, f"{spec.name}: a sidebar widget is keyed by its link parameter"
        if spec.url:
            assert spec.url_help, spec.name


def test_every_condition_is_a_statement_in_candidates_sql() -> None:
    named = statements("candidates.sql")
    everything = replace(
        CandidateFilters(),
        media_type="movie",
        languages=("da",),
        genres=("Drama",),
        year_min=1990,
        year_max=2000,
        min_rating=5.0,
        region="US",
        providers=("8",),  # as the provider resolves them: TMDB ids
        exclude_genres=("Music",),
        keywords=("heist",),
        exclude_keywords=("concert",),
        runtime_min=60,
        runtime_max=120,
        poster="with",
    )
    no_poster = CandidateFilters(poster="without")
    used = {
        name
        for filters in (CandidateFilters(), everything, no_poster)
        for name, _ in filters.conditions()
    }
    assert used <= set(named)
    assert {n for n in named if n.startswith("where_")} <= used | {"where_genres_all"}


def test_validated_checks_languages_like_the_cli_and_links() -> None:
    with pytest.raises(ConfigError, match="Unknown language"):
        CandidateFilters(languages=("Notalanguage",)).validated()
    parsed = filters_from_params({"lang": "Danish,Notalanguage"})
    assert parsed.filters.languages == ("da",)
    assert parsed.notes == ["Ignored lang 'Notalanguage': not a language code or name."]


def test_discover_queries_carry_every_filter_to_tmdb() -> None:
    filters = CandidateFilters(
        mode="obscure",
        languages=("da", "sv"),
        genres=("Science Fiction",),
        year_min=1990,
        year_max=2000,
        min_rating=6.5,
    ).validated()
    queries = list(discover_queries(filters, TODAY, DATE_FIELD))
    assert [(m, p["with_original_language"]) for m, p in queries] == [
        ("movie", "da"),
        ("movie", "sv"),
        ("tv", "da"),
        ("tv", "sv"),
    ]
    movie = queries[0][1]
    assert movie == {
        "sort_by": "vote_average.desc",
        "with_original_language": "da",
        "with_genres": "878",
        "primary_release_date.gte": "1990-01-01",
        "primary_release_date.lte": "2000-12-31",
        "vote_average.gte": 6.5,
        "vote_count.gte": 20,
        "include_adult": "false",
    }
    assert queries[2][1]["with_genres"] == "10765"  # Sci-Fi & Fantasy
    assert queries[2][1]["first_air_date.lte"] == "2000-12-31"
    # Without a year, the ceiling is today unless unreleased titles are asked for.
    today_only = dict(discover_queries(CandidateFilters(media_type="tv"), TODAY, DATE_FIELD))
    assert today_only["tv"]["first_air_date.lte"] == TODAY.isoformat()
    unreleased = CandidateFilters(media_type="tv", include_unreleased=True)
    assert "first_air_date.lte" not in dict(discover_queries(unreleased, TODAY, DATE_FIELD))["tv"]
    # A genre TMDB has no id for in this media type, in 'all' mode: that query is left out.
    kids = CandidateFilters(genres=("Kids", "Drama"), genre_mode="all").validated()
    assert [m for m, _ in discover_queries(kids, TODAY, DATE_FIELD)] == ["tv"]


def test_every_mode_has_its_tmdb_order() -> None:
    for mode in MODES.values():
        assert mode.sort_by.endswith(".desc")
    queries = dict(discover_queries(CandidateFilters(mode="popular"), TODAY, DATE_FIELD))
    assert queries["movie"]["sort_by"] == MODES["popular"].sort_by


def test_the_fallback_knows_nothing_of_the_pool_package() -> None:
    """candidates asks the fallback; the fallback never imports candidates (or filters)."""
    source = (ROOT / "watchbuddy/sources/tmdb/fallback.py").read_text(encoding="utf-8")
    imported = {
        node.module
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.ImportFrom) and node.module
    }
    assert not {m for m in imported if m.startswith("watchbuddy.pool")}
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            assert not any(alias.name.startswith("_") for alias in node.names), node.module


def test_the_cache_key_follows_every_entry() -> None:
    base = CandidateFilters()
    for spec in FILTERS:
        if spec.base is bool:
            changed = replace(base, **{spec.name: not spec.default})
        elif spec.name == "exclude":
            changed = replace(base, exclude=frozenset({("movie", 1)}))
        else:
            continue
        assert changed.cache_key() != base.cache_key(), spec.name
    assert BY_NAME["mode"].options == tuple(MODES)
