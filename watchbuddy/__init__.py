"""WatchBuddy candidate pool: every TMDB title a recommender could suggest, scored, locally."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import duckdb

try:
    __version__ = version("watchbuddy")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0"


def connect(warehouse: str | Path | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with the views `titles`, `pool`, `rejects`, `imports`,
    `runs` and `checkpoints` over the warehouse (default: the `WATCHBUDDY_WAREHOUSE` setting).

    The views show the warehouse as it was published when they were defined; call
    `watchbuddy.store.views.refresh(con)` (or connect again) to see data published since.
    """
    from watchbuddy.settings import load_settings
    from watchbuddy.store.views import open_views
    from watchbuddy.store.warehouse import Warehouse

    root = Path(warehouse) if warehouse is not None else load_settings().warehouse
    return open_views(Warehouse(root))


__all__ = ["__version__", "connect"]
