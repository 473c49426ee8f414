"""What is in the pool, where it came from, and how current it is.

Every statistic is computed here, once, from the named statements in `sql/stats.sql`:
`watchbuddy stats` prints `pool_stats()`, and the explorer's pages show `pool_overview()`,
`job_history()` and `record_sources()` (through cached wrappers in `explorer/data.py`). The
counts both show (titles by media type, stale titles, demo and removed titles) come from the
same statements, so the command and the app cannot disagree.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

import duckdb
import polars as pl

from watchbuddy.sources.tmdb.refresh_titles import (
    Pace,
    current_plan,
    oldest_refreshed_at,
    refresh_snapshot,
)
from watchbuddy.sql import statement
from watchbuddy.store.schema import MEDIA_TYPES
from watchbuddy.store.views import open_views
from watchbuddy.store.warehouse import Warehouse

STALE_AFTER_DAYS = 182  # TMDB's terms: cached data should not be older than six months
SCORE_BINS = 20  # bands of the Pool page's score histograms
MOVERS = 10  # titles the Pool page lists as rising and as falling
# Below this popularity a title's 7-day change is mostly TMDB's day-to-day noise.
MOVERS_MIN_POPULARITY = 5.0
FILE = "stats.sql"

# The Pool page's counts over the snapshot, by name (each a statement of stats.sql).
SNAPSHOT_COUNTS = (
    "by_media_type",
    "by_language",
    "by_decade",
    "by_genre",
    "age",
    "age_histogram",
)
# The Pool page's tables of what was landed and rejected.
LANDING_TABLES = ("imports", "reject_reasons", "reject_samples")


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _rows(
    con: duckdb.DuckDBPyConnection, name: str, params: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    rel = con.sql(statement(FILE, name), params=params)
    columns = rel.columns
    return [dict(zip(columns, row, strict=True)) for row in rel.fetchall()]


def _frame(
    con: duckdb.DuckDBPyConnection, name: str, params: dict[str, Any] | None = None
) -> pl.DataFrame:
    return con.sql(statement(FILE, name), params=params).pl()


@contextlib.contextmanager
def pool_snapshot(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """The temporary `pool_snapshot` table the counts read (one scan of the pool), dropped
    afterwards. `con` should be a cursor of its own: temporary tables are per connection."""
    con.execute(statement(FILE, "snapshot"), {"stale_days": STALE_AFTER_DAYS})
    try:
        yield
    finally:
        con.execute(statement(FILE, "drop_snapshot"))


def pool_flags(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Titles, synthetic (demo) titles and titles removed from TMDB."""
    return _rows(con, "flags")[0]


def synthetic_warning(flags: dict[str, int]) -> str | None:
    """The sentence shown wherever the pool holds demo data (None when it holds none)."""
    synthetic = flags["synthetic_titles"]
    if not synthetic:
        return None
    share = "All" if synthetic == flags["titles"] else f"{synthetic:,} of {flags['titles']:,}"
    return (
        f"{share} titles in the pool are synthetic demo data made up by `watchbuddy "
        "demo-data`, not TMDB data: land the real TMDB CSV dumps (`watchbuddy bootstrap`; a "
        "real record always replaces a demo one), then `watchbuddy compact --drop-demo` "
        "removes the demo titles left over."
    )


def pool_overview(con: duckdb.DuckDBPyConnection) -> dict[str, pl.DataFrame]:
    """The Pool page's numbers: counts by media type, language, decade and genre, score
    histograms, data age, and what each import landed or rejected."""
    with pool_snapshot(con):
        out = {name: _frame(con, name) for name in SNAPSHOT_COUNTS}
        out["score_histogram"] = _frame(con, "score_histogram", {"bins": SCORE_BINS})
    for name in LANDING_TABLES:
        out[name] = _frame(con, name)
    return out


def movers(con: duckdb.DuckDBPyConnection) -> dict[str, pl.DataFrame]:
    """What is rising and what is falling: the `MOVERS` titles with the largest 7-day
    popularity gain and loss, among those with popularity at least `MOVERS_MIN_POPULARITY`
    (empty frames before any daily export has landed)."""
    params = {"min_popularity": MOVERS_MIN_POPULARITY, "limit": MOVERS}
    return {name: _frame(con, name, params) for name in ("rising", "falling")}


def job_history(con: duckdb.DuckDBPyConnection) -> dict[str, pl.DataFrame]:
    """The newest runs (up to 500) and the checkpoints, for the Jobs page."""
    return {"runs": _frame(con, "run_history"), "checkpoints": _frame(con, "checkpoints")}


def record_sources(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Landed records by source, file and media type, with the newest record's fetch time."""
    return _frame(con, "record_sources")


def data_age(con: duckdb.DuckDBPyConnection, pace: Pace | None) -> dict[str, Any]:
    """How old TMDB's data in the pool is (buckets of days, never fetched, over the limit)
    and, given the refresh job's pace, what its next run fetches and why, and when the
    oldest title will have been fetched again."""
    max_age = pace.max_age_days if pace else STALE_AFTER_DAYS
    out: dict[str, Any] = _rows(con, "tmdb_data_age", {"max_age_days": max_age})[0]
    out["max_age_days"] = max_age
    out["refresh_plan"] = None
    out["oldest_refresh_at"] = None
    if pace is not None:
        with refresh_snapshot(con, MEDIA_TYPES):
            plan = current_plan(con, pace, MEDIA_TYPES)
            when = oldest_refreshed_at(con, plan)
        out["refresh_plan"] = plan.to_dict()
        out["oldest_refresh_at"] = when.isoformat(timespec="seconds") if when else None
    return out


def provider_regions(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Per region, its newest providers fetch: when (and how many hours ago), providers and
    titles available (empty until `watchbuddy providers` ran). Source: JustWatch via TMDB."""
    return _rows(con, "provider_regions")


def refresh_outlook(warehouse: Warehouse, pace: Pace) -> dict[str, Any]:
    """`data_age` of the pool as it is now (what `watchbuddy jobs` shows for
    `refresh-titles`)."""
    con = open_views(warehouse, materialize=False)
    try:
        return data_age(con, pace)
    finally:
        con.close()


def pool_stats(
    con: duckdb.DuckDBPyConnection, warehouse: Warehouse, pace: Pace | None = None
) -> dict[str, Any]:
    """Everything `watchbuddy stats` prints, as JSON-ready values (`pace`: the refresh
    job's, for the date the oldest title is fetched again)."""
    manifest = warehouse.read_manifest()
    with pool_snapshot(con):
        by_media = {r["media_type"]: r["titles"] for r in _rows(con, "by_media_type")}
        by_source = _rows(con, "by_source")
        stale = _rows(con, "age")[0]["stale"]
    runs = _rows(con, "last_runs")
    for run in runs:  # a 'running' run whose process is gone died mid-run
        if run["status"] == "running" and not _alive(run.pop("pid")):
            run["status"] = "incomplete"
        run.pop("pid", None)
    total = sum(by_media.values())
    flags = pool_flags(con)
    newest_exports = {r["media_type"]: r["newest_export"] for r in _rows(con, "newest_exports")}
    queued = con.sql(
        statement("universe.sql", "missing_export_ids"), params={"media": list(newest_exports)}
    ).aggregate("media_type, count(*) AS ids", "media_type")
    queued_by_media = dict(queued.fetchall())
    return {
        "warehouse": str(warehouse.root),
        "manifest_version": manifest.version,
        "files": {table: len(paths) for table, paths in manifest.tables.items()},
        "titles": total,
        "by_media_type": by_media,
        "by_source": by_source,
        "imports": _rows(con, "import_totals"),
        "stale_titles": stale,
        "stale_share": round(stale / total, 4) if total else 0.0,
        "synthetic_titles": flags["synthetic_titles"],
        "synthetic_warning": synthetic_warning(flags),
        "removed_titles": flags["removed_titles"],
        "checkpoints": _rows(con, "checkpoint_dates"),
        # The ID universe from TMDB's daily exports (empty until `watchbuddy exports` ran).
        "newest_exports": newest_exports,
        "export_ids_queued": {m: queued_by_media.get(m, 0) for m in newest_exports},
        "last_runs": runs,
        "tmdb_data_age": data_age(con, pace),
        # Streaming availability per region (`watchbuddy providers`; JustWatch's data).
        "watch_regions": provider_regions(con),
    }
