"""The scheduler: jobs fire, failures are recorded, one runner per warehouse across processes."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import watchbuddy
from tests.conftest import run_cli
from watchbuddy.devtools.fake_tmdb import Catalogue, FakeTmdb
from watchbuddy.errors import ConfigError
from watchbuddy.jobs.scheduler import (
    Scheduler,
    first_runs,
    job_lock,
    last_runs,
    parse_schedule,
    period_seconds,
    run_job,
)
from watchbuddy.jobs.signals import StopSignals
from watchbuddy.jobs.specs import JOB_NAMES, JOBS
from watchbuddy.pool.candidates import CandidateFilters, provider_for
from watchbuddy.pool.search import saved_index
from watchbuddy.settings import Secret, Settings
from watchbuddy.sources.tmdb import ingest
from watchbuddy.store.views import materialized_pool
from watchbuddy.store.warehouse import TABLES, Warehouse

NEVER = "0 0 1 1 *"  # cron: once a year, i.e. not during a test
TODAY = dt.date.today()


@pytest.fixture
def tmdb():
    catalogue = Catalogue.generate(120, 40, TODAY - dt.timedelta(days=60), TODAY, seed=4)
    with FakeTmdb(catalogue, api_key="k") as server:
        yield server


def make_settings(tmp_path: Path, tmdb: FakeTmdb | None, **extra) -> Settings:
    values = dict(
        data_dir=tmp_path / "data",
        warehouse=tmp_path / "wh",
        tmdb_api_key=Secret("k") if tmdb else None,
        tmdb_base_url=tmdb.base_url if tmdb else "http://127.0.0.1:9/3",
        tmdb_exports_url=tmdb.exports_url if tmdb else "http://127.0.0.1:9/p/exports",
        exports_backfill_days=2,
        tmdb_rps=500.0,
        ingest_start=TODAY - dt.timedelta(days=90),
        schedule_ingest_movies="every 1s",
        schedule_ingest_tv=NEVER,
        schedule_refresh_movies=NEVER,
        schedule_refresh_tv=NEVER,
        schedule_compact=NEVER,
        schedule_exports=NEVER,
        schedule_refresh_titles=NEVER,
        schedule_providers=NEVER,
        watch_regions=("US",),  # so the providers job fetches (the fake's US) instead of skipping
    )
    values.update(extra)
    return Settings(**values)


def runs(settings: Settings) -> list[tuple]:
    con = watchbuddy.connect(settings.warehouse)
    return con.sql("SELECT job, media_type, status, pid FROM runs ORDER BY started_at").fetchall()


def wait_for(condition, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError("condition not met in time")


def test_schedules_parse_intervals_offsets_and_cron() -> None:
    assert period_seconds(parse_schedule("every 2h")) == 7200
    assert period_seconds(parse_schedule("every 2h at +1h")) == 7200
    assert period_seconds(parse_schedule("30 3 * * *")) == 86400
    for bad in ("every two hours", "every 0s", "61 * * * *"):
        with pytest.raises(ConfigError):
            parse_schedule(bad)


def test_overdue_jobs_catch_up_at_once_or_after_their_stagger() -> None:
    now = dt.datetime(2025, 3, 1, 10, 17, 42, tzinfo=dt.UTC)
    triggers = {
        "ingest-movies": parse_schedule("every 2h"),
        "ingest-tv": parse_schedule("every 2h at +1h"),
        "compact": parse_schedule("30 4 * * *"),
    }
    second = dt.timedelta(seconds=1)
    # Nothing ran yet: every job is overdue; the staggered one catches up an hour later.
    plan = first_runs(triggers, {}, now)
    assert abs(plan["ingest-movies"] - now) < second
    assert abs(plan["ingest-tv"] - (now + dt.timedelta(hours=1))) < second
    assert abs(plan["compact"] - now) < second  # cron: at once
    assert plan["ingest-movies"] < plan["compact"]  # due together: in the order of JOBS
    # Ran within the period: the next slot, not a catch-up; overdue: as above.
    last = {
        "ingest-movies": now - dt.timedelta(minutes=30),
        "ingest-tv": now - dt.timedelta(hours=3),
        "compact": now - dt.timedelta(hours=1),
    }
    plan = first_runs(triggers, last, now)
    assert plan["ingest-movies"] == last["ingest-movies"] + dt.timedelta(hours=2)  # its cadence
    assert abs(plan["ingest-tv"] - (now + dt.timedelta(hours=1))) < second
    assert plan["compact"] == dt.datetime(2025, 3, 2, 4, 30, tzinfo=dt.UTC)


def test_a_first_start_runs_ingest_movies_at_once_and_ingest_tv_an_hour_later(
    tmp_path, tmdb
) -> None:
    settings = make_settings(
        tmp_path, tmdb, schedule_ingest_movies="every 2h", schedule_ingest_tv="every 2h at +1h"
    )
    hour, slack = dt.timedelta(hours=1), dt.timedelta(seconds=5)
    before = dt.datetime.now(dt.UTC)
    scheduler = Scheduler(settings)
    scheduler.start()
    try:
        wait_for(lambda: scheduler.active)
        after = dt.datetime.now(dt.UTC)
        # ingest-tv is not due yet: it catches up an hour after the scheduler became active
        tv = scheduler.next_runs()["ingest-tv"]
        assert tv is not None and before + hour <= tv <= after + hour + slack
        # ingest-movies catches up at once (then its next slot is 2 h after that catch-up)
        wait_for(lambda: any(r[:3] == ("ingest", "movie", "ok") for r in runs(settings)))
        movies = scheduler.next_runs()["ingest-movies"]
        assert movies is not None and before + 2 * hour <= movies <= after + 2 * hour + slack
        started = (
            watchbuddy.connect(settings.warehouse)
            .sql("SELECT min(started_at) FROM runs WHERE job = 'ingest' AND media_type = 'movie'")
            .fetchall()[0][0]
        )
        assert before <= started <= after + dt.timedelta(seconds=60)
        assert not any(r[:2] == ("ingest", "tv") for r in runs(settings))
    finally:
        scheduler.shutdown()


def _ends(name: str, message: str) -> bool:
    """Whether a scheduler event says how a run of `name` ended (its summary or failure)."""
    return message != f"{name}: started" and message.startswith(
        (f"{name}: ", f"{name} failed: ", f"{name} crashed: ")
    )


def _job_spans(events: list[tuple[float, str]]) -> list[tuple[str, float, float]]:
    """(job, start, end) of each job's first run from a scheduler's events, by start."""
    spans = []
    for name in JOB_NAMES:
        begun = [t for t, message in events if message == f"{name}: started"]
        ended = [t for t, message in events if _ends(name, message)]
        if begun and ended:
            spans.append((name, begun[0], ended[0]))
    return sorted(spans, key=lambda span: span[1])


def test_jobs_due_together_run_one_at_a_time_and_none_times_out_on_the_lock(
    tmp_path, tmdb, monkeypatch
) -> None:
    # A job that cannot take the warehouse write lock within this gives up ("Another process
    # is writing"); the first job holds the lock far longer (its first answers are slow).
    monkeypatch.setattr(ingest, "WRITE_LOCK_WAIT_SECONDS", 0.5)
    tmdb.faults.update({"slow": 5, "slow_seconds": 0.4})
    settings = make_settings(tmp_path, tmdb, schedule_ingest_movies=NEVER)
    events: list[tuple[float, str]] = []
    scheduler = Scheduler(settings, on_event=lambda m: events.append((time.monotonic(), m)))
    scheduler.start()
    try:
        # every job is overdue at the first start: all of them come due together
        wait_for(lambda: all(any(_ends(n, m) for _, m in events) for n in JOB_NAMES))
    finally:
        scheduler.shutdown()
    failures = [m for _, m in events if " failed: " in m or " crashed: " in m]
    assert failures == []
    spans = _job_spans(events)
    assert [span[0] for span in spans] == list(JOB_NAMES)  # in the order they came due
    for earlier, later in itertools.pairwise(spans):
        assert earlier[2] <= later[1], f"{later[0]} started before {earlier[0]} ended"
    # every job is ok; compact too: it merges the history day files the exports job landed
    assert sorted(r[2] for r in runs(settings)) == ["ok"] * len(JOBS)


def test_jobs_fire_and_land_data(tmp_path, tmdb) -> None:
    settings = make_settings(tmp_path, tmdb)
    scheduler = Scheduler(settings)
    scheduler.start()
    try:
        wait_for(lambda: sum(1 for r in runs(settings) if r[:3] == ("ingest", "movie", "ok")) >= 2)
        assert scheduler.active
    finally:
        scheduler.shutdown()
    movies = {t.id for t in tmdb.catalogue.window("movie", None, TODAY)}
    landed = (
        watchbuddy.connect(settings.warehouse)
        .sql("SELECT tmdb_id FROM pool WHERE media_type = 'movie'")
        .fetchall()
    )
    assert {r[0] for r in landed} == movies
    # Every job that never ran ran once at start (the catch-up rule); only the 1 s one again.
    counts = {}
    for job, media, _, _ in runs(settings):
        counts[(job, media)] = counts.get((job, media), 0) + 1
    assert counts[("ingest", "movie")] >= 2
    assert counts[("ingest", "tv")] == counts[("refresh-votes", "movie")] == 1


def test_each_job_writes_only_the_tables_its_spec_declares(tmp_path, tmdb) -> None:
    settings = make_settings(tmp_path, tmdb)
    warehouse = Warehouse(settings.warehouse)
    for job in JOBS:
        before = warehouse.read_manifest().tables
        summary = run_job(job.name, settings)
        after = warehouse.read_manifest().tables
        changed = {t for t in TABLES if before.get(t, []) != after.get(t, [])}
        assert summary.startswith(f"{job.name}: ")
        assert "runs" in changed and changed <= set(job.writes), (job.name, changed)
    # Each job's run record maps back to it (the catch-up rule reads them so).
    assert set(last_runs(warehouse)) == set(JOB_NAMES)


def test_a_failing_job_is_recorded_and_the_next_slot_still_runs(tmp_path, tmdb) -> None:
    settings = make_settings(tmp_path, tmdb, tmdb_api_key=Secret("wrong"))
    scheduler = Scheduler(settings)
    scheduler.start()
    try:
        wait_for(
            lambda: sum(1 for r in runs(settings) if r[:3] == ("ingest", "movie", "failed")) >= 2
        )
    finally:
        scheduler.shutdown()


def test_without_credential_jobs_skip_with_a_recorded_reason(tmp_path) -> None:
    settings = make_settings(tmp_path, None)
    scheduler = Scheduler(settings)
    scheduler.start()
    try:
        wait_for(lambda: any(r[2] == "skipped" and r[0] != "compact" for r in runs(settings)))
    finally:
        scheduler.shutdown()
    message = (
        watchbuddy.connect(settings.warehouse)
        .sql("SELECT messages[1] FROM runs WHERE status = 'skipped' AND job <> 'compact' LIMIT 1")
        .fetchall()[0][0]
    )
    assert "no TMDB credential" in message


def test_a_restart_does_not_repeat_a_slot_that_already_ran(tmp_path, tmdb) -> None:
    settings = make_settings(tmp_path, tmdb, schedule_ingest_movies="every 1h")
    first = Scheduler(settings)
    first.start()
    try:
        # never ran: each catches up at once, one after another; wait until all have ended
        # (one still waiting its turn at the shutdown would not start, and would catch up in
        # the second scheduler)
        wait_for(lambda: sum(r[2] != "running" for r in runs(settings)) == len(JOBS))
    finally:
        first.shutdown()
    ran = len(runs(settings))
    second = Scheduler(settings)
    second.start()
    try:
        wait_for(lambda: second.active)
        now = dt.datetime.now(dt.UTC)
        planned = second.next_runs()  # APScheduler's own next run times
        # ingest-movies ran within its period: planned for its next slot, an hour after its
        # last run. A catch-up would have been planned for now and, once fired, moved to
        # now + 1 h, which is not that slot.
        slot = last_runs(Warehouse(settings.warehouse))["ingest-movies"] + dt.timedelta(hours=1)
        assert planned["ingest-movies"] == slot
        assert 3500 < (slot - now).total_seconds() <= 3600
        # No job is due now or was fired (a fired one would still be pending or recorded).
        assert all(t is not None and t > now + dt.timedelta(minutes=55) for t in planned.values())
        assert second.pending == ()
        assert len(runs(settings)) == ran
    finally:
        second.shutdown()


def _schedule_process(settings: Settings, tmdb: FakeTmdb, interval: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "WATCHBUDDY_WAREHOUSE": str(settings.warehouse),
        "TMDB_API_KEY": "k",
        "WATCHBUDDY_TMDB_BASE_URL": tmdb.base_url,
        "WATCHBUDDY_TMDB_RPS": "500",
        "WATCHBUDDY_INGEST_START": settings.ingest_start.isoformat(),
        "WATCHBUDDY_SCHEDULE_INGEST_MOVIES": interval,
        "WATCHBUDDY_SCHEDULE_INGEST_TV": NEVER,
        "WATCHBUDDY_SCHEDULE_REFRESH_MOVIES": NEVER,
        "WATCHBUDDY_SCHEDULE_REFRESH_TV": NEVER,
        "WATCHBUDDY_SCHEDULE_COMPACT": NEVER,
        "WATCHBUDDY_SCHEDULE_EXPORTS": NEVER,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "watchbuddy", "schedule"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


class StderrLines:
    """A child's stderr, read line by line as it comes on a thread of its own, so a test can
    wait for a line (and the pipe never fills)."""

    def __init__(self, process: subprocess.Popen) -> None:
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(process.stderr,), daemon=True)
        self._thread.start()

    def _read(self, stream) -> None:
        for line in stream:
            self.lines.append(line.rstrip("\n"))

    def has(self, text: str) -> bool:
        return any(text in line for line in list(self.lines))

    def text(self) -> str:
        """Everything, once the child has exited and closed its end."""
        self._thread.join(timeout=30)
        return "\n".join(self.lines)


def test_schedule_says_which_job_it_waits_for_and_nothing_when_idle(tmp_path, tmdb) -> None:
    settings = make_settings(tmp_path, tmdb, schedule_ingest_movies="every 1h")
    for name in JOB_NAMES:  # every job ran just now: none is due while the test runs
        run_job(name, settings)
    process = _schedule_process(settings, tmdb, "every 1h")
    stderr = StderrLines(process)
    try:
        wait_for(lambda: stderr.has(f"active: pid {process.pid}"))
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    text = stderr.text()
    assert process.returncode == 0, text
    lines = [line.split(" ", 2)[2] for line in text.splitlines()]  # without the timestamp
    assert lines[-2:] == ["stopping", "stopped"], text
    assert "waiting for" not in text and "started" not in text


@pytest.mark.slow
def test_two_processes_run_each_slot_once_and_the_survivor_takes_over(tmp_path, tmdb) -> None:
    settings = make_settings(tmp_path, tmdb)
    spawned = time.monotonic()
    first = _schedule_process(settings, tmdb, "every 3s")
    wait_for(
        lambda: (
            (settings.warehouse / ".scheduler.lock").exists()
            and (settings.warehouse / ".scheduler.lock").read_text().strip() != ""
        )
    )
    second = _schedule_process(settings, tmdb, "every 3s")
    second_stderr = StderrLines(second)

    def movie_runs() -> list[tuple]:
        return [r for r in runs(settings) if r[:2] == ("ingest", "movie")]

    try:
        # Once the second process is up and passive, at least one more slot runs (two in all).
        wait_for(
            lambda: second_stderr.has(f"passive: the scheduler lock is held by pid {first.pid}")
        )
        seen = len(movie_runs())
        wait_for(lambda: len(movie_runs()) >= max(2, seen + 1))
        before_kill = runs(settings)
        elapsed = time.monotonic() - spawned
        pids = {r[3] for r in before_kill}
        assert pids == {first.pid}  # only the active process ran jobs
        ingested = [r for r in before_kill if r[:2] == ("ingest", "movie")]
        # one run per 3 s slot (after the catch-up at activation), not one per process
        assert 2 <= len(ingested) <= 1 + elapsed / 3
        status = json.loads(
            run_cli(
                "jobs",
                "--json",
                cwd=tmp_path,
                env={"WATCHBUDDY_WAREHOUSE": str(settings.warehouse)},
            ).stdout
        )
        assert status["scheduler_lock"]["pid"] == first.pid
        planned = {r["job"]: r["next_run"] for r in status["jobs"]}
        assert (
            planned["ingest-movies"]
            < (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=10)).isoformat()
        )
        first.send_signal(signal.SIGKILL)
        first.wait()
        # It retries the lock every 2 s; the deadline is for a loaded machine, where the
        # suite runs beside other workers (the test is that it takes over, not how fast).
        wait_for(lambda: any(r[3] == second.pid for r in runs(settings)), seconds=90)
    finally:
        for process in (first, second):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        second.wait(timeout=60)
        first.wait(timeout=60)
    assert second.returncode == 0  # SIGTERM: clean exit
    assert "stopped" in second_stderr.text()
    # A run cut short by the SIGKILL may stay 'running' (the next writer marks it incomplete),
    # but only one of the killed process's.
    stuck = [r for r in runs(settings) if r[2] == "running"]
    assert all(r[3] == first.pid for r in stuck) and len(stuck) <= 1


def test_jobs_command_lists_schedules_and_runs_a_job_now(tmp_path, tmdb) -> None:
    env = {
        "WATCHBUDDY_WAREHOUSE": str(tmp_path / "wh"),
        "TMDB_API_KEY": "k",
        "WATCHBUDDY_TMDB_BASE_URL": tmdb.base_url,
        "WATCHBUDDY_TMDB_RPS": "500",
        "WATCHBUDDY_INGEST_START": (TODAY - dt.timedelta(days=90)).isoformat(),
    }
    done = run_cli("jobs", "run", "ingest-tv", cwd=tmp_path, env=env)
    assert done.returncode == 0 and done.stdout.startswith("ingest-tv: ")
    status = json.loads(run_cli("jobs", "--json", cwd=tmp_path, env=env).stdout)
    by_name = {r["job"]: r for r in status["jobs"]}
    assert set(by_name) == {
        "ingest-movies",
        "ingest-tv",
        "refresh-votes-movies",
        "refresh-votes-tv",
        "exports",
        "refresh-titles",
        "providers",
        "compact",
    }
    assert by_name["ingest-tv"]["last_status"] == "ok"
    # refresh-titles says what its next run fetches: the shows ingest-tv landed, at the pace
    plan = by_name["refresh-titles"]["outlook"]["refresh_plan"]
    assert plan["titles"] > 0 and plan["per_run"] == plan["pace"] == 1
    assert by_name["ingest-movies"].get("last_status") is None
    assert by_name["ingest-tv"]["schedule"] == "every 2h at +1h"
    assert status["scheduler_lock"] is None
    table = run_cli("jobs", cwd=tmp_path, env=env)
    assert "Scheduler: not running" in table.stdout and "ingest-tv" in table.stdout
    compacted = run_cli("jobs", "run", "compact", cwd=tmp_path, env=env)
    assert compacted.returncode == 0 and "nothing to do below 8" in compacted.stdout
    status = json.loads(run_cli("jobs", "--json", cwd=tmp_path, env=env).stdout)
    assert {r["job"]: r.get("last_status") for r in status["jobs"]}["compact"] == "skipped"
    bad = run_cli("jobs", "run", "nope", cwd=tmp_path, env=env)
    assert bad.returncode == 2 and "jobs: ingest-movies" in bad.stderr


def test_a_job_never_runs_twice_at_once_across_processes(tmp_path) -> None:
    env = {"WATCHBUDDY_WAREHOUSE": str(tmp_path / "wh")}
    with job_lock(Warehouse(tmp_path / "wh"), "compact"):
        busy = run_cli("jobs", "run", "compact", cwd=tmp_path, env=env)
        status = json.loads(run_cli("jobs", "--json", cwd=tmp_path, env=env).stdout)
    assert busy.returncode == 1
    assert busy.stderr.count("\n") == 1 and "compact is already running" in busy.stderr
    assert {r["job"]: r["running_pid"] for r in status["jobs"]}["compact"] == os.getpid()
    done = run_cli("jobs", "run", "compact", cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr


def test_after_a_job_the_app_has_the_new_version_loaded_before_anyone_asks(tmp_path, tmdb) -> None:
    settings = make_settings(tmp_path, tmdb, schedule_ingest_movies=NEVER)
    provider = provider_for(settings)  # the app serves candidates from this warehouse
    assert provider.get(CandidateFilters(min_votes=0)).frame.is_empty()
    scheduler = Scheduler(settings)
    scheduler.start()
    try:
        # every job is overdue at the first start: wait until all of them have ended
        wait_for(lambda: sum(r[2] != "running" for r in runs(settings)) == len(JOBS))
        warehouse = Warehouse(settings.warehouse)
        wait_for(lambda: provider.loaded_version == warehouse.read_manifest().version)
        assert any(r[:3] == ("ingest", "tv", "ok") for r in runs(settings))
    finally:
        scheduler.shutdown()
    assert provider.get(CandidateFilters(min_votes=0, media_type="tv")).frame.height > 0
    # Title search's index for the new pool file was built and saved after the job too.
    assert saved_index(materialized_pool(warehouse)).exists()


@pytest.mark.slow
def test_sigterm_during_a_tmdb_outage_stops_in_seconds_and_records_why(tmp_path, tmdb) -> None:
    # every request answers 503 with Retry-After 20 s: without the stop, the job would keep
    # retrying for minutes and hold the shutdown
    tmdb.faults.update({"status_burst": 10_000, "burst_status": 503, "retry_after": 20})
    settings = make_settings(tmp_path, tmdb)
    process = _schedule_process(settings, tmdb, "every 1h")
    stderr = StderrLines(process)
    try:
        # every job is overdue at the first start; they run one at a time, ingest-movies
        # first: it talks to TMDB, the others wait their turn
        wait_for(lambda: any(r[:3] == ("ingest", "movie", "running") for r in runs(settings)))
        # TMDB has answered with its 503 (the fault counts down as the answer is chosen), so
        # the job is in its first Retry-After wait (20 s) or entering it: either way it must
        # stop at its next check, not wait that out.
        wait_for(lambda: tmdb.faults.status_burst < 10_000)
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0
    assert "stopping: waiting for ingest-movies to finish" in stderr.text()
    con = watchbuddy.connect(settings.warehouse)
    # The running job stopped and recorded why; the jobs still waiting their turn did not
    # start (no run record, so they catch up at the next start).
    ingest_runs = con.sql(
        "SELECT media_type, status, messages[-1] FROM runs WHERE job = 'ingest'"
    ).fetchall()
    assert len(ingest_runs) == 1
    for media_type, status, message in ingest_runs:
        assert media_type == "movie" and status == "failed" and "shutting down" in message
    assert con.sql("SELECT count(*) FROM runs").fetchall() == [(1,)]
    assert con.sql("SELECT count(*) FROM runs WHERE status = 'running'").fetchall() == [(0,)]
    assert con.sql("SELECT count(*) FROM checkpoints").fetchall() == [(0,)]


@pytest.mark.timeout(60)
def test_a_stop_signal_taken_by_a_busy_job_thread_still_wakes_the_main_thread() -> None:
    """The kernel hands a process signal to any thread; while a job ran, it was often the
    job's thread, and a main thread parked in a bare wait never saw it (`schedule` ignored
    SIGTERM until killed). Here the signal goes to another thread on purpose."""
    done = threading.Event()
    before = signal.getsignal(signal.SIGTERM)

    def busy_thread_takes_the_signal() -> None:
        while not done.wait(0.05):  # repeated: one may land before the wait begins
            signal.pthread_kill(threading.get_ident(), signal.SIGTERM)

    with StopSignals() as signals:
        sender = threading.Thread(target=busy_thread_takes_the_signal, daemon=True)
        sender.start()
        try:
            assert signals.wait() == signal.SIGTERM
        finally:
            done.set()
            sender.join()
    assert signal.getsignal(signal.SIGTERM) is before  # the previous handler is back
