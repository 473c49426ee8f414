"""Publish one region's streaming data into a warehouse the way `watchbuddy providers` does
(the contract on main): the region's `providers` and `availability` rows as files named
after the region, published by one commit that replaces that region's previous files and
keeps every other region's."""

from __future__ import annotations

from collections.abc import Iterable

import pyarrow as pa

from watchbuddy.store.schema import AVAILABILITY_SCHEMA, PROVIDER_SCHEMA
from watchbuddy.store.warehouse import Warehouse, utcnow

# (provider_id, name, logo_path): a region's list in display order, as TMDB serves it.
US_PROVIDERS = [
    (8, "Netflix", "/netflix.jpg"),
    (9, "Amazon Prime Video", "/prime.jpg"),
    (337, "Disney Plus", "/disney.jpg"),
    (350, "Apple TV Plus", "/appletv.jpg"),
    (1899, "Max", "/max.jpg"),
    (2, "Apple TV", "/itunes.jpg"),
]


def publish_region(
    warehouse: Warehouse,
    region: str,
    providers: Iterable[tuple[int, str, str | None]],
    availability: Iterable[tuple[int, str, str, int]],
) -> None:
    """`providers`: (id, name, logo_path) in display order; `availability`: (provider_id,
    monetization_type, media_type, tmdb_id)."""
    listed = list(providers)
    names = {i: name for i, name, _ in listed}
    now = utcnow()
    provider_rows = pa.table(
        {
            "region": [region] * len(listed),
            "provider_id": [i for i, _, _ in listed],
            "provider_name": [name for _, name, _ in listed],
            "logo_path": [logo for _, _, logo in listed],
            "display_priority": list(range(1, len(listed) + 1)),
            "fetched_at": [now] * len(listed),
        },
        schema=PROVIDER_SCHEMA,
    )
    rows = sorted(set(availability))
    availability_rows = pa.table(
        {
            "region": [region] * len(rows),
            "provider_id": [r[0] for r in rows],
            "provider_name": [names[r[0]] for r in rows],
            "monetization_type": [r[1] for r in rows],
            "media_type": [r[2] for r in rows],
            "tmdb_id": [r[3] for r in rows],
            "fetched_at": [now] * len(rows),
        },
        schema=AVAILABILITY_SCHEMA,
    )
    manifest = warehouse.read_manifest()
    mine = f"region-{region}-"
    with warehouse.writer("test providers") as writer:
        batch = writer.allocate_batch()
        name = f"{mine}{batch:06d}.parquet"
        replace = {}
        for table, table_rows in (
            ("providers", provider_rows),
            ("availability", availability_rows),
        ):
            kept = [f for f in manifest.files(table) if not f.split("/")[-1].startswith(mine)]
            replace[table] = [*kept, writer.stage_table(table, table_rows, name)]
        writer.commit(replace=replace)
