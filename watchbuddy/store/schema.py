"""The canonical title schema, the column aliases of real TMDB CSVs, and how media type is told.

A title is keyed by `(media_type, tmdb_id)`; about 100K TMDB ids are both a movie and a
show, so nothing here (or anywhere) identifies a title by its id alone. Every landed
Parquet file has exactly `TITLE_SCHEMA`, whatever CSV layout it came from.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Literal

import polars as pl
import pyarrow as pa

from watchbuddy.safe_text import printable

MEDIA_TYPES = ("movie", "tv")
MEDIA_TYPE_ALIASES = {
    "movie": "movie",
    "movies": "movie",
    "film": "movie",
    "films": "movie",
    "tv": "tv",
    "show": "tv",
    "shows": "tv",
    "series": "tv",
    "tvshow": "tv",
    "tvshows": "tv",
    "tvseries": "tv",
}

# Landed records: the pool view adds derived columns (year, scores) on top of these.
TITLE_SCHEMA = pa.schema(
    [
        ("media_type", pa.string()),
        ("tmdb_id", pa.int64()),
        ("imdb_id", pa.string()),
        ("title", pa.string()),
        ("original_title", pa.string()),
        ("original_language", pa.string()),
        ("overview", pa.string()),
        ("status", pa.string()),
        ("release_date", pa.date32()),
        ("genres", pa.list_(pa.string())),
        ("keywords", pa.list_(pa.string())),
        ("runtime", pa.int32()),
        ("popularity", pa.float64()),
        ("vote_average", pa.float64()),
        ("vote_count", pa.int64()),
        ("adult", pa.bool_()),
        ("poster_path", pa.string()),
        # Provenance: where the record came from and when, and its order for "newest wins".
        ("source", pa.string()),  # 'csv' or 'tmdb'
        ("source_name", pa.string()),  # file name or API endpoint
        ("batch", pa.int64()),  # landing sequence number: higher = newer
        ("source_row", pa.int64()),  # record index within the batch: higher = later
        ("updated_at", pa.timestamp("us", tz="UTC")),  # when the data was fetched from TMDB
        ("landed_at", pa.timestamp("us", tz="UTC")),
        # Demo data (`watchbuddy demo-data`): never replaces a real record of the same title.
        ("synthetic", pa.bool_()),
    ]
)

# A title's key; nothing looks a title up by tmdb_id alone.
KEY_FIELDS = ("media_type", "tmdb_id")
# Where a record came from and when; the rest of a record is title data.
PROVENANCE_FIELDS = (
    "source",
    "source_name",
    "batch",
    "source_row",
    "updated_at",
    "landed_at",
    "synthetic",
)
# The fields the pool merges one by one: each comes from the newest record that knows it
# (not NULL, and for lists not empty), so a file that lacks a column never erases it.
MERGED_FIELDS = tuple(n for n in TITLE_SCHEMA.names if n not in KEY_FIELDS + PROVENANCE_FIELDS)
LIST_FIELDS = tuple(f.name for f in TITLE_SCHEMA if pa.types.is_list(f.type))

# The same schema as Polars dtypes, for frames about to become title files (converted from
# the Arrow schema directly: building an empty Arrow table for it imports pandas, a fifth of
# the command line's start-up).
TITLE_POLARS_SCHEMA = pl.Schema(TITLE_SCHEMA)

REJECT_SCHEMA = pa.schema(
    [
        ("batch", pa.int64()),
        ("file", pa.string()),
        ("line", pa.int64()),
        ("reason", pa.string()),
        ("raw", pa.string()),
        ("landed_at", pa.timestamp("us", tz="UTC")),
    ]
)

IMPORT_SCHEMA = pa.schema(
    [
        ("batch", pa.int64()),
        ("file", pa.string()),
        ("content_hash", pa.string()),
        ("bytes", pa.int64()),
        ("status", pa.string()),  # 'landed' or 'skipped'
        ("message", pa.string()),
        ("media_types", pa.string()),
        ("rows_read", pa.int64()),
        ("accepted", pa.int64()),
        ("duplicates", pa.int64()),
        ("rejected", pa.int64()),
        ("seconds", pa.float64()),
        ("landed_at", pa.timestamp("us", tz="UTC")),
    ]
)

# ---------------------------------------------------------------- accepted values
# One rule for every value of a title or a vote refresh, whichever way it comes: a value is
# unknown (NULL), or of its form and within its range. CSV cells are read by the SQL macros
# of sql/cells.sql and checked in the landing query (validate.py), TMDB's JSON by
# `ValueRule.accept` (ingest.py); a record with a value that breaks the rule is rejected
# with the rule's reason. The raw views apply it too (`ValueRule.sql_holds`), reading such
# a value as unknown, so a warehouse written before the rule cannot crash a reader (Polars
# panics on DuckDB's 'infinity' dates) or push a score off its 0-1 scale.

# TMDB's ids and counts are 32-bit, and so is the runtime column.
MAX_WHOLE_NUMBER = 2**31 - 1
# From the first films (1870s) to announced far-future releases ("100 Years" is sealed
# until 2115-11-18). A fixed range, not one relative to today: a file lands the same way
# whenever it is landed, and a materialized pool does not go stale at midnight.
# `candidates.YEAR_RANGE`, the years a filter may ask for, is this range's years.
RELEASE_DATE_RANGE = (dt.date(1870, 1, 1), dt.date(2199, 12, 31))
# The only text read as a date by a cast: year-month-day, optionally with a time of day and
# a UTC offset (the other layouts the landing accepts have explicit formats). A cast alone
# would also take 'infinity', 'epoch', '2020-01-01 (BC)' and week dates.
ISO_DATE_TEXT = (
    r"\s*(\d{4})-(\d{1,2})-(\d{1,2})"
    r"([T ]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?\s*(Z|[+-]\d{1,2}(:?\d{2})?)?)?\s*"
)


class RejectedValue(ValueError):
    """A value the rule refuses; the message is the reject reason."""


@dataclass(frozen=True)
class ValueRule:
    """The accepted form and range of one field."""

    label: str  # how a reject reason names the field
    kind: Literal["whole", "number", "date"]
    low: Any
    high: Any  # None: any finite number from `low` up
    noun: str = ""

    @property
    def expected(self) -> str:
        noun = (
            self.noun
            or {"whole": "a whole number", "number": "a number", "date": "a date"}[self.kind]
        )
        if self.high is None:
            return f"{noun} >= {self.low}"
        return f"{noun} from {self.low} to {self.high}"

    def reason(self, shown: str) -> str:
        return f"{self.label} '{shown}' is not {self.expected}"

    def sql_holds(self, value: str) -> str:
        """SQL that is true when the typed value `value` is in range (NULL when it is NULL).
        NaN sorts above every number in DuckDB, so a range excludes it, and infinities."""
        if self.kind == "date":
            return f"{value} BETWEEN DATE '{self.low}' AND DATE '{self.high}'"
        if self.high is None:
            return f"({value} >= {self.low} AND isfinite({value}))"
        return f"{value} BETWEEN {self.low} AND {self.high}"

    def holds(self, value: Any) -> bool:
        if isinstance(value, float) and not math.isfinite(value):
            return False
        return self.low <= value and (self.high is None or value <= self.high)

    def accept(self, value: Any) -> Any:
        """A value from TMDB's JSON as it lands: None when absent (null or ''), else the
        value of the right type in range; raises RejectedValue with the reason otherwise.
        Numbers must be JSON numbers (a whole number may be written 600.0), dates text
        as in `ISO_DATE_TEXT`."""
        if value is None or value == "":
            return None
        parsed = self._parse(value)
        if parsed is None or not self.holds(parsed):
            shown = value if isinstance(value, str) and self.kind == "date" else json.dumps(value)
            raise RejectedValue(self.reason(shown[:60]))
        return parsed

    def _parse(self, value: Any) -> Any:
        if self.kind == "date":
            match = re.fullmatch(ISO_DATE_TEXT, value) if isinstance(value, str) else None
            try:
                return dt.date(*(int(match.group(i)) for i in (1, 2, 3))) if match else None
            except ValueError:
                return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        if self.kind == "whole":
            if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
                return None
            return int(value)
        try:
            return float(value)
        except OverflowError:  # an int beyond any double
            return None


VALUE_RULES: dict[str, ValueRule] = {
    "tmdb_id": ValueRule("id", "whole", 1, MAX_WHOLE_NUMBER),
    "release_date": ValueRule("release date", "date", *RELEASE_DATE_RANGE),
    "vote_count": ValueRule("vote count", "whole", 0, MAX_WHOLE_NUMBER),
    "vote_average": ValueRule("vote average", "number", 0, 10),
    "popularity": ValueRule("popularity", "number", 0, None),
    # A number, rounded to whole minutes when it lands; 0 means unknown.
    "runtime": ValueRule("runtime", "number", 0, MAX_WHOLE_NUMBER, noun="a number of minutes"),
}


# Demo data says it is synthetic twice: a column of its own, and its file names. Rows from a
# file with either never replace a real record of the same title.
SYNTHETIC_COLUMN = "synthetic"
SYNTHETIC_FILE_PREFIX = "synthetic_"


def is_synthetic_file_name(file_name: str) -> bool:
    return file_name.lower().startswith(SYNTHETIC_FILE_PREFIX)


# Canonical field -> header names seen in TMDB-derived CSVs, compared after `normalize_header`.
ALIASES: dict[str, tuple[str, ...]] = {
    "tmdb_id": ("id", "tmdb_id", "tmdbid", "tmdb"),
    "media_type": ("media_type", "mediatype", "media"),
    "title": ("title", "name"),
    "original_title": ("original_title", "original_name", "originaltitle", "originalname"),
    "original_language": ("original_language", "originallanguage", "orig_lang", "language"),
    "overview": ("overview", "description", "plot", "synopsis"),
    "status": ("status",),
    "release_date": (
        "release_date",
        "first_air_date",
        "primary_release_date",
        "releasedate",
        "firstairdate",
        "air_date",
    ),
    "genres": ("genres", "genre_names", "genre", "genre_ids", "genreids"),
    "keywords": ("keywords", "tags"),
    "runtime": ("runtime", "episode_run_time", "episoderuntime", "duration"),
    "popularity": ("popularity",),
    "vote_average": ("vote_average", "voteaverage", "rating", "vote_avg"),
    "vote_count": ("vote_count", "votecount", "votes", "num_votes"),
    "adult": ("adult",),
    "imdb_id": ("imdb_id", "imdbid", "imdb"),
    "poster_path": ("poster_path", "posterpath", "poster"),
    "synthetic": (SYNTHETIC_COLUMN,),
}

# Columns whose presence tells a title table apart from a lookup or link table.
TITLE_EVIDENCE = (
    "release_date",
    "overview",
    "vote_count",
    "vote_average",
    "popularity",
    "original_language",
    "genres",
    "original_title",
    "poster_path",
    "runtime",
)


def normalize_header(name: str) -> str:
    """`tmdbId`, `TMDB ID`, `tmdb-id` and `tmdb_id` all become `tmdb_id`."""
    name = name.strip().strip("\ufeff").strip('"').strip()
    name = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name)  # camelCase -> camel_Case
    name = re.sub(r"[^0-9a-zA-Z]+", "_", name).strip("_").lower()
    return name


_ALIAS_LOOKUP = {
    normalize_header(alias): field for field, aliases in ALIASES.items() for alias in aliases
}


class NotATitleTable(Exception):
    """The file is a CSV, but not a table of titles (reported and skipped)."""


@dataclass(frozen=True)
class ColumnPlan:
    """Which source column feeds each canonical field, and where the media type comes from."""

    columns: dict[str, str]  # canonical field -> source header (as written in the file)
    media_type: str | None  # 'movie' / 'tv' for the whole file, None when a column says
    media_type_origin: str  # 'column', 'columns' or 'file name'
    genre_ids: bool  # the genre column holds TMDB genre ids, not names
    # canonical field -> index of its column: a name may appear twice, so names cannot say
    positions: dict[str, int]
    # What the import report says about columns that were not used (duplicates, aliases).
    notes: tuple[str, ...] = ()


MAX_COLUMN_NOTES = 5
MAX_SHOWN_HEADER = 40


def shown_header(name: str) -> str:
    """A header name fit for a message: quoted, bounded, control characters escaped. Only
    names from a file already recognised as a title table are ever shown."""
    short = name if len(name) <= MAX_SHOWN_HEADER else name[:MAX_SHOWN_HEADER] + "..."
    return '"' + printable(short, one_line=True) + '"'


def plan_columns(header: list[str], file_name: str) -> ColumnPlan:
    """Map a file's header to canonical fields, or raise NotATitleTable saying why.

    When several columns feed one field (the same name twice, or two aliases such as `id`
    and `tmdb_id`), the first wins, except that `title` beats `name` wherever it stands;
    the plan's notes say which column was used. Messages never quote the header of a file
    that is not a title table: it may be any file, secrets included.
    """
    candidates: dict[str, list[int]] = {}
    for index, raw in enumerate(header):
        name = _ALIAS_LOOKUP.get(normalize_header(raw))
        if name:
            candidates.setdefault(name, []).append(index)
    normalized = {normalize_header(h) for h in header}
    positions: dict[str, int] = {}
    for name, indexes in candidates.items():
        # `name` is the title of a show; when both `title` and `name` exist, prefer `title`.
        preferred = [i for i in indexes if normalize_header(header[i]) == "title"]
        positions[name] = (preferred or indexes)[0]
    columns = {name: header[i] for name, i in positions.items()}
    is_link_table = bool({"movie_id", "imdb_id"} & normalized)
    if "tmdb_id" not in columns or ("title" not in columns and "original_title" not in columns):
        if is_link_table:
            raise NotATitleTable("a link table (ids only, no titles), such as MovieLens links.csv")
        if "tmdb_id" not in columns:
            raise NotATitleTable("no TMDB id column (expected one of id, tmdb_id, tmdbId)")
        raise NotATitleTable("no title column (expected title, name or original_title)")
    # `id,name` alone is TMDB's genre (or network, company) list layout, not titles.
    title_header = normalize_header(columns.get("title", ""))
    if title_header == "name" and not any(f in columns for f in TITLE_EVIDENCE):
        raise NotATitleTable(
            "an id and a name but no title data (release date, overview, votes, language): "
            "a lookup table (such as a genre list), not titles"
        )
    notes = _column_notes(header, candidates, positions)
    genre_ids = "genres" in columns and normalize_header(columns["genres"]) in {"genre_ids"}
    if "media_type" in columns:
        return ColumnPlan(columns, None, "column", genre_ids, positions, notes)
    media_type = _media_type_from_columns(normalized) or media_type_from_file_name(file_name)
    if media_type is None:
        raise NotATitleTable(
            "cannot tell movies from shows: add a media_type column or put 'movie' or 'tv' "
            "in the file name, then run `watchbuddy bootstrap --force`"
        )
    origin = "columns" if _media_type_from_columns(normalized) else "file name"
    return ColumnPlan(columns, media_type, origin, genre_ids, positions, notes)


def _column_notes(
    header: list[str], candidates: dict[str, list[int]], positions: dict[str, int]
) -> tuple[str, ...]:
    notes: list[str] = []
    crowded = [(name, indexes) for name, indexes in candidates.items() if len(indexes) > 1]
    for name, indexes in crowded[:MAX_COLUMN_NOTES]:
        used = positions[name]
        written = {header[i].strip() for i in indexes}
        if len(written) == 1:
            numbers = _and([str(i + 1) for i in indexes])
            which = "the first" if used == indexes[0] else f"column {used + 1}"
            notes.append(
                f"duplicate column {shown_header(header[used])} (columns {numbers}): "
                f"{which} was used"
            )
        else:
            names = _and([shown_header(header[i]) for i in indexes])
            quantifier = "both" if len(indexes) == 2 else "all"
            notes.append(
                f"columns {names} {quantifier} map to {name}: "
                f"{shown_header(header[used])} (column {used + 1}) was used"
            )
    if len(crowded) > MAX_COLUMN_NOTES:
        notes.append(f"{len(crowded) - MAX_COLUMN_NOTES} more fields have several columns")
    return tuple(notes)


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _media_type_from_columns(normalized: set[str]) -> str | None:
    if "name" in normalized and {"first_air_date", "original_name"} & normalized:
        return "tv"
    if "title" in normalized and {"release_date", "original_title"} & normalized:
        return "movie"
    return None


def media_type_from_file_name(file_name: str) -> str | None:
    tokens = set(re.split(r"[^a-z]+", file_name.lower()))
    is_tv = bool(tokens & {"tv", "show", "shows", "series", "tvshows", "tvshow"})
    is_movie = bool(tokens & {"movie", "movies", "film", "films"})
    if is_tv != is_movie:
        return "tv" if is_tv else "movie"
    return None


@cache
def genre_table() -> dict[str, dict[int, str]]:
    """TMDB's current genre id -> name tables for movies and TV, shipped with the package."""
    raw = json.loads(
        resources.files("watchbuddy.reference").joinpath("tmdb_genres.json").read_text("utf-8")
    )
    return {media: {int(k): v for k, v in raw[media].items()} for media in MEDIA_TYPES}


# Filled by the ingestion and refresh jobs. A run writes a 'running' record when it starts and
# a final one when it ends; the `runs` view shows the latest record of each run.
RUN_SCHEMA = pa.schema(
    [
        ("run_id", pa.string()),
        ("job", pa.string()),
        ("pid", pa.int64()),
        ("media_type", pa.string()),
        ("started_at", pa.timestamp("us", tz="UTC")),
        ("finished_at", pa.timestamp("us", tz="UTC")),
        # 'running', then 'ok', 'partial' (published what it read; `messages` say what it
        # could not), 'failed', 'skipped' or 'incomplete'
        ("status", pa.string()),
        ("pages", pa.int64()),
        ("requests", pa.int64()),
        ("titles_new", pa.int64()),
        ("titles_updated", pa.int64()),
        ("retries", pa.int64()),
        ("errors", pa.int64()),
        ("messages", pa.list_(pa.string())),
    ]
)

CHECKPOINT_SCHEMA = pa.schema(
    [
        ("media_type", pa.string()),
        ("last_release_date", pa.date32()),
        ("last_run_at", pa.timestamp("us", tz="UTC")),
        ("run_id", pa.string()),
        ("titles_seen", pa.int64()),
        # The last day whose /changes were read completely (NULL in records written before
        # this column existed: then the day of last_run_at counts).
        ("changes_read_until", pa.date32()),
    ]
)

VOTE_SCHEMA = pa.schema(
    [
        ("media_type", pa.string()),
        ("tmdb_id", pa.int64()),
        ("vote_average", pa.float64()),
        ("vote_count", pa.int64()),
        ("popularity", pa.float64()),
        ("refreshed_at", pa.timestamp("us", tz="UTC")),
    ]
)

# Titles TMDB answered 404 for: flagged in the pool (`removed_from_tmdb_at`), never deleted.
# A newer record or vote refresh from TMDB (serving the title again) clears the flag.
REMOVAL_SCHEMA = pa.schema(
    [
        ("media_type", pa.string()),
        ("tmdb_id", pa.int64()),
        ("removed_at", pa.timestamp("us", tz="UTC")),
        ("reason", pa.string()),  # e.g. 'HTTP 404 from /movie/{id}'
    ]
)

# TMDB's daily ID exports (`watchbuddy exports`): one record per attempt to land one file,
# a (media type, day, regular or adult) triple. A day not published yet, or deleted by TMDB
# after about three months, is recorded 'missing' and tried again by the next run while it
# can still appear; the `exports` view shows the newest record of each file.
EXPORT_SCHEMA = pa.schema(
    [
        ("media_type", pa.string()),
        ("export_date", pa.date32()),
        ("adult", pa.bool_()),  # the adult_… file of that day
        ("status", pa.string()),  # 'landed' or 'missing'
        ("url", pa.string()),
        ("lines", pa.int64()),  # lines read = accepted + rejected
        ("accepted", pa.int64()),
        ("rejected", pa.int64()),
        ("bytes", pa.int64()),  # gzip bytes downloaded
        ("landed_at", pa.timestamp("us", tz="UTC")),
        ("run_id", pa.string()),
        ("message", pa.string()),
    ]
)

# One row per title per landed export day: popularity over time, and the ID universe (the
# titles TMDB lists on a day). Typed narrowly and written sorted by (media type, id), so a
# title-day costs a few bytes on disk.
POPULARITY_HISTORY_SCHEMA = pa.schema(
    [
        ("media_type", pa.string()),
        ("tmdb_id", pa.int32()),
        ("date", pa.date32()),
        ("popularity", pa.float32()),
        ("adult", pa.bool_()),
    ]
)

# How history files are written, by the landing and by compaction's month files (measured
# in benchmarks/bench_exports.py): sorted ids delta-encoded, popularity's four bytes split
# into streams (which zstd then squeezes), the constant columns dictionary-encoded (a few
# bytes per file). Row groups of 64K ids: one
# title's history reads one row group per day instead of the whole day (its id range is in
# each group's statistics): a lookup over 20 full-size days took 13 ms instead of 68 ms, for
# 0.01 more bytes per title-day.
HISTORY_PARQUET: dict[str, Any] = {
    "compression": "zstd",
    "compression_level": 3,
    "row_group_size": 65536,
    "use_dictionary": ["media_type", "date", "adult"],
    "column_encoding": {"tmdb_id": "DELTA_BINARY_PACKED", "popularity": "BYTE_STREAM_SPLIT"},
}

# Where titles stream (`watchbuddy providers`, JustWatch's data as TMDB serves it): the
# providers TMDB lists for a region, and each provider's catalogue per monetization type.
# Each region's fetch lands as its own files and is published by replacing that region's
# previous files in one commit, so the views always show the newest complete fetch of each
# region, and a failed fetch leaves the previous one in place.
PROVIDER_SCHEMA = pa.schema(
    [
        ("region", pa.string()),  # ISO 3166-1 alpha-2, upper case ('US', 'DE')
        ("provider_id", pa.int32()),
        ("provider_name", pa.string()),
        ("logo_path", pa.string()),  # TMDB image path, e.g. '/pbpMk2JmcoNnQwx5JGpXngfoWtp.jpg'
        ("display_priority", pa.int32()),  # TMDB's order for the region, lower first
        ("fetched_at", pa.timestamp("us", tz="UTC")),
    ]
)

# How a provider offers a title, as TMDB (JustWatch) names the kinds: by subscription, free,
# free with ads, to rent, to buy.
MONETIZATION_TYPES = ("flatrate", "free", "ads", "rent", "buy")

AVAILABILITY_SCHEMA = pa.schema(
    [
        ("region", pa.string()),
        ("provider_id", pa.int32()),
        ("provider_name", pa.string()),
        ("monetization_type", pa.string()),  # 'flatrate', 'free', 'ads', 'rent' or 'buy'
        ("media_type", pa.string()),
        ("tmdb_id", pa.int64()),
        ("fetched_at", pa.timestamp("us", tz="UTC")),
    ]
)

# Your own history (`watchbuddy history import`, and the "not interested" list): one row per
# title a list of yours names. Trakt, Letterboxd and IMDb exports are matched to TMDB ids
# when imported (rows that cannot be matched go to `rejects` with the reason). Re-importing a
# file replaces the rows an earlier import of the same file (`file`, per `source`) published.
HISTORY_SCHEMA = pa.schema(
    [
        ("source", pa.string()),  # 'trakt', 'letterboxd', 'imdb' or 'watchbuddy'
        # 'watched', 'rated', 'watchlist' or 'not_interested' (a diary entry is 'watched')
        ("list", pa.string()),
        ("media_type", pa.string()),
        ("tmdb_id", pa.int64()),
        ("rating", pa.float64()),  # normalized to 0-10 (Letterboxd's 0.5-5 doubled); NULL
        ("watched_at", pa.timestamp("us", tz="UTC")),  # NULL when the export does not say
        ("file", pa.string()),  # the imported file's name ('' for the app's own lists)
        ("imported_at", pa.timestamp("us", tz="UTC")),
    ]
)

# Saved views of the Explore page (`watchbuddy presets`, `recommend --preset`): a name and
# the filters as the page's link parameters, so a view reads back exactly as a shared link
# would (an old view with a parameter that no longer exists applies the rest, with a note).
# Saving under a name that exists replaces it; the table is rewritten as one file each time.
SAVED_VIEW_SCHEMA = pa.schema(
    [
        ("name", pa.string()),
        ("query", pa.string()),  # the link's query string: `mode=obscure&genre=Drama`
        ("saved_at", pa.timestamp("us", tz="UTC")),
    ]
)

# Every table of the warehouse, in one place: its folder, its manifest entry and its view.
TABLE_SCHEMAS = {
    "titles": TITLE_SCHEMA,
    "rejects": REJECT_SCHEMA,
    "imports": IMPORT_SCHEMA,
    "runs": RUN_SCHEMA,
    "checkpoints": CHECKPOINT_SCHEMA,
    "votes": VOTE_SCHEMA,
    "removals": REMOVAL_SCHEMA,
    "exports": EXPORT_SCHEMA,
    "popularity_history": POPULARITY_HISTORY_SCHEMA,
    "providers": PROVIDER_SCHEMA,
    "availability": AVAILABILITY_SCHEMA,
    "history": HISTORY_SCHEMA,
    "saved_views": SAVED_VIEW_SCHEMA,
}
