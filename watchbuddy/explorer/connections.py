"""The explorer's process-wide DuckDB state, kept out of Streamlit's caches on purpose.

`watchbuddy app` runs Streamlit in its own process and calls `warm()` before the server
takes its first session, so the first visitor finds the candidate table loaded and the
warehouse files' metadata read. Streamlit's `st.cache_*` stores exist only once the
runtime runs; these plain caches exist from import.
"""

from __future__ import annotations

import functools
import threading
from pathlib import Path

import duckdb

from watchbuddy.explorer.preload import preload
from watchbuddy.explorer.serving import skip_file_watching
from watchbuddy.pool import detail
from watchbuddy.pool.candidates import provider_at
from watchbuddy.pool.search import search_at
from watchbuddy.store.views import open_views
from watchbuddy.store.warehouse import Warehouse


@functools.lru_cache(maxsize=2)
def views_at(root: str, version: int) -> duckdb.DuckDBPyConnection:
    """One view connection per warehouse version; callers take a cursor (a connection is
    not for sharing between threads, its cursors are)."""
    return open_views(Warehouse(Path(root)))


def warm(root: Path) -> None:
    """Load the candidate table and read the warehouse files' metadata once; build the
    title search's index on a thread of its own (seconds at 1.5M titles), so the first
    visitor does not wait for it and the first search rarely does; then what the first
    script run would do for every visitor alike (`preload`), and no source file watching
    (`serving.skip_file_watching`)."""
    provider = provider_at(root)
    provider.warm()
    threading.Thread(target=search_at(root).index, name="search-index", daemon=True).start()
    version = provider.warehouse.read_manifest().version
    cursor = views_at(str(Path(root).resolve()), version).cursor()
    try:
        detail.title_detail(cursor, "movie", -1)  # reads the pool file's metadata
    finally:
        cursor.close()
    preload(provider.languages())
    skip_file_watching()
