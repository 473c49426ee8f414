"""DuckDB connections with the warehouse views: what the CLI, the app and notebooks all open.

Every connection is in-memory and reads the Parquet files the manifest lists; there is no
shared `.duckdb` file, because a read-write DuckDB file locks out every other process.
The raw tables (`titles`, `rejects`, `imports`, `run_records`, `checkpoint_records`,
`votes`, `removals`) are views over explicit file lists, always with every column of the
table's current schema (files written before a column existed read it as NULL); `pool`,
`runs`, `checkpoints` and the score macros come from the `.sql` files beside this module, so
a notebook user can read exactly what they query. `pool` reads the materialized copy of
`pool_computed` for the connection's version (`pool_cache`), falling back to the view itself
where no copy can be written.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path

import duckdb
import pyarrow as pa

from watchbuddy.errors import WarehouseError
from watchbuddy.sql import fill, literal, sql_file, statement
from watchbuddy.store import pool_cache
from watchbuddy.store.schema import (
    KEY_FIELDS,
    LIST_FIELDS,
    MERGED_FIELDS,
    TABLE_SCHEMAS,
    VALUE_RULES,
)
from watchbuddy.store.warehouse import Manifest, Warehouse

DUCKDB_CONFIG = {
    # Only parquet, json, icu and core functions are available offline; without these a
    # missing extension stalls for seconds and then fails.
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
}
# Tables whose files hold a history of records; `state.sql` defines the view of the latest.
RAW_VIEW_NAMES = {
    "runs": "run_records",
    "checkpoints": "checkpoint_records",
    "exports": "export_records",
}
VIEWS = "views.sql"

_DUCKDB_TYPES = {
    pa.string(): "VARCHAR",
    pa.int64(): "BIGINT",
    pa.int32(): "INTEGER",
    pa.float64(): "DOUBLE",
    pa.float32(): "FLOAT",
    pa.bool_(): "BOOLEAN",
    pa.date32(): "DATE",
    pa.timestamp("us", tz="UTC"): "TIMESTAMPTZ",
    pa.list_(pa.string()): "VARCHAR[]",
}


def _empty_select(schema: pa.Schema) -> str:
    # A fragment built in Python: its column list is the table schema's.
    columns = ", ".join(f"CAST(NULL AS {_DUCKDB_TYPES[f.type]}) AS {f.name}" for f in schema)
    return f"SELECT {columns} WHERE false"


def table_columns_sql(table: str) -> str:
    """The select list of a raw table view. A value outside its field's rule
    (`schema.VALUE_RULES`) reads as NULL, unknown: landing refuses such values, but a
    warehouse written before the rule may hold one ('infinity' dates make Polars panic).
    A fragment built in Python: its columns and rules are the schema's."""

    def column(name: str) -> str:
        rule = VALUE_RULES.get(name)
        if rule is None or name in KEY_FIELDS:
            return name
        return f"CASE WHEN {rule.sql_holds(name)} THEN {name} END AS {name}"

    return ", ".join(column(name) for name in TABLE_SCHEMAS[table].names)


def raw_view_sql(warehouse: Warehouse, manifest: Manifest, table: str) -> str:
    """The statement that (re)defines a raw table's view: its published files with exactly
    the columns of the table's schema (a file from before a column was added reads it as
    NULL), or a typed empty result."""
    view = RAW_VIEW_NAMES.get(table, table)
    empty = _empty_select(TABLE_SCHEMAS[table])
    files = manifest.files(table)
    if not files:
        return fill(statement(VIEWS, "empty_raw_view"), view=view, empty=empty)
    # Paths come from our own manifest, never from user input; quoted all the same.
    listed = ", ".join(literal(str(warehouse.path(f))) for f in files)
    return fill(
        statement(VIEWS, "raw_view"),
        view=view,
        columns=table_columns_sql(table),
        empty=empty,
        files=listed,
    )


def known_condition(field: str) -> str:
    """When a record knows a field: not NULL, and for a list not empty."""
    return f"{field} IS NOT NULL" + (f" AND len({field}) > 0" if field in LIST_FIELDS else "")


def field_winners(value: Callable[[str], str]) -> dict[str, str]:
    """Per merged field of the title schema, a `wb_newest` (pool.sql's dedup rule) picking
    `value(field)` from the newest record that knows the field: the field itself for the
    pool's merge, `record_order` for compaction (which keeps the winning records). Built in
    Python because the list of fields is the schema's."""
    return {f: f"wb_newest({value(f)}, record_order, {known_condition(f)})" for f in MERGED_FIELDS}


def pool_sql() -> str:
    """pool.sql with the merged fields filled in from the title schema."""
    merged = ",\n        ".join(f"{w} AS {f}" for f, w in field_winners(lambda f: f).items())
    return fill(
        sql_file("pool.sql"),
        field_list=", ".join(MERGED_FIELDS),
        merged_fields=merged,
        sparkline_days=str(pool_cache.SPARKLINE_DAYS),
    )


def _cache_key() -> str:
    """The SQL a materialized pool is computed by (part of its file name)."""
    sources = "".join(table_columns_sql(t) for t in pool_cache.SOURCE_TABLES)
    return sources + pool_sql() + sql_file("scores.sql") + sql_file("state.sql")


def define_views(
    con: duckdb.DuckDBPyConnection,
    warehouse: Warehouse,
    manifest: Manifest | None = None,
    materialize: bool = True,
) -> Manifest:
    """(Re)create every view on `con` from the given (or current) manifest.

    With `materialize`, `pool` reads this version's materialized file, building it first
    if no process has (a few seconds at 1.5M titles, once per version). Writers that only
    look up a few titles pass False and query the computed view directly."""
    manifest = manifest or warehouse.read_manifest()
    warehouse.check_files(manifest)
    for table in TABLE_SCHEMAS:
        con.execute(raw_view_sql(warehouse, manifest, table))
    con.execute(sql_file("scores.sql"))
    con.execute(sql_file("state.sql"))  # before the pool, which reads `exports`
    con.execute(pool_sql())
    con.execute(statement(VIEWS, "set_version"), {"version": int(manifest.version)})
    con.execute(statement(VIEWS, "set_warehouse"), {"warehouse": str(warehouse.root)})
    path = None
    if materialize and not manifest.is_empty:
        # No copy can be written here: `pool` is the computed view.
        with contextlib.suppress(OSError, duckdb.IOException, duckdb.PermissionException):
            path = str(pool_cache.materialize(con, warehouse, manifest, _cache_key()))
    if path is None:
        con.execute(
            fill(statement(VIEWS, "computed_pool"), spark=", ".join(pool_cache.SPARK_WORDS))
        )
    else:
        # A view definition takes no parameters: the path (ours) is a quoted literal. Only
        # one `pool` is defined: binding the computed one too took a fifth of a connection.
        extra = ", ".join(pool_cache.EXTRA_COLUMNS)
        con.execute(fill(statement(VIEWS, "materialized_pool"), extra=extra, path=literal(path)))
    con.execute(statement(VIEWS, "set_pool_file"), {"path": path})
    return manifest


def materialized_pool(warehouse: Warehouse, manifest: Manifest | None = None) -> Path:
    """This version's materialized pool file, built if no process has built it yet."""
    con = new_connection()
    try:
        manifest = define_views(con, warehouse, manifest)
        path = pool_file(con)
        if path is None and manifest.is_empty:
            # An empty warehouse: an empty file with the pool's columns.
            path = pool_cache.materialize(con, warehouse, manifest, _cache_key())
    finally:
        con.close()
    if path is None:
        raise WarehouseError(
            f"Cannot write the pool's cache under {warehouse.root / pool_cache.CACHE_DIR} or "
            "the temp dir; free some disk space and try again."
        )
    return path


def pool_file(con: duckdb.DuckDBPyConnection) -> Path | None:
    """The materialized pool file `con`'s `pool` view reads (None: the computed view)."""
    value = con.sql(statement(VIEWS, "pool_file")).fetchall()[0][0]
    return Path(value) if value else None


def new_connection(**config: str) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:", config={**DUCKDB_CONFIG, **config})
    # The bar would draw over our own output. In Jupyter without ipywidgets DuckDB has it
    # off already and refuses the SET.
    with contextlib.suppress(duckdb.InvalidInputException):
        con.execute(statement(VIEWS, "quiet"))
    con.execute(statement(VIEWS, "metadata_cache"))
    return con


def open_views(warehouse: Warehouse, materialize: bool = True) -> duckdb.DuckDBPyConnection:
    con = new_connection()
    define_views(con, warehouse, materialize=materialize)
    return con


def refresh(con: duckdb.DuckDBPyConnection) -> bool:
    """Re-point the views at the newest published files if the warehouse changed.

    Cheap when nothing changed (one small file read), so long-lived processes call it before
    each query; after a commit it may first build the new version's pool file (seconds at
    1.5M titles, once per version across processes). Returns whether anything changed.
    """
    root, seen = con.sql(statement(VIEWS, "seen")).fetchall()[0]
    warehouse = Warehouse(root)
    manifest = warehouse.read_manifest()
    if manifest.version == seen:
        return False
    define_views(con, warehouse, manifest)
    return True
