"""Jobs: did last night's ingestion run? Scheduler status and lock holder, next runs, run
history with counts and errors, checkpoints, and a button to run a job now.

A job started here runs on a background thread of the server process through
`run_job`, the same path as the scheduler and `watchbuddy jobs run`, so its per-job OS lock
refuses a second run of the same job wherever it was started. While a job runs, the status
part of the page refreshes itself every few seconds.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass, field
from typing import Any

import polars as pl
import streamlit as st

from watchbuddy.errors import WatchBuddyError
from watchbuddy.explorer import data
from watchbuddy.explorer.common import PageContext, footer, page_context
from watchbuddy.jobs.scheduler import jobs_status, run_job, running_jobs
from watchbuddy.jobs.specs import JOB_NAMES
from watchbuddy.safe_text import plain_markdown
from watchbuddy.settings import Settings
from watchbuddy.store.warehouse import utcnow

REFRESH_SECONDS = 2.0


@dataclass
class BackgroundRun:
    job: str
    started: dt.datetime = field(default_factory=utcnow)
    finished: dt.datetime | None = None
    outcome: str = ""
    failed: bool = False


@st.cache_resource(show_spinner=False)
def _background_runs() -> dict[str, BackgroundRun]:
    """Runs started from the app, shared by every session of this server process."""
    return {}


def _start(job: str, settings: Settings) -> BackgroundRun:
    run = BackgroundRun(job)

    def work() -> None:
        try:
            run.outcome = run_job(job, settings)
        except WatchBuddyError as exc:
            run.outcome, run.failed = str(exc), True
        except Exception as exc:  # shown on the page; the run record says 'failed'
            run.outcome, run.failed = f"{type(exc).__name__}: {exc}", True
        finally:
            run.finished = utcnow()

    _background_runs()[job] = run
    threading.Thread(target=work, name=f"app-job-{job}", daemon=True).start()
    return run


def _status_table(status: dict[str, Any]) -> pl.DataFrame:
    return pl.DataFrame(
        [
            {
                "job": r["job"],
                "schedule": r["schedule"],
                "next run (UTC)": r["next_run"],
                "now": f"running (pid {r['running_pid']})" if r["running_pid"] else "",
                "last": r.get("last_status", "never"),
                "last started (UTC)": r.get("last_started"),
                "seconds": r.get("last_seconds"),
                "new": r.get("last_new"),
                "updated": r.get("last_updated"),
                "errors": r.get("last_errors"),
                "message": r.get("last_message"),
            }
            for r in status["jobs"]
        ],
        infer_schema_length=None,
    )


def _anything_running(context: PageContext) -> bool:
    return bool(running_jobs(context.warehouse)) or any(
        run.finished is None for run in _background_runs().values()
    )


def _live_status(context: PageContext, was_running: bool, read_at: dt.datetime) -> None:
    """Scheduler, jobs and the app's own runs. While a job runs this part reruns itself
    every few seconds; when the job is done the whole page reruns to show its history.
    A run of the app's that finished after the page read the warehouse (`read_at`) also
    reruns the page: else "finished" could show above a history read just before it."""
    # One look at the app's runs, used for the rerun decision and for what is shown: a run
    # finishing while this part draws must not show "finished" above a history read before
    # it published (the next refresh sees it finished and reruns the page).
    runs = [(run, run.finished) for run in _background_runs().values()]
    finished_since = any(finished is not None and finished >= read_at for _, finished in runs)
    if finished_since or (was_running and not _anything_running(context)):
        st.rerun()
    status = jobs_status(context.settings, outlook=False)  # reruns every few seconds
    holder = status["scheduler_lock"]
    if holder:
        st.success(
            f"Scheduler active in process {holder.get('pid')}"
            + (" (this app)" if holder.get("self") else "")
            + f", holding the scheduler lock since {holder.get('since', '?')}"
            + (f" on {holder['host']}" if holder.get("host") else "")
            + "."
        )
    else:
        st.info(
            "No scheduler is running: jobs run only when started here or by "
            "`watchbuddy jobs run`. Start one with `watchbuddy schedule`, or set "
            "WATCHBUDDY_SCHEDULER_IN_APP=true for the app to run one."
        )
    if not context.settings.has_tmdb_credential:
        st.warning(
            "No TMDB credential: the ingest and refresh jobs are skipped. Set TMDB_API_KEY or "
            "TMDB_READ_ACCESS_TOKEN and restart."
        )
    st.dataframe(_status_table(status), hide_index=True)
    age = data.tmdb_data_age(
        context.root, context.version, data.today(), data.refresh_pace(context.settings)
    )
    if age["refresh_plan"]:
        st.caption(
            f"`refresh-titles`: the next run fetches {age['refresh_plan']['why']}. "
            f"{age['over_limit']:,} of {age['titles']:,} titles are over "
            f"{age['max_age_days']} days old or never fetched from TMDB; at this pace the "
            f"oldest is fetched again by {age['oldest_refresh_at'] or '–'} (UTC)."
        )
    for run, finished in runs:
        if finished is None:
            st.write(f"⏳ {run.job}: started from the app at {run.started:%H:%M:%S} UTC…")
        elif run.failed:
            st.error(f"{run.job} (started from the app): {plain_markdown(run.outcome)}")
        else:
            st.success(f"{run.job} (started from the app) finished: {plain_markdown(run.outcome)}")


def render() -> None:
    read_at = utcnow()  # before the manifest is read: see _live_status
    context = page_context()
    st.title("Jobs")
    running = _anything_running(context)
    st.fragment(run_every=REFRESH_SECONDS if running else None)(_live_status)(
        context, running, read_at
    )
    with st.form("run_now"):
        st.write("Run a job now (it takes the same locks as the scheduler).")
        job = st.selectbox("Job", JOB_NAMES, key="job_to_run")
        if st.form_submit_button("Run now"):
            current = _background_runs().get(job)
            if current is not None and current.finished is None:
                st.error(f"{job} is already running (started {current.started:%H:%M:%S} UTC).")
            else:
                _start(job, context.settings)
                st.rerun()  # the status above now lists it as started from the app
    history = data.job_history(context.root, context.version)
    st.subheader("Run history")
    runs: pl.DataFrame = history["runs"]
    if runs.is_empty():
        st.write("No job has run yet.")
    else:
        failed = runs.filter(pl.col("status").is_in(["failed", "incomplete"])).height
        partial = runs.filter(pl.col("status") == "partial").height
        st.caption(
            f"Newest first; {failed} of the last {runs.height} runs failed or broke off, "
            f"{partial} published only part of what they asked TMDB for (see their messages)."
        )
        st.dataframe(runs, hide_index=True)
    st.subheader("Checkpoints")
    checkpoints: pl.DataFrame = history["checkpoints"]
    if checkpoints.is_empty():
        st.write("No ingestion has run yet: the first one starts from WATCHBUDDY_INGEST_START.")
    else:
        st.caption("Ingestion resumes from the last release date (the boundary day is re-read).")
        st.dataframe(checkpoints, hide_index=True)
    footer(context)


render()
