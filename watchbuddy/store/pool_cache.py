"""The pool, materialized once per warehouse version: what `pool` and the candidate table read.

`pool_computed` (sql/pool.sql) merges every record of every title field by field and scores
it; at 1.5M titles that is about a second per query, and notebooks and the candidate
provider query the pool all day. So the first process that needs a version writes the
view's rows to `cache/pool-<digest>.parquet` (a few seconds at 1.5M titles), and every
connection's `pool` view reads that file instead (count(*) in milliseconds). Freshness
depends on today and is added when the file is read, never stored. The rows are sorted by
vote count, so a vote floor skips most of the file, and carry each title's genre bitmask
and whether it has a poster for the candidate filters.

The digest covers what the pool is computed from: the published files of `titles`, `votes`,
`removals`, `popularity_history` and `exports` (path, size, modification time) and the SQL
that computes it (so the trend columns, which read the whole history, are computed once per
version, not per query). A commit that adds only run records reuses the file; an upgrade
that changes a score rebuilds it; a warehouse rebuilt from scratch never picks up an old
file. The file is written under a
temporary name and renamed, so a reader never sees half of it; two processes building at
once both succeed with the same content. A file stays on disk for `RETIRED_GRACE` after a
newer one is built, because a connection opened on the older version still reads it (the
same grace retired Parquet files get).
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import os
import tempfile
import time
import uuid
from pathlib import Path

import duckdb

from watchbuddy.sql import fill, statement
from watchbuddy.store.genres import sql_mask
from watchbuddy.store.warehouse import RETIRED_GRACE, Manifest, Warehouse

CACHE_DIR = "cache"
SOURCE_TABLES = ("titles", "votes", "removals", "popularity_history", "exports")
FORMAT = "pool-cache-4"  # bump when the file's layout changes

# Each title's sparkline: its popularity on each of the last SPARKLINE_DAYS export days, a
# byte a day packed eight to a UBIGINT word (pool.sql's `history`; pool/sparklines.py reads
# them back). About 32 bytes a title, so the candidate table holds every title's sparkline
# and a page of results draws them without reading the history (which took about a second
# for 200 titles).
SPARKLINE_DAYS = 30
SPARK_WORDS = tuple(f"spark_{word}" for word in range(4))  # 4 x 8 bytes: up to 32 days
# Columns of the file that are not pool columns (the candidate table reads them).
EXTRA_COLUMNS = ("genre_mask", "has_poster", *SPARK_WORDS)


def cache_folder(warehouse: Warehouse) -> Path:
    """`warehouse/cache`, or, for a warehouse this user cannot write, a folder of this
    user's in the temp dir (so a read-only warehouse is still fast to query)."""
    folder = warehouse.root / CACHE_DIR
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if os.access(folder, os.W_OK):
            return folder
    except OSError:
        pass
    root_digest = hashlib.sha1(str(warehouse.root).encode()).hexdigest()[:12]
    folder = Path(tempfile.gettempdir()) / f"watchbuddy-{os.getuid()}-{root_digest}"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def cache_name(warehouse: Warehouse, manifest: Manifest, definition: str) -> str:
    """The file name for this version's pool: a digest of its inputs and its SQL."""
    digest = hashlib.sha1(f"{FORMAT}\n{definition}\n".encode())
    for table in SOURCE_TABLES:
        for relative in manifest.files(table):
            stat = warehouse.path(relative).stat()
            digest.update(f"{relative}:{stat.st_size}:{stat.st_mtime_ns}\n".encode())
    return f"pool-{digest.hexdigest()[:16]}.parquet"


def materialize(
    con: duckdb.DuckDBPyConnection, warehouse: Warehouse, manifest: Manifest, definition: str
) -> Path:
    """The pool file for `manifest`, built from `con`'s `pool_computed` if nobody has yet.

    `definition` is the SQL text that defines `pool_computed` (part of the file's name)."""
    name = cache_name(warehouse, manifest, definition)
    in_warehouse = warehouse.root / CACHE_DIR / name
    if in_warehouse.exists():
        return in_warehouse
    folder = cache_folder(warehouse)
    path = folder / name
    if path.exists():
        return path
    building = folder / f".building-{uuid.uuid4().hex}.parquet"
    try:
        build = fill(statement("pool_cache.sql", "build"), genre_mask=sql_mask("genres"))
        con.execute(build, {"path": str(building)})
        os.replace(building, path)
    finally:
        building.unlink(missing_ok=True)
    remove_old_files(folder, keep=path)
    return path


def remove_old_files(folder: Path, keep: Path) -> None:
    """Delete other versions' files once no connection can still be reading them: a file
    was superseded when the next newer file was built (the first connection on a newer
    version builds it), and is deleted `RETIRED_GRACE` after that."""
    cutoff = time.time() - RETIRED_GRACE.total_seconds()
    files = []
    for path in [*folder.glob("*.parquet"), *folder.glob(".building-*")]:
        with contextlib.suppress(OSError):
            files.append((path.stat().st_mtime, path))
    files.sort()
    for (_, old), (superseded_at, _) in itertools.pairwise(files):
        if old != keep and superseded_at < cutoff:
            old.unlink(missing_ok=True)
