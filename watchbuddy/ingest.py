"""Keeping the pool current from the TMDB API: new releases, and the votes of recent titles.

New content (`ingest_new_content`): discover, sorted by release date ascending, over the
window from the checkpoint minus one day (the boundary day is read again) to today. A
window that reports more than 500 pages (TMDB serves no page past 500) is split in halves
until each part fits. Pages are fetched concurrently within the client's rate limit. The
results are normalized to the pool schema, deduplicated, merged with what the pool already
knows of those titles (a discover result has no runtime, keywords or IMDb id), optionally
enriched with details for newly seen titles, and published as one Parquet delta, with the
run record and the new checkpoint, in one manifest commit. The checkpoint is the latest
release date seen that is not after today, so future-dated titles never push it forward.

Vote refresh (`refresh_recent_votes`): titles released in the last N days, least recently
refreshed first, at most M per run; their current vote count, average and popularity are
published as a patch that the `pool` view applies.

Either job holds the warehouse write lock for its whole run. A run that fails publishes a
'failed' record and nothing else; a run that is killed leaves a 'running' record that the
next writer marks 'incomplete'. In both cases the checkpoint is unchanged, so the next run
covers the same window again.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

import polars as pl
import pyarrow as pa

from watchbuddy.errors import ConfigError
from watchbuddy.runs import Run, abandon_dead_runs, stage_run, start_run
from watchbuddy.schema import (
    CHECKPOINT_SCHEMA,
    MEDIA_TYPES,
    TITLE_POLARS_SCHEMA,
    VOTE_SCHEMA,
    genre_table,
)
from watchbuddy.settings import Settings
from watchbuddy.tmdb import TmdbClient, TmdbError
from watchbuddy.views import open_views
from watchbuddy.warehouse import Warehouse, WarehouseWriter, utcnow

MAX_PAGE = 500
DATE_FIELD = {"movie": "primary_release_date", "tv": "first_air_date"}
WRITE_LOCK_WAIT_SECONDS = 120.0
CHANGES_WINDOW_DAYS = 14  # the longest window /changes accepts (HTTP 422 beyond it)
CHANGES_LOOKBACK_DAYS = 90  # after a longer pause, older changes are not chased
CHANGES_PER_RUN = 2000  # changed titles re-read per run at most (one request each)

T = TypeVar("T")

# (pages done, pages known so far) -> None
Progress = Callable[[int, int], None]


def media_types(choice: str) -> tuple[str, ...]:
    if choice == "all":
        return MEDIA_TYPES
    if choice in MEDIA_TYPES:
        return (choice,)
    raise ConfigError(f"Unknown media type {choice!r}; use movie, tv or all.")


def today_utc() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


@dataclass
class IngestResult:
    run: Run
    window: tuple[str, str]
    checkpoint_before: str | None
    checkpoint_after: str | None
    titles: int = 0
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.run.to_dict(),
            "window": list(self.window),
            "checkpoint_before": self.checkpoint_before,
            "checkpoint_after": self.checkpoint_after,
            "titles": self.titles,
        }


# ---------------------------------------------------------------- discover


@dataclass
class _Discovery:
    results: list[dict[str, Any]] = field(default_factory=list)
    pages_done: int = 0
    pages_known: int = 0
    notes: list[str] = field(default_factory=list)


async def _discover(
    client: TmdbClient,
    media_type: str,
    gte: dt.date,
    lte: dt.date,
    found: _Discovery,
    progress: Progress | None,
) -> None:
    """Fetch every page of one window, splitting windows TMDB cannot page through."""
    date_field = DATE_FIELD[media_type]

    def params(page: int) -> dict[str, Any]:
        return {
            "sort_by": f"{date_field}.asc",
            f"{date_field}.gte": gte.isoformat(),
            f"{date_field}.lte": lte.isoformat(),
            "include_adult": "false",
            "page": page,
        }

    path = f"/discover/{media_type}"
    first = await client.get(path, params(1)) or {}
    total_pages = int(first.get("total_pages") or 0)
    if total_pages > MAX_PAGE and gte < lte:
        middle = gte + (lte - gte) // 2
        await asyncio.gather(
            _discover(client, media_type, gte, middle, found, progress),
            _discover(client, media_type, middle + dt.timedelta(days=1), lte, found, progress),
        )
        return
    if total_pages > MAX_PAGE:
        found.notes.append(
            f"{media_type} {gte}: TMDB lists {first.get('total_results')} titles on this one "
            f"day and serves only the first {MAX_PAGE * 20}; the rest were not fetched"
        )
    pages = min(total_pages, MAX_PAGE)
    found.pages_known += pages
    found.results.extend(first.get("results") or [])
    found.pages_done += 1 if pages else 0
    if progress:
        progress(found.pages_done, found.pages_known)

    async def page(number: int) -> None:
        body = await client.get(path, params(number)) or {}
        found.results.extend(body.get("results") or [])
        found.pages_done += 1
        if progress:
            progress(found.pages_done, found.pages_known)

    await asyncio.gather(*(page(n) for n in range(2, pages + 1)))


def _date_or_none(value: Any) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def normalize(results: list[dict[str, Any]], media_type: str) -> pl.DataFrame:
    """Discover results -> canonical title rows (last occurrence of each id wins)."""
    names = genre_table()[media_type]
    rows = []
    for item in results:
        tmdb_id = item.get("id")
        if not isinstance(tmdb_id, int) or tmdb_id <= 0:
            continue
        is_movie = media_type == "movie"
        title = item.get("title" if is_movie else "name") or item.get(
            "original_title" if is_movie else "original_name"
        )
        if not title:
            continue
        rows.append(
            {
                "media_type": media_type,
                "tmdb_id": tmdb_id,
                "title": title,
                "original_title": item.get("original_title" if is_movie else "original_name"),
                "original_language": (item.get("original_language") or None),
                "overview": item.get("overview") or None,
                "release_date": _date_or_none(
                    item.get("release_date" if is_movie else "first_air_date")
                ),
                "genres": [names[g] for g in item.get("genre_ids") or [] if g in names],
                "popularity": _float(item.get("popularity")),
                "vote_average": _float(item.get("vote_average")),
                "vote_count": _int(item.get("vote_count")),
                "adult": bool(item.get("adult", False)),
                "poster_path": item.get("poster_path") or None,
            }
        )
    if not rows:
        return pl.DataFrame(
            schema={k: v for k, v in TITLE_POLARS_SCHEMA.items() if k in _NORMALIZED_FIELDS}
        )
    frame = pl.DataFrame(rows, schema={k: TITLE_POLARS_SCHEMA[k] for k in _NORMALIZED_FIELDS})
    return frame.unique(subset=["media_type", "tmdb_id"], keep="last", maintain_order=True)


_NORMALIZED_FIELDS = (
    "media_type",
    "tmdb_id",
    "title",
    "original_title",
    "original_language",
    "overview",
    "release_date",
    "genres",
    "popularity",
    "vote_average",
    "vote_count",
    "adult",
    "poster_path",
)


def _float(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) else None


def _details_fields(body: dict[str, Any], media_type: str) -> dict[str, Any]:
    keywords_block = body.get("keywords") or {}
    keywords = keywords_block.get("keywords" if media_type == "movie" else "results") or []
    if media_type == "movie":
        runtime = body.get("runtime")
        imdb_id = body.get("imdb_id")
    else:
        runs = body.get("episode_run_time") or []
        runtime = runs[0] if runs else None
        imdb_id = (body.get("external_ids") or {}).get("imdb_id")
    return {
        "tmdb_id": body.get("id"),
        "runtime": runtime if isinstance(runtime, int) and runtime > 0 else None,
        "status": body.get("status") or None,
        "imdb_id": imdb_id or None,
        "keywords": [k["name"] for k in keywords if isinstance(k, dict) and k.get("name")],
    }


DETAILS_SCHEMA = {
    "tmdb_id": pl.Int64,
    "runtime": pl.Int32,
    "status": pl.String,
    "imdb_id": pl.String,
    "keywords": pl.List(pl.String),
}


async def _details_bodies(client: TmdbClient, media_type: str, ids: list[int]) -> list[dict]:
    """`/{media_type}/{id}` with keywords (and, for shows, the IMDb id) for each id; ids TMDB
    no longer knows (404) are left out."""
    append = "keywords" if media_type == "movie" else "keywords,external_ids"

    async def one(tmdb_id: int) -> dict[str, Any] | None:
        body = await client.get(f"/{media_type}/{tmdb_id}", {"append_to_response": append})
        return body if isinstance(body, dict) and isinstance(body.get("id"), int) else None

    return [b for b in await asyncio.gather(*(one(i) for i in ids)) if b]


def _details_frame(bodies: list[dict[str, Any]], media_type: str) -> pl.DataFrame:
    rows = [_details_fields(body, media_type) for body in bodies]
    return pl.DataFrame(rows, schema=DETAILS_SCHEMA)


async def _changed_ids(
    client: TmdbClient, media_type: str, since: dt.date, until: dt.date, found: _Discovery
) -> list[int]:
    """Ids TMDB reports changed from `since` to `until`, oldest change first, in windows
    of at most 14 days; a pause longer than CHANGES_LOOKBACK_DAYS is noted, not chased."""
    earliest = until - dt.timedelta(days=CHANGES_LOOKBACK_DAYS)
    if since < earliest:
        found.notes.append(
            f"the last run was before {earliest}; changes older than "
            f"{CHANGES_LOOKBACK_DAYS} days were not read (run `ingest --since` to catch up)"
        )
        since = earliest
    path = f"/{media_type}/changes"
    ids: dict[int, None] = {}
    start = since
    while start <= until:
        end = min(start + dt.timedelta(days=CHANGES_WINDOW_DAYS - 1), until)
        window = {"start_date": start.isoformat(), "end_date": end.isoformat()}
        first = await client.get(path, {**window, "page": 1}) or {}
        pages = min(int(first.get("total_pages") or 0), MAX_PAGE)
        bodies = [
            first,
            *await asyncio.gather(
                *(client.get(path, {**window, "page": n}) for n in range(2, pages + 1))
            ),
        ]
        found.pages_done += len(bodies)
        for body in bodies:
            for item in (body or {}).get("results") or []:
                if isinstance(item.get("id"), int) and item["id"] > 0:
                    ids[item["id"]] = None
        start = end + dt.timedelta(days=1)
    return list(ids)


# ---------------------------------------------------------------- publish helpers


def _checkpoint(warehouse: Warehouse, media_type: str) -> tuple[dt.date | None, dt.date | None]:
    """The last release date ingested and the day of the run that ingested it."""
    con = open_views(warehouse, materialize=False)
    try:
        row = con.sql(
            "SELECT last_release_date, CAST(last_run_at AS DATE) FROM checkpoints "
            "WHERE media_type = ?",
            params=[media_type],
        ).fetchall()
    finally:
        con.close()
    return (row[0][0], row[0][1]) if row else (None, None)


def _existing(warehouse: Warehouse, keys: pl.DataFrame) -> pl.DataFrame:
    """What the pool already holds for these keys (to merge fields discover lacks)."""
    con = open_views(warehouse, materialize=False)
    try:
        con.register("wanted", keys.to_arrow())
        return con.sql(
            "SELECT p.media_type, p.tmdb_id, p.imdb_id, p.runtime, p.status, p.keywords "
            "FROM pool AS p JOIN wanted USING (media_type, tmdb_id)"
        ).pl()
    finally:
        con.close()


def _fetched_at(warehouse: Warehouse, media_type: str, ids: list[int]) -> dict[int, Any]:
    """When the pool's record of each of these titles was fetched (absent: not in the pool)."""
    con = open_views(warehouse, materialize=False)
    try:
        con.register("wanted", pl.DataFrame({"tmdb_id": ids}, schema={"tmdb_id": pl.Int64}))
        rows = con.sql(
            "SELECT tmdb_id, updated_at FROM pool JOIN wanted USING (tmdb_id) WHERE media_type = ?",
            params=[media_type],
        ).fetchall()
    finally:
        con.close()
    return {tmdb_id: fetched.replace(tzinfo=None) if fetched else None for tmdb_id, fetched in rows}


def api_title_rows(
    frame: pl.DataFrame, source_name: pl.Expr, batch: int, fetched_at: dt.datetime
) -> pa.Table:
    """Normalized TMDB rows -> a title file's rows (provenance added, fields the frame lacks
    as nulls, every column cast to the title schema)."""
    missing = [n for n in TITLE_POLARS_SCHEMA if n not in frame.columns]
    return (
        frame.with_columns(
            *[pl.lit(None, dtype=TITLE_POLARS_SCHEMA[n]).alias(n) for n in missing],
        )
        .with_columns(
            source=pl.lit("tmdb"),
            source_name=source_name,
            batch=pl.lit(batch, dtype=pl.Int64),
            source_row=pl.int_range(pl.len(), dtype=pl.Int64),
            updated_at=pl.lit(fetched_at, dtype=TITLE_POLARS_SCHEMA["updated_at"]),
            landed_at=pl.lit(utcnow(), dtype=TITLE_POLARS_SCHEMA["landed_at"]),
        )
        .select([pl.col(n).cast(t) for n, t in TITLE_POLARS_SCHEMA.items()])
        .to_arrow()
    )


def _finish_failed(
    writer: WarehouseWriter, run: Run, client: TmdbClient | None, message: str
) -> None:
    if client is not None:
        _copy_stats(run, client)
    run.errors += 1
    run.finish("failed", message)
    writer.commit(add={"runs": [stage_run(writer, [run])]})


def _run_recorded(
    writer: WarehouseWriter, run: Run, client: TmdbClient, work: Coroutine[Any, Any, T]
) -> T:
    """Run the TMDB part of a job; on any failure publish a 'failed' run record and re-raise
    (nothing else is published, so the checkpoint stays where it was)."""
    try:
        return asyncio.run(work)
    except TmdbError as exc:
        _finish_failed(writer, run, client, str(exc))
        raise
    except BaseException:
        _finish_failed(writer, run, client, "interrupted")
        raise


def _copy_stats(run: Run, client: TmdbClient) -> None:
    stats = client.stats
    run.requests = stats.requests
    run.retries = stats.retries
    run.errors = len(stats.errors) + stats.not_found + stats.malformed
    run.messages.extend(stats.errors[:10])
    if stats.not_found:
        run.messages.append(f"{stats.not_found} title(s) no longer exist on TMDB (404), skipped")
    if stats.malformed:
        run.messages.append(f"{stats.malformed} response(s) were malformed JSON twice, skipped")


def _client(settings: Settings) -> TmdbClient:
    import httpx

    return TmdbClient(
        settings,
        concurrency=settings.tmdb_concurrency,
        timeout=httpx.Timeout(settings.tmdb_timeout, connect=min(5.0, settings.tmdb_timeout)),
    )


# ---------------------------------------------------------------- new content


def ingest_new_content(
    settings: Settings,
    media_type: str,
    since: dt.date | None = None,
    until: dt.date | None = None,
    progress: Progress | None = None,
    today: dt.date | None = None,
) -> IngestResult:
    """Fetch titles released since the checkpoint and publish them as one delta."""
    if media_type not in MEDIA_TYPES:
        raise ConfigError(f"Unknown media type {media_type!r}; use movie or tv.")
    today = today or today_utc()
    warehouse = Warehouse(settings.warehouse)
    client = _client(settings)  # fails fast without a credential, before taking the lock
    with warehouse.writer(f"ingest {media_type}", wait_seconds=WRITE_LOCK_WAIT_SECONDS) as writer:
        abandon_dead_runs(writer)
        checkpoint, last_run_day = _checkpoint(warehouse, media_type)
        start = since or (
            checkpoint - dt.timedelta(days=1) if checkpoint else settings.ingest_start
        )
        end = until or today
        # Titles TMDB added or changed since the last run whatever their release date
        # (discover by release date never sees a title added later with an old date).
        # Not on a first run (discover reads everything) nor for an explicit window.
        changes_since = (
            last_run_day - dt.timedelta(days=1)
            if last_run_day and since is None and until is None
            else None
        )
        if end < start:
            raise ConfigError(f"The window is empty: --until {end} is before the start {start}.")
        run = Run(job="ingest", media_type=media_type)
        start_run(writer, run)
        result = IngestResult(
            run,
            (start.isoformat(), end.isoformat()),
            checkpoint.isoformat() if checkpoint else None,
            None,
        )
        frame, notes = _run_recorded(
            writer,
            run,
            client,
            _fetch_new(
                client, settings, warehouse, media_type, (start, end), changes_since, progress, run
            ),
        )
        result.notes = notes
        run.messages.extend(notes)
        _copy_stats(run, client)
        seen_dates = [d for d in frame["release_date"].drop_nulls().to_list() if d <= today]
        new_checkpoint = max([*seen_dates, *([checkpoint] if checkpoint else [])], default=None)
        batch = writer.allocate_batch()
        now = utcnow()
        add: dict[str, list[str]] = {}
        if frame.height:
            titles = api_title_rows(
                frame,  # its extra column `_via_changes` names the source, then is dropped
                pl.when(pl.col("_via_changes"))
                .then(pl.lit(f"changes/{media_type}"))
                .otherwise(pl.lit(f"discover/{media_type}")),
                batch,
                run.started_at,
            )
            add["titles"] = [
                writer.stage_table("titles", titles, f"delta-{batch:06d}-{media_type}.parquet")
            ]
        result.titles = frame.height
        if new_checkpoint is not None:
            checkpoint_row = pa.table(
                {
                    "media_type": [media_type],
                    "last_release_date": [new_checkpoint],
                    "last_run_at": [now],
                    "run_id": [run.run_id],
                    "titles_seen": [frame.height],
                    "changes_read_until": [None],
                },
                schema=CHECKPOINT_SCHEMA,
            )
            add["checkpoints"] = [
                writer.stage_table(
                    "checkpoints", checkpoint_row, f"checkpoint-{batch:06d}-{media_type}.parquet"
                )
            ]
            result.checkpoint_after = new_checkpoint.isoformat()
        run.finish("ok")
        add["runs"] = [stage_run(writer, [run])]
        # Data, checkpoint and run record are published together: a crash before this
        # line publishes none of them, so the checkpoint never runs ahead of the data.
        writer.commit(add=add)
        return result


async def _fetch_new(
    client: TmdbClient,
    settings: Settings,
    warehouse: Warehouse,
    media_type: str,
    window: tuple[dt.date, dt.date],
    changes_since: dt.date | None,
    progress: Progress | None,
    run: Run,
) -> tuple[pl.DataFrame, list[str]]:
    async with client:
        found = _Discovery()
        await _discover(client, media_type, *window, found, progress)
        changed_bodies: list[dict[str, Any]] = []
        if changes_since is not None:
            discovered = {item.get("id") for item in found.results}
            changed = [
                i
                for i in await _changed_ids(client, media_type, changes_since, window[1], found)
                if i not in discovered
            ]
            if len(changed) > CHANGES_PER_RUN:
                # Titles the pool lacks first, then the least recently fetched, so that
                # runs that cannot read every change still make progress through them.
                fetched = _fetched_at(warehouse, media_type, changed)
                changed.sort(key=lambda i: (i in fetched, fetched.get(i) or dt.datetime.min))
                found.notes.append(
                    f"{len(changed)} titles changed on TMDB since {changes_since}; "
                    f"{CHANGES_PER_RUN} were re-read (new to the pool first, then the least "
                    "recently fetched), the rest wait for the next run"
                )
                changed = changed[:CHANGES_PER_RUN]
            changed_bodies = await _details_bodies(client, media_type, changed)
            if changed_bodies:
                found.notes.append(
                    f"{len(changed_bodies)} titles outside the release window were re-read "
                    f"because TMDB changed them since {changes_since}"
                )
        run.pages = found.pages_done
        # A details body is a discover result with genres spelled out: give it genre_ids.
        as_results = [
            {**body, "genre_ids": [g.get("id") for g in body.get("genres") or []]}
            for body in changed_bodies
        ]
        frame = normalize(found.results + as_results, media_type).with_columns(
            _via_changes=pl.col("tmdb_id").is_in([b["id"] for b in changed_bodies])
        )
        known = _existing(warehouse, frame.select("media_type", "tmdb_id"))
        known_ids = set(known["tmdb_id"].to_list())
        new_ids = [i for i in frame["tmdb_id"].to_list() if i not in known_ids]
        run.titles_new = len(new_ids)
        run.titles_updated = frame.height - len(new_ids)
        notes = list(found.notes)
        details = _details_frame(
            changed_bodies, media_type
        )  # changed titles came with their details
        if settings.details_per_run and new_ids:
            chosen = [
                i for i in new_ids[: settings.details_per_run] if i not in set(details["tmdb_id"])
            ]
            details = pl.concat(
                [
                    details,
                    _details_frame(await _details_bodies(client, media_type, chosen), media_type),
                ]
            )
            if len(new_ids) > len(chosen):
                notes.append(
                    f"details fetched for {len(chosen)} of {len(new_ids)} new titles "
                    "(WATCHBUDDY_DETAILS_PER_RUN)"
                )
    # Fields discover does not return: from the details just fetched, else from the pool.
    merged = (
        frame.join(details, on="tmdb_id", how="left")
        .join(
            known.drop("media_type").rename(
                {c: f"old_{c}" for c in ("imdb_id", "runtime", "status", "keywords")}
            ),
            on="tmdb_id",
            how="left",
        )
        .with_columns(
            imdb_id=pl.coalesce("imdb_id", "old_imdb_id"),
            runtime=pl.coalesce("runtime", "old_runtime"),
            status=pl.coalesce("status", "old_status"),
            keywords=pl.coalesce("keywords", "old_keywords"),
        )
        .drop("old_imdb_id", "old_runtime", "old_status", "old_keywords")
    )
    return merged, notes


# ---------------------------------------------------------------- vote refresh


@dataclass
class RefreshResult:
    run: Run
    candidates: int
    refreshed: int

    def to_dict(self) -> dict[str, Any]:
        return {**self.run.to_dict(), "candidates": self.candidates, "refreshed": self.refreshed}


def refresh_recent_votes(
    settings: Settings,
    media_type: str,
    days: int | None = None,
    limit: int | None = None,
    today: dt.date | None = None,
    progress: Progress | None = None,
) -> RefreshResult:
    """Fetch current votes and popularity of recent titles; publish them as a patch."""
    if media_type not in MEDIA_TYPES:
        raise ConfigError(f"Unknown media type {media_type!r}; use movie or tv.")
    days = settings.refresh_days if days is None else days
    limit = settings.refresh_limit if limit is None else limit
    today = today or today_utc()
    warehouse = Warehouse(settings.warehouse)
    client = _client(settings)
    with warehouse.writer(
        f"refresh-votes {media_type}", wait_seconds=WRITE_LOCK_WAIT_SECONDS
    ) as writer:
        abandon_dead_runs(writer)
        con = open_views(warehouse, materialize=False)
        try:
            ids = [
                r[0]
                for r in con.sql(
                    """
                SELECT tmdb_id FROM pool
                WHERE media_type = $media AND release_date BETWEEN $first AND $today
                ORDER BY coalesce(votes_refreshed_at, updated_at) NULLS FIRST, tmdb_id
                LIMIT $limit
                """,
                    params={
                        "media": media_type,
                        "first": today - dt.timedelta(days=days),
                        "today": today,
                        "limit": limit,
                    },
                ).fetchall()
            ]
        finally:
            con.close()
        run = Run(job="refresh-votes", media_type=media_type)
        start_run(writer, run)
        rows = _run_recorded(writer, run, client, _fetch_votes(client, media_type, ids, progress))
        _copy_stats(run, client)
        run.pages = 0
        run.titles_updated = len(rows)
        add: dict[str, list[str]] = {}
        if rows:
            now = utcnow()
            table = pa.table(
                {
                    "media_type": [media_type] * len(rows),
                    "tmdb_id": [r["id"] for r in rows],
                    "vote_average": [_float(r.get("vote_average")) for r in rows],
                    "vote_count": [_int(r.get("vote_count")) for r in rows],
                    "popularity": [_float(r.get("popularity")) for r in rows],
                    "refreshed_at": [now] * len(rows),
                },
                schema=VOTE_SCHEMA,
            )
            batch = writer.allocate_batch()
            add["votes"] = [
                writer.stage_table("votes", table, f"votes-{batch:06d}-{media_type}.parquet")
            ]
        run.finish("ok")
        add["runs"] = [stage_run(writer, [run])]
        writer.commit(add=add)
        return RefreshResult(run, len(ids), len(rows))


async def _fetch_votes(
    client: TmdbClient, media_type: str, ids: list[int], progress: Progress | None
) -> list[dict[str, Any]]:
    done = 0

    async def one(tmdb_id: int) -> dict[str, Any] | None:
        nonlocal done
        body = await client.get(f"/{media_type}/{tmdb_id}")
        done += 1
        if progress:
            progress(done, len(ids))
        if body and body.get("id") == tmdb_id:
            return body
        return None

    async with client:
        found = await asyncio.gather(*(one(i) for i in ids))
    return [b for b in found if b]
