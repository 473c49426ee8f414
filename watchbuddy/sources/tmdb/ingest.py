"""Keeping the pool current from the TMDB API: new releases, and the votes of recent titles.

New content (`ingest_new_content`): discover, sorted by release date ascending, over the
window from the checkpoint minus one day (the boundary day is read again) to today. TMDB
serves at most 500 pages (10,000 titles) of a query and caps the totals it reports at those
values, so a query whose reported totals reach the cap is split: by date, and a single day
by vote-count ranges, until every part is below the cap; a single vote count on a single
day that still reaches it is read as far as TMDB serves and reported as truncated. Titles
TMDB changed since the last run are read from `/changes`, day by day. Titles whose pool
record has no `status` yet (discover does not give it, details do) get their details, new
titles first. Everything is published as one Parquet delta, with the run record, the
titles TMDB answered 404 for (`removals`) and the new checkpoint, in one manifest commit.

The checkpoint is the latest release date seen that is not after today, so future-dated
titles never push it forward, and it never passes a request that could not be read: a
discover page lost to malformed JSON can hold only titles released on or after the last
date of the page before it, so the checkpoint stays at or before that date and the next run
reads the gap again (same for a title whose details were lost). `changes_read_until` moves
only past days whose change pages were all read and whose changed titles were all fetched.
A run that lost requests or met a truncated query publishes what it read and ends
'partial', its messages saying what is missing; a 404 is information, not an error.

Vote refresh (`refresh_recent_votes`): titles released in the last N days, least recently
refreshed first, at most M per run, leaving out titles TMDB no longer has and demo titles;
their current vote count, average and popularity are published as a patch that the `pool`
view applies.

Either job holds the warehouse write lock for its whole run. A run that fails publishes a
'failed' record and nothing else; a run that is killed leaves a 'running' record that the
next writer marks 'incomplete'. In both cases the checkpoint is unchanged, so the next run
covers the same window again.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import polars as pl
import pyarrow as pa

from watchbuddy.errors import ConfigError, TmdbMalformed, WatchBuddyError
from watchbuddy.safe_text import clip_json
from watchbuddy.settings import Settings
from watchbuddy.sources.tmdb.client import TmdbClient
from watchbuddy.sql import statement
from watchbuddy.store.runs import Run, abandon_dead_runs, is_published, stage_run, start_run
from watchbuddy.store.schema import (
    CHECKPOINT_SCHEMA,
    MEDIA_TYPES,
    REJECT_SCHEMA,
    RELEASE_DATE_RANGE,
    REMOVAL_SCHEMA,
    TITLE_POLARS_SCHEMA,
    VALUE_RULES,
    VOTE_SCHEMA,
    RejectedValue,
    genre_table,
)
from watchbuddy.store.views import open_views
from watchbuddy.store.warehouse import Warehouse, WarehouseWriter, utcnow

MAX_PAGE = 500  # TMDB serves no page past it (HTTP 400) and caps total_pages at it
PAGE_SIZE = 20  # titles a discover page; MAX_PAGE * PAGE_SIZE is all a query serves
DATE_FIELD = {"movie": "primary_release_date", "tv": "first_air_date"}
RESULT_DATE = {"movie": "release_date", "tv": "first_air_date"}
WRITE_LOCK_WAIT_SECONDS = 120.0
CHANGES_LOOKBACK_DAYS = 90  # after a longer pause, older changes are not chased
CHANGES_PER_RUN = 2000  # changed titles re-read per run at most (one request each)
MAX_LISTED = 8  # skipped requests or truncated queries named one by one in a run's messages
SQL = "ingest.sql"  # what ingestion reads from the warehouse

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


def status_summary(run: Run, problems: list[str]) -> str:
    """'' for an ok run, else its status and what went wrong, for a summary line:
    'partial: 2 pages could not be read; '."""
    if run.status == "ok":
        return ""
    return f"{run.status}: {'; '.join(problems) or 'see the notes'}; "


@dataclass
class IngestResult:
    run: Run
    window: tuple[str, str]
    checkpoint_before: str | None
    checkpoint_after: str | None
    titles: int = 0
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # why the run is not 'ok', briefly
    removed: int = 0  # titles TMDB answered 404 for
    changes_read_until: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.run.to_dict(),
            "window": list(self.window),
            "checkpoint_before": self.checkpoint_before,
            "checkpoint_after": self.checkpoint_after,
            "changes_read_until": self.changes_read_until,
            "titles": self.titles,
            "removed": self.removed,
            "problems": self.problems,
        }


# ---------------------------------------------------------------- what a run could not read


@dataclass
class Discovery:
    """What a run read, and what it could not: the checkpoint is held at `hold` (a day the
    unread requests may cover), and every lost request and truncated query is listed."""

    results: list[dict[str, Any]] = field(default_factory=list)
    pages_done: int = 0
    pages_known: int = 0
    notes: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # one message per request not read
    pages_skipped: int = 0
    details_skipped: int = 0
    truncated: list[str] = field(default_factory=list)
    hold: dt.date | None = None  # the checkpoint may not pass this day
    # Records TMDB sent with a value outside its rule: (endpoint, record, reason)
    rejected: list[tuple[str, dict[str, Any], str]] = field(default_factory=list)

    def reject(self, endpoint: str, records: list[tuple[dict[str, Any], str]]) -> None:
        self.rejected.extend((endpoint, record, reason) for record, reason in records)

    def hold_at(self, day: dt.date) -> None:
        self.hold = day if self.hold is None else min(self.hold, day)

    def skip_page(self, message: str, hold: dt.date | None) -> None:
        self.skipped.append(message)
        self.pages_skipped += 1
        if hold is not None:
            self.hold_at(hold)


# ---------------------------------------------------------------- discover

VoteRange = tuple[int, int | None]  # vote_count.gte, vote_count.lte (None: no ceiling)


def _split_votes(votes: VoteRange) -> tuple[VoteRange, VoteRange] | None:
    """Two vote-count ranges that partition `votes`, or None for a single value.

    Vote counts are integers, so [low, split] and [split + 1, high] cover the range exactly.
    An open range is cut where its titles thin out: [0, 0] and [1, ...), then [n, 2n - 1]
    and [2n, ...) (most titles have few votes); a closed range is halved."""
    low, high = votes
    if high is None:
        split = max(low, 2 * low - 1)
    elif low < high:
        split = (low + high) // 2
    else:
        return None
    return (low, split), (split + 1, high)


def _query_label(
    media_type: str, gte: dt.date | None, lte: dt.date | None, votes: VoteRange | None
) -> str:
    if gte is None or lte is None:
        label = f"{media_type}, any release date"
    else:
        label = f"{media_type} {gte}" if gte == lte else f"{media_type} {gte}..{lte}"
    if votes is not None:
        low, high = votes
        if high is None:
            label += f", vote count {low} or more"
        elif low == high:
            label += f", vote count {low}"
        else:
            label += f", vote count {low}..{high}"
    return label


async def discover(
    client: TmdbClient,
    media_type: str,
    gte: dt.date | None,
    lte: dt.date | None,
    found: Discovery,
    progress: Progress | None,
    votes: VoteRange | None = None,
    extra: dict[str, Any] | None = None,
) -> None:
    """Fetch every page of one query, splitting queries TMDB cannot page through.

    `extra` adds discover filters to every request of the query (the providers fetch asks
    for one provider's catalogue this way); `gte` and `lte` both None ask for every release
    date, and a query that reaches the cap then splits over `RELEASE_DATE_RANGE` (titles
    without a release date are only reachable in a query below the cap).

    TMDB serves 500 pages (10,000 titles) of a query at most and reports capped totals
    (total_pages 500, total_results often 10,000), so a query whose totals *reach* the cap
    may hold far more: it is split by date, and a single day by vote-count ranges, until
    every part is below the cap. A single vote count on a single day at the cap cannot be
    split further: TMDB's first 10,000 are read and the query is reported as truncated.

    A page lost to malformed JSON is listed, and holds the checkpoint at the last release
    date of the page before it (the window's start for page 1): sorted by date ascending,
    the lost page cannot hold anything released earlier."""
    date_field = DATE_FIELD[media_type]
    result_date = RESULT_DATE[media_type]
    cap_results = MAX_PAGE * PAGE_SIZE

    def params(page: int) -> dict[str, Any]:
        out: dict[str, Any] = {**(extra or {}), "sort_by": f"{date_field}.asc"}
        if gte is not None and lte is not None:
            out[f"{date_field}.gte"] = gte.isoformat()
            out[f"{date_field}.lte"] = lte.isoformat()
        out.update(include_adult="false", page=page)
        if votes is not None:
            out["vote_count.gte"] = votes[0]
            if votes[1] is not None:
                out["vote_count.lte"] = votes[1]
        return out

    path = f"/discover/{media_type}"
    label = _query_label(media_type, gte, lte, votes)
    start = gte or RELEASE_DATE_RANGE[0]
    try:
        # A page's totals and results list are checked by the client (`get_page`).
        first = await client.get_page(path, params(1)) or {}
    except TmdbMalformed as exc:
        found.skip_page(
            f"{label}: page 1 {_lost(exc.problem)}; the checkpoint stays at or before "
            f"{start} so the next run reads it again",
            start,
        )
        return
    total_pages = first.get("total_pages", 0)
    total_results = first.get("total_results", 0)
    if total_pages >= MAX_PAGE or total_results >= cap_results:
        if gte is None or lte is None:
            await discover(client, media_type, *RELEASE_DATE_RANGE, found, progress, votes, extra)
            return
        if gte < lte:
            middle = gte + (lte - gte) // 2
            after = middle + dt.timedelta(days=1)
            await asyncio.gather(
                discover(client, media_type, gte, middle, found, progress, votes, extra),
                discover(client, media_type, after, lte, found, progress, votes, extra),
            )
            return
        halves = _split_votes(votes or (0, None))
        if halves is not None:
            await asyncio.gather(
                *(discover(client, media_type, gte, lte, found, progress, h, extra) for h in halves)
            )
            return
        found.truncated.append(
            f"{label}: TMDB lists {cap_results:,} or more titles for this one day and vote "
            f"count and serves only the first {cap_results:,}; the rest were not fetched "
            "(a CSV export that covers the day can fill them in)"
        )
    pages = min(total_pages, MAX_PAGE)
    found.pages_known += pages
    found.pages_done += 1 if pages else 0
    if progress:
        progress(found.pages_done, found.pages_known)

    async def page(number: int) -> dict[str, Any] | str:
        try:
            body = await client.get_page(path, params(number)) or {}
        except TmdbMalformed as exc:
            return exc.problem
        found.pages_done += 1
        if progress:
            progress(found.pages_done, found.pages_known)
        return body

    bodies = [first, *await asyncio.gather(*(page(n) for n in range(2, pages + 1)))]
    last_day = start  # the latest release date on the pages read so far, in page order
    for number, body in enumerate(bodies, start=1):
        if isinstance(body, str):
            found.skip_page(
                f"{label}: page {number} of {pages} {_lost(body)}; the checkpoint stays at "
                f"or before {last_day} so the next run reads it again",
                last_day,
            )
            continue
        # Every result goes on to `normalize`, which lands it or rejects it with a reason.
        results = body.get("results", [])
        found.results.extend(results)
        days = [_date_or_none(r.get(result_date)) for r in results if isinstance(r, dict)]
        last_day = max([last_day, *(d for d in days if d)])


def _lost(problem: str) -> str:
    """How a message says that a request was lost: 'could not be read (malformed JSON
    twice)'."""
    return f"could not be read ({problem} twice)"


def result_id(item: Any) -> int | None:
    """The TMDB id of a result, when it is one (None for anything else: not an object, no
    id, an id out of range)."""
    try:
        return VALUE_RULES["tmdb_id"].accept(item.get("id")) if isinstance(item, dict) else None
    except RejectedValue:
        return None


def _date_or_none(value: Any) -> dt.date | None:
    try:
        return VALUE_RULES["release_date"].accept(value)
    except RejectedValue:
        return None


def _accepted(item: dict[str, Any], fields: dict[str, str]) -> dict[str, Any]:
    """`fields` (canonical name -> JSON key) of a TMDB record, each by its rule
    (`schema.VALUE_RULES`, the one the CSV landing applies); raises RejectedValue."""
    return {name: VALUE_RULES[name].accept(item.get(key)) for name, key in fields.items()}


def _text(record: dict[str, Any], key: str) -> str | None:
    """A text field of a TMDB record: None when absent, null or ''; raises RejectedValue
    when it is anything but a JSON string."""
    value = record.get(key)
    if value is None or isinstance(value, str):
        return value or None
    raise RejectedValue(f"{key} '{clip_json(value)}' is not text")


def _object(record: dict[str, Any], key: str) -> dict[str, Any]:
    """A nested object of a TMDB record ({} when absent or null); raises RejectedValue for
    anything but a JSON object."""
    value = record.get(key)
    if value is None or isinstance(value, dict):
        return value or {}
    raise RejectedValue(f"{key} '{clip_json(value)}' is not a JSON object")


def _list(record: dict[str, Any], key: str, of: type, noun: str) -> list[Any]:
    """A list field of a TMDB record ([] when absent or null) whose items are all `of`;
    raises RejectedValue otherwise (a bool is not a whole number)."""
    value = record.get(key)
    if value is None:
        return []
    if isinstance(value, list) and all(
        isinstance(v, of) and not (of is int and isinstance(v, bool)) for v in value
    ):
        return value
    raise RejectedValue(f"{key} '{clip_json(value)}' is not a list of {noun}")


def _record(item: Any, media_type: str, names: dict[int, str]) -> dict[str, Any]:
    """One discover result -> a canonical title row; raises RejectedValue with the reason
    for a result that is not an object, lacks an id or a title, or has a value its field's
    rule refuses or of the wrong JSON type (TMDB's JSON is data from the network: a list
    where a title belongs must be refused here, not crash the frame it would go into)."""
    if not isinstance(item, dict):
        raise RejectedValue(f"result '{clip_json(item)}' is not a JSON object")
    is_movie = media_type == "movie"
    fields = {
        "tmdb_id": "id",
        "release_date": "release_date" if is_movie else "first_air_date",
        "popularity": "popularity",
        "vote_average": "vote_average",
        "vote_count": "vote_count",
    }
    values = _accepted(item, fields)
    if values["tmdb_id"] is None:
        raise RejectedValue("missing id")
    original_title = _text(item, "original_title" if is_movie else "original_name")
    title = _text(item, "title" if is_movie else "name") or original_title
    if not title:
        raise RejectedValue("missing title")
    adult = item.get("adult")
    if adult is not None and not isinstance(adult, bool):
        raise RejectedValue(f"adult '{clip_json(adult)}' is not true or false")
    genre_ids = _list(item, "genre_ids", int, "genre ids")
    return {
        "media_type": media_type,
        **values,
        "title": title,
        "original_title": original_title,
        "original_language": _text(item, "original_language"),
        "overview": _text(item, "overview"),
        "genres": [names[g] for g in genre_ids if g in names],
        "adult": bool(adult),
        "poster_path": _text(item, "poster_path"),
    }


def normalize(
    results: list[Any],
    media_type: str,
    rejected: list[tuple[Any, str]] | None = None,
) -> pl.DataFrame:
    """Discover results -> canonical title rows (last occurrence of each id wins). A result
    `_record` refuses is left out (and added to `rejected` with the reason, when given)."""
    names = genre_table()[media_type]
    rows = []
    for item in results:
        try:
            rows.append(_record(item, media_type, names))
        except RejectedValue as exc:
            if rejected is not None:
                rejected.append((item, str(exc)))
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
VOTE_FIELDS = {
    "vote_average": "vote_average",
    "vote_count": "vote_count",
    "popularity": "popularity",
}


def _reject_rows(
    rejected: list[tuple[str, dict[str, Any], str]], batch: int, at: dt.datetime
) -> pa.Table:
    """TMDB records refused by a value rule, as rejects: the endpoint, the reason and the
    record as TMDB sent it (no line: it is not a file)."""
    return pa.table(
        {
            "batch": [batch] * len(rejected),
            "file": [f"TMDB {endpoint}" for endpoint, _, _ in rejected],
            "line": [None] * len(rejected),
            "reason": [reason for _, _, reason in rejected],
            "raw": [json.dumps(record, ensure_ascii=False) for _, record, _ in rejected],
            "landed_at": [at] * len(rejected),
        },
        schema=REJECT_SCHEMA,
    )


def stage_rejects(
    writer: WarehouseWriter,
    found: Discovery,
    media_type: str,
    batch: int,
    add: dict[str, list[str]],
) -> None:
    if not found.rejected:
        return
    rows = _reject_rows(found.rejected, batch, utcnow())
    name = f"rejects-{batch:06d}-{media_type}.parquet"
    add["rejects"] = [writer.stage_table("rejects", rows, name)]


def note_rejected(found: Discovery) -> None:
    """One message for the records a value rule or a shape check refused (they are in
    `rejects`)."""
    if not found.rejected:
        return
    examples = "; ".join(f"{endpoint}: {reason}" for endpoint, _, reason in found.rejected[:3])
    more = f"; and {len(found.rejected) - 3:,} more" if len(found.rejected) > 3 else ""
    found.notes.append(
        f"{_plural(len(found.rejected), 'record', 'records')} from TMDB not landed, a value "
        f"outside its range or of the wrong type (listed in rejects): {examples}{more}"
    )


def _details_fields(body: dict[str, Any], media_type: str) -> dict[str, Any]:
    """The fields discover lacks; raises RejectedValue for a runtime its rule refuses or a
    field of the wrong JSON type."""
    keywords_block = _object(body, "keywords")
    keywords = _list(
        keywords_block, "keywords" if media_type == "movie" else "results", dict, "keywords"
    )
    names = [_text(k, "name") for k in keywords]
    if media_type == "movie":
        runtime = body.get("runtime")
        imdb_id = _text(body, "imdb_id") or _text(_object(body, "external_ids"), "imdb_id")
    else:
        runs = _list(body, "episode_run_time", object, "minutes")
        runtime = runs[0] if runs else None
        imdb_id = _text(_object(body, "external_ids"), "imdb_id")
    minutes = VALUE_RULES["runtime"].accept(runtime)
    return {
        "tmdb_id": body.get("id"),
        # 0 means unknown, as in the CSVs
        "runtime": round(minutes) if minutes else None,
        "status": _text(body, "status"),
        "imdb_id": imdb_id,
        "keywords": [name for name in names if name],
    }


def genre_ids_of_details(body: dict[str, Any]) -> list[int]:
    """The genre ids of a details body (its `genres` objects), as a discover result has
    them; raises RejectedValue when they are not objects with whole-number ids."""
    genres = _list(body, "genres", dict, "genre objects")
    ids = [g.get("id") for g in genres]
    if any(isinstance(i, bool) or not isinstance(i, int) for i in ids):
        raise RejectedValue(f"genres '{clip_json(genres)}' is not a list of genre objects")
    return ids


DETAILS_SCHEMA: dict[str, Any] = {
    "tmdb_id": pl.Int64,
    "runtime": pl.Int32,
    "status": pl.String,
    "imdb_id": pl.String,
    "keywords": pl.List(pl.String),
}


@dataclass
class Details:
    """Answers of `/{media_type}/{id}` for some ids: bodies, 404s and requests lost."""

    bodies: list[dict[str, Any]] = field(default_factory=list)
    not_found: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    why: dict[int, str] = field(default_factory=dict)  # skipped id -> what TMDB answered

    def lost(self, tmdb_id: int) -> str:
        return _lost(self.why.get(tmdb_id, "malformed JSON"))


async def details_bodies(
    client: TmdbClient,
    media_type: str,
    ids: list[int],
    append: bool = True,
    progress: Progress | None = None,
    parts: str | None = None,
) -> Details:
    """`/{media_type}/{id}` for each id, with keywords (and, for shows, the IMDb id; `parts`
    overrides what is appended) unless `append` is false. A 404 means TMDB no longer has the
    title (the caller records it as removed); malformed JSON twice, or a body for another
    id, is a request lost."""
    parts = parts or ("keywords" if media_type == "movie" else "keywords,external_ids")
    params = {"append_to_response": parts} if append else None

    done = 0

    out = Details()

    async def one(tmdb_id: int) -> tuple[str, Any]:
        nonlocal done
        body: dict[str, Any] | bool | None
        try:
            body = await client.get(f"/{media_type}/{tmdb_id}", params)
        except TmdbMalformed as exc:
            body = False
            out.why[tmdb_id] = exc.problem
        done += 1
        if progress:
            progress(done, len(ids))
        if body is None:
            return "not_found", tmdb_id
        if not isinstance(body, dict):  # False: unreadable twice
            return "skipped", tmdb_id
        if body.get("id") != tmdb_id:
            out.why[tmdb_id] = f"an answer about another title (id {clip_json(body.get('id'))})"
            return "skipped", tmdb_id
        return "body", body

    lists: dict[str, list[Any]] = {
        "body": out.bodies,
        "not_found": out.not_found,
        "skipped": out.skipped,
    }
    for kind, value in await asyncio.gather(*(one(i) for i in ids)):
        lists[kind].append(value)
    return out


def details_frame(bodies: list[dict[str, Any]], media_type: str, found: Discovery) -> pl.DataFrame:
    """Details rows; a body with a value its rule refuses lands none of its details (the
    title's discover record still lands) and is added to `found.rejected`."""
    rows = []
    for body in bodies:
        try:
            rows.append(_details_fields(body, media_type))
        except RejectedValue as exc:
            found.reject(f"/{media_type}/{body.get('id')}", [(body, str(exc))])
    return pl.DataFrame(rows, schema=DETAILS_SCHEMA)


async def _read_changes(
    client: TmdbClient, media_type: str, since: dt.date, until: dt.date, found: Discovery
) -> tuple[dict[int, dt.date], dt.date | None]:
    """Ids TMDB reports changed from `since` to `until`, each with the first day it changed
    on, and the first day whose change pages could not all be read (None: all were).

    One query per day (TMDB accepts windows of up to 14 days), so that what was read is
    known day by day and `changes_read_until` can move exactly as far as it is true."""
    path = f"/{media_type}/changes"

    async def one_day(day: dt.date) -> tuple[list[int], bool]:
        window = {"start_date": day.isoformat(), "end_date": day.isoformat()}

        def lost(number: int, problem: str) -> str:
            return (
                f"{media_type} changes of {day}: page {number} {_lost(problem)}; the next "
                "run reads that day's changes again"
            )

        try:
            first = await client.get_page(path, {**window, "page": 1}) or {}
        except TmdbMalformed as exc:
            found.skip_page(lost(1, exc.problem), None)
            return [], False
        total_pages = first.get("total_pages", 0)
        pages = min(total_pages, MAX_PAGE)
        if total_pages >= MAX_PAGE:
            found.truncated.append(
                f"{media_type} changes of {day}: TMDB lists {MAX_PAGE} or more pages of "
                f"changed titles and serves only {MAX_PAGE}; the rest were not read"
            )

        async def page(number: int) -> dict[str, Any] | None:
            try:
                return await client.get_page(path, {**window, "page": number}) or {}
            except TmdbMalformed as exc:
                found.skip_page(lost(number, exc.problem), None)
                return None

        bodies = [first, *await asyncio.gather(*(page(n) for n in range(2, pages + 1)))]
        read = [b for b in bodies if b is not None]
        found.pages_done += len(read)
        ids = [
            tmdb_id
            for body in read
            for tmdb_id in map(result_id, body.get("results", []))
            if tmdb_id is not None
        ]
        return ids, len(read) == len(bodies)

    days = [since + dt.timedelta(days=n) for n in range((until - since).days + 1)]
    changed: dict[int, dt.date] = {}
    first_unread: dt.date | None = None
    for day, (ids, complete) in zip(
        days, await asyncio.gather(*(one_day(d) for d in days)), strict=True
    ):
        for tmdb_id in ids:
            changed.setdefault(tmdb_id, day)
        if not complete and first_unread is None:
            first_unread = day
    return changed, first_unread


# ---------------------------------------------------------------- publish helpers


@dataclass
class _Checkpoint:
    last_release_date: dt.date | None = None
    last_run_day: dt.date | None = None
    changes_read_until: dt.date | None = None

    @property
    def changes_from(self) -> dt.date | None:
        """Where reading /changes resumes: the last day read completely (read again, since
        its changes kept coming after the run), or, for records written before that column
        existed, the day of the last run."""
        return self.changes_read_until or self.last_run_day


def _checkpoint(warehouse: Warehouse, media_type: str) -> _Checkpoint:
    """The last release date ingested, the day of the run that did it, and how far the
    changes were read."""
    con = open_views(warehouse, materialize=False)
    try:
        row = con.sql(statement(SQL, "checkpoint"), params={"media_type": media_type}).fetchall()
    finally:
        con.close()
    if not row:
        return _Checkpoint()
    last_release_date, last_run_at, changes_read_until = row[0]
    # The UTC day (like every date here): DuckDB would cast in the machine's time zone.
    last_run_day = last_run_at.astimezone(dt.UTC).date() if last_run_at else None
    return _Checkpoint(last_release_date, last_run_day, changes_read_until)


def existing_titles(warehouse: Warehouse, keys: pl.DataFrame) -> pl.DataFrame:
    """The pool's titles among these keys, with their merged `status` (NULL: the pool has
    no details of the title yet)."""
    con = open_views(warehouse, materialize=False)
    try:
        con.register("wanted", keys.to_arrow())
        return con.sql(statement(SQL, "existing")).pl()
    finally:
        con.close()


def _fetched_at(warehouse: Warehouse, media_type: str, ids: list[int]) -> dict[int, int | None]:
    """For each of these titles the warehouse holds, when TMDB last served it to us (epoch
    microseconds of the newest TMDB record; None: only CSV records). Absent: not held."""
    con = open_views(warehouse, materialize=False)
    try:
        con.register("wanted", pl.DataFrame({"tmdb_id": ids}, schema={"tmdb_id": pl.Int64}))
        rows = con.sql(statement(SQL, "fetched_at"), params={"media_type": media_type}).fetchall()
    finally:
        con.close()
    return dict(rows)


def _day_end_us(day: dt.date) -> int:
    """The first microsecond after `day` ends (UTC), as epoch microseconds."""
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
    return int(end.timestamp()) * 1_000_000


def _removal_rows(media_type: str, ids: list[int], at: dt.datetime) -> pa.Table:
    return pa.table(
        {
            "media_type": [media_type] * len(ids),
            "tmdb_id": ids,
            "removed_at": [at] * len(ids),
            "reason": [f"HTTP 404 from /{media_type}/{i}" for i in ids],
        },
        schema=REMOVAL_SCHEMA,
    )


def stage_removals(
    writer: WarehouseWriter, media_type: str, ids: list[int], batch: int, add: dict
) -> None:
    """Stage the titles TMDB answered 404 for, to be published in the run's commit."""
    if ids:
        name = f"removals-{batch:06d}-{media_type}.parquet"
        add["removals"] = [
            writer.stage_table("removals", _removal_rows(media_type, ids, utcnow()), name)
        ]


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
        copy_client_stats(run, client)
    run.errors += 1
    run.finish("failed", message)
    writer.commit(add={"runs": [stage_run(writer, [run])]})


INTERRUPTED = (
    "interrupted (Ctrl-C or SIGTERM) before it finished; nothing was published and the "
    "checkpoint is unchanged"
)


def _failure_message(exc: BaseException) -> str:
    """What a run record says about the error that ended the run."""
    if isinstance(exc, KeyboardInterrupt):
        return INTERRUPTED
    if isinstance(exc, WatchBuddyError):
        return str(exc)
    return (
        f"stopped by an unexpected error ({type(exc).__name__}); nothing was published and "
        "the checkpoint is unchanged"
    )


@contextlib.contextmanager
def recorded(writer: WarehouseWriter, run: Run, client: TmdbClient) -> Iterator[None]:
    """The part of a job between its 'running' record and its final one. Ended any other way
    (TMDB failing, Ctrl-C or SIGTERM, a full disk, a bug), it publishes a 'failed' record
    that says why, then lets the error go on: nothing else is published, so the checkpoint
    stays where it was, and no run is left 'running' by a process that could say why it
    stopped. Only a process killed outright leaves one (the next writer marks it
    'incomplete')."""
    try:
        yield
    except BaseException as exc:
        if not is_published(writer, run):
            # A second Ctrl-C or a full disk while recording: the next writer marks the run
            # 'incomplete'; the error that stopped it is the one to report.
            with contextlib.suppress(OSError, WatchBuddyError, KeyboardInterrupt):
                _finish_failed(writer, run, client, _failure_message(exc))
        raise


def copy_client_stats(run: Run, client: TmdbClient) -> None:
    """The client's counts, for a job that does not track lost requests itself: each answer
    that was malformed JSON twice is an error, named in the messages."""
    stats = client.stats
    run.requests = stats.requests
    run.retries = stats.retries
    run.errors = stats.malformed
    run.messages.extend(stats.errors[:10])


def _plural(count: int, one: str, many: str) -> str:
    return f"{count:,} {one if count == 1 else many}"


def finish_run(
    run: Run, client: TmdbClient, found: Discovery, removed: int, lost: str = "details"
) -> list[str]:
    """Close a run that published: the client's counts, every request it could not read
    (`errors`, one message each up to MAX_LISTED), truncated queries and titles found gone,
    and its status: 'partial' when anything is missing, else 'ok'. Returns the problems in
    brief, for summary lines."""
    run.requests = client.stats.requests
    run.retries = client.stats.retries
    run.errors = len(found.skipped)
    for listed in (found.skipped, found.truncated):
        run.messages.extend(listed[:MAX_LISTED])
        if len(listed) > MAX_LISTED:
            run.messages.append(f"... and {len(listed) - MAX_LISTED:,} more like these")
    if removed:
        run.messages.append(
            f"{_plural(removed, 'title', 'titles')} removed from TMDB (HTTP 404): flagged in "
            "the pool (removed_from_tmdb_at), not deleted"
        )
    problems = []
    if found.pages_skipped:
        problems.append(f"{_plural(found.pages_skipped, 'page', 'pages')} could not be read")
    if found.details_skipped:
        problems.append(
            f"{lost} of {_plural(found.details_skipped, 'title', 'titles')} could not be read"
        )
    if found.truncated:
        problems.append(
            f"{_plural(len(found.truncated), 'query', 'queries')} truncated at TMDB's cap"
        )
    run.finish("partial" if problems else "ok")
    return problems


def client_for(settings: Settings, max_attempts: int | None = None) -> TmdbClient:
    import httpx

    return TmdbClient(
        settings,
        concurrency=settings.tmdb_concurrency,
        timeout=httpx.Timeout(settings.tmdb_timeout, connect=min(5.0, settings.tmdb_timeout)),
        max_attempts=max_attempts,
    )


# ---------------------------------------------------------------- new content


@dataclass
class _Fetched:
    frame: pl.DataFrame  # normalized rows, details joined where fetched
    found: Discovery
    removed: list[int] = field(default_factory=list)  # ids TMDB answered 404 for
    changes_read_until: dt.date | None = None  # None: the changes were not read


def _empty_window(
    start: dt.date,
    end: dt.date,
    since: dt.date | None,
    until: dt.date | None,
    checkpoint: dt.date | None,
) -> str:
    """Why an ingest window is empty, naming what set each end of it: only one of them may
    have been given on the command line."""
    if since:
        starts = f"--since {start}"
    elif checkpoint:
        starts = f"{start} (the day before the checkpoint)"
    else:
        starts = f"WATCHBUDDY_INGEST_START {start} (no checkpoint yet)"
    if until:
        ends, fix = f"--until {end}", "give an --until on or after the start"
    elif since:
        ends, fix = f"today, {end}", "give a --since up to today"
    else:
        ends, fix = f"today, {end}", "set WATCHBUDDY_INGEST_START to a date up to today"
    return f"The window is empty: it starts at {starts} but ends {ends}; {fix}."


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
    client = client_for(settings)  # fails fast without a credential, before taking the lock
    with warehouse.writer(f"ingest {media_type}", wait_seconds=WRITE_LOCK_WAIT_SECONDS) as writer:
        abandon_dead_runs(writer)
        before = _checkpoint(warehouse, media_type)
        checkpoint = before.last_release_date
        start = since or (
            checkpoint - dt.timedelta(days=1) if checkpoint else settings.ingest_start
        )
        end = until or today
        # Titles TMDB added or changed since the last run whatever their release date
        # (discover by release date never sees a title added later with an old date).
        # Not on a first run (discover reads everything) nor for an explicit window.
        changes_since = (
            before.changes_from if before.changes_from and since is None and until is None else None
        )
        if end < start:
            raise ConfigError(_empty_window(start, end, since, until, checkpoint))
        run = Run(job="ingest", media_type=media_type)
        start_run(writer, run)
        with recorded(writer, run, client):
            result = IngestResult(
                run,
                (start.isoformat(), end.isoformat()),
                checkpoint.isoformat() if checkpoint else None,
                None,
            )
            window = (start, end)
            fetched = asyncio.run(
                _fetch_new(
                    client, settings, warehouse, media_type, window, changes_since, progress, run
                )
            )
            frame, found = fetched.frame, fetched.found
            result.notes = list(found.notes)
            run.messages.extend(found.notes)
            # The latest release date seen, not after today, not past a request that could not
            # be read (found.hold), and never behind the checkpoint it started from.
            seen_dates = [d for d in frame["release_date"].drop_nulls().to_list() if d <= today]
            new_checkpoint = max(seen_dates, default=None)
            if new_checkpoint is not None and found.hold is not None:
                new_checkpoint = min(new_checkpoint, found.hold)
            if checkpoint is not None:
                new_checkpoint = max(new_checkpoint or checkpoint, checkpoint)
            # Changes not read by this run (first run, explicit window) start where they were.
            changes_read_until = fetched.changes_read_until or before.changes_from or today
            batch = writer.allocate_batch()
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
            stage_removals(writer, media_type, fetched.removed, batch, add)
            stage_rejects(writer, found, media_type, batch, add)
            result.removed = len(fetched.removed)
            if new_checkpoint is not None:
                checkpoint_row = pa.table(
                    {
                        "media_type": [media_type],
                        "last_release_date": [new_checkpoint],
                        "last_run_at": [utcnow()],
                        "run_id": [run.run_id],
                        "titles_seen": [frame.height],
                        "changes_read_until": [changes_read_until],
                    },
                    schema=CHECKPOINT_SCHEMA,
                )
                name = f"checkpoint-{batch:06d}-{media_type}.parquet"
                add["checkpoints"] = [writer.stage_table("checkpoints", checkpoint_row, name)]
                result.checkpoint_after = new_checkpoint.isoformat()
                result.changes_read_until = changes_read_until.isoformat()
            result.problems = finish_run(run, client, found, len(fetched.removed))
            add["runs"] = [stage_run(writer, [run])]
            # Data, removals, checkpoint and run record are published together: a crash before
            # this line publishes none of them, so the checkpoint never runs ahead of the data.
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
) -> _Fetched:
    async with client:
        found = Discovery()
        await discover(client, media_type, *window, found, progress)
        out = _Fetched(normalize([], media_type), found)
        changed_bodies: list[dict[str, Any]] = []
        if changes_since is not None:
            changed_bodies = await _fetch_changed(
                client, warehouse, media_type, changes_since, window[1], out
            )
        run.pages = found.pages_done
        # A details body is a discover result with genres spelled out: give it genre_ids.
        as_results = []
        for body in changed_bodies:
            try:
                as_results.append({**body, "genre_ids": genre_ids_of_details(body)})
            except RejectedValue as exc:
                found.reject(f"/{media_type}/{body['id']}", [(body, str(exc))])
        with_details = {b["id"] for b in as_results}
        rejected: list[tuple[Any, str]] = []
        frame = normalize(found.results + as_results, media_type, rejected).with_columns(
            _via_changes=pl.col("tmdb_id").is_in(list(with_details))
        )
        from_details = {id(body) for body in as_results}
        for item, reason in rejected:
            endpoint = (
                f"/{media_type}/{item.get('id')}"
                if id(item) in from_details
                else f"/discover/{media_type}"
            )
            found.reject(endpoint, [(item, reason)])
        known = existing_titles(warehouse, frame.select("media_type", "tmdb_id"))
        known_ids = set(known["tmdb_id"].to_list())
        new_ids = [i for i in frame["tmdb_id"].to_list() if i not in known_ids]
        run.titles_new = len(new_ids)
        run.titles_updated = frame.height - len(new_ids)
        # Details give what discover lacks (status, runtime, keywords, IMDb id). Wanted for
        # every title of this run whose pool record has no status yet, new titles first: one
        # whose details were lost stays without status, and the checkpoint held at its
        # release date brings it into the next run, which fetches it again.
        no_status = set(known.filter(pl.col("status").is_null())["tmdb_id"].to_list())
        wanted = [i for i in new_ids if i not in with_details] + [
            i for i in frame["tmdb_id"].to_list() if i in no_status and i not in with_details
        ]
        details = Details()
        if settings.details_per_run and wanted:
            chosen = wanted[: settings.details_per_run]
            details = await details_bodies(client, media_type, chosen)
            if len(wanted) > len(chosen):
                found.notes.append(
                    f"details fetched for {len(chosen):,} of {len(wanted):,} titles that lack "
                    "them (WATCHBUDDY_DETAILS_PER_RUN); the rest get them when a run sees "
                    "them again"
                )
        released = dict(
            zip(frame["tmdb_id"].to_list(), frame["release_date"].to_list(), strict=True)
        )
        for tmdb_id in details.skipped:
            day = released.get(tmdb_id)
            found.skipped.append(
                f"details of {media_type} {tmdb_id} {details.lost(tmdb_id)}; "
                + (
                    f"the checkpoint stays at or before {day} so the next run fetches them"
                    if day
                    else "they are fetched when a run sees the title again"
                )
            )
            found.details_skipped += 1
            if day is not None:
                found.hold_at(day)
        out.removed.extend(details.not_found)
    # Fields discover does not return come from the details just fetched; where there are
    # none, they stay NULL and the pool keeps what older records of the title say.
    kept = set(frame["tmdb_id"].to_list())
    bodies = [b for b in changed_bodies + details.bodies if b.get("id") in kept]
    out.frame = frame.join(details_frame(bodies, media_type, found), on="tmdb_id", how="left")
    note_rejected(found)
    return out


async def _fetch_changed(
    client: TmdbClient,
    warehouse: Warehouse,
    media_type: str,
    since: dt.date,
    until: dt.date,
    out: _Fetched,
) -> list[dict[str, Any]]:
    """Details of the titles TMDB changed from `since` to `until` that discover did not
    return; sets `out.changes_read_until` to the day before the first day not fully handled
    (a change page lost, a changed title's details lost or left for the next run), or to
    `until` when every day was, and never before `since`."""
    found = out.found
    earliest = until - dt.timedelta(days=CHANGES_LOOKBACK_DAYS)
    start = since
    if start < earliest:
        found.notes.append(
            f"the changes were last read on {since}; changes older than "
            f"{CHANGES_LOOKBACK_DAYS} days were not read (run `ingest --since` to catch up)"
        )
        start = earliest
    changed_on, first_unread = await _read_changes(client, media_type, start, until, found)
    discovered = {result_id(item) for item in found.results}
    fetched = _fetched_at(warehouse, media_type, list(changed_on))
    # A title TMDB served us after the day it changed ended is already current.
    changed = [
        i
        for i in changed_on
        if i not in discovered and (fetched.get(i) or 0) < _day_end_us(changed_on[i])
    ]
    deferred: list[int] = []
    if len(changed) > CHANGES_PER_RUN:
        # Titles the pool lacks first, then the least recently fetched, so that runs that
        # cannot read every change still make progress through them.
        changed.sort(key=lambda i: (i in fetched, fetched.get(i) or 0))
        changed, deferred = changed[:CHANGES_PER_RUN], changed[CHANGES_PER_RUN:]
        found.notes.append(
            f"{len(changed) + len(deferred):,} titles changed on TMDB since {start}; "
            f"{CHANGES_PER_RUN:,} were re-read (new to the pool first, then the least "
            "recently fetched), the rest wait for the next run"
        )
    details = await details_bodies(client, media_type, changed)
    for tmdb_id in details.skipped:
        found.skipped.append(
            f"details of {media_type} {tmdb_id} (changed on TMDB on {changed_on[tmdb_id]}) "
            f"{details.lost(tmdb_id)}; the next run reads them again"
        )
        found.details_skipped += 1
    out.removed.extend(details.not_found)
    if details.bodies:
        found.notes.append(
            f"{len(details.bodies):,} titles outside the release window were re-read "
            f"because TMDB changed them since {start}"
        )
    unfinished = [changed_on[i] for i in deferred + details.skipped]
    if first_unread is not None:
        unfinished.append(first_unread)
    read_until = min(unfinished) - dt.timedelta(days=1) if unfinished else until
    out.changes_read_until = max(read_until, since)
    return details.bodies


# ---------------------------------------------------------------- vote refresh


@dataclass
class RefreshResult:
    run: Run
    candidates: int
    refreshed: int
    removed: int = 0  # titles TMDB answered 404 for
    problems: list[str] = field(default_factory=list)  # why the run is not 'ok', briefly

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.run.to_dict(),
            "candidates": self.candidates,
            "refreshed": self.refreshed,
            "removed": self.removed,
            "problems": self.problems,
        }


def refresh_recent_votes(
    settings: Settings,
    media_type: str,
    days: int | None = None,
    limit: int | None = None,
    today: dt.date | None = None,
    progress: Progress | None = None,
) -> RefreshResult:
    """Fetch current votes and popularity of recent titles; publish them as a patch.

    Titles TMDB answered 404 for are recorded in `removals` (so the pool flags them and no
    later refresh asks again), and demo titles are left out: their ids belong to other,
    real titles on TMDB."""
    if media_type not in MEDIA_TYPES:
        raise ConfigError(f"Unknown media type {media_type!r}; use movie or tv.")
    days = settings.refresh_days if days is None else days
    limit = settings.refresh_limit if limit is None else limit
    today = today or today_utc()
    warehouse = Warehouse(settings.warehouse)
    client = client_for(settings)
    with warehouse.writer(
        f"refresh-votes {media_type}", wait_seconds=WRITE_LOCK_WAIT_SECONDS
    ) as writer:
        abandon_dead_runs(writer)
        con = open_views(warehouse, materialize=False)
        try:
            ids = [
                r[0]
                for r in con.sql(
                    statement(SQL, "votes_to_refresh"),
                    params={
                        "media": media_type,
                        # More days than the calendar has before today: every title.
                        "first": today - dt.timedelta(days=min(days, (today - dt.date.min).days)),
                        "today": today,
                        "limit": limit,
                    },
                ).fetchall()
            ]
        finally:
            con.close()
        run = Run(job="refresh-votes", media_type=media_type)
        start_run(writer, run)
        with recorded(writer, run, client):
            answers = asyncio.run(_fetch_votes(client, media_type, ids, progress))
            found = Discovery()
            for tmdb_id in answers.skipped:
                found.skipped.append(
                    f"votes of {media_type} {tmdb_id} {answers.lost(tmdb_id)}; "
                    "the title stays first in line for the next refresh"
                )
                found.details_skipped += 1
            rows = []
            for body in answers.bodies:
                try:
                    rows.append({"tmdb_id": body["id"], **_accepted(body, VOTE_FIELDS)})
                except RejectedValue as exc:
                    found.reject(f"/{media_type}/{body.get('id')}", [(body, str(exc))])
            note_rejected(found)
            run.messages.extend(found.notes)
            run.pages = 0
            run.titles_updated = len(rows)
            add: dict[str, list[str]] = {}
            batch = writer.allocate_batch() if rows or answers.not_found or found.rejected else 0
            if rows:
                now = utcnow()
                table = pa.Table.from_pylist(
                    [{"media_type": media_type, **row, "refreshed_at": now} for row in rows],
                    schema=VOTE_SCHEMA,
                )
                add["votes"] = [
                    writer.stage_table("votes", table, f"votes-{batch:06d}-{media_type}.parquet")
                ]
            stage_rejects(writer, found, media_type, batch, add)
            stage_removals(writer, media_type, answers.not_found, batch, add)
            problems = finish_run(run, client, found, len(answers.not_found), lost="votes")
            add["runs"] = [stage_run(writer, [run])]
            writer.commit(add=add)
            return RefreshResult(run, len(ids), len(rows), len(answers.not_found), problems)


async def _fetch_votes(
    client: TmdbClient, media_type: str, ids: list[int], progress: Progress | None
) -> Details:
    async with client:
        return await details_bodies(client, media_type, ids, append=False, progress=progress)
