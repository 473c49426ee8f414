"""The candidate provider: filtered, discovery-aware candidate lists for the recommender.

`get_candidates(filters)` answers from an in-memory DuckDB table loaded from the pool's
materialized file for the warehouse version (`pool_cache`), with freshness for today: a
query the engine makes many times a day must not merge and score 1.5M titles each time. A
query after a delta is published sees it, because every call compares the manifest
version first.

Filters are exact: genres are compared in one canonical vocabulary on both sides
(`genres`), languages and media types by value, exclusions by `(media_type, tmdb_id)`.
A discovery mode sets the default vote floor and the weights that blend the pool scores
and the genre match into `score`; the weights are the `MODES` table below (and in the
README). Ties are broken by vote count, then media type, then id, so pages are stable.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import duckdb
import polars as pl

from watchbuddy.errors import ConfigError
from watchbuddy.pool.languages import to_code
from watchbuddy.safe_text import clip
from watchbuddy.settings import Settings
from watchbuddy.sources.csv.sniff import utf8_csv_bytes
from watchbuddy.sql import sql_file
from watchbuddy.store.genres import CANONICAL_NAMES, normalize_request
from watchbuddy.store.schema import MEDIA_TYPE_ALIASES, RELEASE_DATE_RANGE, normalize_header
from watchbuddy.store.views import materialized_pool, new_connection
from watchbuddy.store.warehouse import Warehouse

MediaChoice = Literal["movie", "tv", "both"]
GenreMode = Literal["any", "all"]
# Release years a filter may ask for: the years of the release dates that land.
YEAR_RANGE = (RELEASE_DATE_RANGE[0].year, RELEASE_DATE_RANGE[1].year)
# The most --limit and --offset may be: far past any pool (TMDB has about 1.5M titles), far
# below the 64-bit integers DuckDB takes them as.
MAX_LIST = 10_000_000


@dataclass(frozen=True)
class Mode:
    """A discovery mode: the default vote floor and the weights of the score's components."""

    min_votes: int
    mainstream: float
    obscurity: float
    quality: float
    freshness: float
    genre_match: float

    def weights(self) -> dict[str, float]:
        """Each component's weight, normalized so that `score` stays in [0, 1]."""
        raw = {name: getattr(self, name) for name in COMPONENTS}
        total = sum(raw.values())
        return {name: value / total for name, value in raw.items()}


# The components a mode blends, with the pool (or query) column each one reads.
COMPONENTS = {
    "mainstream": "mainstream_score",
    "obscurity": "obscurity_score",
    "quality": "quality_score",
    "freshness": "freshness_score",
    "genre_match": "genre_match",
}

# The one table of discovery modes (documented in the README). `score` is the weighted sum
# of the pool's reach scores (mainstream, obscurity), its confidence-aware quality score,
# freshness and the share of requested genres a title has (1 when no genre is requested),
# so it stays in [0, 1]. In the obscure modes quality outweighs obscurity: among titles
# that few have seen, the well-attested rating decides (an 8.2 from 60 votes ranks above a
# 10.0 from 6), while obscurity still keeps famous titles down the list.
# mode: (vote floor, mainstream, obscurity, quality, freshness, genre match)
_MODE_TABLE = {
    "mainstream": (500, 0.50, 0.0, 0.30, 0.05, 0.15),
    "popular": (100, 0.30, 0.0, 0.20, 0.35, 0.15),
    "balanced": (50, 0.15, 0.15, 0.45, 0.10, 0.15),
    "obscure": (20, 0.0, 0.30, 0.45, 0.10, 0.15),
    "very_obscure": (10, 0.0, 0.40, 0.45, 0.0, 0.15),
    "deep_discovery": (5, 0.0, 0.30, 0.35, 0.20, 0.15),
}
MODES: dict[str, Mode] = {name: Mode(*row) for name, row in _MODE_TABLE.items()}

OUTPUT_COLUMNS = [
    "media_type",
    "tmdb_id",
    "title",
    "original_title",
    "year",
    "original_language",
    "genres",
    "vote_average",
    "vote_count",
    "popularity",
    "poster_path",
    "obscurity_score",
    "mainstream_score",
    "quality_score",
    "freshness_score",
    "genre_match",
    "score",
    "explanation",
    "from_persistent_store",
]


@dataclass(frozen=True)
class CandidateFilters:
    """What the engine (or a user) asks for; `validated()` (called by every query) checks it
    and normalizes genres and languages."""

    media_type: MediaChoice = "both"
    languages: tuple[str, ...] = ()
    genres: tuple[str, ...] = ()
    genre_mode: GenreMode = "any"
    year_min: int | None = None
    year_max: int | None = None
    min_rating: float | None = None
    min_votes: int | None = None  # None: the mode's floor
    include_adult: bool = False
    include_unreleased: bool = False  # titles whose release date is after today, or unknown
    include_removed: bool = False  # titles TMDB answered 404 for (`removed_from_tmdb_at`)
    exclude: frozenset[tuple[str, int]] = frozenset()
    mode: str = "balanced"
    limit: int = 50
    offset: int = 0

    def validated(self) -> CandidateFilters:
        if self.mode not in MODES:
            raise ConfigError(f"Unknown mode {clip(self.mode)!r}; valid modes: {', '.join(MODES)}.")
        if self.media_type not in ("movie", "tv", "both"):
            raise ConfigError(
                f"Unknown media type {clip(self.media_type)!r}; use movie, tv or both."
            )
        if self.genre_mode not in ("any", "all"):
            raise ConfigError(f"Unknown genre mode {clip(self.genre_mode)!r}; use any or all.")
        try:
            genres = normalize_request(self.genres)
        except ValueError as exc:
            raise ConfigError(
                f"Unknown genre {exc}; valid genres: {', '.join(CANONICAL_NAMES)} (TMDB's TV "
                "names such as 'Sci-Fi & Fantasy' and 'Action & Adventure' work too)."
            ) from None
        low, high = YEAR_RANGE
        for name, year in (("year-min", self.year_min), ("year-max", self.year_max)):
            if year is not None and not low <= year <= high:
                raise ConfigError(
                    f"{name} {year} is outside the years titles can have ({low}-{high})."
                )
        if (
            self.year_min is not None
            and self.year_max is not None
            and self.year_min > self.year_max
        ):
            raise ConfigError(f"year-min {self.year_min} is after year-max {self.year_max}.")
        if not 1 <= self.limit <= MAX_LIST:
            raise ConfigError(f"limit must be from 1 to {MAX_LIST:,} (got {self.limit:,}).")
        if not 0 <= self.offset <= MAX_LIST:
            raise ConfigError(f"offset must be from 0 to {MAX_LIST:,} (got {self.offset:,}).")
        if self.min_rating is not None and not 0 <= self.min_rating <= 10:
            raise ConfigError("min-rating must be between 0 and 10.")
        if self.min_votes is not None and self.min_votes < 0:
            raise ConfigError("min-votes must be 0 or more.")
        # Codes or names ("Danish", "Deutsch") -> TMDB's codes.
        languages = tuple(sorted({to_code(lang) for lang in self.languages}))
        return CandidateFilters(**{**self.__dict__, "genres": genres, "languages": languages})

    @property
    def vote_floor(self) -> int:
        return MODES[self.mode].min_votes if self.min_votes is None else self.min_votes


@dataclass
class Candidates:
    """A candidate list and what was asked for."""

    frame: pl.DataFrame
    requested: int
    filters: CandidateFilters
    notes: list[str] = field(default_factory=list)
    total: int | None = None  # titles matching in the pool; counted when a page is short

    @property
    def past_the_end(self) -> bool:
        """The offset skips every match the pool has (and it has some): the list ended."""
        return bool(self.total) and self.filters.offset >= (self.total or 0)

    def dicts(self) -> list[dict[str, Any]]:
        return self.frame.to_dicts()

    @property
    def short_by(self) -> int:
        return max(self.requested - self.frame.height, 0)


# What the query scans: the filter and score columns of the pool's materialized file
# (sorted by vote count, genres as a bitmask over CANONICAL_NAMES; see pool_cache), with
# freshness for today. Its rowid is the row's position in that file, so the wide columns
# of the chosen rows are a Polars gather from `DISPLAY_COLUMNS`: carrying titles and genre
# lists through DuckDB's top-N tripled the query time.
LOAD_SQL = """
CREATE OR REPLACE TABLE candidate_pool AS
SELECT media_type, tmdb_id, year, release_date, original_language, genre_mask,
       coalesce(vote_average, 0) AS vote_average, coalesce(vote_count, 0) AS vote_count,
       coalesce(popularity, 0) AS popularity, adult,
       removed_from_tmdb_at IS NOT NULL AS removed, coalesce(synthetic, false) AS synthetic,
       obscurity_score, mainstream_score, quality_score,
       freshness_score(release_date, current_date) AS freshness_score
FROM read_parquet($path)
"""

ZERO_WHEN_UNKNOWN = ("vote_average", "vote_count", "popularity")
# Everything the output needs that does not depend on the request or on today.
DISPLAY_COLUMNS = OUTPUT_COLUMNS[: OUTPUT_COLUMNS.index("freshness_score")]

# The candidate query. Only the filters a request uses become WHERE conditions (each one
# parameterized): constant-folded "$x IS NULL OR ..." conditions still cost a check per row.
QUERY_SQL = """
WITH scored AS (
    SELECT rowid AS rid, media_type, tmdb_id, vote_count, synthetic, obscurity_score,
           mainstream_score, quality_score, freshness_score, {genre_match} AS genre_match
    FROM candidate_pool
    WHERE {conditions}
)
SELECT rid, synthetic, genre_match, freshness_score,
    $w_mainstream * mainstream_score + $w_obscurity * obscurity_score
        + $w_quality * quality_score + $w_freshness * freshness_score
        + $w_genre_match * genre_match AS score
FROM scored
{exclusion}
ORDER BY score DESC, vote_count DESC, media_type, tmdb_id
LIMIT $limit OFFSET $offset
"""

COUNT_SQL = """
WITH scored AS (SELECT media_type, tmdb_id FROM candidate_pool WHERE {conditions})
SELECT count(*) FROM scored {exclusion}
"""

# filter -> (condition, parameters it needs), used when the filter is set.
CONDITIONS = {
    "media_type": "media_type = $media",
    "languages": "list_contains($languages, original_language)",
    "genres_all": "genre_mask & $genre_mask = $genre_mask",
    "genres_any": "genre_mask & $genre_mask <> 0",
    "year_min": "year >= $year_min",
    "year_max": "year <= $year_max",
    "min_rating": "vote_average >= $min_rating",
    "adult": "NOT adult",
    "released": "release_date <= current_date",
    "not_removed": "NOT removed",
}


def _conditions(filters: CandidateFilters) -> tuple[list[str], dict[str, Any], str]:
    """The WHERE conditions, their parameters and the genre-match expression for `filters`."""
    conditions = ["vote_count >= $min_votes"]
    params: dict[str, Any] = {"min_votes": filters.vote_floor}
    if filters.media_type != "both":
        conditions.append(CONDITIONS["media_type"])
        params["media"] = filters.media_type
    if filters.languages:
        conditions.append(CONDITIONS["languages"])
        params["languages"] = list(filters.languages)
    genre_match = "1.0::DOUBLE"
    if filters.genres:
        conditions.append(CONDITIONS["genres_all" if filters.genre_mode == "all" else "genres_any"])
        params["genre_mask"] = genre_mask(filters.genres)
        genre_match = "bit_count(genre_mask & $genre_mask) / bit_count($genre_mask)"
    for name in ("year_min", "year_max", "min_rating"):
        if getattr(filters, name) is not None:
            conditions.append(CONDITIONS[name])
            params[name] = getattr(filters, name)
    if not filters.include_adult:
        conditions.append(CONDITIONS["adult"])
    if not filters.include_unreleased:
        conditions.append(CONDITIONS["released"])
    if not filters.include_removed:
        conditions.append(CONDITIONS["not_removed"])
    return conditions, params, genre_match


def build_query(filters: CandidateFilters, exclusion: str) -> tuple[str, dict[str, Any]]:
    """The SQL text (our constants only) and the parameters for validated `filters`."""
    conditions, params, genre_match = _conditions(filters)
    weights = MODES[filters.mode].weights()
    params.update(
        {f"w_{name}": weight for name, weight in weights.items()},
        limit=filters.limit,
        offset=filters.offset,
    )
    sql = QUERY_SQL.format(
        genre_match=genre_match, conditions="\n      AND ".join(conditions), exclusion=exclusion
    )
    return sql, params


def build_count(filters: CandidateFilters, exclusion: str) -> tuple[str, dict[str, Any]]:
    """How many titles match `filters` in all (asked only when a page comes back short)."""
    conditions, params, _ = _conditions(filters)
    return COUNT_SQL.format(conditions=" AND ".join(conditions), exclusion=exclusion), params


def genre_mask(genres: tuple[str, ...]) -> int:
    return sum(1 << CANONICAL_NAMES.index(g) for g in genres)


class CandidateProvider:
    """Holds the materialized candidate table for one warehouse; safe to share across threads."""

    def __init__(self, warehouse: Warehouse) -> None:
        self.warehouse = warehouse
        self._con: duckdb.DuckDBPyConnection | None = None
        self._key: tuple[Path, dt.date] | None = None  # the loaded file, and for which day
        self._version: int | None = None  # the manifest version `_key`'s file serves
        self._display = pl.DataFrame()
        self._lock = threading.Lock()

    def _connection(self) -> duckdb.DuckDBPyConnection:
        return self._current()[0]

    @property
    def loaded_version(self) -> int | None:
        """The warehouse version whose table is in memory (None before the first query)."""
        return self._version if self._key else None

    def warm(self) -> None:
        """Load the table for the current version now rather than on the first query."""
        self._connection().close()

    def _current(self) -> tuple[duckdb.DuckDBPyConnection, pl.DataFrame]:
        manifest = self.warehouse.read_manifest()
        with self._lock:
            # A commit that did not touch titles or votes (a run record, say) names the
            # same file, so the table in memory stays.
            if self._key is None or self._version != manifest.version:
                path = materialized_pool(self.warehouse, manifest)
            else:
                path = self._key[0]
            key = (path, dt.date.today())
            if self._con is None or self._key != key:
                con = new_connection()
                con.execute(sql_file("scores.sql"))
                con.execute(LOAD_SQL, {"path": str(path)})
                # Unknown votes, rating and popularity read as 0, as in the query's table.
                display = (
                    pl.read_parquet(path, columns=DISPLAY_COLUMNS)
                    .with_columns(pl.col(*ZERO_WHEN_UNKNOWN).fill_null(0))
                    .rechunk()
                )
                old, self._con, self._key = self._con, con, key
                self._display = display
                if old is not None:
                    old.close()
            self._version = manifest.version
            return self._con.cursor(), self._display

    def languages(self) -> list[str]:
        """The original-language codes present in the pool."""
        cursor = self._connection()
        try:
            return [
                r[0]
                for r in cursor.sql(
                    "SELECT DISTINCT original_language FROM candidate_pool "
                    "WHERE original_language IS NOT NULL ORDER BY 1"
                ).fetchall()
            ]
        finally:
            cursor.close()

    def get(self, filters: CandidateFilters) -> Candidates:
        filters = filters.validated()
        cursor, display = self._current()
        try:
            weights = MODES[filters.mode].weights()
            exclusion = ""
            if filters.exclude:
                excluded = pl.DataFrame(
                    sorted(filters.exclude),
                    schema={"x_media": pl.String, "x_id": pl.Int64},
                    orient="row",
                )
                cursor.register("excluded", excluded.to_arrow())
                exclusion = (
                    "ANTI JOIN excluded ON scored.media_type = excluded.x_media "
                    "AND scored.tmdb_id = excluded.x_id"
                )
            sql, params = build_query(filters, exclusion)
            chosen = cursor.sql(sql, params=params).pl()
            total = below_floor = None
            if chosen.height < filters.limit:
                sql, params = build_count(filters, exclusion)
                total = cursor.sql(sql, params=params).fetchall()[0][0]
                if not total and filters.min_votes is None and filters.vote_floor:
                    # Say when the mode's vote floor, not the filters, emptied the list.
                    sql, params = build_count(replace(filters, min_votes=0), exclusion)
                    below_floor = cursor.sql(sql, params=params).fetchall()[0][0]
        finally:
            cursor.close()
        frame = (
            display[chosen["rid"].cast(pl.Int64).to_list()]
            .with_columns(
                freshness_score=chosen["freshness_score"],
                genre_match=chosen["genre_match"],
                score=chosen["score"],
            )
            .with_columns(
                explanation=_explanation(weights),
                from_persistent_store=pl.lit(True),
            )
            .select(OUTPUT_COLUMNS)
        )
        result = Candidates(frame, filters.limit, filters, total=total)
        if below_floor:
            result.notes.append(
                f"{below_floor:,} title(s) match, but none has the {filters.mode} mode's "
                f"{filters.vote_floor} votes; lower the floor with min_votes (--min-votes 0)."
            )
        synthetic = int(chosen["synthetic"].sum())
        if synthetic:
            result.notes.append(
                f"{synthetic} of these {frame.height} titles are synthetic demo data "
                "(`watchbuddy demo-data`), not TMDB data."
            )
        return result


def _explanation(weights: dict[str, float]) -> pl.Expr:
    """'0.40 x obscurity 0.969 + 0.45 x quality 0.723 + ...' for each row."""
    parts = []
    for name, column in COMPONENTS.items():
        if weights[name]:
            parts.append(pl.format(f"{weights[name]:.2f} x {name} {{}}", pl.col(column).round(3)))
    return pl.concat_str(parts, separator=" + ")


_providers: dict[Path, CandidateProvider] = {}
_providers_lock = threading.Lock()


def provider_for(settings: Settings) -> CandidateProvider:
    """One provider per warehouse per process (the app and the CLI share this)."""
    return provider_at(settings.warehouse)


def prepare_for_new_version(warehouse: Warehouse) -> None:
    """After a commit: build the new version's candidate file, and if this process already
    serves candidates from that warehouse (the app), load it too, so the next query does
    not wait. A process that never queried (`watchbuddy schedule`) loads nothing."""
    with _providers_lock:
        provider = _providers.get(warehouse.root.resolve())
    if provider is not None:
        provider.warm()  # builds the file too
    else:
        materialized_pool(warehouse)


def provider_at(warehouse_root: Path) -> CandidateProvider:
    root = Path(warehouse_root).resolve()
    with _providers_lock:
        if root not in _providers:
            _providers[root] = CandidateProvider(Warehouse(root))
        return _providers[root]


def get_candidates(
    filters: CandidateFilters, settings: Settings | None = None, fallback: bool = True
) -> Candidates:
    """Candidate titles for `filters`, best first, as a Polars frame (`.dicts()` for dicts).

    When the pool has fewer than `limit` and a TMDB credential is set (and `fallback`),
    TMDB discover is asked with the same filters; what it finds is landed in the pool and
    returned with `from_persistent_store = false`.
    """
    from watchbuddy.settings import load_settings

    settings = settings or load_settings()
    provider = provider_for(settings)
    result = provider.get(filters)
    if not result.short_by:
        return result
    if result.past_the_end:
        # TMDB could not help: the page starts after everything the list holds.
        result.notes.append(
            f"offset {result.filters.offset:,} is past the end of the list: the pool has "
            f"{result.total:,} title(s) for these filters (use an offset below that)."
        )
        return result
    if not fallback:
        result.notes.append("TMDB fallback was turned off.")
        return result
    if not settings.has_tmdb_credential:
        result.notes.append("no TMDB credential is set for the fallback.")
        return result
    from watchbuddy.sources.tmdb.fallback import fill_from_tmdb

    before = set(zip(result.frame["media_type"], result.frame["tmdb_id"], strict=True))
    found = fill_from_tmdb(settings, result.filters)
    if not found.keys:
        result.notes.extend(found.notes)
        return result
    again = provider.get(filters)
    added = found.keys - before
    again.frame = again.frame.with_columns(
        from_persistent_store=~pl.struct("media_type", "tmdb_id").is_in(
            [{"media_type": m, "tmdb_id": i} for m, i in added]
        )
    )
    again.notes.extend(found.notes)
    again.notes.append(f"{len(added)} title(s) came from TMDB and were added to the pool.")
    return again


# ---------------------------------------------------------------- watched lists


@dataclass
class WatchedList:
    keys: frozenset[tuple[str, int]]
    rows: int
    unknown: list[str]  # "line N: why" for rows that could not be used


_ID_COLUMNS = ("tmdb_id", "tmdb", "tmdbid", "themoviedb_id", "tmdb_movie_id", "id")
_TYPE_COLUMNS = ("media_type", "type", "mediatype", "media")


_WATCHED_ID = re.compile(r"([0-9]{1,10})(?:\.0*)?")


def read_watched_file(path: Path) -> WatchedList:
    """A watched list: CSV with a TMDB id column and optionally a media type (Trakt-style
    `type` of movie/show/episode). Without a media type a row excludes both the movie and
    the show with that id. Rows that name no usable title are reported, not fatal."""
    if not path.is_file():  # a FIFO or device would block or never end
        raise ConfigError(f"The watched list {path} is not a regular file; give a CSV export.")
    try:
        # Repaired as landing repairs a CSV: UTF-16 from Excel, Windows-1252, mixed line ends.
        text = utf8_csv_bytes(path.read_bytes())
        frame = pl.read_csv(io.BytesIO(text), infer_schema=False, truncate_ragged_lines=True)
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise ConfigError(f"Cannot read the watched list {path}: {exc}".splitlines()[0]) from None
    names = {normalize_header(c): c for c in frame.columns}
    id_column = next((names[c] for c in _ID_COLUMNS if c in names), None)
    if id_column is None:
        raise ConfigError(
            f"The watched list {path.name} has no TMDB id column (expected one of "
            f"{', '.join(_ID_COLUMNS)}); export it with TMDB ids."
        )
    type_column = next((names[c] for c in _TYPE_COLUMNS if c in names), None)
    keys: set[tuple[str, int]] = set()
    unknown: list[str] = []
    for line, row in enumerate(frame.iter_rows(named=True), start=2):
        raw_id = (row[id_column] or "").strip()
        # Decimal digits only (a spreadsheet may add ".0"); not 1e3, 0x10, inf or nan.
        match = _WATCHED_ID.fullmatch(raw_id)
        tmdb_id = int(match.group(1)) if match else 0
        if tmdb_id <= 0:
            unknown.append(f"line {line}: no TMDB id ({raw_id[:40]!r})")
            continue
        if type_column is None or not (row[type_column] or "").strip():
            keys.update({("movie", tmdb_id), ("tv", tmdb_id)})
            continue
        kind = (row[type_column] or "").strip().lower().replace(" ", "")
        media_type = MEDIA_TYPE_ALIASES.get(kind)
        if media_type is None:
            unknown.append(f"line {line}: type {row[type_column]!r} is not a movie or show")
            continue
        keys.add((media_type, tmdb_id))
    return WatchedList(frozenset(keys), frame.height, unknown)
