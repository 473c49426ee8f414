"""The `watchbuddy` command line: every expected failure is one stderr line and a non-zero exit."""

from __future__ import annotations

import datetime as dt
import functools
import ipaddress
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import polars as pl
from click.core import ParameterSource

import watchbuddy
from watchbuddy.errors import ConfigError, EmptyPool, WatchBuddyError
from watchbuddy.pool.filters import (
    BY_NAME,
    FILTERS,
    SAME,
    CandidateFilters,
    Filter,
    missing_languages,
)
from watchbuddy.safe_text import clip, guard_terminal, printable, unguard_terminal
from watchbuddy.settings import Settings, load_settings
from watchbuddy.store.warehouse import WRITER_WAIT_SECONDS, Warehouse

if TYPE_CHECKING:
    from watchbuddy.sources.csv.land import ImportReport

OUTPUT_FORMATS = ("table", "csv", "json")


class Context:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.warehouse = Warehouse(settings.warehouse)


pass_context = click.make_pass_decorator(Context)


class _Interrupted(BaseException):
    """Ctrl-C or SIGTERM, carried past click to `main` (click would print a blank line and
    "Aborted!"). A BaseException, like KeyboardInterrupt, so no `except Exception` stops it."""


class _InterruptibleGroup(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            raise _Interrupted from None


_terminated = False  # set when SIGTERM, not Ctrl-C, stopped the command


def _stop_on_sigterm(signum: int, frame: object) -> None:
    """SIGTERM stops a command the way Ctrl-C does: whatever is half-written stays
    unpublished, and a TMDB run records that it was interrupted (the default action would
    kill the process on the spot and leave the run 'running')."""
    global _terminated
    _terminated = True
    raise KeyboardInterrupt


class ProgressLine:
    """A one-line progress bar on stderr, drawn only when stderr is a terminal."""

    def __init__(self) -> None:
        self.enabled = sys.stderr.isatty()
        self.last = 0.0

    def __call__(self, name: str, rows: int, fraction: float | None) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if fraction != 1.0 and now - self.last < 0.2:
            return
        self.last = now
        if fraction is None:
            bar = f"{rows:,} rows"
        else:
            filled = int(fraction * 30)
            bar = f"[{'#' * filled}{'.' * (30 - filled)}] {fraction:4.0%}  {rows:,} rows"
        # The one deliberate control character: `\r` redraws the line, so this writes
        # around the terminal guard, with the file name made printable by hand.
        stream = getattr(sys.stderr, "unguarded", sys.stderr)
        label = printable(name, one_line=True)[:40]
        stream.write(f"\r{label:40} {bar}" + ("\n" if fraction == 1.0 else ""))
        stream.flush()


def _table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "(no rows)"
    with pl.Config(
        tbl_rows=-1,
        tbl_cols=-1,
        fmt_str_lengths=80,
        tbl_width_chars=240,
        tbl_hide_dataframe_shape=True,
        tbl_hide_column_data_types=True,
    ):
        return str(pl.DataFrame(rows))


def _print_reports(reports: list[ImportReport]) -> None:
    rows = [
        {
            "file": r.file,
            "status": r.status,
            "read": r.rows_read,
            "accepted": r.accepted,
            "duplicates": r.duplicates,
            "rejected": r.rejected,
            "seconds": r.seconds,
        }
        for r in reports
    ]
    click.echo(_table(rows))
    for r in reports:
        if r.status in ("skipped", "failed"):
            click.echo(f"{r.file}: {r.status}: {r.message}")
            continue
        for warning in r.warnings:
            click.echo(f"{r.file}: {warning}")
        if r.rejects_by_reason:
            reasons = ", ".join(f"{k} ({v})" for k, v in r.rejects_by_reason.items())
            click.echo(f"{r.file}: rejected rows by reason: {reasons}")


def ensure_pool(ctx: Context) -> None:
    """Auto-bootstrap: land the data dir first when the pool is empty, and say so."""
    from watchbuddy.sources.csv.land import bootstrap, find_inputs

    settings = ctx.settings
    manifest = ctx.warehouse.read_manifest()
    ctx.warehouse.check_files(manifest)  # a deleted file is one line, before anything else
    if not manifest.is_empty or not settings.auto_bootstrap:
        return
    files = find_inputs(settings.data_dir)
    if not files:
        return
    click.echo(
        f"The pool is empty: landing {len(files)} file(s) from {settings.data_dir} first.",
        err=True,
    )
    reports = bootstrap(settings, progress=ProgressLine())
    landed = sum(r.accepted for r in reports)
    click.echo(f"Landed {landed:,} titles.", err=True)


def _print_version(click_ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    """click's own `version_option` needs the version when the command is defined, and
    looking it up costs a tenth of a second of every command's start."""
    if value and not click_ctx.resilient_parsing:
        click.echo(f"watchbuddy, version {watchbuddy.__version__}")
        click_ctx.exit()


@click.group(cls=_InterruptibleGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--data-dir", type=click.Path(path_type=Path), help="Overrides WATCHBUDDY_DATA_DIR.")
@click.option(
    "--warehouse", type=click.Path(path_type=Path), help="Overrides WATCHBUDDY_WAREHOUSE."
)
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_print_version,
    help="Show the version and exit.",
)
@click.pass_context
def cli(click_ctx: click.Context, data_dir: Path | None, warehouse: Path | None) -> None:
    """WatchBuddy candidate pool: every TMDB title, scored, on your machine."""
    guard_terminal()
    settings = load_settings().with_overrides(data_dir=data_dir, warehouse=warehouse)
    click_ctx.obj = Context(settings)


@cli.command("bootstrap")
@click.option("--force", is_flag=True, help="Land every file again, even unchanged ones.")
@click.option("--json", "as_json", is_flag=True, help="Print the per-file report as JSON.")
@pass_context
def bootstrap_command(ctx: Context, force: bool, as_json: bool) -> None:
    """Land every CSV in the data dir that is not landed yet; print a per-file report."""
    from watchbuddy.sources.csv.land import bootstrap, find_inputs

    settings = ctx.settings
    files = find_inputs(settings.data_dir)
    if not files:
        if as_json:
            click.echo("[]")
        click.echo(
            f"No *.csv or *.csv.gz files in {settings.data_dir}: put the TMDB dumps there, "
            "or run `watchbuddy demo-data` for a synthetic set.",
            err=True,
        )
        return
    reports = bootstrap(settings, force=force, progress=None if as_json else ProgressLine())
    if as_json:
        click.echo(json.dumps([r.to_dict() for r in reports], indent=2))
    else:
        _print_reports(reports)
    failed = [r for r in reports if r.status == "failed"]
    if failed:
        raise WatchBuddyError(
            f"{len(failed)} file(s) could not be landed ({', '.join(r.file for r in failed)}); "
            "the others were; see the messages above."
        )


@cli.command("stats")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@pass_context
def stats_command(ctx: Context, as_json: bool) -> None:
    """Counts by media type and source, imports, data age, checkpoints and last runs."""
    from watchbuddy.pool.stats import pool_stats
    from watchbuddy.store.views import open_views

    ensure_pool(ctx)
    con = open_views(ctx.warehouse)
    try:
        stats = pool_stats(con, ctx.warehouse, _refresh_pace_or_none(ctx.settings))
    finally:
        con.close()
    if as_json:
        click.echo(json.dumps(stats, indent=2, default=str))
        return
    by_media = ", ".join(f"{k} {v:,}" for k, v in stats["by_media_type"].items()) or "empty"
    click.echo(f"Warehouse {stats['warehouse']} (manifest version {stats['manifest_version']})")
    click.echo(f"Pool: {stats['titles']:,} titles ({by_media})")
    click.echo(f"Older than six months: {stats['stale_titles']:,} ({stats['stale_share']:.1%})")
    click.echo(
        f"Removed from TMDB (answered 404; left out of candidate lists): "
        f"{stats['removed_titles']:,}"
    )
    if stats["newest_exports"]:
        exports = ", ".join(
            f"{media} {day} ({stats['export_ids_queued'][media]:,} ids the pool lacks, queued "
            "for fetching)"
            for media, day in stats["newest_exports"].items()
        )
        click.echo(f"Newest daily ID export: {exports}")
    if stats["synthetic_warning"]:
        click.echo(f"Warning: {stats['synthetic_warning']}")
    age = stats["tmdb_data_age"]
    click.echo(
        f"TMDB data age: {age['under_30_days']:,} under 30 days, {age['days_30_to_90']:,} "
        f"30-90, {age['days_90_to_180']:,} 90-180, {age['over_180_days']:,} over 180, "
        f"{age['never_fetched']:,} never fetched from TMDB; "
        f"{age['over_limit']:,} over the {age['max_age_days']}-day limit"
    )
    if age["refresh_plan"]:
        click.echo(
            f"Refresh pace: {age['refresh_plan']['why']}; the oldest title is fetched again "
            f"by {age['oldest_refresh_at'] or '-'}"
        )
    if stats["watch_regions"]:
        regions = "; ".join(
            f"{r['region']} fetched {r['fetched_at']} ({r['age_hours']:g} hours ago), "
            f"{r['providers']:,} providers, {r['titles']:,} titles available"
            for r in stats["watch_regions"]
        )
        click.echo(f"Where titles stream (source of streaming data: JustWatch): {regions}")
    click.echo("\nBy source:\n" + _table(stats["by_source"]))
    click.echo("\nImports:\n" + _table(stats["imports"]))
    click.echo("\nCheckpoints:\n" + _table(stats["checkpoints"]))
    click.echo("\nLast runs:\n" + _table(stats["last_runs"]))
    if not stats["titles"]:
        click.echo(
            f"\nThe pool is empty: put TMDB CSVs in {ctx.settings.data_dir} and run "
            "`watchbuddy bootstrap`.",
            err=True,
        )


def _refresh_pace_or_none(settings: Settings) -> Any:
    """The refresh job's pace, or None when its schedule setting cannot work (the
    commands that schedule say why; `stats` still shows the rest)."""
    from watchbuddy.jobs.scheduler import refresh_pace

    try:
        return refresh_pace(settings)
    except ConfigError:
        return None


@cli.command("sql")
@click.argument("query")
@click.option(
    "--format", "fmt", type=click.Choice(OUTPUT_FORMATS), default="table", show_default=True
)
@pass_context
def sql_command(ctx: Context, query: str, fmt: str) -> None:
    """Run one read-only SQL statement over the views (titles, pool, rejects, imports, ...)."""
    from watchbuddy.query.readonly import run_query

    ensure_pool(ctx)
    settings = ctx.settings
    frame = run_query(ctx.warehouse, query, settings.sql_memory_limit, settings.sql_timeout)
    # Bytes (BLOB) as hex text, in every format: CSV and JSON have no bytes.
    frame = frame.with_columns(pl.col(pl.Binary).bin.encode("hex"))
    if fmt == "csv":
        click.echo(printable(_csv_ready(frame).write_csv()), nl=False)
    elif fmt == "json":
        floats = [n for n, t in frame.schema.items() if t.is_float()]
        # JSON has no NaN or infinity: they become null.
        frame = frame.with_columns(pl.when(pl.col(n).is_finite()).then(pl.col(n)) for n in floats)
        click.echo(json.dumps(frame.to_dicts(), indent=2, default=str))
    else:
        click.echo(_sql_table(frame))


SQL_TABLE_ROWS = 50
SQL_CELL_CHARS = 40


def _csv_ready(frame: pl.DataFrame) -> pl.DataFrame:
    """CSV has no nested values: a list of plain values becomes 'Drama|Thriller' (as in
    `recommend`), anything deeper (structs, lists of lists) its JSON text."""
    columns = []
    for name, dtype in frame.schema.items():
        if not dtype.is_nested():
            continue
        if isinstance(dtype, pl.List) and not dtype.inner.is_nested():
            try:
                columns.append(frame[name].cast(pl.List(pl.String)).list.join("|"))
                continue
            except pl.exceptions.PolarsError:
                pass
        values = frame[name].to_list()
        columns.append(pl.Series(name, [_json_text(v) for v in values], dtype=pl.String))
    return frame.with_columns(columns)


def _json_text(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, default=str)


def _sql_table(frame: pl.DataFrame) -> str:
    """The first rows for a person at a terminal: every text value on one line, control
    characters shown as escapes, long values cut, and no dtype or shape banner."""
    shown = frame.head(SQL_TABLE_ROWS)
    as_text = []
    for name, dtype in shown.schema.items():
        if dtype.is_numeric() or dtype.is_temporal() or dtype in (pl.Boolean, pl.Null):
            continue
        cells = []
        for value in shown[name].to_list():
            if value is not None:
                text = value if isinstance(value, str) else _json_text(value)
                value = clip(printable(text, one_line=True), SQL_CELL_CHARS)
            cells.append(value)
        as_text.append(pl.Series(name, cells, dtype=pl.String))
    shown = shown.with_columns(as_text)
    names = [clip(printable(n, one_line=True), SQL_CELL_CHARS) for n in shown.columns]
    if len(set(names)) == len(names):
        shown.columns = names
    else:  # two names that differ only in their control characters
        shown.columns = [f"{i}:{n}" for i, n in enumerate(names)]
    with pl.Config(
        tbl_rows=-1,
        tbl_cols=-1,
        fmt_str_lengths=SQL_CELL_CHARS + 1,
        tbl_width_chars=65_535,  # one line per row (the most polars takes): cells are cut
        tbl_hide_dataframe_shape=True,
        tbl_hide_column_data_types=True,
    ):
        text = str(shown)
    if frame.height > SQL_TABLE_ROWS:
        text += (
            f"\n{SQL_TABLE_ROWS} of {frame.height:,} rows shown; "
            "--format csv or json prints them all."
        )
    return text


def _date_option(value: str | None, name: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"{name} must be a date like 2024-05-31, not {clip(value)!r}.") from None


class PageProgress:
    """Pages fetched out of pages known, on one stderr line (terminal only)."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.line = ProgressLine()

    def __call__(self, done: int, known: int) -> None:
        self.line(self.label, done, min(done / known, 0.99) if known else None)


@cli.command("ingest")
@click.argument("media", type=click.Choice(["movie", "tv", "all"]))
@click.option("--since", help="First release date to fetch (default: checkpoint minus a day).")
@click.option("--until", help="Last release date to fetch (default: today).")
@click.option("--json", "as_json", is_flag=True, help="Print the run reports as JSON.")
@pass_context
def ingest_command(
    ctx: Context, media: str, since: str | None, until: str | None, as_json: bool
) -> None:
    """Fetch titles released since the last checkpoint from TMDB and publish them."""
    from watchbuddy.sources.tmdb.ingest import ingest_new_content, status_summary

    first, last = _date_option(since, "--since"), _date_option(until, "--until")

    def summary(result: Any) -> str:
        run = result.run
        return (
            f"{run.media_type}: {status_summary(run, result.problems)}"
            f"{run.titles_new:,} new and {run.titles_updated:,} updated titles "
            f"released {result.window[0]} .. {result.window[1]} ({run.pages:,} pages, "
            f"{run.requests:,} requests, {run.retries:,} retries, {run.seconds:.1f}s); "
            f"checkpoint {result.checkpoint_before or 'none'} -> "
            f"{result.checkpoint_after or result.checkpoint_before or 'none'}"
        )

    _run_jobs(
        media,
        as_json,
        "ingest",
        summary,
        lambda media_type, progress: ingest_new_content(
            ctx.settings, media_type, since=first, until=last, progress=progress
        ),
    )


def _run_jobs(
    media: str,
    as_json: bool,
    label: str,
    summary: Callable[[Any], str],
    job: Callable[[str, Any], Any],
) -> None:
    """Run a TMDB job for each media type; print a summary line (and notes) or JSON."""
    from watchbuddy.sources.tmdb.ingest import media_types

    results = []
    for media_type in media_types(media):
        result = job(media_type, None if as_json else PageProgress(f"{label} {media_type}"))
        results.append(result)
        if not as_json:
            click.echo(summary(result))
            for note in result.run.messages:
                click.echo(f"  note: {note}")
    if as_json:
        click.echo(json.dumps([r.to_dict() for r in results], indent=2, default=str))


@cli.command("exports")
@click.argument("media", type=click.Choice(["movie", "tv", "all"]))
@click.option(
    "--since",
    help="First export day to land (default: the day after the newest landed one; a first "
    "run: the last WATCHBUDDY_EXPORTS_BACKFILL_DAYS days).",
)
@click.option("--until", help="Last export day to land (default: today).")
@click.option("--json", "as_json", is_flag=True, help="Print the run report as JSON.")
@pass_context
def exports_command(
    ctx: Context, media: str, since: str | None, until: str | None, as_json: bool
) -> None:
    """Land TMDB's daily ID exports: popularity history and the ids TMDB lists each day."""
    from watchbuddy.sources.exports.land import land_exports

    first, last = _date_option(since, "--since"), _date_option(until, "--until")
    result = land_exports(
        ctx.settings, media, since=first, until=last, progress=None if as_json else ProgressLine()
    )
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2, default=str))
        return
    report = result.to_dict()
    run = result.run
    click.echo(
        f"exports {media}: {run.status}, {report['landed']} files landed "
        f"({report['title_days']:,} title-days, {report['rejected']:,} lines rejected), "
        f"{report['missing']} missing, days {result.window[0]} .. {result.window[1]} "
        f"({run.seconds:.1f}s)"
    )
    for note in run.messages:
        click.echo(f"  note: {note}")


@cli.command("refresh-votes")
@click.argument("media", type=click.Choice(["movie", "tv", "all"]))
@click.option(
    "--days",
    type=click.IntRange(min=1),
    default=None,
    help="Titles released within this many days (default 90, WATCHBUDDY_REFRESH_DAYS).",
)
@click.option(
    "--limit",
    type=click.IntRange(min=0),
    default=None,
    help="At most this many titles (default 400, WATCHBUDDY_REFRESH_LIMIT).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the run reports as JSON.")
@pass_context
def refresh_votes_command(
    ctx: Context, media: str, days: int | None, limit: int | None, as_json: bool
) -> None:
    """Fetch current votes and popularity of recent titles, least recently refreshed first."""
    from watchbuddy.sources.tmdb.ingest import refresh_recent_votes, status_summary

    ensure_pool(ctx)

    def summary(result: Any) -> str:
        run = result.run
        removed = f", {result.removed:,} removed from TMDB" if result.removed else ""
        return (
            f"{run.media_type}: {status_summary(run, result.problems)}refreshed votes of "
            f"{result.refreshed:,} of {result.candidates:,} recent titles{removed} "
            f"({run.requests:,} requests, {run.retries:,} retries, {run.seconds:.1f}s)"
        )

    _run_jobs(
        media,
        as_json,
        "refresh",
        summary,
        lambda media_type, progress: refresh_recent_votes(
            ctx.settings, media_type, days=days, limit=limit, progress=progress
        ),
    )


@cli.command("refresh-titles")
@click.argument("media", type=click.Choice(["movie", "tv", "all"]))
@click.option(
    "--limit",
    type=click.IntRange(min=0),
    default=None,
    help="Fetch this many titles instead of the number derived from the pool size, "
    "WATCHBUDDY_MAX_DATA_AGE_DAYS, the job's schedule and the daily budget.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the run report as JSON.")
@pass_context
def refresh_titles_command(ctx: Context, media: str, limit: int | None, as_json: bool) -> None:
    """Fetch ids the newest export lists and the pool lacks, then the titles fetched longest
    ago, so no title's TMDB data grows older than the limit."""
    from watchbuddy.jobs.scheduler import refresh_pace
    from watchbuddy.sources.tmdb.ingest import status_summary
    from watchbuddy.sources.tmdb.refresh_titles import refresh_titles

    result = refresh_titles(
        ctx.settings,
        media,
        refresh_pace(ctx.settings),
        limit=limit,
        progress=None if as_json else PageProgress(f"refresh-titles {media}"),
    )
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2, default=str))
        return
    run = result.run
    removed = f", {result.removed:,} removed from TMDB" if result.removed else ""
    click.echo(
        f"{media}: {status_summary(run, result.problems)}fetched {result.fetched:,} titles "
        f"({result.new:,} new to the pool){removed} ({run.requests:,} requests, "
        f"{run.retries:,} retries, {run.seconds:.1f}s)"
    )
    click.echo(f"  why: {result.plan.why()}")
    for note in run.messages:
        click.echo(f"  note: {note}")


@cli.command("providers")
@click.option(
    "--region",
    "regions",
    multiple=True,
    help="A country (ISO 3166-1 code, e.g. US) to fetch; repeat for more (default: "
    "WATCHBUDDY_WATCH_REGIONS).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the run report as JSON.")
@pass_context
def providers_command(ctx: Context, regions: tuple[str, ...], as_json: bool) -> None:
    """Fetch where titles stream: each region's providers and their whole catalogues
    (source of streaming data: JustWatch)."""
    from watchbuddy.sources.tmdb.providers import fetch_providers

    result = fetch_providers(
        ctx.settings,
        regions,
        progress=None if as_json else (lambda region: PageProgress(f"providers {region}")),
    )
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2, default=str))
    else:
        run = result.run
        click.echo(
            f"providers: {run.status}, {len(result.regions)} regions ({run.pages:,} pages, "
            f"{run.requests:,} requests, {run.retries:,} retries, {run.seconds:.1f}s); "
            "source of streaming data: JustWatch"
        )
        for line in run.messages:
            click.echo(f"  {line}")
    if result.run.status == "failed":
        sys.exit(1)


def _click_settings(spec: Filter) -> dict[str, Any]:
    """The click option for a registry entry: its type, bounds, default and help."""
    default = spec.default if spec.cli_default is SAME else spec.cli_default
    settings: dict[str, Any] = {"help": spec.help}
    if spec.cli_file:
        settings["type"] = click.Path(path_type=Path, exists=True, dir_okay=False)
    elif spec.base is bool:
        settings["is_flag"] = True
    elif spec.is_list:
        settings["multiple"] = True
        if default:
            settings.update(default=default, show_default=",".join(default))
    elif spec.options:
        settings.update(type=click.Choice(list(spec.options)), default=default, show_default=True)
    else:
        if spec.bounds is not None and spec.cli_range:
            low, high = spec.bounds
            settings["type"] = (
                click.IntRange(int(low), int(high))
                if spec.base is int
                else click.FloatRange(low, high)
            )
        else:
            settings["type"] = spec.base
        if default is not None:
            settings.update(default=default, show_default=True)
    return settings


def filter_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """One click option per registry entry that has one (`watchbuddy.pool.filters`), handed
    to the command as one dict, `chosen`: field name -> the option's value."""
    names = [spec.name for spec in FILTERS if spec.cli]

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        chosen = {name: kwargs.pop(name) for name in names}
        return command(*args, chosen=chosen, **kwargs)

    for spec in reversed(FILTERS):
        if spec.cli:
            wrapper = click.option(spec.cli, spec.name, **_click_settings(spec))(wrapper)
    return wrapper


def with_preset(ctx: Context, name: str, chosen: dict[str, Any]) -> dict[str, Any]:
    """`chosen` with the saved view's filters where the command line did not give the option
    itself (an explicit option wins; the others take the view's value, or the default)."""
    from watchbuddy.explorer.query_params import read_query_string
    from watchbuddy.store.saved_views import find_view

    view = find_view(ctx.warehouse, name)
    parsed, fields = read_query_string(view.query)
    for note in parsed.notes:
        click.echo(f"Note: preset {view.name!r}: {note}", err=True)
    click_ctx = click.get_current_context()
    given = {
        spec.name
        for spec in FILTERS
        if spec.cli and click_ctx.get_parameter_source(spec.name) is ParameterSource.COMMANDLINE
    }
    return {
        key: getattr(parsed.filters, key) if key in fields and key not in given else value
        for key, value in chosen.items()
    }


@cli.command("recommend")
@filter_options
@click.option(
    "--preset",
    metavar="NAME",
    help="Start from a saved view (`watchbuddy presets`); options given here override its values.",
)
@click.option("--no-fallback", is_flag=True, help="Answer from the pool only.")
@click.option(
    "--format", "fmt", type=click.Choice(OUTPUT_FORMATS), default="table", show_default=True
)
@pass_context
def recommend_command(
    ctx: Context, chosen: dict[str, Any], preset: str | None, no_fallback: bool, fmt: str
) -> None:
    """Candidate titles for the given filters and discovery mode, best first."""
    from watchbuddy.pool.candidates import (
        STREAMING_COLUMN,
        get_candidates,
        provider_for,
        read_watched_file,
    )
    from watchbuddy.pool.languages import label
    from watchbuddy.pool.streaming import ATTRIBUTION

    ensure_pool(ctx)
    if preset is not None:
        chosen = with_preset(ctx, preset, chosen)
    if ctx.warehouse.read_manifest().is_empty and (
        no_fallback or not ctx.settings.has_tmdb_credential
    ):
        raise EmptyPool(
            f"The pool is empty: put TMDB CSV dumps in {ctx.settings.data_dir} and run "
            "`watchbuddy bootstrap` (or `watchbuddy demo-data` for a synthetic set)."
        )
    provider = provider_for(ctx.settings)
    known = provider.languages()
    # Each language checked by its registry entry (a code or a name -> TMDB's code).
    codes = {lang: BY_NAME["languages"].validate((lang,))[0] for lang in chosen["languages"]}
    missing = sorted(
        {
            f"{clip(given)} ({code})" if given != code else code
            for given, code in codes.items()
            if missing_languages((code,), known)
        }
    )
    if missing and known:  # an empty pool asks TMDB (the check above let it through)
        raise ConfigError(
            f"No title in the pool has the language {', '.join(missing)}; the pool has: "
            f"{', '.join(label(code) for code in known)}."
        )
    exclude_file: Path | None = chosen.pop("exclude")
    exclude: frozenset[tuple[str, int]] = frozenset()
    if exclude_file is not None:
        watched = read_watched_file(exclude_file)
        exclude = watched.keys
        if watched.unknown:
            click.echo(
                f"{exclude_file.name}: {len(watched.unknown)} of {watched.rows} rows "
                f"skipped ({'; '.join(watched.unknown[:3])}"
                f"{'; ...' if len(watched.unknown) > 3 else ''})",
                err=True,
            )
    if chosen["for_me"] and not ctx.warehouse.read_manifest().files("history"):
        click.echo(
            "Note: --for-me has nothing to leave out yet: import your history first "
            "(`watchbuddy history import FILE`).",
            err=True,
        )
    filters = CandidateFilters(**chosen, exclude=exclude)
    result = get_candidates(filters, ctx.settings, fallback=not no_fallback)
    if result.short_by and not result.past_the_end:
        click.echo(f"Found {result.frame.height} of the {result.requested} asked for.", err=True)
    for note in result.notes:
        click.echo(f"Note: {note}", err=True)
    frame = result.frame
    streams = STREAMING_COLUMN in frame.columns
    if fmt == "json":
        click.echo(json.dumps(frame.to_dicts(), indent=2, default=str))
    elif fmt == "csv":
        # Escaped before click sees it (click drops ANSI sequences when piped).
        lists = [c for c in ("genres", STREAMING_COLUMN) if c in frame.columns]
        text = frame.with_columns(pl.col(*lists).list.join("|")).write_csv()
        click.echo(printable(text), nl=False)
    else:
        shown = frame.select(
            "title",
            "year",
            "media_type",
            "original_language",
            pl.col("genres").list.join(", "),
            "vote_average",
            "vote_count",
            pl.col("score").round(3),
            *([pl.col(STREAMING_COLUMN).list.join(", ")] if streams else []),
            # With --like or a for_you history: how alike, and what each row shares.
            *(
                [
                    pl.col("similarity").round(3),
                    pl.col("explanation").str.extract("; shares: (.*)$").alias("shares"),
                ]
                if frame["similarity"].max()
                else []
            ),
        )
        click.echo(_table(shown.to_dicts()))
    if streams:
        # TMDB's terms: JustWatch is credited wherever availability is shown.
        click.echo(f"{ATTRIBUTION} (region {result.filters.region}).", err=fmt != "table")


@cli.command("search")
@click.argument("text")
@click.option(
    "--media-type",
    type=click.Choice(["movie", "tv", "both"]),
    default="both",
    show_default=True,
    help="Movies, shows or both.",
)
@click.option("--year", type=int, help="Only titles released in this year.")
@click.option(
    "--limit",
    type=click.IntRange(1, 1000),
    default=20,
    show_default=True,
    help="Rows to show (1 to 1,000).",
)
@click.option("--include-adult", is_flag=True, help="Also adult titles.")
@click.option(
    "--format", "fmt", type=click.Choice(OUTPUT_FORMATS), default="table", show_default=True
)
@pass_context
def search_command(
    ctx: Context,
    text: str,
    media_type: str,
    year: int | None,
    limit: int,
    include_adult: bool,
    fmt: str,
) -> None:
    """Find titles by title or original title: case, accents, punctuation and small typos
    do not count; best match first, then most votes."""
    from watchbuddy.pool.search import check_query, search_at

    check_query(text, media_type, year, limit)  # a bad query is refused before any loading
    ensure_pool(ctx)
    if ctx.warehouse.read_manifest().is_empty:
        raise EmptyPool(
            f"The pool is empty: put TMDB CSV dumps in {ctx.settings.data_dir} and run "
            "`watchbuddy bootstrap` (or `watchbuddy demo-data` for a synthetic set)."
        )
    frame = search_at(ctx.settings.warehouse).search(text, media_type, year, limit, include_adult)
    if frame.is_empty():
        hint = (
            f"No title matches {clip(text)!r}: check the spelling or try fewer words"
            + (", another --media-type" if media_type != "both" else "")
            + (", another --year" if year is not None else "")
            + "."
        )
        if fmt == "json":
            click.echo("[]")
        elif fmt == "csv":
            click.echo(",".join(frame.columns))
        click.echo(printable(hint), err=fmt != "table")
        return
    if fmt == "json":
        click.echo(json.dumps(frame.to_dicts(), indent=2))
    elif fmt == "csv":
        click.echo(printable(frame.write_csv()), nl=False)
    else:
        click.echo(_table(frame.to_dicts()))


@cli.group("history", invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.pass_context
def history_group(click_ctx: click.Context, as_json: bool) -> None:
    """Your watch history: import Trakt, Letterboxd and IMDb exports; without a subcommand,
    what is stored per source, file and list."""
    if click_ctx.invoked_subcommand is not None:
        return
    from watchbuddy.sql import statement
    from watchbuddy.store.views import open_views

    ctx = click_ctx.find_object(Context)
    assert ctx is not None
    con = open_views(ctx.warehouse, materialize=False)
    try:
        rows = con.sql(statement("history.sql", "summary")).pl()
    finally:
        con.close()
    if as_json:
        click.echo(json.dumps(rows.to_dicts(), indent=2, default=str))
        return
    if rows.is_empty():
        click.echo(
            "No history yet: `watchbuddy history import FILE...` imports a Trakt, Letterboxd "
            "or IMDb export."
        )
        return
    shown = rows.with_columns(pl.col("file").map_elements(printable, return_dtype=pl.String))
    click.echo(_table(shown.to_dicts()))


@history_group.command("import")
@click.argument("file", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--source",
    type=click.Choice(["auto", "trakt", "letterboxd", "imdb"]),
    default="auto",
    show_default=True,
    help="Which service wrote the files (auto: read from the content).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the per-file reports as JSON.")
@pass_context
def history_import_command(
    ctx: Context, file: tuple[Path, ...], source: str, as_json: bool
) -> None:
    """Import watched, rated and watchlist exports; matched to TMDB ids, each file's rows
    replacing what an earlier import of the same file stored."""
    from watchbuddy.sources.history.land import import_files

    ensure_pool(ctx)
    reports = import_files(ctx.warehouse, list(file), source)
    if as_json:
        click.echo(json.dumps([r.to_dict() for r in reports], indent=2))
        return
    rows = [
        {
            "file": printable(r.file, one_line=True),
            "source": r.source,
            "kind": r.kind,
            "read": r.rows_read,
            "matched": r.matched,
            "ambiguous": r.ambiguous,
            "unmatched": r.unmatched,
            "stored": r.stored,
            "titles": r.titles,
            "not in pool": r.not_in_pool,
        }
        for r in reports
    ]
    click.echo(_table(rows))
    for r in reports:
        name = printable(r.file, one_line=True)
        if r.replaced:
            click.echo(f"{name}: replaced the {r.replaced:,} rows its earlier import stored")
        if r.not_in_pool:
            click.echo(
                f"{name}: {r.not_in_pool:,} of its titles "
                f"{'is' if r.not_in_pool == 1 else 'are'} not in the pool yet (matched by the "
                "export's TMDB id): kept in your history, and left out of lists once landed"
            )
        if r.reasons:
            reasons = ", ".join(
                f"{printable(k, one_line=True)} ({v})" for k, v in r.reasons.items()
            )
            click.echo(f"{name}: not matched, by reason: {reasons}")
        for line, reason in r.examples:
            click.echo(f"  line {line}: {printable(reason, one_line=True)}")
        if r.ambiguous + r.unmatched > len(r.examples):
            click.echo(f"  ... all {r.ambiguous + r.unmatched:,} are in the `rejects` view")


@cli.command("not-interested")
@click.argument("action", type=click.Choice(["add", "remove", "list"]))
@click.argument("title", nargs=-1)
@pass_context
def not_interested_command(ctx: Context, action: str, title: tuple[str, ...]) -> None:
    """Titles never to recommend again (movie:ID or tv:ID): `add`, `remove` or `list` them.
    Left out of every candidate list, with or without --for-me."""
    from watchbuddy.sources.history.lists import app_list_titles, change, parse_key

    if action == "list":
        if title:
            raise ConfigError("`not-interested list` takes no titles; run it alone.")
        rows = app_list_titles(ctx.warehouse)
        if not rows:
            click.echo("Nothing is marked not interested.")
        for media_type, tmdb_id, name, year in rows:
            shown = f"  {printable(name, one_line=True)} ({year or '?'})" if name else ""
            click.echo(f"{media_type}:{tmdb_id}{shown}")
        return
    if not title:
        raise ConfigError(f"Give the titles to {action}, as movie:ID or tv:ID (movie:27205).")
    keys = [parse_key(t) for t in title]
    added, removed = change(
        ctx.warehouse,
        add=keys if action == "add" else (),
        remove=keys if action == "remove" else (),
    )
    done = added if action == "add" else removed
    verb = "Marked not interested" if action == "add" else "No longer marked not interested"
    click.echo(f"{verb}: {', '.join(f'{m}:{i}' for m, i in done) or 'nothing changed'}.")


@cli.command("compact")
@click.option(
    "--drop-demo",
    is_flag=True,
    help="Also drop every synthetic demo record: the demo titles leave the pool.",
)
@pass_context
def compact_command(ctx: Context, drop_demo: bool) -> None:
    """Rewrite the landed records into one sorted snapshot and the popularity history's day
    files into month files (readers unaffected)."""
    from watchbuddy.store.compact import compact, compact_history

    history = compact_history(ctx.warehouse, ctx.settings.duckdb_memory_limit)
    if history.changed:
        click.echo(
            f"Compacted {history.day_files} history day file(s) into {history.months} month "
            f"file(s) of {history.rows:,} rows in {history.seconds:.1f}s (every row kept)."
        )
    if ctx.warehouse.read_manifest().is_empty:
        click.echo("Nothing to compact: the warehouse holds no titles yet.")
        return
    report = compact(ctx.warehouse, ctx.settings.duckdb_memory_limit, drop_demo=drop_demo)
    if not report.changed:
        click.echo(
            "Nothing to compact: the titles are one snapshot already, and no record in it can "
            "be dropped."
        )
        return
    demo = "every demo record" if drop_demo else "demo records of titles a real record knows"
    click.echo(
        f"Compacted {report.files_before} file(s) with {report.rows_before:,} records into one "
        f"snapshot of {report.rows_after:,} records for {report.titles:,} titles in "
        f"{report.seconds:.1f}s (dropped: records every field of which a newer record knows, "
        f"and {demo})."
    )
    if drop_demo:
        click.echo(
            f"Delete {ctx.settings.data_dir}/synthetic_*.csv too, or `bootstrap --force` lands "
            "the demo titles again."
        )


@cli.command("repair")
@pass_context
def repair_command(ctx: Context) -> None:
    """Drop published files that are missing from disk, so the rest can be read again."""
    with ctx.warehouse.writer("repair", wait_seconds=WRITER_WAIT_SECONDS) as writer:
        missing = writer.drop_missing()
    if not missing:
        click.echo("Nothing to repair: every file the warehouse lists is on disk.")
        return
    click.echo(
        f"Dropped {len(missing)} missing file(s) from the warehouse: {', '.join(missing)}. "
        "Their records are gone: run `watchbuddy bootstrap --force` to land the CSVs again "
        "(and `watchbuddy ingest all --since DATE` for what came from TMDB)."
    )


@cli.command("schedule")
@pass_context
def schedule_command(ctx: Context) -> None:
    """Run the scheduler in the foreground (Ctrl-C or SIGTERM lets a running job end)."""
    from watchbuddy.jobs.scheduler import Scheduler
    from watchbuddy.jobs.signals import StopSignals

    def say(message: str) -> None:
        click.echo(f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M:%S} {message}", err=True)

    scheduler = Scheduler(ctx.settings, on_event=say)
    if not ctx.settings.has_tmdb_credential:
        say("no TMDB credential: the ingest and refresh jobs will be skipped (and recorded)")
    with StopSignals() as signals:
        scheduler.start()
        signals.wait()
        # Nothing starts after this, so the job named (if any) is all the shutdown waits for.
        running = scheduler.stop_new_runs()
        if running:
            say(f"stopping: waiting for {running} to finish (it publishes whole or not at all)")
        else:
            say("stopping")
        scheduler.shutdown(wait=True)
    say("stopped")


@cli.group("presets", invoke_without_command=True)
@click.pass_context
def presets_group(click_ctx: click.Context) -> None:
    """The saved views (save one in Explore): name, when saved, and its filters as a link."""
    if click_ctx.invoked_subcommand is not None:
        return
    click_ctx.invoke(presets_list_command)


@presets_group.command("list")
@pass_context
def presets_list_command(ctx: Context) -> None:
    """The saved views, by name."""
    from watchbuddy.store.saved_views import list_views

    views = list_views(ctx.warehouse)
    if not views:
        click.echo("No saved views yet: save one in Explore's sidebar (Saved views).")
        return
    rows = [
        {
            "name": printable(v.name),
            "saved (UTC)": f"{v.saved_at:%Y-%m-%d %H:%M}",
            "filters": printable(v.query) or "(the defaults)",
        }
        for v in views
    ]
    click.echo(_table(rows))


@presets_group.command("delete")
@click.argument("name")
@pass_context
def presets_delete_command(ctx: Context, name: str) -> None:
    """Delete a saved view."""
    from watchbuddy.store.saved_views import delete_view

    delete_view(ctx.warehouse, name)
    click.echo(f"Deleted the saved view {printable(name)!r}.")


@cli.group("jobs", invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.pass_context
def jobs_group(click_ctx: click.Context, as_json: bool) -> None:
    """Each job's schedule, next run, last run, and who holds the scheduler lock."""
    if click_ctx.invoked_subcommand is not None:
        return
    from watchbuddy.jobs.scheduler import jobs_status

    ctx: Context = click_ctx.obj
    status = jobs_status(ctx.settings)
    if as_json:
        click.echo(json.dumps(status, indent=2, default=str))
        return
    holder = status["scheduler_lock"]
    click.echo(
        "Scheduler: "
        + (
            f"active in pid {holder.get('pid')} since {holder.get('since')}"
            if holder
            else "not running (start one with `watchbuddy schedule` or the app)"
        )
    )
    rows = [
        {
            "job": r["job"],
            "schedule": r["schedule"],
            "next run (UTC)": f"{r['next_run']:%Y-%m-%d %H:%M}" if r["next_run"] else "",
            "last": f"running (pid {r['running_pid']})"
            if r["running_pid"]
            else r.get("last_status", "never"),
            "started": f"{r['last_started']:%Y-%m-%d %H:%M}" if r.get("last_started") else "",
            "seconds": r.get("last_seconds"),
            "new": r.get("last_new"),
            "updated": r.get("last_updated"),
            "errors": r.get("last_errors"),
        }
        for r in status["jobs"]
    ]
    click.echo(_table(rows))
    for r in status["jobs"]:
        outlook = r.get("outlook")
        if outlook and outlook.get("refresh_plan"):
            click.echo(
                f"{r['job']}: next run fetches {outlook['refresh_plan']['why']}; TMDB data "
                f"age: {outlook['over_limit']:,} of {outlook['titles']:,} titles over "
                f"{outlook['max_age_days']} days or never fetched, the oldest fetched again "
                f"by {outlook['oldest_refresh_at'] or '-'}"
            )
    if not ctx.settings.has_tmdb_credential:
        click.echo("No TMDB credential: the ingest and refresh jobs skip (set TMDB_API_KEY).")


@jobs_group.command("run")
@click.argument("name")
@pass_context
def jobs_run_command(ctx: Context, name: str) -> None:
    """Run one job now, through the same locks as the scheduler."""
    from watchbuddy.jobs.scheduler import run_job

    click.echo(run_job(name, ctx.settings))


# More than three times the real dumps (1.47M titles); generating takes about 2 GB of memory
# per million rows, all at once.
DEMO_MAX_ROWS = 5_000_000


@cli.command("demo-data")
@click.option(
    "--rows",
    type=click.IntRange(20, DEMO_MAX_ROWS),
    default=50_000,
    show_default=True,
    help="Movies plus shows to generate (shows are ~11%, as in the real dumps).",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="Folder to write to (default: the data dir).",
)
@click.option("--seed", type=click.IntRange(min=0), default=42, show_default=True)
@click.option(
    "--if-no-data",
    is_flag=True,
    help="Only when the folder holds no CSV at all (what `make run` uses): never beside real data.",
)
@pass_context
def demo_data_command(
    ctx: Context, rows: int, out: Path | None, seed: int, if_no_data: bool
) -> None:
    """Write a synthetic dataset in the Kaggle TMDB movie (v11) and TV (v3) layouts."""
    from watchbuddy.devtools.demo import generate
    from watchbuddy.sources.csv.land import find_inputs

    target = out or ctx.settings.data_dir
    if if_no_data:
        present = find_inputs(target)
        if present:
            names = ", ".join(p.name for p in present[:3]) + (", ..." if len(present) > 3 else "")
            click.echo(
                f"{target} holds {len(present)} CSV file(s) ({names}): no demo data generated."
            )
            return
        click.echo(f"{target} holds no CSV: generating the synthetic demo dataset ({rows:,} rows).")
    started = time.perf_counter()
    try:
        files = generate(rows, target, seed=seed)
    except OSError as exc:
        raise ConfigError(
            f"Cannot write the demo data to {target} ({exc.strerror}); give a folder with --out."
        ) from None
    click.echo(
        f"Wrote {files.movie_rows:,} synthetic movies to {files.movies} and {files.tv_rows:,} "
        f"synthetic shows to {files.tv} (plus {files.malformed_rows} deliberately malformed "
        f"rows) in {time.perf_counter() - started:.1f}s."
    )


@cli.command("app")
@click.option("--port", type=click.IntRange(1, 65535), default=8501, show_default=True)
@click.option(
    "--address",
    help="Address to listen on (default: WATCHBUDDY_APP_ADDRESS, 127.0.0.1 = this machine only).",
)
@click.option("--headless/--no-headless", default=True, show_default=True)
@pass_context
def app_command(ctx: Context, port: int, address: str | None, headless: bool) -> None:
    """Start the Streamlit explorer."""
    address = address or ctx.settings.app_address
    ensure_pool(ctx)
    warehouse = ctx.settings.warehouse.resolve()
    # The app reads its settings from the environment, in this process and any child.
    os.environ["WATCHBUDDY_WAREHOUSE"] = str(warehouse)
    os.environ["WATCHBUDDY_DATA_DIR"] = str(ctx.settings.data_dir.resolve())
    if not ctx.warehouse.read_manifest().is_empty:
        from watchbuddy.explorer.connections import warm

        # Streamlit runs in this process, so what is loaded here is what the first page
        # uses: the first visitor does not wait for the candidate table (~1 s at 1.5M
        # titles, several seconds when a new warehouse version has to be built first).
        click.echo("Preparing the candidate table…", err=True)
        warm(warehouse)
    from streamlit.web.cli import main as streamlit_main

    from watchbuddy.explorer.serving import disable_nagle_on_streamlit_server

    disable_nagle_on_streamlit_server()
    unguard_terminal()  # Streamlit colours its own lines; it prints no data

    host = f"[{address}]" if ":" in address else address
    click.echo(f"Starting the explorer on http://{host}:{port} (warehouse {warehouse})", err=True)
    if not _is_loopback(address):
        click.echo(
            f"Warning: listening on {address} makes the explorer reachable from other "
            "machines, with no login, file uploads and the Run now button; put it behind a "
            "reverse proxy with authentication.",
            err=True,
        )
    streamlit_main(
        [
            "run",
            str(Path(__file__).parent / "explorer" / "app.py"),
            "--server.port",
            str(port),
            "--server.address",
            address,
            "--server.headless",
            str(headless).lower(),
            "--browser.gatherUsageStats",
            "false",
            "--client.toolbarMode",
            "minimal",
        ],
        prog_name="streamlit",
    )


def _is_loopback(address: str) -> bool:
    if address == "localhost":
        return True
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def main() -> None:
    guard_terminal()
    if threading.current_thread() is threading.main_thread():  # only there can it be set
        signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except click.UsageError as exc:
        # One line, like every other error (click would add the usage text and a hint).
        click.echo(f"Error: {exc.format_message()} (see --help)", err=True)
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except (EmptyPool, ConfigError, WatchBuddyError) as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except (_Interrupted, KeyboardInterrupt):
        if _terminated:
            click.echo("Stopped by SIGTERM; nothing half-written was published.", err=True)
            sys.exit(128 + signal.SIGTERM)
        if sys.stderr.isatty():
            click.echo(err=True)  # past the terminal's ^C
        click.echo("Interrupted (Ctrl-C); nothing half-written was published.", err=True)
        sys.exit(128 + signal.SIGINT)


if __name__ == "__main__":
    main()
