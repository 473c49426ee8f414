"""The scheduled jobs, each declared once: what runs, when by default, and what it writes.

The scheduler, `watchbuddy jobs`, `watchbuddy jobs run NAME`, the app's Jobs page and the
README's job table all read `JOBS`, so adding a job is one `JobSpec` here, the function it
runs, its schedule setting (a field of `Settings`, where every setting's default is
declared) and its test. A job's run records name it by (job, media type), the way the
CLI's `ingest movie` names its own: `record` is that pair, and the scheduler maps records
back to jobs through it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from watchbuddy.errors import ConfigError
from watchbuddy.pool.stats import refresh_outlook
from watchbuddy.settings import SETTINGS, Settings, SettingSpec
from watchbuddy.sources.exports.land import land_exports
from watchbuddy.sources.tmdb.ingest import (
    ingest_new_content,
    refresh_recent_votes,
    status_summary,
)
from watchbuddy.sources.tmdb.providers import JOB as PROVIDERS_JOB
from watchbuddy.sources.tmdb.providers import fetch_providers
from watchbuddy.sources.tmdb.refresh_titles import Pace, refresh_titles
from watchbuddy.store.compact import compact, compact_history, history_day_files
from watchbuddy.store.runs import Run, RunKind, publish_run
from watchbuddy.store.warehouse import Warehouse

COMPACT_WHEN_FILES = 8  # compact titles only when this many titles files have piled up
# ... and history only when this many landed day files are not yet in a month file (a day
# lands up to four files; a lookup of one title's history opens every file).
COMPACT_WHEN_HISTORY_FILES = 8


@dataclass(frozen=True)
class JobSpec:
    """One scheduled job. `run` does the work under the job's lock (the scheduler takes it)
    and returns what happened in one line, without the job's name (the caller adds it)."""

    name: str
    run: Callable[[Settings], str]
    setting: str  # the Settings field holding the schedule (and, through it, the default)
    misfire_grace: int  # seconds a late slot may still run
    needs_tmdb: bool  # without a TMDB credential the job records a skipped run instead
    writes: tuple[str, ...]  # the warehouse tables it publishes to
    record: RunKind  # (job, media_type) of its run records
    doc: str  # what it does, one line, as the README's job table says it
    # What its next run will do and why, from the settings and the runs a day its schedule
    # gives (shown by `jobs`); None for jobs whose runs do not depend on it.
    outlook: Callable[[Settings, float], dict[str, Any]] | None = None

    @property
    def schedule_setting(self) -> SettingSpec:
        return next(spec for spec in SETTINGS if spec.name == self.setting)

    @property
    def default_schedule(self) -> str:
        default: str = self.schedule_setting.default
        return default

    def schedule(self, settings: Settings) -> str:
        """The schedule `settings` give this job."""
        value: str = getattr(settings, self.setting)
        return value


def _ingest(settings: Settings, media_type: str) -> str:
    result = ingest_new_content(settings, media_type)
    return (
        f"{status_summary(result.run, result.problems)}"
        f"{result.run.titles_new} new, {result.run.titles_updated} updated"
    )


def _refresh_votes(settings: Settings, media_type: str) -> str:
    refreshed = refresh_recent_votes(settings, media_type)
    return (
        f"{status_summary(refreshed.run, refreshed.problems)}"
        f"{refreshed.refreshed} refreshed, {refreshed.removed} removed from TMDB"
    )


def ingest_movies(settings: Settings) -> str:
    return _ingest(settings, "movie")


def ingest_tv(settings: Settings) -> str:
    return _ingest(settings, "tv")


def refresh_votes_movies(settings: Settings) -> str:
    return _refresh_votes(settings, "movie")


def refresh_votes_tv(settings: Settings) -> str:
    return _refresh_votes(settings, "tv")


REFRESH_TITLES_JOB = "refresh-titles"


def refresh_titles_all(settings: Settings) -> str:
    """`refresh-titles all` at the number its schedule, the pool and the budget give."""
    # The schedule's runs a day come from the scheduler's trigger helpers; the scheduler
    # imports this module, so they are imported here, when the job runs.
    from watchbuddy.jobs.scheduler import refresh_pace

    result = refresh_titles(settings, "all", refresh_pace(settings))
    return (
        f"{status_summary(result.run, result.problems)}{result.fetched} fetched "
        f"({result.new} new), {result.removed} removed from TMDB; {result.plan.why()}"
    )


def _refresh_titles_outlook(settings: Settings, runs_per_day: float) -> dict[str, Any]:
    return refresh_outlook(Warehouse(settings.warehouse), Pace.of(settings, runs_per_day))


def compact_when_piled_up(settings: Settings) -> str:
    """Compact the titles once `COMPACT_WHEN_FILES` titles files have piled up, and the
    history once `COMPACT_WHEN_HISTORY_FILES` day files have; either way record the run, so
    `jobs` shows the job ran (and, when skipped, why)."""
    warehouse = Warehouse(settings.warehouse)
    run = Run(job="compact", media_type="all")
    manifest = warehouse.read_manifest()
    files = len(manifest.files("titles"))
    days = len(history_day_files(manifest.files("popularity_history")))
    done: list[str] = []
    if files >= COMPACT_WHEN_FILES:
        report = compact(warehouse, settings.duckdb_memory_limit)
        done.append(f"{report.files_before} files into one ({report.titles} titles)")
        run.titles_updated = report.rows_after
    if days >= COMPACT_WHEN_HISTORY_FILES:
        history = compact_history(warehouse, settings.duckdb_memory_limit)
        done.append(
            f"{history.day_files} history day files into {history.months} month files "
            f"({history.rows} rows)"
        )
    if done:
        summary = "; ".join(done)
        run.finish("ok", f"compact: {summary}")
    else:
        summary = (
            f"{files} titles files and {days} history day files, nothing to do below "
            f"{COMPACT_WHEN_FILES} and {COMPACT_WHEN_HISTORY_FILES}"
        )
        run.finish("skipped", f"compact: {summary}")
    publish_run(warehouse, run, "job compact")
    return summary


def exports_daily(settings: Settings) -> str:
    """Land the export files published since the last run (and retry missing ones)."""
    result = land_exports(settings, "all")
    report = result.to_dict()
    return (
        f"{result.run.status}: {report['landed']} files landed ({report['title_days']:,} "
        f"title-days), {report['missing']} missing"
    )


def providers_daily(settings: Settings) -> str:
    """Fetch every region of `WATCHBUDDY_WATCH_REGIONS`; with none set, record a skipped
    run saying so (the job is listed and comes due all the same)."""
    if not settings.watch_regions:
        run = Run(job=PROVIDERS_JOB, media_type="all")
        reason = "no watch region: set WATCHBUDDY_WATCH_REGIONS (ISO 3166-1 codes such as US,DE)"
        run.finish("skipped", reason)
        publish_run(Warehouse(settings.warehouse), run, f"job {PROVIDERS_JOB}")
        return f"skipped ({reason})"
    result = fetch_providers(settings)
    done = [r for r in result.regions if r.status != "failed"]
    return (
        f"{status_summary(result.run, result.problems)}{len(done)} of {len(result.regions)} "
        f"regions fetched ({sum(r.titles for r in done):,} titles available, "
        f"{result.run.titles_new:,} new to the pool)"
    )


INGEST_WRITES = ("titles", "removals", "rejects", "checkpoints", "runs")
REFRESH_WRITES = ("votes", "removals", "rejects", "runs")
REFRESH_TITLES_WRITES = ("titles", "removals", "rejects", "runs")

# In this order jobs due together run, and `jobs` and the Jobs page list them.
JOBS: tuple[JobSpec, ...] = (
    JobSpec(
        "ingest-movies",
        ingest_movies,
        "schedule_ingest_movies",
        misfire_grace=30 * 60,
        needs_tmdb=True,
        writes=INGEST_WRITES,
        record=("ingest", "movie"),
        doc="`ingest movie`: movies released since the checkpoint, and changed ones",
    ),
    JobSpec(
        "ingest-tv",
        ingest_tv,
        "schedule_ingest_tv",
        misfire_grace=30 * 60,
        needs_tmdb=True,
        writes=INGEST_WRITES,
        record=("ingest", "tv"),
        doc="`ingest tv`: shows first aired since the checkpoint, and changed ones",
    ),
    JobSpec(
        "refresh-votes-movies",
        refresh_votes_movies,
        "schedule_refresh_movies",
        misfire_grace=6 * 3600,
        needs_tmdb=True,
        writes=REFRESH_WRITES,
        record=("refresh-votes", "movie"),
        doc="`refresh-votes movie`: current votes of recent movies",
    ),
    JobSpec(
        "refresh-votes-tv",
        refresh_votes_tv,
        "schedule_refresh_tv",
        misfire_grace=6 * 3600,
        needs_tmdb=True,
        writes=REFRESH_WRITES,
        record=("refresh-votes", "tv"),
        doc="`refresh-votes tv`: current votes of recent shows",
    ),
    JobSpec(
        "exports",
        exports_daily,
        "schedule_exports",
        misfire_grace=12 * 3600,
        needs_tmdb=False,
        writes=("popularity_history", "exports", "rejects", "runs"),
        record=("exports", "all"),
        doc="`exports all`: the daily ID export files published since the last run",
    ),
    JobSpec(
        REFRESH_TITLES_JOB,
        refresh_titles_all,
        "schedule_refresh_titles",
        misfire_grace=30 * 60,
        needs_tmdb=True,
        writes=REFRESH_TITLES_WRITES,
        record=("refresh-titles", "all"),
        doc="`refresh-titles all`: ids the newest export lists and the pool lacks, then the "
        "titles fetched longest ago, as many as keep every title under "
        "`WATCHBUDDY_MAX_DATA_AGE_DAYS`",
        outlook=_refresh_titles_outlook,
    ),
    JobSpec(
        PROVIDERS_JOB,
        providers_daily,
        "schedule_providers",
        misfire_grace=12 * 3600,
        needs_tmdb=True,
        writes=("providers", "availability", "titles", "rejects", "runs"),
        record=(PROVIDERS_JOB, "all"),
        doc="`providers`: each region of `WATCHBUDDY_WATCH_REGIONS`, its providers and their "
        "whole catalogues (skipped while no region is set)",
    ),
    JobSpec(
        "compact",
        compact_when_piled_up,
        "schedule_compact",
        misfire_grace=6 * 3600,
        needs_tmdb=False,
        writes=("titles", "popularity_history", "runs"),
        record=("compact", "all"),
        doc=f"`compact`: the titles when {COMPACT_WHEN_FILES} or more titles files have piled "
        f"up, the history when {COMPACT_WHEN_HISTORY_FILES} or more day files have",
    ),
)
JOB_NAMES = tuple(job.name for job in JOBS)
BY_RECORD: dict[RunKind, JobSpec] = {job.record: job for job in JOBS}


def job_spec(name: str) -> JobSpec:
    """The job called `name`; an unknown name lists the jobs there are."""
    for job in JOBS:
        if job.name == name:
            return job
    raise ConfigError(f"Unknown job {name!r}; jobs: {', '.join(JOB_NAMES)}.")
