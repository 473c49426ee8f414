"""TMDB fallback for candidate lists: when the pool runs short, ask TMDB with the same filters.

What TMDB returns is landed in the pool as a delta (source `tmdb`, `fallback/movie` or
`fallback/tv`), so the next query finds it locally. Fallback is bounded (a few pages per
query) and best effort: when TMDB is down, the key is wrong or another writer holds the
warehouse, the caller gets the pool's answer and a note saying why nothing was added.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import polars as pl

from watchbuddy.errors import TmdbError, TmdbMalformed, WarehouseLocked
from watchbuddy.settings import Settings
from watchbuddy.sources.tmdb.client import TmdbClient
from watchbuddy.sources.tmdb.ingest import (
    DATE_FIELD,
    _client,
    _copy_stats,
    _existing,
    api_title_rows,
    normalize,
)
from watchbuddy.store.genres import canonical
from watchbuddy.store.runs import Run, stage_run
from watchbuddy.store.schema import genre_table
from watchbuddy.store.warehouse import Warehouse

if TYPE_CHECKING:
    from watchbuddy.pool.candidates import CandidateFilters

PAGES_PER_QUERY = 3
LOCK_WAIT_SECONDS = 10.0
SORT_BY_MODE = {
    "mainstream": "popularity.desc",
    "popular": "popularity.desc",
    "balanced": "vote_count.desc",
    "obscure": "vote_average.desc",
    "very_obscure": "vote_average.desc",
    "deep_discovery": "vote_average.desc",
}


@dataclass
class FallbackResult:
    keys: set[tuple[str, int]] = field(default_factory=set)  # titles TMDB returned
    notes: list[str] = field(default_factory=list)


def tmdb_genre_ids(genres: tuple[str, ...], media_type: str) -> dict[str, list[int]]:
    """Canonical genre -> the TMDB genre ids of this media type that count as it."""
    out: dict[str, list[int]] = {g: [] for g in genres}
    for tmdb_id, name in genre_table()[media_type].items():
        for c in canonical(name):
            if c in out:
                out[c].append(tmdb_id)
    return out


def discover_params(
    filters: CandidateFilters, media_type: str, language: str | None, today: dt.date
) -> dict[str, Any] | None:
    """TMDB discover parameters for the filters, or None when TMDB cannot express them
    (a genre with no TMDB equivalent for this media type, in 'all' mode)."""
    date_field = DATE_FIELD[media_type]
    params: dict[str, Any] = {
        "sort_by": SORT_BY_MODE[filters.mode],
        "include_adult": str(filters.include_adult).lower(),
        "vote_count.gte": filters.vote_floor,
    }
    if language:
        params["with_original_language"] = language
    if filters.min_rating is not None:
        params["vote_average.gte"] = filters.min_rating
    if filters.year_min is not None:
        params[f"{date_field}.gte"] = f"{filters.year_min}-01-01"
    last = dt.date(filters.year_max, 12, 31) if filters.year_max is not None else None
    if not filters.include_unreleased:
        last = min(last, today) if last else today
    if last is not None:
        params[f"{date_field}.lte"] = last.isoformat()
    if filters.genres:
        ids = tmdb_genre_ids(filters.genres, media_type)
        if filters.genre_mode == "all":
            if any(not v for v in ids.values()):
                return None
            # TMDB: ',' = all of, '|' = any of; a canonical genre with two TMDB ids is an "or".
            params["with_genres"] = ",".join("|".join(map(str, v)) for v in ids.values())
        else:
            flat = sorted({i for v in ids.values() for i in v})
            if not flat:
                return None
            params["with_genres"] = "|".join(map(str, flat))
    return params


def fill_from_tmdb(
    settings: Settings, filters: CandidateFilters, today: dt.date | None = None
) -> FallbackResult:
    """Query TMDB with the filters and land what it returns; never raises for TMDB trouble."""
    today = today or dt.datetime.now(dt.UTC).date()
    result = FallbackResult()
    media_types = ("movie", "tv") if filters.media_type == "both" else (filters.media_type,)
    try:
        client = _client(settings)
        frame, run = asyncio.run(_fetch(client, filters, media_types, today))
    except TmdbError as exc:
        result.notes.append(f"TMDB fallback skipped: {exc.reason.rstrip('.')}.")
        return result
    frame = (
        frame.filter(
            ~pl.struct("media_type", "tmdb_id").is_in(
                [{"media_type": m, "tmdb_id": i} for m, i in filters.exclude]
            )
        )
        if filters.exclude and frame.height
        else frame
    )
    if frame.height:
        # Titles the pool has already keep their (richer) records; only new ones land.
        known = _existing(Warehouse(settings.warehouse), frame.select("media_type", "tmdb_id"))
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
    client: TmdbClient, filters: CandidateFilters, media_types: tuple[str, ...], today: dt.date
) -> tuple[pl.DataFrame, Run]:
    run = Run(job="fallback", media_type=",".join(media_types))
    frames = []
    async with client:
        for media_type in media_types:
            for language in filters.languages or (None,):
                params = discover_params(filters, media_type, language, today)
                if params is None:
                    continue
                pages = await asyncio.gather(
                    *(
                        _page(client, f"/discover/{media_type}", {**params, "page": page})
                        for page in range(1, PAGES_PER_QUERY + 1)
                    )
                )
                results = [r for body in pages if body for r in body.get("results") or []]
                run.pages += sum(1 for body in pages if body)
                frames.append(normalize(results, media_type))
    _copy_stats(run, client)
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
