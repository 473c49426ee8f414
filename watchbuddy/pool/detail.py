"""One title of the pool, every field: what the explorer shows beside a candidate list."""

from __future__ import annotations

from typing import Any

import duckdb

from watchbuddy.sql import statement


def title_detail(
    con: duckdb.DuckDBPyConnection, media_type: str, tmdb_id: int
) -> dict[str, Any] | None:
    """The pool's row for the title (None when the pool does not hold it)."""
    rows = (
        con.sql(
            statement("detail.sql", "title"),
            params={"media_type": media_type, "tmdb_id": tmdb_id},
        )
        .pl()
        .to_dicts()
    )
    return rows[0] if rows else None
