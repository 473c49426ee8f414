"""About: the TMDB attribution TMDB's terms require, where the data came from, versions."""

from __future__ import annotations

import platform
from importlib.metadata import PackageNotFoundError, version

import polars as pl
import streamlit as st

from watchbuddy import __version__
from watchbuddy.explorer import data
from watchbuddy.explorer.common import TMDB_NOTICE, page_context
from watchbuddy.explorer.query_params import PARAMETERS
from watchbuddy.pool.modes import MODES

COMPONENTS = ("duckdb", "polars", "pyarrow", "streamlit", "httpx", "apscheduler")


def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "not installed"


def render() -> None:
    context = page_context()
    st.title("About WatchBuddy")
    st.info(TMDB_NOTICE)
    st.write(
        "Titles come from The Movie Database (TMDB): the Kaggle CSV dumps of TMDB movies and "
        "shows landed by `watchbuddy bootstrap`, kept current by the TMDB API (new titles by "
        "release date, vote refreshes of recent titles). Posters load from TMDB's image CDN "
        "and each title links to its TMDB page."
    )
    st.subheader("Where this pool's data came from")
    if context.manifest.is_empty:
        st.write("Nothing yet: the pool is empty.")
    else:
        sources = data.sources(context.root, context.version)
        st.dataframe(sources, hide_index=True)
    st.caption(
        f"Warehouse `{context.warehouse.root}`, manifest version {context.version}, last "
        f"commit {context.manifest.committed_at or 'never'} (UTC)."
    )
    st.subheader("Discovery modes")
    st.dataframe(
        pl.DataFrame(
            [
                {"mode": name, "vote floor": mode.min_votes, **mode.weights(similar=True)}
                for name, mode in MODES.items()
            ]
        ),
        hide_index=True,
    )
    st.caption(
        "The weights with a title to be like (More like this, or a history in for_you); "
        "without one, similarity is left out and the others count in the same proportions."
    )
    st.subheader("Link parameters of the Explore page")
    st.dataframe(
        pl.DataFrame({"parameter": list(PARAMETERS), "meaning": list(PARAMETERS.values())}),
        hide_index=True,
    )
    st.subheader("Versions")
    st.dataframe(
        pl.DataFrame(
            {
                "component": ["watchbuddy", "python", *COMPONENTS],
                "version": [
                    __version__,
                    platform.python_version(),
                    *(_version(c) for c in COMPONENTS),
                ],
            }
        ),
        hide_index=True,
    )


render()
