"""WatchBuddy candidate pool: every TMDB title a recommender could suggest, scored, locally."""

from __future__ import annotations

import importlib
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import duckdb

    from watchbuddy.pool.candidates import Candidates, get_candidates
    from watchbuddy.pool.filters import CandidateFilters
    from watchbuddy.pool.search import search_titles


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


# The candidate API, importable from the package (`from watchbuddy import get_candidates`)
# but loaded on first use: `import watchbuddy` for `connect()` stays light, and the package
# module imports no stage at load time (no cycle through it).
_LAZY = {
    "get_candidates": "watchbuddy.pool.candidates",
    "Candidates": "watchbuddy.pool.candidates",
    "CandidateFilters": "watchbuddy.pool.filters",
    "search_titles": "watchbuddy.pool.search",
}


@cache
def _version() -> str:
    """The installed version (importlib.metadata costs a tenth of a second to import, so
    `__version__` is looked up on first use, like the candidate API)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("watchbuddy")
    except PackageNotFoundError:  # running from a source tree without installing
        return "0.0.0"


def __getattr__(name: str) -> Any:
    if name == "__version__":
        return _version()
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'watchbuddy' has no attribute {name!r}")


__all__ = [
    "CandidateFilters",
    "Candidates",
    "__version__",
    "connect",
    "get_candidates",
    "search_titles",
]
