"""What is in the pool, where it came from, and how current it is (for `stats` and the app)."""

from __future__ import annotations

import os
from typing import Any

import duckdb

from watchbuddy.store.warehouse import Warehouse

STALE_AFTER_DAYS = 182  # TMDB's terms: cached data should not be older than six months


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


def _rows(con: duckdb.DuckDBPyConnection, query: str) -> list[dict[str, Any]]:
    rel = con.sql(query)
    columns = rel.columns
    return [dict(zip(columns, row, strict=True)) for row in rel.fetchall()]


# What a user must be told before trusting the pool: how much of it is made up (demo data)
# and how much TMDB no longer has. `stats` and the Pool page show both; every explorer page
# warns about demo data.
POOL_FLAGS_SQL = """
SELECT count(*) AS titles,
       count(*) FILTER (WHERE synthetic) AS synthetic_titles,
       count(*) FILTER (WHERE removed_from_tmdb_at IS NOT NULL) AS removed_titles
FROM pool
"""


def pool_flags(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    return _rows(con, POOL_FLAGS_SQL)[0]


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


def pool_stats(con: duckdb.DuckDBPyConnection, warehouse: Warehouse) -> dict[str, Any]:
    manifest = warehouse.read_manifest()
    by_media = {
        r["media_type"]: r["titles"]
        for r in _rows(
            con,
            """
        SELECT media_type, count(*) AS titles FROM pool GROUP BY media_type ORDER BY media_type
    """,
        )
    }
    by_source = _rows(
        con,
        """
        SELECT source, source_name, media_type, count(*) AS titles
        FROM pool GROUP BY ALL ORDER BY titles DESC
    """,
    )
    imports = _rows(
        con,
        """
        SELECT status, count(*) AS files, sum(rows_read) AS rows_read, sum(accepted) AS accepted,
               sum(duplicates) AS duplicates, sum(rejected) AS rejected
        FROM imports GROUP BY status ORDER BY status
    """,
    )
    stale = con.sql(f"""
        SELECT count(*) FILTER (
            WHERE coalesce(votes_refreshed_at, updated_at)
                  < now() - INTERVAL {STALE_AFTER_DAYS} DAY)
        FROM pool
    """).fetchall()[0][0]
    checkpoints = _rows(
        con,
        """
        SELECT media_type, last_release_date::VARCHAR AS last_release_date,
               last_run_at::VARCHAR AS last_run_at
        FROM checkpoints
        QUALIFY row_number() OVER (PARTITION BY media_type ORDER BY last_run_at DESC) = 1
        ORDER BY media_type
    """,
    )
    runs = _rows(
        con,
        """
        SELECT job, media_type, status, pid, started_at::VARCHAR AS started_at,
               finished_at::VARCHAR AS finished_at, titles_new, titles_updated, errors
        FROM runs
        QUALIFY row_number() OVER (PARTITION BY job, media_type ORDER BY started_at DESC) = 1
        ORDER BY job, media_type
    """,
    )
    for run in runs:  # a 'running' run whose process is gone died mid-run
        if run["status"] == "running" and not _alive(run.pop("pid")):
            run["status"] = "incomplete"
        run.pop("pid", None)
    total = sum(by_media.values())
    flags = pool_flags(con)
    return {
        "warehouse": str(warehouse.root),
        "manifest_version": manifest.version,
        "files": {table: len(paths) for table, paths in manifest.tables.items()},
        "titles": total,
        "by_media_type": by_media,
        "by_source": by_source,
        "imports": imports,
        "stale_titles": stale,
        "stale_share": round(stale / total, 4) if total else 0.0,
        "synthetic_titles": flags["synthetic_titles"],
        "synthetic_warning": synthetic_warning(flags),
        "removed_titles": flags["removed_titles"],
        "checkpoints": checkpoints,
        "last_runs": runs,
    }
