"""What the explorer pages read, cached per warehouse version.

Every cached function takes the warehouse root and the manifest version as arguments, so a
commit by another process (an ingest, a vote refresh) changes the cache key and the next
rerun reads the new data: nothing needs a restart, and nothing is re-read while the
warehouse is unchanged. Candidate results are also keyed by the whole filter set and the
day (freshness depends on today).
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import streamlit as st

from watchbuddy.explorer.connections import views_at
from watchbuddy.pool.candidates import CandidateFilters, provider_at
from watchbuddy.pool.stats import STALE_AFTER_DAYS
from watchbuddy.pool.stats import pool_flags as _pool_flags

POSTER_BASE = "https://image.tmdb.org/t/p/"
TMDB_WEBSITE = "https://www.themoviedb.org"


@dataclass(frozen=True)
class Result:
    frame: pl.DataFrame
    query_ms: float  # time the provider took when this result was computed


@st.cache_data(show_spinner=False, max_entries=128)
def candidates(
    root: str, version: int, day: str, key: tuple[tuple[str, Any], ...], _filters: CandidateFilters
) -> Result:
    """The candidate list with the explorer's display columns (poster and TMDB links).

    Cached by `key`, `_filters.cache_key()`: every registry entry's value (Streamlit does not
    hash arguments whose names start with an underscore)."""
    started = time.perf_counter()
    frame = provider_at(Path(root)).get(_filters).frame
    elapsed = (time.perf_counter() - started) * 1000
    frame = frame.with_columns(
        # "" rather than null: the image column prints "None" for a null.
        poster=pl.when(pl.col("poster_path").is_not_null())
        .then(pl.lit(f"{POSTER_BASE}w92") + pl.col("poster_path"))
        .otherwise(pl.lit("")),
        tmdb_url=pl.format(f"{TMDB_WEBSITE}/{{}}/{{}}", "media_type", "tmdb_id"),
    )
    return Result(frame, elapsed)


@st.cache_data(show_spinner=False, max_entries=4)
def pool_flags(root: str, version: int) -> dict[str, int]:
    """Titles, synthetic titles and titles removed from TMDB (one scan, shown on every page)."""
    cursor = views_at(root, version).cursor()
    try:
        return _pool_flags(cursor)
    finally:
        cursor.close()


@st.cache_data(show_spinner=False, max_entries=4)
def languages(root: str, version: int) -> list[str]:
    return provider_at(Path(root)).languages()


def _frame(root: str, version: int, sql: str, params: list[Any] | None = None) -> pl.DataFrame:
    cursor = views_at(root, version).cursor()
    try:
        return cursor.sql(sql, params=params or None).pl()
    finally:
        cursor.close()


TITLE_DETAIL_SQL = """
SELECT media_type, tmdb_id, imdb_id, title, original_title, original_language, overview,
       status, release_date, year, genres, keywords, runtime, popularity, vote_average,
       vote_count, adult, poster_path, source, source_name, updated_at, votes_refreshed_at,
       landed_at, obscurity_score, mainstream_score, freshness_score
FROM pool
WHERE media_type = ? AND tmdb_id = ?
"""


@st.cache_data(show_spinner=False, max_entries=256)
def title_detail(root: str, version: int, media_type: str, tmdb_id: int) -> dict[str, Any] | None:
    rows = _frame(root, version, TITLE_DETAIL_SQL, [media_type, tmdb_id]).to_dicts()
    return rows[0] if rows else None


# The Pool page's numbers come from one scan of the pool into a temporary table, so seven
# aggregates read the pool's file once (or, where no file could be written, merge once).
POOL_SNAPSHOT_SQL = f"""
CREATE OR REPLACE TEMP TABLE pool_snapshot AS
SELECT media_type, original_language, year, genres, obscurity_score, mainstream_score,
       freshness_score,
       coalesce(votes_refreshed_at, updated_at) < now() - INTERVAL {STALE_AFTER_DAYS} DAY
           AS stale,
       date_diff('month', coalesce(votes_refreshed_at, updated_at), now()) AS age_months
FROM pool
"""

POOL_QUERIES = {
    "by_media_type": """
        SELECT media_type, count(*) AS titles FROM pool_snapshot GROUP BY ALL ORDER BY 1""",
    "by_language": """
        SELECT coalesce(original_language, '?') AS language, count(*) AS titles,
               count(*) FILTER (WHERE media_type = 'movie') AS movies,
               count(*) FILTER (WHERE media_type = 'tv') AS shows
        FROM pool_snapshot GROUP BY ALL ORDER BY titles DESC, language""",
    "by_decade": """
        SELECT (year // 10) * 10 AS decade, media_type, count(*) AS titles
        FROM pool_snapshot WHERE year IS NOT NULL GROUP BY ALL ORDER BY decade, media_type""",
    "by_genre": """
        SELECT genre, media_type, count(*) AS titles
        FROM (SELECT unnest(genres) AS genre, media_type FROM pool_snapshot)
        GROUP BY ALL ORDER BY titles DESC""",
    "score_histogram": """
        UNPIVOT (SELECT obscurity_score AS obscurity, mainstream_score AS mainstream,
                        freshness_score AS freshness FROM pool_snapshot)
        ON obscurity, mainstream, freshness INTO NAME score VALUE value""",
    "age": """
        SELECT count(*) AS titles, count(*) FILTER (WHERE stale) AS stale,
               count(*) FILTER (WHERE age_months IS NULL) AS unknown_age
        FROM pool_snapshot""",
    "age_histogram": """
        SELECT least(age_months, 24) AS months_since_fetch, count(*) AS titles
        FROM pool_snapshot WHERE age_months IS NOT NULL GROUP BY ALL ORDER BY 1""",
}

SCORE_BINS = 20
SCORE_HISTOGRAM_SQL = f"""
SELECT score, least(floor(value * {SCORE_BINS}), {SCORE_BINS - 1}) / {SCORE_BINS} AS bin,
       count(*) AS titles
FROM ({POOL_QUERIES["score_histogram"]})
GROUP BY ALL ORDER BY score, bin
"""

IMPORTS_SQL = """
SELECT file, status, media_types, rows_read, accepted, duplicates, rejected, seconds, message,
       landed_at
FROM imports ORDER BY batch DESC
"""
REJECT_REASONS_SQL = """
SELECT file, reason, count(*) AS rows, min(line) AS first_line
FROM rejects GROUP BY ALL ORDER BY rows DESC, file, reason
"""
REJECT_SAMPLES_SQL = """
SELECT file, line, reason, raw FROM rejects ORDER BY batch DESC, file, line LIMIT 1000
"""


@st.cache_data(show_spinner=False, max_entries=4)
def pool_overview(root: str, version: int, day: str) -> dict[str, Any]:
    cursor = views_at(root, version).cursor()
    try:
        cursor.execute(POOL_SNAPSHOT_SQL)
        out: dict[str, Any] = {
            name: cursor.sql(sql).pl()
            for name, sql in POOL_QUERIES.items()
            if name != "score_histogram"
        }
        out["score_histogram"] = cursor.sql(SCORE_HISTOGRAM_SQL).pl()
        out["imports"] = cursor.sql(IMPORTS_SQL).pl()
        out["reject_reasons"] = cursor.sql(REJECT_REASONS_SQL).pl()
        out["reject_samples"] = cursor.sql(REJECT_SAMPLES_SQL).pl()
        cursor.execute("DROP TABLE pool_snapshot")
    finally:
        cursor.close()
    return out


RUN_HISTORY_SQL = """
SELECT started_at, job, media_type, status, finished_at,
       date_diff('second', started_at, finished_at) AS seconds, pages, requests,
       titles_new, titles_updated, retries, errors, array_to_string(messages, ' | ') AS messages
FROM runs ORDER BY started_at DESC LIMIT 500
"""
CHECKPOINTS_SQL = """
SELECT media_type, last_release_date, last_run_at, titles_seen FROM checkpoints ORDER BY 1
"""


@st.cache_data(show_spinner=False, max_entries=4)
def job_history(root: str, version: int) -> dict[str, pl.DataFrame]:
    return {
        "runs": _frame(root, version, RUN_HISTORY_SQL),
        "checkpoints": _frame(root, version, CHECKPOINTS_SQL),
    }


def today() -> str:
    return dt.date.today().isoformat()


SOURCES_SQL = """
SELECT source, source_name, media_type, count(*) AS records, max(updated_at) AS newest_record
FROM titles GROUP BY ALL ORDER BY records DESC
"""


@st.cache_data(show_spinner=False, max_entries=4)
def sources(root: str, version: int) -> pl.DataFrame:
    return _frame(root, version, SOURCES_SQL)
