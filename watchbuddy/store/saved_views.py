"""Saved views: the Explore page's filters under a name, kept in the warehouse.

A view is stored as the page's link query string (`mode=obscure&genre=Drama`), not as
filter fields: the link parser already reads any query string safely (an unknown or stale
parameter is dropped with a note, the rest apply), so a view saved before a filter changed
still opens, and the store needs to know nothing of the filters. The table is small (a
person's handful of views), so every save or delete rewrites it as one file and replaces
the table's file list in one commit, under the warehouse's write lock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import pyarrow as pa

from watchbuddy.errors import InvalidViewName, UnknownPreset
from watchbuddy.safe_text import clip
from watchbuddy.sql import statement
from watchbuddy.store.schema import SAVED_VIEW_SCHEMA
from watchbuddy.store.views import new_connection, raw_view_sql
from watchbuddy.store.warehouse import Warehouse, utcnow

TABLE = "saved_views"
MAX_NAME = 80  # characters: a sidebar entry, not a document
LOCK_WAIT_SECONDS = 10.0  # a person is waiting; a job's commit takes a moment


@dataclass(frozen=True)
class SavedView:
    name: str
    query: str  # the Explore link's query string
    saved_at: datetime


def list_views(warehouse: Warehouse) -> list[SavedView]:
    """The saved views, by name (case-insensitively)."""
    con = new_connection()
    try:
        con.execute(raw_view_sql(warehouse, warehouse.read_manifest(), TABLE))
        rows = con.sql(statement("saved_views.sql", "list")).fetchall()
    finally:
        con.close()
    return [SavedView(*row) for row in rows]


def view_name(name: str) -> str:
    """A view's name, white space collapsed; InvalidViewName when empty or too long."""
    text = " ".join(str(name).split())
    if not text or len(text) > MAX_NAME:
        raise InvalidViewName(
            f"A saved view needs a name of 1 to {MAX_NAME} characters (got {len(text)})."
        )
    return text


def find_view(warehouse: Warehouse, name: str) -> SavedView:
    """The view called `name` (exactly, after white space is collapsed); UnknownPreset
    listing the saved names when there is none."""
    views = list_views(warehouse)
    wanted = " ".join(str(name).split())
    for view in views:
        if view.name == wanted:
            return view
    listing = ", ".join(repr(v.name) for v in views)
    raise UnknownPreset(
        f"No saved view is called {clip(wanted)!r}; "
        + (f"saved views: {listing}." if views else "none is saved yet (save one in Explore).")
    )


def save_view(warehouse: Warehouse, name: str, query: str) -> SavedView:
    """Save the filters `query` under `name`, replacing a view of that name."""
    saved = SavedView(view_name(name), query, utcnow())
    _rewrite(
        warehouse,
        f"save view {saved.name}",
        lambda views: [*(v for v in views if v.name != saved.name), saved],
    )
    return saved


def delete_view(warehouse: Warehouse, name: str) -> None:
    """Delete the view called `name`; UnknownPreset (listing the names) when there is none."""

    def without(views: list[SavedView]) -> list[SavedView]:
        gone = find_view(warehouse, name)
        return [v for v in views if v.name != gone.name]

    _rewrite(warehouse, f"delete view {clip(name)}", without)


def _rewrite(
    warehouse: Warehouse, purpose: str, change: Callable[[list[SavedView]], list[SavedView]]
) -> None:
    """The table rewritten as `change` of its rows, read under the write lock (so two
    saves at once both land)."""
    with warehouse.writer(purpose, wait_seconds=LOCK_WAIT_SECONDS) as writer:
        views = change(list_views(warehouse))
        rows = pa.Table.from_pylist(
            [{"name": v.name, "query": v.query, "saved_at": v.saved_at} for v in views],
            schema=SAVED_VIEW_SCHEMA,
        )
        files = []
        if views:
            name = f"saved-views-{writer.allocate_batch():06d}.parquet"
            files.append(writer.stage_table(TABLE, rows, name))
        writer.commit(replace={TABLE: files})
