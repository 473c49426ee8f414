"""One title of the pool, every field and its popularity over time: what the explorer shows
beside a candidate list (and the sparklines of the list's titles)."""

from __future__ import annotations

from typing import Any

import duckdb
import polars as pl

from watchbuddy.sql import statement

SQL = "detail.sql"


def title_detail(
    con: duckdb.DuckDBPyConnection, media_type: str, tmdb_id: int
) -> dict[str, Any] | None:
    """The pool's row for the title (None when the pool does not hold it)."""
    rows = (
        con.sql(
            statement(SQL, "title"),
            params={"media_type": media_type, "tmdb_id": tmdb_id},
        )
        .pl()
        .to_dicts()
    )
    return rows[0] if rows else None


RECENT_DAYS = 30  # the Explore table's sparklines: about a month of export days


def popularity_history(
    con: duckdb.DuckDBPyConnection, media_type: str, tmdb_id: int
) -> pl.DataFrame:
    """The title's popularity on every landed export day (`date`, `popularity`), oldest
    first; empty when no export has listed it."""
    return con.sql(
        statement(SQL, "history"), params={"media_type": media_type, "tmdb_id": tmdb_id}
    ).pl()


def recent_popularity(
    con: duckdb.DuckDBPyConnection, keys: list[tuple[str, int]], days: int = RECENT_DAYS
) -> pl.DataFrame:
    """`media_type, tmdb_id, recent`: each listed title's popularity over the last `days`
    export days, oldest first (titles no export lists are absent). `con` should be a cursor
    of its own: the keys are registered on it as `wanted`."""
    wanted = pl.DataFrame(keys, schema={"media_type": pl.String, "tmdb_id": pl.Int32}, orient="row")
    con.register("wanted", wanted.to_arrow())
    try:
        return con.sql(statement(SQL, "recent"), params={"days": days}).pl()
    finally:
        con.unregister("wanted")
