"""The Streamlit explorer (for now: pool stats, imports and rejects).

Started by `streamlit run app.py`, `watchbuddy app` or `make run`. Every read goes
through `watchbuddy.connect()`, and results are cached per manifest version, so data
published by another process appears on the next rerun without a restart.
"""

from __future__ import annotations

import polars as pl
import streamlit as st

from watchbuddy.errors import WatchBuddyError
from watchbuddy.land import bootstrap, find_inputs
from watchbuddy.scheduler import Scheduler, jobs_status
from watchbuddy.settings import Settings, load_settings
from watchbuddy.stats import pool_stats
from watchbuddy.views import open_views
from watchbuddy.warehouse import Warehouse

TMDB_NOTICE = "This product uses the TMDB API but is not endorsed or certified by TMDB."


@st.cache_data(show_spinner=False, max_entries=8)
def _stats(root: str, version: int) -> dict:
    warehouse = Warehouse(root)
    con = open_views(warehouse)
    try:
        stats = pool_stats(con, warehouse)
        stats["languages"] = con.sql(
            "SELECT original_language AS language, count(*) AS titles FROM pool "
            "GROUP BY ALL ORDER BY titles DESC LIMIT 20"
        ).pl()
        stats["decades"] = con.sql(
            "SELECT (year // 10) * 10 AS decade, media_type, count(*) AS titles FROM pool "
            "WHERE year IS NOT NULL GROUP BY ALL ORDER BY decade"
        ).pl()
        stats["import_rows"] = con.sql(
            "SELECT file, status, rows_read, accepted, duplicates, rejected, seconds, message, "
            "landed_at FROM imports ORDER BY batch DESC"
        ).pl()
        stats["rejects"] = con.sql(
            "SELECT file, line, reason, raw FROM rejects ORDER BY batch DESC, line LIMIT 500"
        ).pl()
    finally:
        con.close()
    return stats


def _auto_bootstrap(settings: Settings, warehouse: Warehouse) -> None:
    if not warehouse.read_manifest().is_empty or not settings.auto_bootstrap:
        return
    files = find_inputs(settings.data_dir)
    if not files:
        return
    with st.status(
        f"The pool is empty: landing {len(files)} file(s) from {settings.data_dir} first…",
        expanded=True,
    ) as status:
        reports = bootstrap(
            settings,
            on_report=lambda r: st.write(
                f"{r.file}: {r.status}, {r.accepted:,} accepted, {r.rejected:,} rejected"
            ),
        )
        status.update(
            label=f"Landed {sum(r.accepted for r in reports):,} titles.",
            state="complete",
            expanded=False,
        )


@st.cache_resource(show_spinner=False)
def _scheduler(root: str) -> Scheduler:
    """One scheduler per server process (not per rerun or session); it is active only if
    no other process holds the warehouse's scheduler lock."""
    scheduler = Scheduler(load_settings())
    scheduler.start()
    return scheduler


def _scheduler_panel(settings: Settings) -> None:
    status = jobs_status(settings)
    holder = status["scheduler_lock"]
    with st.expander("Scheduled jobs", expanded=False):
        if holder:
            st.write(f"Scheduler active in process {holder.get('pid')}.")
        else:
            st.write("No scheduler is running (WATCHBUDDY_SCHEDULER_IN_APP is off here).")
        if not settings.has_tmdb_credential:
            st.warning(
                "No TMDB credential: the ingest and refresh jobs are skipped. Set "
                "TMDB_API_KEY or TMDB_READ_ACCESS_TOKEN."
            )
        st.dataframe(
            pl.DataFrame(
                [
                    {
                        "job": r["job"],
                        "schedule": r["schedule"],
                        "next run": r["next_run"],
                        "last": r.get("last_status", "never"),
                        "started": r.get("last_started"),
                        "message": r.get("last_message"),
                    }
                    for r in status["jobs"]
                ]
            ),
            hide_index=True,
        )


def main() -> None:
    st.set_page_config(page_title="WatchBuddy pool", layout="wide")
    st.title("WatchBuddy candidate pool")
    try:
        settings = load_settings()
        warehouse = Warehouse(settings.warehouse)
        if settings.scheduler_in_app:
            _scheduler(str(warehouse.root))
        _auto_bootstrap(settings, warehouse)
        manifest = warehouse.read_manifest()
        stats = _stats(str(warehouse.root), manifest.version)
    except WatchBuddyError as exc:
        st.error(str(exc))
        st.stop()
        return
    if not stats["titles"]:
        st.info(
            f"The pool is empty. Put the TMDB CSV dumps in `{settings.data_dir}` (or run "
            "`watchbuddy demo-data`), then `watchbuddy bootstrap` or reload this page."
        )
        st.caption(TMDB_NOTICE)
        return
    cols = st.columns(4)
    cols[0].metric("Titles", f"{stats['titles']:,}")
    for i, media in enumerate(("movie", "tv"), start=1):
        cols[i].metric(media, f"{stats['by_media_type'].get(media, 0):,}")
    cols[3].metric("Older than six months", f"{stats['stale_share']:.0%}")
    left, right = st.columns(2)
    left.subheader("Top languages")
    left.bar_chart(stats["languages"], x="language", y="titles")
    right.subheader("Titles by decade")
    right.bar_chart(stats["decades"], x="decade", y="titles", color="media_type")
    st.subheader("Imports")
    st.dataframe(stats["import_rows"], hide_index=True)
    st.subheader("Rejected rows")
    rejects: pl.DataFrame = stats["rejects"]
    if rejects.is_empty():
        st.write("No rows were rejected.")
    else:
        st.dataframe(rejects, hide_index=True)
    _scheduler_panel(settings)
    st.caption(f"{TMDB_NOTICE} Warehouse: `{warehouse.root}`, version {manifest.version}.")


if __name__ == "__main__":
    main()
