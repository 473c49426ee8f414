"""The Streamlit explorer's entry point: page setup, the in-app scheduler, landing the data
dir on first start, and the navigation between the four pages in `watchbuddy.explorer`.

Started by `streamlit run app.py`, `watchbuddy app` or `make run`. The pages are files
(not functions) so that each is its own script with its own URL (`/pool`, `/jobs`,
`/about`; Explore is `/`) and so Streamlit's AppTest can switch to them.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from watchbuddy.errors import WatchBuddyError
from watchbuddy.explorer.serving import disable_nagle_on_open_sockets
from watchbuddy.jobs.scheduler import Scheduler
from watchbuddy.safe_text import plain_markdown
from watchbuddy.settings import Settings, load_settings
from watchbuddy.sources.csv.land import bootstrap, find_inputs
from watchbuddy.store.warehouse import Warehouse

PAGES_DIR = Path(__file__).resolve().parent
# file, title, url path, icon
PAGES = [
    ("page_explore.py", "Explore", "explore", ":material/search:"),
    ("page_pool.py", "Pool", "pool", ":material/bar_chart:"),
    ("page_jobs.py", "Jobs", "jobs", ":material/schedule:"),
    ("page_about.py", "About", "about", ":material/info:"),
]


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
                f"{plain_markdown(r.file)}: {r.status}, {r.accepted:,} accepted, "
                f"{r.rejected:,} rejected"
            ),
        )
        status.update(
            label=f"Landed {sum(r.accepted for r in reports):,} titles.",
            state="complete",
            expanded=False,
        )


@st.cache_resource(show_spinner=False)
def _server_sockets_without_nagle() -> int:
    """Once per server process: the fix `watchbuddy app` applies before the server starts,
    for a server started by `streamlit run app.py` (see `watchbuddy.explorer.serving`)."""
    return disable_nagle_on_open_sockets()


@st.cache_resource(show_spinner=False)
def _scheduler(root: str) -> Scheduler:
    """One scheduler per server process (not per rerun or session); it is active only if
    no other process holds the warehouse's scheduler lock."""
    scheduler = Scheduler(load_settings())
    scheduler.start()
    return scheduler


def main() -> None:
    st.set_page_config(page_title="WatchBuddy pool", page_icon="🎬", layout="wide")
    _server_sockets_without_nagle()
    try:
        settings = load_settings()
        warehouse = Warehouse(settings.warehouse)
        if settings.scheduler_in_app:
            _scheduler(str(warehouse.root))
        _auto_bootstrap(settings, warehouse)
    except WatchBuddyError as exc:
        st.error(plain_markdown(exc))
        st.stop()
    pages = [
        st.Page(PAGES_DIR / file, title=title, url_path=url, icon=icon, default=i == 0)
        for i, (file, title, url, icon) in enumerate(PAGES)
    ]
    st.navigation(pages).run()


if __name__ == "__main__":
    main()
