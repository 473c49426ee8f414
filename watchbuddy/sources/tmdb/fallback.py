"""TMDB fallback for candidate lists: when the pool runs short, ask TMDB with the same filters.

The caller (`watchbuddy.pool.candidates.get_candidates`) turns the filters into discover
queries (each filter's registry entry adds its parameters); this module only asks, lands and
reports, so it knows nothing of the filters and the pool package is not imported here.

What TMDB returns is landed in the pool as a delta (source `tmdb`, `fallback/movie` or
`fallback/tv`), so the next query finds it locally. Fallback is bounded (a few pages per
query) and best effort: when TMDB is down, the key is wrong or another writer holds the
warehouse, the caller gets the pool's answer and a note saying why nothing was added.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from watchbuddy.errors import TmdbError, TmdbMalformed, WarehouseLocked
from watchbuddy.settings import Settings
from watchbuddy.sources.tmdb.client import TmdbClient
from watchbuddy.sources.tmdb.ingest import (
    api_title_rows,
    client_for,
    copy_client_stats,
    existing_titles,
    normalize,
)
from watchbuddy.store.runs import Run, stage_run
from watchbuddy.store.warehouse import Warehouse

PAGES_PER_QUERY = 3
# Tries per request: a person is waiting for the list, so an unreachable TMDB costs a second
# or two, not the jobs' six tries with backoff (about 30 s before the pool's answer came back).
FALLBACK_ATTEMPTS = 2
LOCK_WAIT_SECONDS = 10.0
# (media type, discover parameters): what the candidate filters ask TMDB (built by
# `watchbuddy.pool.filters.discover_queries`, each filter adding its own parameters).
DiscoverQueries = Sequence[tuple[str, Mapping[str, Any]]]


@dataclass
class FallbackResult:
    keys: set[tuple[str, int]] = field(default_factory=set)  # titles TMDB returned
    notes: list[str] = field(default_factory=list)


def fill_from_tmdb(
    settings: Settings,
    media_types: tuple[str, ...],
    queries: DiscoverQueries,
    exclude: Collection[tuple[str, int]] = (),
) -> FallbackResult:
    """Ask TMDB discover these queries (for these media types) and land what it returns,
    leaving out the `exclude` titles; never raises for TMDB trouble."""
    result = FallbackResult()
    try:
        client = client_for(settings, max_attempts=FALLBACK_ATTEMPTS)
        frame, run = asyncio.run(_fetch(client, media_types, queries))
    except TmdbError as exc:
        result.notes.append(f"TMDB fallback skipped: {exc.reason.rstrip('.')}.")
        return result
    frame = (
        frame.filter(
            ~pl.struct("media_type", "tmdb_id").is_in(
                [{"media_type": m, "tmdb_id": i} for m, i in exclude]
            )
        )
        if exclude and frame.height
        else frame
    )
    if frame.height:
        # Titles the pool has already keep their (richer) records; only new ones land.
        known = existing_titles(
            Warehouse(settings.warehouse), frame.select("media_type", "tmdb_id")
        )
        frame = frame.join(
            known.select("media_type", "tmdb_id"), on=["media_type", "tmdb_id"], how="anti"
        )
    if not frame.height:
        result.notes.append("TMDB has no titles for these filters that the pool lacks.")
        return result
    try:
        _publish(settings, frame, run)
    except WarehouseLocked as exc:
        result.notes.append(f"TMDB fallback found titles but could not store them: {exc}")
        return result
    result.keys = set(zip(frame["media_type"], frame["tmdb_id"], strict=True))
    return result


async def _fetch(
    client: TmdbClient, media_types: tuple[str, ...], queries: DiscoverQueries
) -> tuple[pl.DataFrame, Run]:
    run = Run(job="fallback", media_type=",".join(media_types))
    frames = []
    async with client:
        for media_type, params in queries:
            pages = await asyncio.gather(
                *(
                    _page(client, f"/discover/{media_type}", {**params, "page": page})
                    for page in range(1, PAGES_PER_QUERY + 1)
                )
            )
            results = [r for body in pages if body for r in body.get("results") or []]
            run.pages += sum(1 for body in pages if body)
            frames.append(normalize(results, media_type))
    copy_client_stats(run, client)
    frame = pl.concat(frames) if frames else normalize([], "movie")
    return frame.unique(subset=["media_type", "tmdb_id"], keep="last", maintain_order=True), run


async def _page(client: TmdbClient, path: str, params: dict[str, Any]) -> dict[str, Any] | None:
    """One page, or None when TMDB answered malformed JSON (or no page) twice: fallback is
    best effort, so a lost page only means fewer titles (the client counts it, the run
    record says so)."""
    try:
        return await client.get_page(path, params)
    except TmdbMalformed:
        return None


def _publish(settings: Settings, frame: pl.DataFrame, run: Run) -> None:
    warehouse = Warehouse(settings.warehouse)
    with warehouse.writer("candidates fallback", wait_seconds=LOCK_WAIT_SECONDS) as writer:
        batch = writer.allocate_batch()
        titles = api_title_rows(
            frame,
            pl.concat_str(pl.lit("fallback/"), pl.col("media_type")),
            batch,
            run.started_at,
        )
        run.titles_new = frame.height
        run.finish("partial" if run.errors else "ok")
        writer.commit(
            add={
                "titles": [writer.stage_table("titles", titles, f"fallback-{batch:06d}.parquet")],
                "runs": [stage_run(writer, [run])],
            }
        )
