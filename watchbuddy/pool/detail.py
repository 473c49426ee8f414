"""One title of the pool, every field and its popularity over time: what the explorer shows
beside a candidate list (the list's sparklines come with the list: pool/sparklines.py)."""

from __future__ import annotations

from typing import Any

import duckdb
import polars as pl

from watchbuddy.sql import statement

SQL = "detail.sql"


def title_detail(
    con: duckdb.DuckDBPyConnection,
    media_type: str,
    tmdb_id: int,
    vote_count: int | None = None,
) -> dict[str, Any] | None:
    """The pool's row for the title (None when the pool does not hold it). `vote_count`, when
    the caller has it, lets DuckDB read one row group of the pool file rather than most."""
    return _one_row(con, "title", media_type, tmdb_id, vote_count)


def title_extras(
    con: duckdb.DuckDBPyConnection, media_type: str, tmdb_id: int, vote_count: int | None
) -> dict[str, Any] | None:
    """What a candidate row does not carry (original title, overview, source, fetch times):
    the explorer's detail panel adds these to the row it has, at a third of a whole row's cost."""
    return _one_row(con, "extras", media_type, tmdb_id, vote_count)


def _one_row(
    con: duckdb.DuckDBPyConnection,
    name: str,
    media_type: str,
    tmdb_id: int,
    vote_count: int | None,
) -> dict[str, Any] | None:
    """The statement's one row. A vote count that does not match (a caller's stale row) is
    only a lost shortcut: the title is then looked up without it."""
    params = {"media_type": media_type, "tmdb_id": tmdb_id, "vote_count": vote_count}
    rows = con.sql(statement(SQL, name), params=params).pl().to_dicts()
    if not rows and vote_count is not None:
        return _one_row(con, name, media_type, tmdb_id, None)
    return rows[0] if rows else None


def popularity_history(
    con: duckdb.DuckDBPyConnection, media_type: str, tmdb_id: int
) -> pl.DataFrame:
    """The title's popularity on every landed export day (`date`, `popularity`), oldest
    first; empty when no export has listed it."""
    return con.sql(
        statement(SQL, "history"), params={"media_type": media_type, "tmdb_id": tmdb_id}
    ).pl()
