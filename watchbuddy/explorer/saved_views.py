"""Explore's "Saved views" box: name the current filters, and come back to them.

A view is the page's link query string under a name, in the warehouse (`store.saved_views`),
so `recommend --preset NAME` reads the same views. Picking a view applies it exactly as
opening its link would (a parameter that no longer exists is dropped with a note).
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from watchbuddy.errors import WatchBuddyError
from watchbuddy.explorer import data
from watchbuddy.explorer.common import PageContext
from watchbuddy.explorer.query_params import ParsedParams, query_string, read_query_string
from watchbuddy.pool.filters import CandidateFilters
from watchbuddy.safe_text import plain_markdown
from watchbuddy.store.saved_views import MAX_NAME, delete_view, save_view

PICK = "view_pick"
NAME = "view_name"
DONE = "view_done"  # what the last save or delete did, shown after the rerun


def sidebar(context: PageContext, filters: CandidateFilters) -> ParsedParams | None:
    """The box in the sidebar; the picked view's filters when "Apply" was pressed."""
    warehouse = context.warehouse
    box = st.sidebar.expander("Saved views", expanded=True)
    done = st.session_state.pop(DONE, None)
    if done:
        box.success(plain_markdown(done))
    try:
        views = {view.name: view for view in data.saved_views(context.root, context.version)}
    except WatchBuddyError as exc:
        box.error(plain_markdown(exc))
        return None
    pick: Any = box.selectbox(
        "Saved view",
        list(views),
        index=None,
        key=PICK,
        placeholder="choose a view" if views else "none saved yet",
        help="Apply a saved view's filters, or delete it. `recommend --preset NAME` reads "
        "the same views.",
    )
    apply, delete = box.columns(2)
    if apply.button("Apply", key="view_apply", disabled=pick is None) and pick in views:
        return read_query_string(views[pick].query)[0]
    if delete.button("Delete", key="view_delete", disabled=pick is None) and pick in views:
        _write(lambda: delete_view(warehouse, pick), f"Deleted the view {pick!r}.", box)
    name = box.text_input("Save these filters as", key=NAME, max_chars=MAX_NAME)
    if box.button("Save view", key="view_save", disabled=not name.strip()):
        replaced = " (replaced)" if " ".join(name.split()) in views else ""
        query = query_string(filters)
        _write(
            lambda: save_view(warehouse, name, query),
            f"Saved the view {' '.join(name.split())!r}{replaced}.",
            box,
        )
    return None


def _write(action: Any, message: str, box: Any) -> None:
    """Run a save or delete; on success rerun (so the list shows it) with `message`."""
    try:
        action()
    except WatchBuddyError as exc:
        box.error(plain_markdown(exc))
        return
    st.session_state[DONE] = message
    st.session_state.pop(PICK, None)
    st.rerun()
