"""Publishing history rows: one file per imported (source, file), so importing the same
file again replaces what its earlier import published (its history rows and its rejects),
in one commit; the app's own list is the (source 'watchbuddy', file '') pair."""

from __future__ import annotations

import hashlib
from pathlib import PurePosixPath

import polars as pl
import pyarrow as pa

from watchbuddy.store.schema import HISTORY_SCHEMA, REJECT_SCHEMA
from watchbuddy.store.warehouse import Manifest, WarehouseWriter

REJECT_PREFIX = "history-"


def file_stem(source: str, file: str) -> str:
    """The start of every warehouse file name one (source, file) pair publishes: the name's
    digest, so any file name (spaces, non-ASCII, slashes) gives a safe one."""
    digest = hashlib.sha256(file.encode("utf-8")).hexdigest()[:16]
    return f"{source}-{digest}-"


def published(manifest: Manifest, table: str, stem: str) -> list[str]:
    return [f for f in manifest.files(table) if PurePosixPath(f).name.startswith(stem)]


def publish(
    writer: WarehouseWriter,
    source: str,
    file: str,
    rows: pl.DataFrame,
    rejects: pl.DataFrame | None = None,
) -> int:
    """Stage `rows` (HISTORY_SCHEMA's columns) and `rejects` (REJECT_SCHEMA's) for the pair
    and commit them in place of the pair's earlier files; the rows those held."""
    stem = file_stem(source, file)
    batch = writer.allocate_batch()
    manifest = writer.warehouse.read_manifest()
    old_history = published(manifest, "history", stem)
    old_rejects = published(manifest, "rejects", REJECT_PREFIX + stem)
    replaced = 0
    if old_history:
        replaced = (
            pl.scan_parquet([str(writer.warehouse.path(f)) for f in old_history])
            .select(pl.len())
            .collect()
            .item()
        )
    history = [f for f in manifest.files("history") if f not in old_history]
    if rows.height:
        table = pa.Table.from_pylist(rows.to_dicts(), schema=HISTORY_SCHEMA)
        history.append(writer.stage_table("history", table, f"{stem}{batch:06d}.parquet"))
    replace = {"history": history}
    if old_rejects or (rejects is not None and rejects.height):
        kept = [f for f in manifest.files("rejects") if f not in old_rejects]
        if rejects is not None and rejects.height:
            table = pa.Table.from_pylist(
                rejects.with_columns(batch=pl.lit(batch, pl.Int64)).to_dicts(),
                schema=REJECT_SCHEMA,
            )
            name = f"{REJECT_PREFIX}{stem}{batch:06d}.parquet"
            kept.append(writer.stage_table("rejects", table, name))
        replace["rejects"] = kept
    writer.commit(replace=replace)
    return int(replaced)
