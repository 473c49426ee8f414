"""What the explorer pages read, cached per warehouse version.

Every cached function takes the warehouse root and the manifest version as arguments, so a
commit by another process (an ingest, a vote refresh) changes the cache key and the next
rerun reads the new data: nothing needs a restart, and nothing is re-read while the
warehouse is unchanged. Candidate results are also keyed by the whole filter set and the
day (freshness depends on today).

Nothing here computes: the statistics are `pool.stats`'s (the `stats` command shows the same),
a title's detail and popularity history are `pool.detail`'s, candidates are the provider's.
This module only caches.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import polars as pl
import streamlit as st

from watchbuddy.errors import ConfigError
from watchbuddy.explorer.connections import views_at
from watchbuddy.jobs import scheduler
from watchbuddy.pool import detail, stats, streaming
from watchbuddy.pool.candidates import CandidateFilters, Candidates, provider_at
from watchbuddy.pool.search import search_at
from watchbuddy.pool.streaming import TMDB_WEBSITE, Provider
from watchbuddy.settings import Settings
from watchbuddy.sources.tmdb.refresh_titles import Pace
from watchbuddy.store.saved_views import SavedView, list_views
from watchbuddy.store.warehouse import Warehouse

T = TypeVar("T")

POSTER_BASE = "https://image.tmdb.org/t/p/"


@dataclass(frozen=True)
class Result:
    frame: pl.DataFrame
    query_ms: float  # time the provider took when this result was computed
    weights: dict[str, float]  # the score's components as blended (similarity when liked)
    notes: list[str]  # the provider's notes (for_you without a history says what to do)


@st.cache_data(show_spinner=False, max_entries=128)
def candidates(
    root: str, version: int, day: str, key: tuple[tuple[str, Any], ...], _filters: CandidateFilters
) -> Result:
    """The candidate list with the explorer's display columns (poster and TMDB links).

    Cached by `key`, `_filters.cache_key()`: every registry entry's value (Streamlit does not
    hash arguments whose names start with an underscore)."""
    started = time.perf_counter()
    result = provider_at(Path(root)).get(_filters)
    elapsed = (time.perf_counter() - started) * 1000
    return Result(_for_display(result), elapsed, result.weights, result.notes)


def _for_display(result: Candidates) -> pl.DataFrame:
    """A candidate frame with the explorer's columns: sparkline, poster and TMDB links."""
    return result.frame.with_columns(
        recent=result.recent(),
        # "" rather than null: the image column prints "None" for a null.
        poster=pl.when(pl.col("poster_path").is_not_null())
        .then(pl.lit(f"{POSTER_BASE}w92") + pl.col("poster_path"))
        .otherwise(pl.lit("")),
        tmdb_url=pl.format(f"{TMDB_WEBSITE}/{{}}/{{}}", "media_type", "tmdb_id"),
    )


@st.cache_data(show_spinner=False, max_entries=64)
def search(root: str, version: int, text: str, media_type: str, limit: int) -> pl.DataFrame:
    """Titles matching `text` by title or original title (`pool.search`), best first."""
    return search_at(Path(root)).search(text, media_type, limit=limit)


@st.cache_data(show_spinner=False, max_entries=64)
def picked_titles(
    root: str,
    version: int,
    day: str,
    key: tuple[tuple[str, Any], ...],
    titles: tuple[tuple[str, int], ...],
    _filters: CandidateFilters,
) -> pl.DataFrame:
    """The candidate rows of titles picked by name, scored in the chosen mode (cached by
    `key`, the filters' cache key, like `candidates`)."""
    return _for_display(provider_at(Path(root)).rows(list(titles), _filters))


@contextmanager
def _cursor(root: str, version: int) -> Iterator[duckdb.DuckDBPyConnection]:
    """A cursor of the version's views connection (its own temporary tables, its own thread)."""
    cursor = views_at(root, version).cursor()
    try:
        yield cursor
    finally:
        cursor.close()


def _read(root: str, version: int, read: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
    with _cursor(root, version) as cursor:
        return read(cursor)


@st.cache_data(show_spinner=False, max_entries=4)
def pool_flags(root: str, version: int) -> dict[str, int]:
    """Titles, synthetic titles and titles removed from TMDB (one scan, shown on every page)."""
    return _read(root, version, stats.pool_flags)


@st.cache_data(show_spinner=False, max_entries=4)
def languages(root: str, version: int) -> list[str]:
    return provider_at(Path(root)).languages()


@st.cache_data(show_spinner=False, max_entries=4)
def streaming_regions(root: str, version: int) -> list[str]:
    return provider_at(Path(root)).streaming_regions()


@st.cache_data(show_spinner=False, max_entries=64)
def region_providers(root: str, version: int, region: str) -> list[Provider]:
    return provider_at(Path(root)).region_providers(region)


@st.cache_data(show_spinner=False, max_entries=256)
def title_availability(
    root: str, version: int, region: str, media_type: str, tmdb_id: int
) -> pl.DataFrame:
    with _cursor(root, version) as cursor:
        return streaming.title_availability(cursor, region, media_type, tmdb_id)


@st.cache_data(show_spinner=False, max_entries=256)
def title_detail(root: str, version: int, media_type: str, tmdb_id: int) -> dict[str, Any] | None:
    with _cursor(root, version) as cursor:
        return detail.title_detail(cursor, media_type, tmdb_id)


@st.cache_data(show_spinner=False, max_entries=256)
def title_extras(
    root: str, version: int, media_type: str, tmdb_id: int, vote_count: int | None
) -> dict[str, Any] | None:
    with _cursor(root, version) as cursor:
        return detail.title_extras(cursor, media_type, tmdb_id, vote_count)


@st.cache_data(show_spinner=False, max_entries=256)
def popularity_history(root: str, version: int, media_type: str, tmdb_id: int) -> pl.DataFrame:
    with _cursor(root, version) as cursor:
        return detail.popularity_history(cursor, media_type, tmdb_id)


@st.cache_data(show_spinner=False, max_entries=128)
@st.cache_data(show_spinner=False, max_entries=4)
def movers(root: str, version: int) -> dict[str, pl.DataFrame]:
    return _read(root, version, stats.movers)


@st.cache_data(show_spinner=False, max_entries=4)
def pool_overview(root: str, version: int, day: str) -> dict[str, Any]:
    return _read(root, version, stats.pool_overview)


def refresh_pace(settings: Settings) -> Pace | None:
    """The `refresh-titles` job's pace (None while its schedule setting cannot work: the
    Jobs page says why)."""
    try:
        return scheduler.refresh_pace(settings)
    except ConfigError:
        return None


@st.cache_data(show_spinner=False, max_entries=4)
def tmdb_data_age(root: str, version: int, day: str, pace: Pace | None) -> dict[str, Any]:
    """How old the pool's TMDB data is, and the refresh job's pace (`stats.data_age`)."""
    return _read(root, version, lambda con: stats.data_age(con, pace))


@st.cache_data(show_spinner=False, max_entries=4)
def job_history(root: str, version: int) -> dict[str, pl.DataFrame]:
    return _read(root, version, stats.job_history)


def today() -> str:
    return dt.date.today().isoformat()


@st.cache_data(show_spinner=False, max_entries=4)
def sources(root: str, version: int) -> pl.DataFrame:
    return _read(root, version, stats.record_sources)


@st.cache_data(show_spinner=False, max_entries=4)
def provider_regions(root: str, version: int, day: str) -> list[dict[str, Any]]:
    """Each region's newest providers fetch (`stats.provider_regions`; `day` because the
    age is counted to now)."""
    return _read(root, version, stats.provider_regions)


@st.cache_data(show_spinner=False, max_entries=4)
def saved_views(root: str, version: int) -> list[SavedView]:
    """The saved views, read once per warehouse version (not on every rerun of Explore)."""
    return list_views(Warehouse(Path(root)))
