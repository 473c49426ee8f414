"""The rolling refresh: every title fetched from TMDB again before its data is too old.

TMDB's terms ask that cached data be no older than six months. Ingestion reads new and
changed titles only, so a title landed from a CSV dump, or one nobody edits on TMDB, would
keep its data for ever. `refresh_titles` fetches `/movie/{id}` or `/tv/{id}` (with keywords
and external ids) for, first, ids the newest landed daily export lists that the pool lacks
(the ID universe grows into the pool), then the titles TMDB served us longest ago (a
CSV-only title counts as never fetched, whatever its file's time says), and publishes them
as one delta with the titles TMDB answered 404 for and the run record, like ingestion.

How many a run fetches is derived, not guessed (`plan_per_run`): with P titles kept
current, a maximum age of A days (`WATCHBUDDY_MAX_DATA_AGE_DAYS`) and R runs a day (the
job's schedule), ceil(P / (A * R)) titles a run re-fetch the whole pool within A days,
oldest first; the ids the pool lacks get what is left of the run's share of the daily
request budget (`WATCHBUDDY_REFRESH_TITLES_DAILY_BUDGET` / R). 1.5M titles in 180 days is
about 8.3K requests a day, a few minutes at TMDB's ~40 requests a second.

The run holds the warehouse write lock throughout; stopped any way its process lives
through (Ctrl-C, SIGTERM, TMDB failing), it publishes a 'failed' run record and nothing
else, and the next run starts from the same queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import math
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import duckdb
import polars as pl

from watchbuddy.errors import ConfigError
from watchbuddy.settings import Settings
from watchbuddy.sources.tmdb.client import TmdbClient
from watchbuddy.sources.tmdb.ingest import (
    WRITE_LOCK_WAIT_SECONDS,
    Details,
    Discovery,
    api_title_rows,
    client_for,
    details_bodies,
    details_frame,
    finish_run,
    genre_ids_of_details,
    media_types,
    normalize,
    note_rejected,
    recorded,
    stage_rejects,
    stage_removals,
)
from watchbuddy.sql import statement
from watchbuddy.store.runs import Run, abandon_dead_runs, stage_run, start_run
from watchbuddy.store.schema import RejectedValue
from watchbuddy.store.views import open_views
from watchbuddy.store.warehouse import Warehouse, utcnow

SQL = "refresh_titles.sql"
# The ids the newest export lists and the pool lacks: the same statement `stats` counts.
UNIVERSE_SQL, MISSING_IDS = "universe.sql", "missing_export_ids"
JOB = "refresh-titles"
APPEND = "keywords,external_ids"  # movie keywords, show keywords, and the IMDb id of both

# (titles done, titles this run) -> None
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Pace:
    """What the per-run number is derived from besides the pool: the age limit, how often
    the job runs (from its schedule, which the jobs stage reads) and the daily budget."""

    max_age_days: int
    runs_per_day: float
    daily_budget: int

    @classmethod
    def of(cls, settings: Settings, runs_per_day: float) -> Pace:
        return cls(settings.max_data_age_days, runs_per_day, settings.refresh_titles_daily_budget)


@dataclass(frozen=True)
class RefreshPlan:
    """How many titles a run fetches, and why."""

    titles: int  # P: titles kept current
    missing: int  # ids the newest export lists that the pool lacks
    max_age_days: int  # A
    runs_per_day: float  # R
    daily_budget: int
    pace: int  # ceil(P / (A * R)): enough a run to re-fetch the pool within A days
    budget_per_run: int  # daily_budget / R, at least 1
    oldest: int  # of them, titles re-fetched oldest first
    new: int  # ids the pool lacks, fetched first
    limit: int | None = None  # --limit, when it overrode the derived number

    @property
    def per_run(self) -> int:
        return self.oldest + self.new

    @property
    def keeps_age(self) -> bool:
        """Whether this pace re-fetches every title within the age limit."""
        return self.limit is None and self.pace <= self.budget_per_run

    def why(self) -> str:
        """The arithmetic, in one line, as `jobs` and `refresh-titles` print it."""
        if self.limit is not None:
            return (
                f"{self.per_run:,} a run (--limit {self.limit:,}): {self.new:,} of "
                f"{self.missing:,} ids the pool lacks first, then {self.oldest:,} oldest"
            )
        line = (
            f"{self.per_run:,} a run = ceil({self.titles:,} titles / ({self.max_age_days} days "
            f"x {self.runs_per_day:g} runs a day)) = {self.pace:,} oldest"
        )
        if self.pace > self.budget_per_run:
            line += (
                f", cut to the budget of {self.budget_per_run:,} a run "
                f"({self.daily_budget:,} a day): titles will grow older than "
                f"{self.max_age_days} days; raise WATCHBUDDY_REFRESH_TITLES_DAILY_BUDGET"
            )
        line += (
            f" + {self.new:,} of {self.missing:,} ids the newest export lists and the pool "
            f"lacks (what is left of {self.budget_per_run:,} a run, "
            f"{self.daily_budget:,} requests a day)"
        )
        return line

    def to_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "per_run": self.per_run,
            "per_day": round(self.per_run * self.runs_per_day),
            "keeps_age": self.keeps_age,
            "why": self.why(),
        }


def plan_per_run(
    titles: int,
    missing: int,
    max_age_days: int,
    runs_per_day: float,
    daily_budget: int,
    limit: int | None = None,
) -> RefreshPlan:
    """The number of titles a run fetches: the age pace ceil(P / (A * R)) from the oldest,
    within the run's share of the daily budget, plus ids the pool lacks with what is left of
    that share. `limit` overrides it: that many, ids the pool lacks first."""
    if max_age_days <= 0 or runs_per_day <= 0:
        raise ConfigError("The maximum data age and the runs a day must be more than zero.")
    pace = math.ceil(titles / (max_age_days * runs_per_day))
    budget_per_run = max(1, math.floor(daily_budget / runs_per_day))
    if limit is not None:
        new = min(missing, limit)
        oldest = min(titles, limit - new)
    else:
        oldest = min(pace, budget_per_run)
        new = min(missing, budget_per_run - oldest)
    return RefreshPlan(
        titles,
        missing,
        max_age_days,
        runs_per_day,
        daily_budget,
        pace,
        budget_per_run,
        oldest,
        new,
        limit,
    )


def _params(kinds: tuple[str, ...], **extra: Any) -> dict[str, Any]:
    return {"media": list(kinds), **extra}


@contextlib.contextmanager
def refresh_snapshot(con: duckdb.DuckDBPyConnection, kinds: tuple[str, ...]) -> Iterator[None]:
    """The temporary `refresh_snapshot` table the plan and the queue read (one scan of the
    pool, however many statements read it), dropped afterwards."""
    con.execute(statement(SQL, "snapshot"), _params(kinds))
    try:
        yield
    finally:
        con.execute(statement(SQL, "drop_snapshot"))


def current_plan(
    con: duckdb.DuckDBPyConnection, pace: Pace, kinds: tuple[str, ...], limit: int | None = None
) -> RefreshPlan:
    """The plan for the pool `con` reads now (inside `refresh_snapshot`)."""
    titles = con.sql(statement(SQL, "kept_current")).fetchall()[0][0]
    missing_rel = con.sql(statement(UNIVERSE_SQL, MISSING_IDS), params=_params(kinds))
    missing = missing_rel.aggregate("count(*)").fetchall()[0][0]
    return plan_per_run(
        titles, missing, pace.max_age_days, pace.runs_per_day, pace.daily_budget, limit
    )


def oldest_refreshed_at(
    con: duckdb.DuckDBPyConnection, plan: RefreshPlan, now: dt.datetime | None = None
) -> dt.datetime | None:
    """When, at this plan's pace, the oldest title will have been fetched again (inside
    `refresh_snapshot`): the never-fetched titles tie as the oldest, so with any it is when
    the last of them is. None when there is nothing to refresh or the pace fetches none of
    the pool."""
    position = con.sql(statement(SQL, "oldest_position")).fetchall()[0][0]
    if not position or not plan.oldest:
        return None
    runs = math.ceil(position / plan.oldest)
    return (now or utcnow()) + dt.timedelta(days=(runs - 1) / plan.runs_per_day)


@dataclass
class RefreshTitlesResult:
    run: Run
    plan: RefreshPlan
    queued: dict[str, int] = field(default_factory=dict)  # 'missing' and 'oldest' asked for
    fetched: int = 0  # titles published
    new: int = 0  # of them, ids the pool lacked
    removed: int = 0  # titles TMDB answered 404 for
    problems: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.run.to_dict(),
            "plan": self.plan.to_dict(),
            "queued": self.queued,
            "fetched": self.fetched,
            "new": self.new,
            "removed": self.removed,
            "problems": self.problems,
        }


def _queue(
    con: duckdb.DuckDBPyConnection, kinds: tuple[str, ...], plan: RefreshPlan
) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    """The keys to fetch: ids the pool lacks (`plan.new` of them), then the oldest."""
    missing = (
        con.sql(statement(UNIVERSE_SQL, MISSING_IDS), params=_params(kinds))
        .limit(plan.new)
        .fetchall()
    )
    oldest = con.sql(statement(SQL, "oldest"), params={"limit": plan.oldest}).fetchall()
    return [(m, i) for m, i in missing], [(m, i) for m, i in oldest]


def refresh_titles(
    settings: Settings,
    choice: str,
    pace: Pace,
    limit: int | None = None,
    progress: Progress | None = None,
    now: dt.datetime | None = None,
) -> RefreshTitlesResult:
    """Fetch the titles the plan says, missing ids first, then the oldest; publish them.

    `now` is the fetch time the records get (tests simulate days of runs with it)."""
    kinds = media_types(choice)
    warehouse = Warehouse(settings.warehouse)
    client = client_for(settings)  # fails fast without a credential, before the lock
    with warehouse.writer(f"{JOB} {choice}", wait_seconds=WRITE_LOCK_WAIT_SECONDS) as writer:
        abandon_dead_runs(writer)
        con = open_views(warehouse, materialize=False)
        try:
            with refresh_snapshot(con, kinds):
                plan = current_plan(con, pace, kinds, limit)
                missing, oldest = _queue(con, kinds, plan)
        finally:
            con.close()
        run = Run(job=JOB, media_type=choice)
        start_run(writer, run)
        with recorded(writer, run, client):
            result = RefreshTitlesResult(
                run, plan, {"missing": len(missing), "oldest": len(oldest)}
            )
            wanted = missing + oldest
            answers = asyncio.run(_fetch(client, kinds, wanted, progress))
            found = Discovery()
            fetched_at = now or run.started_at
            new_keys = set(missing)
            batch = writer.allocate_batch()
            add: dict[str, list[str]] = {}
            removed = 0
            for media_type in kinds:
                details = answers[media_type]
                for tmdb_id in details.skipped:
                    found.skipped.append(
                        f"{media_type} {tmdb_id} {details.lost(tmdb_id)}; it stays first in "
                        "line for the next run"
                    )
                    found.details_skipped += 1
                frame = _frame(details, media_type, found)
                if frame.height:
                    rows = api_title_rows(frame, pl.lit(f"refresh/{media_type}"), batch, fetched_at)
                    name = f"refresh-{batch:06d}-{media_type}.parquet"
                    add.setdefault("titles", []).append(writer.stage_table("titles", rows, name))
                    ids = frame["tmdb_id"].to_list()
                    result.fetched += len(ids)
                    result.new += sum((media_type, i) in new_keys for i in ids)
                staged: dict[str, list[str]] = {}
                stage_removals(writer, media_type, details.not_found, batch, staged)
                for table, paths in staged.items():
                    add.setdefault(table, []).extend(paths)
                removed += len(details.not_found)
            staged = {}
            stage_rejects(writer, found, choice, batch, staged)
            for table, paths in staged.items():
                add.setdefault(table, []).extend(paths)
            note_rejected(found)
            run.messages.extend(found.notes)
            run.titles_new = result.new
            run.titles_updated = result.fetched - result.new
            result.removed = removed
            result.problems = finish_run(run, client, found, removed)
            add["runs"] = [stage_run(writer, [run])]
            # Titles, removals, rejects and the run record in one commit: a run stopped
            # before it publishes nothing but its 'failed' record.
            writer.commit(add=add)
            return result


def _frame(details: Details, media_type: str, found: Discovery) -> pl.DataFrame:
    """Details bodies -> title rows with their details fields; a body a value rule refuses
    is left out (and listed in `found.rejected`)."""
    as_results = []
    for body in details.bodies:
        try:
            as_results.append({**body, "genre_ids": genre_ids_of_details(body)})
        except RejectedValue as exc:
            found.reject(f"/{media_type}/{body['id']}", [(body, str(exc))])
    rejected: list[tuple[Any, str]] = []
    frame = normalize(as_results, media_type, rejected)
    for item, reason in rejected:
        found.reject(f"/{media_type}/{item.get('id')}", [(item, reason)])
    kept = set(frame["tmdb_id"].to_list())
    bodies = [b for b in as_results if b.get("id") in kept]
    return frame.join(details_frame(bodies, media_type, found), on="tmdb_id", how="left")


async def _fetch(
    client: TmdbClient,
    kinds: tuple[str, ...],
    wanted: list[tuple[str, int]],
    progress: Progress | None,
) -> dict[str, Details]:
    total = len(wanted)
    done_before = 0
    out: dict[str, Details] = {}
    async with client:
        for media_type in kinds:
            ids = [i for m, i in wanted if m == media_type]
            offset = done_before

            def step(done: int, _known: int, offset: int = offset) -> None:
                if progress:
                    progress(offset + done, total)

            out[media_type] = await details_bodies(
                client, media_type, ids, progress=step, parts=APPEND
            )
            done_before += len(ids)
    return out
