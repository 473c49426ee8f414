"""Read-only SQL over the views, for `watchbuddy sql`: user text is SQL, so it is contained.

Two locks, either of which would do: only SELECT-like statements are accepted, and the
connection is sealed so DuckDB itself refuses any file outside the warehouse (reading
`/etc/passwd`, COPY TO, ATTACH, INSTALL) and refuses to be unsealed.
"""

from __future__ import annotations

import duckdb
import polars as pl

from watchbuddy.errors import QueryRefused, WatchBuddyError
from watchbuddy.views import open_views, pool_file
from watchbuddy.warehouse import Warehouse

ALLOWED = {duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN}


def sealed_connection(warehouse: Warehouse) -> duckdb.DuckDBPyConnection:
    con = open_views(warehouse)
    # The warehouse, and the folder of the materialized pool when it lives outside it (a
    # read-only warehouse keeps it in the user's temp dir).
    folders = {f"{warehouse.root}/"}
    pool = pool_file(con)
    if pool is not None:
        folders.add(f"{pool.parent}/")
    listed = ", ".join("'" + f.replace("'", "''") + "'" for f in sorted(folders))
    con.execute(f"SET allowed_directories = [{listed}]")
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")
    return con


def run_query(warehouse: Warehouse, query: str) -> pl.DataFrame:
    """Run one read-only statement and return its rows."""
    con = sealed_connection(warehouse)
    try:
        try:
            statements = con.extract_statements(query)
        except duckdb.Error as exc:
            raise WatchBuddyError(f"SQL error: {_one_line(exc)}") from None
        if len(statements) != 1:
            raise QueryRefused(
                f"Give exactly one statement (got {len(statements)}); run them one at a time."
            )
        kind = statements[0].type
        if kind not in ALLOWED:
            # Named by its first word as written (DuckDB files INSTALL under LOAD, say).
            verb = query.split(None, 1)[0].upper() if query.strip() else kind.name
            raise QueryRefused(
                f"Refused {verb}: `watchbuddy sql` only reads (SELECT, WITH ... SELECT, "
                "DESCRIBE, SHOW, EXPLAIN)."
            )
        try:
            return con.sql(query).pl()
        except duckdb.PermissionException:
            raise QueryRefused(
                "Refused: the query reads or writes files outside the warehouse; "
                "query the views (titles, pool, rejects, imports, runs, checkpoints) instead."
            ) from None
        except duckdb.Error as exc:
            raise WatchBuddyError(f"SQL error: {_one_line(exc)}") from None
    finally:
        con.close()


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split("\n")[0].split())[:400]
