"""DuckDB connections with the warehouse views: what the CLI, the app and notebooks all open.

Every connection is in-memory and reads the Parquet files the manifest lists; there is no
shared `.duckdb` file, because a read-write DuckDB file locks out every other process.
The raw tables (`titles`, `rejects`, `imports`, `run_records`, `checkpoint_records`,
`votes`) are views over explicit file lists; `pool`, `runs`, `checkpoints` and the score
macros come from the `.sql` files beside this module, so a notebook user can read exactly
what they query.
"""

from __future__ import annotations

import contextlib
from importlib import resources

import duckdb
import pyarrow as pa

from watchbuddy.schema import TABLE_SCHEMAS
from watchbuddy.warehouse import Manifest, Warehouse

DUCKDB_CONFIG = {
    # Only parquet, json, icu and core functions are available offline; without these a
    # missing extension stalls for seconds and then fails.
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
}
# Tables whose files hold a history of records; `state.sql` defines the view of the latest.
RAW_VIEW_NAMES = {"runs": "run_records", "checkpoints": "checkpoint_records"}
VERSION_VARIABLE = "watchbuddy_manifest_version"
WAREHOUSE_VARIABLE = "watchbuddy_warehouse"

_DUCKDB_TYPES = {
    pa.string(): "VARCHAR",
    pa.int64(): "BIGINT",
    pa.int32(): "INTEGER",
    pa.float64(): "DOUBLE",
    pa.bool_(): "BOOLEAN",
    pa.date32(): "DATE",
    pa.timestamp("us", tz="UTC"): "TIMESTAMPTZ",
    pa.list_(pa.string()): "VARCHAR[]",
}


def sql_file(name: str) -> str:
    return resources.files("watchbuddy.sql").joinpath(name).read_text("utf-8")


def quote_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _empty_select(schema: pa.Schema) -> str:
    columns = ", ".join(f"CAST(NULL AS {_DUCKDB_TYPES[f.type]}) AS {f.name}" for f in schema)
    return f"SELECT {columns} WHERE false"


def table_source_sql(warehouse: Warehouse, manifest: Manifest, table: str) -> str:
    """The SELECT behind a raw table view: its published files, or a typed empty result."""
    files = manifest.files(table)
    if not files:
        return _empty_select(TABLE_SCHEMAS[table])
    # Paths come from our own manifest, never from user input; quoted all the same.
    listed = ", ".join(quote_literal(str(warehouse.path(f))) for f in files)
    return f"SELECT * FROM read_parquet([{listed}], union_by_name = true)"


def define_views(
    con: duckdb.DuckDBPyConnection, warehouse: Warehouse, manifest: Manifest | None = None
) -> Manifest:
    """(Re)create every view on `con` from the given (or current) manifest."""
    manifest = manifest or warehouse.read_manifest()
    for table in TABLE_SCHEMAS:
        view = RAW_VIEW_NAMES.get(table, table)
        con.execute(
            f"CREATE OR REPLACE VIEW {view} AS {table_source_sql(warehouse, manifest, table)}"
        )
    con.execute(sql_file("scores.sql"))
    con.execute(sql_file("pool.sql"))
    con.execute(sql_file("state.sql"))
    con.execute(f"SET VARIABLE {VERSION_VARIABLE} = {int(manifest.version)}")
    con.execute(f"SET VARIABLE {WAREHOUSE_VARIABLE} = ?", [str(warehouse.root)])
    return manifest


def new_connection(**config: str) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:", config={**DUCKDB_CONFIG, **config})
    # The bar would draw over our own output. In Jupyter without ipywidgets DuckDB has it
    # off already and refuses the SET.
    with contextlib.suppress(duckdb.InvalidInputException):
        con.execute("SET enable_progress_bar = false")
    return con


def open_views(warehouse: Warehouse) -> duckdb.DuckDBPyConnection:
    con = new_connection()
    define_views(con, warehouse)
    return con


def refresh(con: duckdb.DuckDBPyConnection) -> bool:
    """Re-point the views at the newest published files if the warehouse changed.

    Cheap (one small file read) so long-lived processes call it before each query; returns
    whether anything changed.
    """
    root = con.sql(f"SELECT getvariable('{WAREHOUSE_VARIABLE}')").fetchall()[0][0]
    seen = con.sql(f"SELECT getvariable('{VERSION_VARIABLE}')").fetchall()[0][0]
    warehouse = Warehouse(root)
    manifest = warehouse.read_manifest()
    if manifest.version == seen:
        return False
    define_views(con, warehouse, manifest)
    return True
