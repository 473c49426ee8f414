"""One title of the pool, every field and its popularity over time: what the explorer shows
beside a candidate list (the list's sparklines come with the list: pool/sparklines.py)."""

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


def popularity_history(
    con: duckdb.DuckDBPyConnection, media_type: str, tmdb_id: int
) -> pl.DataFrame:
    """The title's popularity on every landed export day (`date`, `popularity`), oldest
    first; empty when no export has listed it."""
    return con.sql(
        statement(SQL, "history"), params={"media_type": media_type, "tmdb_id": tmdb_id}
    ).pl()
