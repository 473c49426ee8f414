"""Which titles your own lists keep out of the candidate lists (the `history` table): with
`for_me`, everything you watched or rated; always, the "not interested" list (a title you
said no to should not come back because a box was left unticked). The watchlist is never
left out: it is what you want to see."""

from __future__ import annotations

import threading

import polars as pl

from watchbuddy.sql import statement
from watchbuddy.store.views import new_connection, raw_view_sql
from watchbuddy.store.warehouse import Manifest, Warehouse

ALWAYS_EXCLUDED = ("not_interested",)
FOR_ME_EXCLUDED = ("watched", "rated", *ALWAYS_EXCLUDED)

Key = tuple[str, int]


def excluded_lists(for_me: bool) -> tuple[str, ...]:
    return FOR_ME_EXCLUDED if for_me else ALWAYS_EXCLUDED


class ExcludedTitles:
    """The excluded titles per list choice, read once per set of published history files."""

    def __init__(self, warehouse: Warehouse) -> None:
        self.warehouse = warehouse
        self._cache: dict[tuple[tuple[str, ...], tuple[str, ...]], frozenset[Key]] = {}
        self._lock = threading.Lock()

    def get(self, manifest: Manifest, for_me: bool) -> frozenset[Key]:
        files = tuple(manifest.files("history"))
        if not files:
            return frozenset()
        lists = excluded_lists(for_me)
        key = (files, lists)
        with self._lock:
            if key not in self._cache:
                self._cache = {k: v for k, v in self._cache.items() if k[0] == files}
                self._cache[key] = read_excluded(self.warehouse, manifest, lists)
            return self._cache[key]


def read_excluded(
    warehouse: Warehouse, manifest: Manifest, lists: tuple[str, ...]
) -> frozenset[Key]:
    con = new_connection()
    try:
        con.execute(raw_view_sql(warehouse, manifest, "history"))
        rows = con.sql(statement("history.sql", "excluded"), params={"lists": list(lists)}).pl()
    finally:
        con.close()
    return frozenset(
        (str(m), int(i)) for m, i in rows.select(pl.col("x_media"), pl.col("x_id")).iter_rows()
    )
