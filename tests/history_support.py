"""Publish popularity history and export records into a warehouse, as the `exports` landing
does: one Parquet file per export file (media type, day, regular or adult), sorted by id,
with its 'landed' record in `exports`, through the warehouse writer."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Mapping

import pyarrow as pa

from watchbuddy.store.schema import EXPORT_SCHEMA, POPULARITY_HISTORY_SCHEMA
from watchbuddy.store.warehouse import Warehouse, utcnow


def publish_export_day(
    warehouse: Warehouse,
    media_type: str,
    day: dt.date,
    popularity: Mapping[int, float],
    adult: bool = False,
    status: str = "landed",
) -> None:
    """Land one export file of `day`: the ids it lists with their popularity (none when
    `status` is 'missing'), and its record in `exports`."""
    ids = sorted(popularity) if status == "landed" else []
    rows = pa.table(
        {
            "media_type": [media_type] * len(ids),
            "tmdb_id": ids,
            "date": [day] * len(ids),
            "popularity": [float(popularity[i]) for i in ids],
            "adult": [adult] * len(ids),
        },
        schema=POPULARITY_HISTORY_SCHEMA,
    )
    record = pa.table(
        {
            "media_type": [media_type],
            "export_date": [day],
            "adult": [adult],
            "status": [status],
            "url": [f"https://files.example/{'adult_' if adult else ''}{media_type}_{day}"],
            "lines": [len(ids)],
            "accepted": [len(ids)],
            "rejected": [0],
            "bytes": [100 * len(ids)],
            "landed_at": [utcnow()],
            "run_id": ["test"],
            "message": [None],
        },
        schema=EXPORT_SCHEMA,
    )
    name = f"{media_type}-{day}-{'adult' if adult else 'regular'}-{uuid.uuid4().hex[:6]}"
    with warehouse.writer("test exports") as writer:
        add = {"exports": [writer.stage_table("exports", record, f"{name}.parquet")]}
        if ids:
            add["popularity_history"] = [
                writer.stage_table("popularity_history", rows, f"{name}.parquet")
            ]
        writer.commit(add=add)


def publish_history(
    warehouse: Warehouse,
    media_type: str,
    days: Iterable[tuple[dt.date, Mapping[int, float]]],
    adult: Mapping[int, float] | None = None,
) -> None:
    """Land the regular export of each day with the given popularity per id, and the day's
    adult export (listing the ids in `adult`, none by default), so that each day is complete."""
    for day, popularity in days:
        publish_export_day(warehouse, media_type, day, popularity)
        publish_export_day(warehouse, media_type, day, adult or {}, adult=True)
