"""In-process scheduling: ingestion, vote refresh and compaction run by themselves, once, visibly.

APScheduler 3 (UTC) runs the jobs; what it does not give us is "one runner per
warehouse" across processes and Streamlit reruns, so every `Scheduler` first competes for
an OS lock on `warehouse/.scheduler.lock`. The holder is *active* and runs the jobs; the
others stay *passive*, say who holds the lock, and try again every few seconds, so when
the active process dies (the OS drops its lock) another takes over. Jobs call the same
functions as the CLI, which take the warehouse write lock, so a job and a CLI command never
write at the same time.

Schedules come from settings, never from a stored schedule file (the system this replaces
replayed a stale one). What survives a restart is the `runs` view: when a scheduler becomes
active, a job whose last run is older than one period (or that never ran) catches up with
one run (the missed slots coalesce into it), and otherwise waits for its next slot. A
catch-up keeps the job's stagger (`every 2h at +1h` catches up an hour after activation), so
a first start does not fire both ingest jobs together.

Jobs run one at a time, in the order they come due: every job takes the same warehouse
write lock, so running them side by side only made the later ones time out on that lock.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeAlias

from apscheduler.executors.debug import DebugExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from watchbuddy.errors import ConfigError, JobBusy, WatchBuddyError
from watchbuddy.jobs.specs import BY_RECORD, JOBS, REFRESH_TITLES_JOB, JobSpec, job_spec
from watchbuddy.pool.candidates import prepare_for_new_version
from watchbuddy.pool.search import prepare_search_for_new_version
from watchbuddy.safe_text import clip
from watchbuddy.settings import Settings
from watchbuddy.sources.tmdb.client import clear_stop, request_stop
from watchbuddy.sources.tmdb.refresh_titles import Pace
from watchbuddy.store.runs import Run, last_run_details, last_started, publish_run
from watchbuddy.store.warehouse import Warehouse, lock_file_holder, utcnow

log = logging.getLogger("watchbuddy.jobs.scheduler")

LOCK_FILE = ".scheduler.lock"
TAKEOVER_POLL_SECONDS = 2.0
MAX_INTERVAL_DAYS = 366
_DURATION = re.compile(r"([0-9]{1,12})([smhd])", re.ASCII)
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class EveryTrigger(IntervalTrigger):
    """An `every <n> [at +<offset>]` schedule: APScheduler's interval trigger, plus the
    stagger it was given, so the catch-up rule reads the offset from the trigger instead of
    parsing the schedule text a second time."""

    __slots__ = ("stagger",)

    def __init__(self, seconds: int, stagger: dt.timedelta | None = None) -> None:
        start = None
        if stagger is not None:
            # Slots fall at midnight UTC + offset + k periods (every 2h at +1h: odd hours).
            midnight = dt.datetime.combine(utcnow().date(), dt.time(), dt.UTC)
            start = midnight + stagger
        super().__init__(seconds=seconds, start_date=start, timezone=dt.UTC)
        self.stagger = stagger


Trigger: TypeAlias = EveryTrigger | CronTrigger


def parse_schedule(text: str) -> Trigger:
    """'every 2h', 'every 30m', 'every 45s' (optionally 'every 2h at +1h' to stagger) or a
    five-field cron expression in UTC ('0 3 * * *').

    An interval is at most a year (past about 2.7 million years Python's dates overflow;
    long before that the job has simply stopped running), and a stagger is shorter than
    the interval it shifts: a longer one would only delay the first run."""
    text = text.strip()
    if text.startswith("every "):
        body, _, offset = text[6:].partition(" at +")
        seconds = _duration(body)
        if seconds > MAX_INTERVAL_DAYS * 86400:
            raise ConfigError(
                f"every {clip(body.strip())} is longer than the longest interval, "
                f"{MAX_INTERVAL_DAYS}d; use a cron expression for a yearly date."
            )
        stagger = None
        if offset:
            offset_seconds = _duration(offset)
            if offset_seconds >= seconds:
                raise ConfigError(
                    f"the offset +{clip(offset.strip())} must be shorter than the interval "
                    f"{body.strip()}."
                )
            stagger = dt.timedelta(seconds=offset_seconds)
        return EveryTrigger(seconds, stagger)
    try:
        trigger = CronTrigger.from_crontab(text, timezone=dt.UTC)
    except ValueError as exc:
        raise ConfigError(
            f"{clip(text)!r} is neither 'every <n>s|m|h|d [at +<offset>]' nor a cron "
            f"expression: {clip(exc, 200)}."
        ) from None
    if trigger.get_next_fire_time(None, utcnow()) is None:
        raise ConfigError(f"the cron expression {clip(text)!r} never fires (no such date).")
    return trigger


def job_trigger(spec: JobSpec, settings: Settings) -> Trigger:
    """The job's trigger from its setting; a schedule that cannot work names that setting."""
    try:
        return parse_schedule(spec.schedule(settings))
    except ConfigError as exc:
        env = spec.schedule_setting.env
        raise ConfigError(f"Setting {spec.setting} ({env}): {exc}") from None


def _duration(text: str) -> int:
    match = _DURATION.fullmatch(text.strip())
    if match is None:
        raise ConfigError(
            f"{clip(text.strip())!r} is not a duration like 30s, 15m, 2h or 1d (digits, then "
            "one unit)."
        )
    value = int(match.group(1)) * _UNITS[match.group(2)]
    if value <= 0:
        raise ConfigError(f"{text.strip()!r} must be longer than zero.")
    return value


def period_seconds(trigger: Trigger) -> float:
    """Seconds between two slots (for cron: between the next two), the age past which a job
    that has not run is overdue."""
    if isinstance(trigger, IntervalTrigger):
        return trigger.interval.total_seconds()
    now = utcnow()
    first = trigger.get_next_fire_time(None, now)
    second = trigger.get_next_fire_time(first, first + dt.timedelta(seconds=1))
    return (second - first).total_seconds() if first and second else 86400.0


def runs_per_day(trigger: Trigger) -> float:
    """How many times a day a trigger fires (a cron schedule: from its next two slots)."""
    return 86400.0 / period_seconds(trigger)


def refresh_pace(settings: Settings) -> Pace:
    """What the `refresh-titles` job's per-run number is derived from: the age limit, the
    daily budget and how often its schedule runs it."""
    return Pace.of(settings, runs_per_day(job_trigger(job_spec(REFRESH_TITLES_JOB), settings)))


def first_runs(
    triggers: Mapping[str, Trigger], last: Mapping[str, dt.datetime], now: dt.datetime
) -> dict[str, dt.datetime | None]:
    """When each job first runs after a scheduler becomes active at `now`.

    A job that ran within its period waits for its next slot, so a restart does not repeat
    it: for an `every` schedule one period after its last run (so a restart neither delays
    it nor loses the stagger between jobs), for a cron schedule the next time the
    expression names. A job that never ran, or whose last run is a period or more ago, is
    overdue and catches up with one run: at once, or, when its schedule declares a stagger
    (`every 2h at +1h`), that long after `now`, so the stagger between jobs survives a first
    start (otherwise every overdue job would fire at the same instant). Cron jobs catch up
    at once. Catch-ups due together are a millisecond apart, in `triggers` order (ingest
    before refresh before compact): APScheduler would otherwise order ties by job id.
    """
    plan: dict[str, dt.datetime | None] = {}
    for order, (name, trigger) in enumerate(triggers.items()):
        previous = last.get(name)
        period = period_seconds(trigger)
        if previous is not None and (now - previous).total_seconds() < period:
            plan[name] = (
                previous + dt.timedelta(seconds=period)
                if isinstance(trigger, EveryTrigger)
                else trigger.get_next_fire_time(None, now)
            )
            continue
        stagger = trigger.stagger if isinstance(trigger, EveryTrigger) else None
        plan[name] = now + (stagger or dt.timedelta()) + dt.timedelta(milliseconds=order)
    return plan


@contextlib.contextmanager
def job_lock(warehouse: Warehouse, name: str) -> Iterator[None]:
    """One run of a job at a time per warehouse, whoever starts it (the active scheduler,
    `watchbuddy jobs run`, the app's Run now button): APScheduler's `max_instances` only
    covers its own process."""
    path = warehouse.root / f".job-{name}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = lock_file_holder(path) or {}
            raise JobBusy(
                f"The job {name} is already running (pid {holder.get('pid', '?')}, since "
                f"{holder.get('since', '?')}); wait for it to finish."
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({"pid": os.getpid(), "since": utcnow().isoformat()}))
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle, fcntl.LOCK_UN)


def running_jobs(warehouse: Warehouse) -> dict[str, dict[str, Any]]:
    """The jobs running right now, by name, with who runs them."""
    running = {}
    for spec in JOBS:
        holder = lock_file_holder(warehouse.root / f".job-{spec.name}.lock")
        if holder is not None:
            running[spec.name] = holder
    return running


def run_job(name: str, settings: Settings) -> str:
    """Run one job now, the way the scheduler does; returns a one-line summary.

    Raises `JobBusy` when the job is already running anywhere on this warehouse."""
    spec = job_spec(name)
    with job_lock(Warehouse(settings.warehouse), name):
        return f"{name}: {_run_job_locked(spec, settings)}"


def _run_job_locked(spec: JobSpec, settings: Settings) -> str:
    """Run the job's function, or, for a TMDB job without a credential, record a skipped
    run saying why (so `jobs` shows it came due)."""
    if spec.needs_tmdb and not settings.has_tmdb_credential:
        job, media_type = spec.record
        run = Run(job=job, media_type=media_type)
        run.finish("skipped", "no TMDB credential: set TMDB_API_KEY or TMDB_READ_ACCESS_TOKEN")
        publish_run(Warehouse(settings.warehouse), run, f"job {spec.name}")
        return "skipped (no TMDB credential)"
    return spec.run(settings)


class SchedulerLock:
    """The OS lock that makes one scheduler per warehouse active."""

    def __init__(self, root: Path) -> None:
        self.path = Path(root) / LOCK_FILE
        self.handle: Any = None
        self.since = ""

    def try_acquire(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+")  # noqa: SIM115 - held while active
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self.handle = handle
        self.since = utcnow().isoformat()
        self.describe({})
        return True

    def describe(self, next_runs: dict[str, dt.datetime | None]) -> None:
        """Write who holds the lock and the jobs' next runs, for `watchbuddy jobs`."""
        if self.handle is None:
            return
        self.handle.seek(0)
        self.handle.truncate()
        self.handle.write(
            json.dumps(
                {
                    "pid": os.getpid(),
                    "since": self.since,
                    "host": os.uname().nodename,
                    "next_runs": {k: v.isoformat() if v else None for k, v in next_runs.items()},
                }
            )
        )
        self.handle.flush()

    def release(self) -> None:
        if self.handle is not None:
            with contextlib.suppress(OSError):
                self.handle.seek(0)
                self.handle.truncate()
            fcntl.flock(self.handle, fcntl.LOCK_UN)
            self.handle.close()
            self.handle = None

    def holder(self) -> dict[str, Any] | None:
        if self.handle is not None:
            return {"pid": os.getpid(), "since": self.since, "self": True}
        return lock_file_holder(self.path)


class Scheduler:
    """One per process. `start()` returns at once; jobs run one at a time on a thread of
    their own.

    APScheduler decides *when* a job is due; it does not run the job. Its job only puts the
    name in our queue (on APScheduler's own thread, through `DebugExecutor`), and one worker
    thread runs the queue in order. Why not just give APScheduler a one-thread pool:
    APScheduler checks `misfire_grace_time` when the pool thread *starts* a job
    (`apscheduler.executors.base.run_job`), so a job queued behind a long ingest would be
    dropped as missed once it had waited longer than its grace (30 minutes for ingestion).
    Here the grace is checked when the job comes due and is queued, so it keeps its
    documented meaning (how late the scheduler itself may be, e.g. after the machine slept)
    and a job waiting its turn is never dropped. A job already waiting or running is not
    queued again (its slots coalesce, one instance per job).
    """

    def __init__(self, settings: Settings, on_event: Callable[[str], None] | None = None) -> None:
        self.settings = settings
        self.warehouse = Warehouse(settings.warehouse)
        self.lock = SchedulerLock(self.warehouse.root)
        self.triggers = {j.name: job_trigger(j, settings) for j in JOBS}
        self.on_event = on_event or (lambda message: log.info(message))
        self._aps: BackgroundScheduler | None = None
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None
        self._worker: ThreadPoolExecutor | None = None
        self._queue_lock = threading.Lock()
        self._waiting: list[str] = []  # due, in the order they came due
        self._running: str | None = None
        self._closing = False

    @property
    def active(self) -> bool:
        return self._aps is not None

    @property
    def running_job(self) -> str | None:
        """The job this scheduler is running right now, if any (not one started elsewhere:
        see `running_jobs` for those)."""
        with self._queue_lock:
            return self._running

    @property
    def pending(self) -> tuple[str, ...]:
        """The job running now, if any, then those due and waiting their turn, in order; read
        in one go, so a job moving from waiting to running is never missed."""
        with self._queue_lock:
            return ((self._running,) if self._running else ()) + tuple(self._waiting)

    def start(self) -> None:
        self._stop.clear()
        with self._queue_lock:
            self._closing = False
        self._watcher = threading.Thread(target=self._watch, name="scheduler-lock", daemon=True)
        self._watcher.start()

    def _watch(self) -> None:
        """Become active when the lock is free (polling while another process holds it);
        once active, keep the lock file's list of next runs current for `watchbuddy jobs`.
        This thread, not a job thread, talks to APScheduler: a job thread asking it for its
        jobs while `shutdown(wait=True)` waits for that very job would deadlock."""
        while not self._stop.is_set():
            if self._aps is None:
                if self.lock.try_acquire():
                    self._activate()
                    continue
                holder = self.lock.holder() or {}
                self.on_event(
                    f"passive: the scheduler lock is held by pid {holder.get('pid', '?')}"
                )
            else:
                with contextlib.suppress(Exception):
                    self.lock.describe(self.next_runs())
            self._stop.wait(TAKEOVER_POLL_SECONDS)

    def _activate(self) -> None:
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="scheduler-job")
        aps = BackgroundScheduler(timezone=dt.UTC, executors={"default": DebugExecutor()})
        plan = first_runs(self.triggers, last_runs(self.warehouse), utcnow())
        for spec in JOBS:
            aps.add_job(
                self._enqueue,
                self.triggers[spec.name],
                args=[spec.name],
                id=spec.name,
                name=spec.name,
                coalesce=True,
                max_instances=1,
                misfire_grace_time=spec.misfire_grace,
                next_run_time=plan[spec.name],
            )
        # Said before APScheduler starts, so it comes before the first job's "started".
        self.on_event(f"active: pid {os.getpid()} runs the jobs")
        aps.start()
        self._aps = aps
        self.lock.describe(self.next_runs())

    def _enqueue(self, name: str) -> None:
        """APScheduler's job: queue `name` for the worker (instant, so never late itself)."""
        with self._queue_lock:
            if self._closing or self._worker is None:
                return
            if name == self._running or name in self._waiting:
                log.debug("%s is due but still waiting or running: this slot coalesces", name)
                return
            self._waiting.append(name)
            self._worker.submit(self._run_next)

    def _run_next(self) -> None:
        """On the worker thread: run the job that has waited longest (one per submit)."""
        with self._queue_lock:
            if self._closing or not self._waiting:
                return
            name = self._running = self._waiting.pop(0)
        try:
            self._run(name)
        finally:
            with self._queue_lock:
                self._running = None

    def _run(self, name: str) -> None:
        started = time.monotonic()
        self.on_event(f"{name}: started")
        try:
            summary = run_job(name, self.settings)
            self.on_event(f"{summary} ({time.monotonic() - started:.1f}s)")
            # Prepare the candidate table and title search's index for the new version
            # here, on the job's thread, so the first query after a delta does not pay.
            prepare_for_new_version(self.warehouse)
            prepare_search_for_new_version(self.warehouse)
        except WatchBuddyError as exc:
            # Recorded as a failed run by the job itself; the next slot runs as planned.
            self.on_event(f"{name} failed: {exc}")
        except Exception as exc:  # keep the scheduler alive; the run record says 'failed'
            log.exception("job %s crashed", name)
            self.on_event(f"{name} crashed: {type(exc).__name__}: {exc}")

    def next_runs(self) -> dict[str, dt.datetime | None]:
        if self._aps is not None:
            return {j.id: j.next_run_time for j in self._aps.get_jobs()}
        now = utcnow()
        return {name: t.get_next_fire_time(None, now) for name, t in self.triggers.items()}

    def stop_new_runs(self) -> str | None:
        """Start no further job (queued ones are dropped: they have no run record, so they
        catch up at the next start) and return the one running now, if any: the only thing
        a shutdown still waits for. Idempotent."""
        with self._queue_lock:
            self._closing = True
            self._waiting.clear()
            return self._running

    def shutdown(self, wait: bool = True) -> None:
        """Stop scheduling; with `wait`, let a running job end: one that is talking to TMDB
        stops at its next request or retry and records a failed run (publishing nothing,
        the checkpoint unchanged), so a shutdown never waits out a TMDB outage. Jobs still
        waiting their turn do not start."""
        self.stop_new_runs()
        self._stop.set()
        if self._watcher is not None and self._watcher is not threading.current_thread():
            self._watcher.join(timeout=10)
        if self._aps is not None:
            request_stop()
            try:
                self._aps.shutdown(wait=wait)
                if self._worker is not None:
                    self._worker.shutdown(wait=wait, cancel_futures=True)
            finally:
                clear_stop()
            self._aps = None
            self._worker = None
        self.lock.release()


def last_runs(warehouse: Warehouse) -> dict[str, dt.datetime]:
    """When each scheduled job last started (from the `runs` view)."""
    return {
        BY_RECORD[kind].name: started
        for kind, started in last_started(warehouse).items()
        if kind in BY_RECORD
    }


def jobs_status(settings: Settings, outlook: bool = True) -> dict[str, Any]:
    """What `watchbuddy jobs` shows: schedules, next runs, last runs, the lock holder, and
    (`outlook`; it reads the pool) what the next run of a job whose size is derived does."""
    warehouse = Warehouse(settings.warehouse)
    holder = SchedulerLock(warehouse.root).holder()
    now = utcnow()
    last = {
        BY_RECORD[kind].name: details
        for kind, details in last_run_details(warehouse).items()
        if kind in BY_RECORD
    }
    running = running_jobs(warehouse)
    # The active scheduler's own next runs when one is running; else what the trigger says.
    planned = (holder or {}).pop("next_runs", None) or {}
    rows = []
    for spec in JOBS:
        trigger = job_trigger(spec, settings)
        next_run = (
            dt.datetime.fromisoformat(planned[spec.name])
            if planned.get(spec.name)
            else trigger.get_next_fire_time(None, now)
        )
        rows.append(
            {
                "job": spec.name,
                "schedule": spec.schedule(settings),
                "next_run": next_run,
                "needs_tmdb": spec.needs_tmdb,
                "runnable": settings.has_tmdb_credential or not spec.needs_tmdb,
                "running_pid": running.get(spec.name, {}).get("pid"),
                # What its next run will do, and why (jobs whose size is derived say it).
                "outlook": spec.outlook(settings, runs_per_day(trigger))
                if spec.outlook and outlook
                else None,
                **last.get(spec.name, {}),
            }
        )
    return {"scheduler_lock": holder, "jobs": rows}
