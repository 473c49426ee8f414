"""The app's own lists (source 'watchbuddy'): "not interested", kept by `watchbuddy
not-interested` and the explorer's button. Each change rewrites the whole list as one file
in place of the previous one (a few hundred ids at most), so the list is one commit's
state, whoever wrote it last."""

from __future__ import annotations

import re
from collections.abc import Iterable

import polars as pl

from watchbuddy.errors import UnknownTitleKey
from watchbuddy.sources.history.entries import APP_SOURCE
from watchbuddy.sources.history.land import history_frame_schema
from watchbuddy.sources.history.publish import publish
from watchbuddy.sql import statement
from watchbuddy.store.views import open_views
from watchbuddy.store.warehouse import WRITER_WAIT_SECONDS, Warehouse, WarehouseWriter, utcnow

NOT_INTERESTED = "not_interested"
KEY = re.compile(r"(movie|tv):([0-9]{1,10})")

Key = tuple[str, int]


def parse_key(text: str) -> Key:
    """'movie:27205' -> ('movie', 27205); UnknownTitleKey otherwise."""
    found = KEY.fullmatch(text.strip().lower())
    if not found or not 0 < int(found.group(2)) < 2**31:
        raise UnknownTitleKey(
            f"{text.strip()[:40]!r} is not a title; write it as movie:ID or tv:ID with its "
            "TMDB id (movie:27205)."
        )
    return found.group(1), int(found.group(2))


def app_list(warehouse: Warehouse, list_name: str = NOT_INTERESTED) -> list[Key]:
    """The titles on one of the app's own lists, sorted."""
    con = open_views(warehouse, materialize=False)
    try:
        rows = con.sql(statement("history.sql", "app_list"), params={"list": list_name})
        return [(m, int(i)) for m, i in rows.fetchall()]
    finally:
        con.close()


def app_list_titles(
    warehouse: Warehouse, list_name: str = NOT_INTERESTED
) -> list[tuple[str, int, str | None, int | None]]:
    """The list's titles with their pool title and year (None for a title the pool lacks)."""
    con = open_views(warehouse)
    try:
        rows = con.sql(statement("history.sql", "app_list_titles"), params={"list": list_name})
        return [(m, int(i), t, y) for m, i, t, y in rows.fetchall()]
    finally:
        con.close()


def _write(writer: WarehouseWriter, keys: Iterable[Key], list_name: str) -> None:
    now = utcnow()
    rows = pl.DataFrame(
        [
            {
                "source": APP_SOURCE,
                "list": list_name,
                "media_type": media_type,
                "tmdb_id": tmdb_id,
                "rating": None,
                "watched_at": None,
                "file": "",
                "imported_at": now,
            }
            for media_type, tmdb_id in sorted(keys)
        ],
        schema=history_frame_schema(),
    )
    publish(writer, APP_SOURCE, list_name, rows)  # one file per list; its `file` is ''


def change(
    warehouse: Warehouse,
    add: Iterable[Key] = (),
    remove: Iterable[Key] = (),
    list_name: str = NOT_INTERESTED,
) -> tuple[list[Key], list[Key]]:
    """Add and remove titles of the list (under the write lock, read and written in one
    go); the titles actually added and removed."""
    add, remove = set(add), set(remove)
    with warehouse.writer(f"{list_name} list", wait_seconds=WRITER_WAIT_SECONDS) as writer:
        current = set(app_list(warehouse, list_name))
        added = sorted(add - current)
        removed = sorted(remove & current)
        if added or removed:
            _write(writer, (current | add) - remove, list_name)
    return added, removed
