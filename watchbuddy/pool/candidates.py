"""The candidate provider: filtered, discovery-aware candidate lists for the recommender.

`get_candidates(filters)` answers from an in-memory DuckDB table loaded from the pool's
materialized file for the warehouse version (`pool_cache`), with freshness for today: a
query the engine makes many times a day must not merge and score 1.5M titles each time. A
query after a delta is published sees it, because every call compares the manifest
version first.

Filters are exact: genres are compared in one canonical vocabulary on both sides
(`genres`), languages and media types by value, exclusions by `(media_type, tmdb_id)`.
Each filter's condition comes from its registry entry (`filters.CandidateFilters`), the SQL
from `sql/candidates.sql`. A discovery mode sets the default vote floor and the weights that
blend the pool scores and the genre match into `score` (`modes.MODES`, and the README).
Ties are broken by vote count, then media type, then id, so pages are stable.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import polars as pl
import pyarrow as pa

from watchbuddy.errors import ConfigError
from watchbuddy.pool import streaming
from watchbuddy.pool.filters import CandidateFilters as CandidateFilters
from watchbuddy.pool.filters import discover_queries, media_types
from watchbuddy.pool.modes import COMPONENTS as COMPONENTS
from watchbuddy.pool.modes import MODES as MODES
from watchbuddy.pool.personal import ExcludedTitles
from watchbuddy.pool.similar_titles import Likeness, SimilarTitles
from watchbuddy.pool.sparklines import recent_popularity
from watchbuddy.settings import Settings
from watchbuddy.sources.csv.sniff import utf8_csv_bytes
from watchbuddy.sql import sql_file, statement
from watchbuddy.store.genres import genre_mask
from watchbuddy.store.pool_cache import SPARK_WORDS
from watchbuddy.store.schema import MEDIA_TYPE_ALIASES, normalize_header
from watchbuddy.store.views import materialized_pool, new_connection, raw_view_sql
from watchbuddy.store.warehouse import Manifest, Warehouse

SQL = "candidates.sql"

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
    "popularity_change_7d",
    "popularity_change_30d",
    "poster_path",
    "obscurity_score",
    "mainstream_score",
    "quality_score",
    "trend_score",
    "freshness_score",
    "genre_match",
    "similarity",
    "score",
    "explanation",
    "from_persistent_store",
]
# Added when a region is chosen: the providers the title streams on there (for the chosen
# monetization types), in TMDB's display order.
STREAMING_COLUMN = "streaming_on"
STREAMING_TABLES = ("providers", "availability")
# The keyword filters' tables, built from the same file on the first keyword query.
KEYWORD_TABLES = (
    "load_keyword_pairs",
    "load_keyword_spellings",
    "load_keyword_names",
    "load_keywords",
    "drop_keyword_pairs",
)


@dataclass
class Candidates:
    """A candidate list and what was asked for."""

    frame: pl.DataFrame
    requested: int
    filters: CandidateFilters
    notes: list[str] = field(default_factory=list)
    total: int | None = None  # titles matching in the pool; counted when a page is short
    # Per row, the packed sparkline of its last month of daily exports (`recent()`).
    spark_words: pl.DataFrame | None = None
    weights: dict[str, float] = field(default_factory=dict)  # the score's, as blended

    @property
    def past_the_end(self) -> bool:
        """The offset skips every match the pool has (and it has some): the list ended."""
        return bool(self.total) and self.filters.offset >= (self.total or 0)

    def recent(self) -> pl.Series:
        """Per row, its popularity over the last month of daily exports, oldest first (the
        explorer's sparklines, from the candidate table: no history read per page)."""
        if self.spark_words is None:
            return pl.Series("recent", [None] * self.frame.height, dtype=pl.List(pl.Float64))
        return recent_popularity(self.spark_words)

    def dicts(self) -> list[dict[str, Any]]:
        return self.frame.to_dicts()

    @property
    def short_by(self) -> int:
        return max(self.requested - self.frame.height, 0)


EXCLUDED_KEPT = 4  # watched lists kept as Arrow tables per provider
# What the query adds to each chosen row; the rest is gathered from the display columns.
QUERY_COLUMNS = OUTPUT_COLUMNS[
    OUTPUT_COLUMNS.index("freshness_score") : OUTPUT_COLUMNS.index("explanation")
]
ZERO_WHEN_UNKNOWN = ("vote_average", "vote_count", "popularity")
# Everything the output needs that does not depend on the request or on today.
DISPLAY_COLUMNS = [*OUTPUT_COLUMNS[: OUTPUT_COLUMNS.index("freshness_score")], *SPARK_WORDS]


def _conditions(filters: CandidateFilters) -> tuple[list[str], dict[str, Any], str]:
    """The WHERE conditions (each filter's, from the registry), their parameters and the
    genre-match expression for `filters`."""
    conditions: list[str] = []
    params: dict[str, Any] = {}
    for name, values in filters.conditions():
        conditions.append(statement(SQL, name))
        params.update(values)
    # The genres condition brings $genre_mask, which the match reads too.
    genre_match = statement(SQL, "genre_match" if filters.genres else "no_genre_requested")
    return conditions, params, genre_match


def build_query(
    filters: CandidateFilters, exclusion: str, similar: bool = False
) -> tuple[str, dict[str, Any]]:
    """The SQL text (candidates.sql only) and the parameters for validated `filters`;
    `similar`: the titles alike to the liked ones are registered as `similar_titles`."""
    conditions, params, genre_match = _conditions(filters)
    weights = MODES[filters.mode].weights(similar)
    params.update(
        {f"w_{name}": weight for name, weight in weights.items()},
        limit=filters.limit,
        offset=filters.offset,
    )
    sql = statement(SQL, "query").format(
        genre_match=genre_match,
        conditions="\n      AND ".join(conditions),
        exclusion=exclusion,
        similar=statement(SQL, "similar_join") if similar else "",
        similarity=statement(SQL, "similarity" if similar else "no_similarity"),
    )
    return sql, params


def build_count(
    filters: CandidateFilters, exclusion: str, similar: bool = False
) -> tuple[str, dict[str, Any]]:
    """How many titles match `filters` in all (asked only when a page comes back short)."""
    conditions, params, _ = _conditions(filters)
    sql = statement(SQL, "count").format(
        conditions=" AND ".join(conditions),
        exclusion=exclusion,
        similar=statement(SQL, "similar_join") if similar else "",
    )
    return sql, params


# The keyword filters' parameters: words in the request, ids in the query.
KEYWORD_PARAMETERS = ("keywords", "exclude_keywords")


def with_keyword_ids(cursor: duckdb.DuckDBPyConnection, params: dict[str, Any]) -> dict[str, Any]:
    """`params` with the keyword filters' words as their vocabulary ids (a word the pool
    has no title for has none). Asked by id, DuckDB estimates the keyword side as small
    and hashes it; joined to the words in the query, it hashed the candidate side instead,
    which doubled an obscure-mode query (benchmarks/RESULTS.md)."""
    asked = [name for name in KEYWORD_PARAMETERS if name in params]
    if not asked:
        return params
    words = sorted({word for name in asked for word in params[name]})
    found = dict(cursor.sql(statement(SQL, "keyword_ids"), params={"words": words}).fetchall())
    ids = {name: [found[w] for w in params[name] if w in found] for name in asked}
    return {**params, **ids}


@dataclass(frozen=True)
class Loaded:
    """What one loaded version holds beside the DuckDB table: the display columns (gathered
    by row), each fetched region's providers in display order, and the availability rows of
    the pool's titles (`rid`, region, monetization type, provider name), for `streaming_on`."""

    display: pl.DataFrame
    providers: dict[str, list[streaming.Provider]] = field(default_factory=dict)
    # region -> its availability rows sorted by `rid` (`rank`: the provider's display order)
    streams: dict[str, pl.DataFrame] = field(default_factory=dict)
    path: Path | None = None  # the pool file the table was loaded from
    # score column -> its values by row, NULL as 1 (`_narrowed`; filled on first use)
    ceilings: dict[str, np.ndarray] = field(default_factory=dict)


class CandidateProvider:
    """Holds the materialized candidate table for one warehouse; safe to share across threads."""

    def __init__(self, warehouse: Warehouse) -> None:
        self.warehouse = warehouse
        self._con: duckdb.DuckDBPyConnection | None = None
        # the loaded file, for which day, and the streaming data's files
        self._key: tuple[Path, dt.date, tuple[str, ...]] | None = None
        self._version: int | None = None  # the manifest version `_key`'s file serves
        self._loaded = Loaded(pl.DataFrame())
        self._lock = threading.Lock()
        self._personal = ExcludedTitles(warehouse)
        self._keywords_for: tuple[Path, dt.date, tuple[str, ...]] | None = None  # a `_key`
        # "More like this" and `for_you`, built on their first use per version.
        self.similar = SimilarTitles(warehouse)
        # The last watched lists as Arrow tables: a history of thousands of titles is the
        # same on every query, and building its table took about 2 ms each time.
        self._excluded: OrderedDict[frozenset[tuple[str, int]], pa.Table] = OrderedDict()

    def _connection(self) -> duckdb.DuckDBPyConnection:
        return self._current()[0]

    @property
    def loaded_version(self) -> int | None:
        """The warehouse version whose table is in memory (None before the first query)."""
        return self._version if self._key else None

    def warm(self) -> None:
        """Load the table for the current version now rather than on the first query."""
        self._connection().close()

    def _current(
        self, manifest: Manifest | None = None
    ) -> tuple[duckdb.DuckDBPyConnection, Loaded]:
        manifest = manifest or self.warehouse.read_manifest()
        with self._lock:
            # A commit that did not touch titles or votes (a run record, say) names the
            # same file, so the table in memory stays.
            if self._key is None or self._version != manifest.version:
                path = materialized_pool(self.warehouse, manifest)
            else:
                path = self._key[0]
            # A fetch of streaming data (the `providers` job) reloads the tables too: the
            # availability rows point at rows of the candidate table.
            streaming_files = tuple(f for t in STREAMING_TABLES for f in manifest.files(t))
            key = (path, dt.date.today(), streaming_files)
            if self._con is None or self._key != key:
                con = new_connection()
                con.execute(sql_file("scores.sql"))
                con.execute(statement(SQL, "load"), {"path": str(path)})
                # Unknown votes, rating and popularity read as 0, as in the query's table.
                display = (
                    pl.read_parquet(path, columns=DISPLAY_COLUMNS)
                    .with_columns(pl.col(*ZERO_WHEN_UNKNOWN).fill_null(0))
                    .rechunk()
                )
                loaded = replace(self._load_streaming(con, manifest, display), path=path)
                old, self._con, self._key = self._con, con, key
                self._loaded = loaded
                if old is not None:
                    old.close()
            self._version = manifest.version
            return self._con.cursor(), self._loaded

    def _keywords_ready(self) -> None:
        """Build the keyword tables of the loaded table once, on its first keyword query:
        about half a second at 1.5M titles, which a query without keywords (and every
        `recommend` without one, which loads the table anew) need not pay."""
        with self._lock:
            if self._con is None or self._key is None or self._keywords_for == self._key:
                return
            path = {"path": str(self._key[0])}
            for name in KEYWORD_TABLES:
                sql = statement(SQL, name)
                self._con.execute(sql, path if "$path" in sql else None)
            self._keywords_for = self._key

    def _load_streaming(
        self, con: duckdb.DuckDBPyConnection, manifest: Manifest, display: pl.DataFrame
    ) -> Loaded:
        """The published providers and availability, by the candidate table's row positions
        (the filter's table in DuckDB, `streaming_on`'s rows in Polars)."""
        for table in STREAMING_TABLES:
            con.execute(raw_view_sql(self.warehouse, manifest, table))
        con.execute(statement(SQL, "load_providers"))
        con.execute(
            statement(SQL, "load_availability"), {"types": list(streaming.MONETIZATION_TYPES)}
        )
        providers: dict[str, list[streaming.Provider]] = {}
        for region, provider_id, name, logo in con.sql(statement(SQL, "providers")).fetchall():
            providers.setdefault(region, []).append(streaming.Provider(provider_id, name, logo))
        rows = con.sql(statement(SQL, "streams")).pl()
        streams = {
            str(region): frame.drop("region").rechunk()
            for (region,), frame in rows.partition_by("region", as_dict=True).items()
        }
        return Loaded(display, providers, streams)

    def streaming_regions(self) -> list[str]:
        """The regions a fetch has brought streaming data for, sorted."""
        return sorted(self._loaded_now().providers)

    def region_providers(self, region: str) -> list[streaming.Provider]:
        """A region's providers in TMDB's display order (empty for a region without data)."""
        return list(self._loaded_now().providers.get(region, []))

    def _loaded_now(self) -> Loaded:
        cursor, loaded = self._current()
        cursor.close()
        return loaded

    def _resolved(self, filters: CandidateFilters, loaded: Loaded) -> CandidateFilters:
        """`filters` with the providers as TMDB ids of the region's list; NoStreamingData or
        UnknownProvider (listing the valid values) when the region or a provider is not."""
        if filters.region is None:
            if filters.providers:
                raise ConfigError(
                    "A provider filter needs a region: give --region (region= in a link) or "
                    "set WATCHBUDDY_WATCH_REGIONS."
                )
            return filters
        streaming.check_region(filters.region, sorted(loaded.providers))
        if not filters.providers:
            return filters
        known = loaded.providers[filters.region]
        found = streaming.resolve_providers(known, filters.providers, filters.region)
        return replace(filters, providers=tuple(str(p.provider_id) for p in found))

    @staticmethod
    def _streaming_on(
        streams: dict[str, pl.DataFrame], filters: CandidateFilters, rids: list[int]
    ) -> pl.Series:
        """Each chosen row's providers in the region for the monetization types, once each
        in display order; an empty list where none. The region's rows are sorted by `rid`,
        so the chosen rows' rows are found by binary search (a join or `is_in` over the
        region's rows cost 2-3 ms at 200K rows, this about 1 ms in all)."""
        region = streams.get(filters.region or "")
        if region is None or not rids:
            return pl.Series(STREAMING_COLUMN, [[]] * len(rids), dtype=pl.List(pl.String))
        column = region.get_column("rid")
        wanted = pl.Series(rids, dtype=column.dtype)
        first = column.search_sorted(wanted, side="left").to_numpy().astype(np.int64)
        last = column.search_sorted(wanted, side="right").to_numpy().astype(np.int64)
        counts = last - first
        # The positions first[i] .. last[i] - 1 of every chosen row, in one array.
        starts = np.cumsum(counts) - counts
        positions = np.repeat(first - starts, counts) + np.arange(counts.sum(), dtype=np.int64)
        found = (
            region[positions]
            .filter(pl.col("monetization_type").is_in(list(filters.monetization)))
            .sort("rank")
            .unique(["rid", "provider_name"], maintain_order=True)
            .group_by("rid")
            .agg(pl.col("provider_name").alias(STREAMING_COLUMN))
        )
        return (
            pl.DataFrame({"rid": wanted})
            .join(found, on="rid", how="left", maintain_order="left")
            .get_column(STREAMING_COLUMN)
            .fill_null([])
        )

    def languages(self) -> list[str]:
        """The original-language codes present in the pool."""
        cursor = self._connection()
        try:
            return [r[0] for r in cursor.sql(statement(SQL, "languages")).fetchall()]
        finally:
            cursor.close()

    def rows(self, keys: list[tuple[str, int]], filters: CandidateFilters) -> Candidates:
        """The candidate rows of the titles `keys` (media type, id), scored as `filters`'
        mode and genres score them (no similarity), whatever the other filters say: a title
        picked by name (title search) shown as a list row would show it. Best first; absent
        keys left out."""
        filters = filters.validated()
        weights = MODES[filters.mode].weights()
        cursor, loaded = self._current()
        try:
            params: dict[str, Any] = {f"w_{name}": w for name, w in weights.items()}
            if filters.genres:
                params["genre_mask"] = genre_mask(filters.genres)
            params.update(
                limit=max(len(keys), 1),
                offset=0,
                key_ids=sorted({tmdb_id for _, tmdb_id in keys}),
                key_names=sorted({f"{media}:{tmdb_id}" for media, tmdb_id in keys}),
            )
            sql = statement(SQL, "query").format(
                genre_match=statement(
                    SQL, "genre_match" if filters.genres else "no_genre_requested"
                ),
                conditions=statement(SQL, "by_keys"),
                exclusion="",
                similar="",
                similarity=statement(SQL, "no_similarity"),
            )
            chosen = _fetch(cursor, sql, params)
        finally:
            cursor.close()
        frame, spark_words = _listed(loaded.display, chosen, weights)
        return Candidates(frame, len(keys), filters, spark_words=spark_words, weights=weights)

    def _with_history(self, filters: CandidateFilters, manifest: Manifest) -> CandidateFilters:
        """`filters` whose exclusion also holds what your lists leave out (`personal`): the
        not-interested list always, watched and rated titles with `for_me`. One exclusion
        for a watched file and the history, so the TMDB fallback skips them too."""
        mine = self._personal.get(manifest, filters.for_me)
        return replace(filters, exclude=filters.exclude | mine) if mine else filters

    def _excluded_table(self, keys: frozenset[tuple[str, int]]) -> pa.Table:
        """`excluded` (x_media, x_id) for a watched list, kept for the next few queries."""
        with self._lock:
            table = self._excluded.get(keys)
            if table is not None:
                self._excluded.move_to_end(keys)
                return table
        table = pl.DataFrame(
            list(keys), schema={"x_media": pl.String, "x_id": pl.Int64}, orient="row"
        ).to_arrow()
        with self._lock:
            self._excluded[keys] = table
            while len(self._excluded) > EXCLUDED_KEPT:
                self._excluded.popitem(last=False)
        return table

    def get(self, filters: CandidateFilters) -> Candidates:
        manifest = self.warehouse.read_manifest()  # once a query: the history and the table
        filters = self._with_history(filters.validated(), manifest)
        cursor, loaded = self._current(manifest)
        if filters.keywords or filters.exclude_keywords:
            self._keywords_ready()
        display = loaded.display
        try:
            filters = self._resolved(filters, loaded)
            likeness = self.similar.likeness(filters, loaded.display, loaded.path)
            similar = likeness.active
            weights = MODES[filters.mode].weights(similar)
            exclusion = ""
            if filters.exclude or likeness.excluded:
                cursor.register(
                    "excluded", self._excluded_table(filters.exclude | likeness.excluded)
                )
                exclusion = statement(SQL, "exclusion")
            narrowed = _narrowed(loaded, likeness, weights, filters) if similar else None
            if similar:
                cursor.register("similar_titles", narrowed[0] if narrowed else likeness.table())
            sql, params = build_query(filters, exclusion, similar)
            params = with_keyword_ids(cursor, params)
            chosen = _fetch(cursor, sql, params)
            if narrowed and not _page_holds(chosen, filters.limit, narrowed[1]):
                # A title left out could have made the page: ask again over all of them.
                cursor.register("similar_titles", likeness.table())
                chosen = _fetch(cursor, sql, params)
            total = below_floor = removed = None
            if chosen.height < filters.limit:
                total = _count(cursor, filters, exclusion, similar)
                # (With a like only the titles above the floor were compared: no count.)
                if not total and filters.min_votes is None and filters.vote_floor and not similar:
                    # Say when the mode's vote floor, not the filters, emptied the list.
                    below_floor = _count(cursor, replace(filters, min_votes=0), exclusion)
                if not total and not filters.include_removed:
                    # Say when only titles TMDB has removed match (the ID exports flag them).
                    unremoved = replace(filters, include_removed=True)
                    removed = _count(cursor, unremoved, exclusion, similar)
        finally:
            cursor.close()
        rids = chosen["rid"].to_list()
        where = self._streaming_on(loaded.streams, filters, rids) if filters.region else None
        shares = likeness.shares(rids) if likeness.active else None
        frame, spark_words = _listed(display, chosen, weights, shares)
        if where is not None:
            frame = frame.with_columns(where)
        result = Candidates(
            frame,
            filters.limit,
            filters,
            total=total,
            spark_words=spark_words,
            weights=weights,
        )
        result.notes.extend(likeness.notes)
        if similar and not total and filters.min_votes is None and filters.vote_floor:
            result.notes.append(
                f"No title alike has the {filters.mode} mode's {filters.vote_floor} votes; "
                "lower the floor with min_votes (--min-votes 0) to see less-voted ones."
            )
        if below_floor:
            result.notes.append(
                f"{below_floor:,} title(s) match, but none has the {filters.mode} mode's "
                f"{filters.vote_floor} votes; lower the floor with min_votes (--min-votes 0)."
            )
        if removed:
            result.notes.append(
                f"{removed:,} title(s) match, but TMDB has removed them (its daily ID export "
                "no longer lists them); include them with --include-removed or the sidebar's "
                "Include titles TMDB removed."
            )
        synthetic = int(chosen["synthetic"].sum())
        if synthetic:
            result.notes.append(
                f"{synthetic} of these {frame.height} titles are synthetic demo data "
                "(`watchbuddy demo-data`), not TMDB data."
            )
        return result


# A like query with many alike titles hands DuckDB only those that could make the page:
# the NARROW_FACTOR x (offset + limit) (at least NARROW_MIN) with the highest score
# ceilings, when there are NARROW_WHEN times as many. Joining every alike title made a list
# without a vote floor take 185 ms (benchmarks/RESULTS.md, "More like this"). When a title
# left out could have made the page after all (the filters left too few), the query runs
# again over all of them; with 4,000 kept that happened to most language and low-floor
# lists of the benchmark, with 12,000 to none.
NARROW_FACTOR = 60
NARROW_MIN = 12_000
NARROW_WHEN = 3
# The ceilings are summed in another order than DuckDB sums the scores.
CEILING_MARGIN = 1e-9


def _narrowed(
    loaded: Loaded, likeness: Likeness, weights: dict[str, float], filters: CandidateFilters
) -> tuple[pa.Table, float] | None:
    """The `similar_titles` table narrowed to the titles that could make the page, and the
    highest score a title left out could have; None when there are few enough to join all."""
    keep = max(NARROW_FACTOR * (filters.offset + filters.limit), NARROW_MIN)
    if len(likeness.rows) <= NARROW_WHEN * keep:
        return None
    # Each title's highest possible score: its own score columns and similarity, and the
    # components the query computes (freshness, genre match) at their most, 1.
    ceiling = weights["similarity"] * likeness.values
    for name, column in COMPONENTS.items():
        weight = weights[name]
        if name == "similarity" or not weight:
            continue
        if column not in loaded.display.columns:
            ceiling = ceiling + max(weight, 0.0)
            continue
        values = loaded.ceilings.get(column)
        if values is None:
            values = loaded.display[column].fill_null(1.0).to_numpy()
            loaded.ceilings[column] = values
        ceiling = ceiling + weight * values[likeness.rows]
    top = np.argpartition(-ceiling, keep)
    return likeness.table(top[:keep]), float(ceiling[top[keep:]].max()) + CEILING_MARGIN


def _count(
    cursor: duckdb.DuckDBPyConnection,
    filters: CandidateFilters,
    exclusion: str,
    similar: bool = False,
) -> int:
    """How many titles match `filters` in all (`build_count`, keyword ids resolved)."""
    sql, params = build_count(filters, exclusion, similar)
    return int(cursor.sql(sql, params=with_keyword_ids(cursor, params)).fetchall()[0][0])


def _page_holds(chosen: pl.DataFrame, limit: int, ceiling: float) -> bool:
    """Whether a narrowed query's page is the whole query's: it is full, and its lowest
    score beats the highest a title left out could have."""
    return chosen.height == limit and float(chosen["score"].to_numpy().min()) > ceiling


def _fetch(cursor: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any]) -> pl.DataFrame:
    """A candidate query's few hundred rows as a frame. Through numpy: the relation API
    (`cursor.sql(...).pl()`) parses and binds the statement a second time for its schema,
    a millisecond or two of every answer (benchmarks/RESULTS.md, "Candidates")."""
    return pl.DataFrame(cursor.execute(sql, params).fetchnumpy())


def _listed(
    display: pl.DataFrame,
    chosen: pl.DataFrame,
    weights: dict[str, float],
    shares: pl.Series | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The output frame of the chosen rows (and their packed sparklines): a
    gather, the query's columns stacked on and one select, since each eager Polars step is
    a collect of its own. `shares`: per row, what it shares with the liked titles."""
    rows = display[chosen["rid"].cast(pl.Int64)]
    explanation = _explanation(weights)
    if shares is not None:
        explanation = pl.concat_str(explanation, pl.lit(shares))
    added = {"explanation": explanation, "from_persistent_store": pl.lit(True)}
    frame = rows.hstack([chosen[name] for name in QUERY_COLUMNS]).select(
        added.get(name, pl.col(name)).alias(name) for name in OUTPUT_COLUMNS
    )
    return frame, pl.DataFrame([rows[name] for name in SPARK_WORDS])


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
    returned with `from_persistent_store = false`. A provider filter without a region reads
    the first of the settings' watch regions; with a region each row has `streaming_on`.
    """
    from watchbuddy.settings import load_settings

    settings = settings or load_settings()
    filters = with_default_region(filters, settings)
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
    if result.weights.get("similarity"):
        # Discover has no "like this" order: what it found would not be alike.
        result.notes.append(
            "TMDB's discover cannot look for titles like others, so the fallback was not asked."
        )
        return result
    if not fallback:
        result.notes.append("TMDB fallback was turned off.")
        return result
    if not settings.has_tmdb_credential:
        result.notes.append("no TMDB credential is set for the fallback.")
        return result
    from watchbuddy.sources.tmdb.fallback import fill_from_tmdb
    from watchbuddy.sources.tmdb.ingest import DATE_FIELD

    before = set(zip(result.frame["media_type"], result.frame["tmdb_id"], strict=True))
    asked = result.filters
    today = dt.datetime.now(dt.UTC).date()
    queries = list(discover_queries(asked, today, DATE_FIELD))
    if not queries:
        result.notes.append(
            "TMDB's discover cannot ask for these filters (a keyword, or genres the media "
            "type lacks), so the fallback was not asked."
        )
        return result
    found = fill_from_tmdb(settings, media_types(asked.media_type), queries, asked.exclude)
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
    if asked.providers:
        shown = int((~again.frame["from_persistent_store"]).sum())
        if shown < len(added):
            again.notes.append(
                f"{len(added) - shown} of them are not in the region's last provider fetch; "
                f"they are listed after the next `watchbuddy providers --region {asked.region}`."
            )
    return again


def with_default_region(filters: CandidateFilters, settings: Settings) -> CandidateFilters:
    """A provider filter without a region reads the first of the watch regions
    (WATCHBUDDY_WATCH_REGIONS), when one is set."""
    if filters.providers and filters.region is None and settings.watch_regions:
        return replace(filters, region=settings.watch_regions[0])
    return filters


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
