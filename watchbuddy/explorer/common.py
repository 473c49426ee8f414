"""What every explorer page needs: the settings, the warehouse as published right now, and
the one message for an empty pool."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from watchbuddy.errors import WatchBuddyError
from watchbuddy.explorer import data
from watchbuddy.pool.stats import synthetic_warning
from watchbuddy.safe_text import plain_markdown
from watchbuddy.settings import Settings, load_settings
from watchbuddy.store.warehouse import Manifest, Warehouse

TMDB_NOTICE = "This product uses the TMDB API but is not endorsed or certified by TMDB."


@dataclass(frozen=True)
class PageContext:
    settings: Settings
    warehouse: Warehouse
    manifest: Manifest

    @property
    def root(self) -> str:
        return str(self.warehouse.root.resolve())

    @property
    def version(self) -> int:
        return self.manifest.version


def page_context() -> PageContext:
    """Read on every rerun (one small file), so a page always shows the newest commit.
    A broken setting or manifest is shown as one error line and the page stops."""
    try:
        settings = load_settings()
        warehouse = Warehouse(settings.warehouse)
        context = PageContext(settings, warehouse, warehouse.read_manifest())
    except WatchBuddyError as exc:
        st.error(plain_markdown(exc))
        st.stop()
        raise  # st.stop() raises; this keeps type checkers honest
    if not context.manifest.is_empty:
        # Every page says so when the pool holds made-up titles.
        warning = synthetic_warning(data.pool_flags(context.root, context.version))
        if warning:
            st.warning(warning, icon=":material/science:")
    return context


def stop_if_empty(context: PageContext) -> None:
    """On an empty warehouse, say what to do next instead of showing empty tables."""
    if not context.manifest.is_empty:
        return
    st.info(
        f"The pool is empty. Put the TMDB CSV dumps in `{context.settings.data_dir}` (or run "
        "`watchbuddy demo-data`), then `watchbuddy bootstrap` or reload this page; the Jobs "
        "page can also ingest from the TMDB API once a key is set."
    )
    st.caption(TMDB_NOTICE)
    st.stop()


def footer(context: PageContext) -> None:
    st.caption(f"{TMDB_NOTICE} Warehouse `{context.warehouse.root}`, version {context.version}.")
