"""Explore: every candidate filter and discovery mode in the sidebar, bound to the URL.

The filters live in `st.session_state["explore_filters"]` (so they survive a visit to
another page) and are mirrored into the URL's query parameters after every change (so the
address bar is always a link to this view). A fresh session starts from the URL.
"""

from __future__ import annotations

import functools
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import polars as pl
import streamlit as st
from streamlit.elements.lib.column_types import ColumnConfig

from watchbuddy.errors import WatchBuddyError
from watchbuddy.explorer import data, saved_views
from watchbuddy.explorer.common import PageContext, footer, page_context, stop_if_empty
from watchbuddy.explorer.query_params import filters_from_params, params_from_filters
from watchbuddy.pool.candidates import STREAMING_COLUMN, read_watched_file, with_default_region
from watchbuddy.pool.filters import BY_NAME, FILTERS, CandidateFilters, Filter
from watchbuddy.pool.languages import picker_label
from watchbuddy.pool.modes import COMPONENTS, MODES
from watchbuddy.pool.similar_titles import NO_HISTORY
from watchbuddy.pool.streaming import ATTRIBUTION, Provider, find_provider, watch_page_url
from watchbuddy.safe_text import plain_markdown, printable
from watchbuddy.sources.history.land import HistoryReport, import_files
from watchbuddy.sources.history.lists import change
from watchbuddy.store.warehouse import Warehouse

STATE = "explore_filters"
NOTES = "explore_url_notes"
LIKED_NAMES = "explore_liked_names"  # liked key -> "Title (year)", for the More like chips
_MEDIA_WIDGET = BY_NAME["media_type"].widget
MEDIA_LABELS = dict(_MEDIA_WIDGET.labels or {}) if _MEDIA_WIDGET else {}
_MONETIZATION_WIDGET = BY_NAME["monetization"].widget
MONETIZATION_LABELS = dict(_MONETIZATION_WIDGET.labels or {}) if _MONETIZATION_WIDGET else {}
# Filters whose widgets share a row: the first -> the second.
SIDE_BY_SIDE = {"year_min": "year_max", "runtime_min": "runtime_max", "limit": "offset"}
# Filters whose multiselect takes what is typed (any keyword; the pool's vocabulary is too
# large to list).
TYPED = ("keywords", "exclude_keywords")
SCORE_HELP = {
    "mainstream": "reach: how widely seen (votes, and popularity a quarter as much)",
    "obscurity": "1 - reach: how little known (votes and popularity only)",
    "quality": "the rating shrunk toward 6.0 by 50 votes (IMDb's weighted rating) / 10",
    "freshness": "halves every 365 days after release; 1 for today",
    "genre_match": "share of the requested genres the title has (1 when none requested)",
    "trend": "rising popularity: 0.5 flat (or no history), 0.8 doubled in a week, 0.2 halved",
    "similarity": "how alike to the liked titles: shared keywords and genres, rare ones "
    "weighing more, then language and era",
}
# The title search box: its widget key, its link parameter (`?q=amelie`), how many matches
# it lists, and the match picked last (so a new pick, not every rerun, moves the panel).
SEARCH = "f_q"
SEARCH_PARAM = "q"
SEARCH_MATCHES = 10
SEARCH_SHOWN = "explore_search_shown"
# widget key -> CandidateFilters field: every registry entry with a sidebar widget, keyed by
# its link parameter (f_mode, f_media, f_lang, ...).
WIDGETS = {f"f_{spec.url}": spec.name for spec in FILTERS if spec.widget}
KEYS = {name: key for key, name in WIDGETS.items()}


def _query_params() -> dict[str, list[str]]:
    """The link's filter parameters (the search box's own is read by `_seed_widgets`)."""
    return {key: st.query_params.get_all(key) for key in st.query_params if key != SEARCH_PARAM}


def _to_widget(spec: Filter, value: Any) -> Any:
    """A filter value as its widget holds it: lists for a multiselect, 0.0 for no rating,
    "" for no choice in a selectbox whose filter may be unset (the region)."""
    if spec.is_list:
        return list(value)
    if spec.widget is not None and spec.widget.kind == "selectbox" and spec.default is None:
        return value or ""
    if spec.widget is not None and spec.widget.kind == "slider":
        return value or 0.0
    return value


def _from_widget(spec: Filter, value: Any) -> Any:
    """A widget's value as the filter holds it (the inverse of `_to_widget`)."""
    if spec.is_list:
        return tuple(value)
    if spec.widget is not None and spec.widget.kind in ("slider", "selectbox"):
        return value or (None if spec.default is None else value)
    if spec.widget is not None and spec.widget.kind == "number" and spec.default is not None:
        return int(value)
    return value


def _seed_widgets(languages: list[str]) -> None:
    """Give each sidebar widget its value from the session's filters, or from the URL when
    this session has none yet (a shared link). Widgets that Streamlit dropped while another
    page was shown get their value back the same way."""
    if STATE not in st.session_state:
        parsed = filters_from_params(_query_params(), set(languages))
        st.session_state[STATE] = parsed.filters
        st.session_state[NOTES] = (parsed.filters, parsed.notes)
        st.session_state[SEARCH] = st.query_params.get(SEARCH_PARAM, "")
    filters: CandidateFilters = st.session_state[STATE]
    for key, name in WIDGETS.items():
        if key not in st.session_state:
            st.session_state[key] = _to_widget(BY_NAME[name], getattr(filters, name))


def _widget(where: Any, name: str, **extra: Any) -> Any:
    """The sidebar widget of the filter `name`, as its registry entry declares it (kind,
    label, help, options, bounds, step); `extra` is what only the page knows (the pool's
    languages, the mode's vote floor)."""
    spec = BY_NAME[name]
    widget = spec.widget
    assert widget is not None, name
    common: dict[str, Any] = {"key": KEYS[name], "help": spec.help}
    labels = widget.labels
    if widget.kind in ("selectbox", "radio"):
        common["format_func"] = labels.__getitem__ if labels else str
        if widget.kind == "radio":
            common["horizontal"] = True
        options = extra.pop("options", spec.options)
        return getattr(where, widget.kind)(widget.label, list(options), **{**common, **extra})
    if widget.kind == "multiselect":
        options = extra.pop("options", widget.options)
        if labels:
            common["format_func"] = lambda option: labels.get(option, option)
        common["placeholder"] = widget.placeholder
        return where.multiselect(widget.label, list(options), **{**common, **extra})
    if widget.kind == "checkbox":
        return where.checkbox(widget.label, **common, **extra)
    low, high = spec.url_bounds or spec.bounds or (None, None)
    if widget.kind == "slider":
        return where.slider(
            widget.label, float(low or 0), float(high or 0), step=widget.step, **common, **extra
        )
    settings: dict[str, Any] = {"min_value": low, "max_value": high, "step": widget.step}
    if widget.placeholder:
        settings["placeholder"] = widget.placeholder
    return where.number_input(widget.label, **{**settings, **common, **extra})


@dataclass(frozen=True)
class StreamingChoices:
    """What the streaming widgets offer: the watch regions and the regions with fetched
    data, the default region (the first watch region) and each region's providers."""

    regions: list[str]
    default: str | None
    root: str
    version: int

    def region(self, chosen: str | None) -> str | None:
        return chosen or self.default

    def providers(self, region: str | None) -> list[Provider]:
        return data.region_providers(self.root, self.version, region) if region else []


def _streaming_choices(context: PageContext) -> StreamingChoices:
    fetched = data.streaming_regions(context.root, context.version)
    wanted = context.settings.watch_regions
    regions = sorted(set(wanted) | set(fetched))
    return StreamingChoices(regions, wanted[0] if wanted else None, context.root, context.version)


def _canonical_providers(streaming: StreamingChoices, region: str | None) -> list[str]:
    """The session's providers as the region's list names them ("prime video" from a link
    -> "Amazon Prime Video"); one the list lacks stays as given, so the query says so."""
    key = KEYS["providers"]
    listed = streaming.providers(region)
    names = []
    for given in st.session_state[key]:
        found = find_provider(listed, given)
        name = found.name if found else given
        if name not in names:
            names.append(name)
    st.session_state[key] = names
    return [p.name for p in listed]


def _extras(
    name: str, chosen: dict[str, Any], languages: list[str], streaming: StreamingChoices
) -> dict[str, Any]:
    """What only the page knows for a widget: the pool's languages, the chosen mode's vote
    floor, the page size as the step of "Skip first", the regions and their providers."""
    if name == "languages":
        return {
            "options": sorted(set(languages) | set(st.session_state[KEYS[name]])),
            "format_func": picker_label,
            # Typing a code ("da") or part of a name finds it; a fuzzy match of "da" put
            # languages such as Indonesian (id) first.
            "filter_mode": "contains",
        }
    if name in TYPED:
        return {"options": list(st.session_state[KEYS[name]]), "accept_new_options": True}
    if name == "region":
        current = st.session_state[KEYS[name]]
        default = f"default: {streaming.default}" if streaming.default else "none"
        return {
            "options": ["", *sorted(set(streaming.regions) | ({current} - {""}))],
            "format_func": lambda region: region or default,
        }
    if name == "providers":
        region = streaming.region(chosen["region"] or None)
        listed = _canonical_providers(streaming, region)
        options = listed + [p for p in st.session_state[KEYS[name]] if p not in listed]
        if not region:
            return {"options": options, "placeholder": "choose a region first"}
        return {"options": options}
    if name == "like":  # what a link or the "More like this" button chose; removable here
        names = st.session_state.get(LIKED_NAMES, {})
        return {
            "options": list(st.session_state[KEYS[name]]),
            "format_func": lambda key: names.get(key, key),
        }
    if name == "min_votes":
        return {"placeholder": f"the mode's floor: {MODES[chosen['mode']].min_votes}"}
    if name == "offset":
        return {"step": int(chosen["limit"])}
    return {}


def _nothing_matches(filters: CandidateFilters, notes: list[str]) -> str:
    """An empty list's message: what matched just outside the filters (the provider's notes:
    below the vote floor, removed by TMDB) and which of the filters set to loosen."""
    told = [plain_markdown(note) for note in notes if note != NO_HISTORY]
    chosen = filters.narrowing()
    advice = f"Loosen one you set ({', '.join(chosen)})" if chosen else "Widen the filters"
    if filters.min_votes is None:
        mode = filters.mode.replace("_", " ")
        advice += f" or lower the {mode} mode's vote floor ({filters.vote_floor:,} votes)"
    return " ".join(["No title matches these filters.", *told, f"{advice}."])


def _region_note(where: Any, streaming: StreamingChoices, chosen: str) -> None:
    """Under the region picker: what to do when no region can be chosen, or has no data."""
    region = streaming.region(chosen or None)
    if not streaming.regions:
        where.caption(
            "No streaming regions: set WATCHBUDDY_WATCH_REGIONS (e.g. US) and run "
            "`watchbuddy providers`."
        )
    elif region and not streaming.providers(region):
        where.caption(
            f"No streaming data for {region} yet: run `watchbuddy providers --region {region}`."
        )


def _name_liked(context: PageContext) -> None:
    """The "More like" chips show titles, not ids: each liked `movie:ID`/`tv:ID` the pool
    holds gets its title and year (a title typed as text, or one the pool lacks, shows as
    given, and the query says what it could not find)."""
    names = {}
    for key in st.session_state[KEYS["like"]]:
        media_type, _, tmdb_id = key.partition(":")
        if media_type in ("movie", "tv") and tmdb_id.isdigit():
            row = data.title_detail(context.root, context.version, media_type, int(tmdb_id))
            if row:
                names[key] = printable(f"{row['title']} ({row['year'] or '?'})")
    st.session_state[LIKED_NAMES] = names


def _sidebar(languages: list[str], streaming: StreamingChoices) -> CandidateFilters:
    """The filters as the sidebar sets them: a widget for every registry entry that declares
    one, in registry order; the page decides only which pairs share a row."""
    sidebar = st.sidebar
    sidebar.header("Filters")
    chosen: dict[str, Any] = {}
    right: Any = None
    for spec in FILTERS:
        if spec.widget is None:
            continue
        where: Any = sidebar
        if spec.name in SIDE_BY_SIDE:
            where, right = sidebar.columns(2)
        elif spec.name in SIDE_BY_SIDE.values():
            where = right
        extras = _extras(spec.name, chosen, languages, streaming)
        chosen[spec.name] = _widget(where, spec.name, **extras)
        if spec.name == "region":
            _region_note(where, streaming, chosen[spec.name])
    values = {name: _from_widget(BY_NAME[name], value) for name, value in chosen.items()}
    # In TMDB's order, so the link stays short when the default types are picked.
    values["monetization"] = BY_NAME["monetization"].validate(values["monetization"])
    exclude: frozenset[tuple[str, int]] = frozenset()
    watched = sidebar.file_uploader(
        "Exclude a watched list (CSV with TMDB ids)",
        type=["csv"],
        key="f_watched",
        help="Trakt or Letterboxd style exports with a tmdb_id column; not part of the link.",
    )
    if watched is not None:
        exclude = _read_watched(watched.getvalue(), watched.name)
    if sidebar.button("Reset filters"):
        for key in (*WIDGETS, STATE, NOTES):
            st.session_state.pop(key, None)
        st.query_params.clear()
        st.rerun()
    values["year_min"], values["year_max"] = _year_range(values["year_min"], values["year_max"])
    return CandidateFilters(**values, exclude=exclude)


HISTORY_REPORTS = "history_reports"


def _history_import(root: str) -> None:
    """Import Trakt, Letterboxd or IMDb exports from the sidebar, as `watchbuddy history
    import` does (the same files, the same report); *For me* then leaves them out."""
    box = st.sidebar.expander("Import your history (Trakt, Letterboxd, IMDb)")
    files = box.file_uploader(
        "Export files",
        type=["csv", "json"],
        accept_multiple_files=True,
        key="history_files",
        help="Trakt's JSON export, Letterboxd's ratings/watched/diary/watchlist.csv, IMDb's "
        "ratings.csv or a list export. Importing a file again replaces its earlier rows.",
    )
    if files and box.button("Import", key="history_import"):
        with tempfile.TemporaryDirectory() as folder:
            paths = []
            for upload in files:
                path = Path(folder) / Path(upload.name).name
                path.write_bytes(upload.getvalue())
                paths.append(path)
            try:
                reports = import_files(Warehouse(Path(root)), paths)
            except WatchBuddyError as exc:
                box.error(plain_markdown(exc))
                return
        st.session_state[HISTORY_REPORTS] = [_report_line(r) for r in reports]
        st.rerun()
    for line in st.session_state.get(HISTORY_REPORTS, []):
        box.caption(line)


def _report_line(report: HistoryReport) -> str:
    return plain_markdown(
        f"{report.file} ({report.source} {report.kind}): {report.rows_read:,} rows read = "
        f"{report.matched:,} matched + {report.ambiguous:,} ambiguous + "
        f"{report.unmatched:,} unmatched; {report.stored:,} stored (the rest are listed "
        "on the Pool page's rejected rows)."
        + (
            f" {report.not_in_pool:,} of its titles "
            f"{'is' if report.not_in_pool == 1 else 'are'} not in the pool yet (matched by "
            "the export's TMDB id): kept, and left out of lists once landed."
            if report.not_in_pool
            else ""
        )
    )


def _year_range(low: int | None, high: int | None) -> tuple[int | None, int | None]:
    if low is not None and high is not None and low > high:
        st.sidebar.warning(f"From year {low} is after to year {high}; showing {high}–{low}.")
        return high, low
    return low, high


def _read_watched(content: bytes, name: str) -> frozenset[tuple[str, int]]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(content)
        try:
            watched = read_watched_file(path)
        except WatchBuddyError as exc:
            st.sidebar.error(str(exc))
            return frozenset()
    st.sidebar.caption(
        f"Excluding {len(watched.keys):,} titles from {watched.rows:,} rows"
        + (f"; {len(watched.unknown)} rows unusable" if watched.unknown else "")
        + "."
    )
    return watched.keys


def _search_box(context: PageContext, filters: CandidateFilters) -> pl.DataFrame | None:
    """The title search at the top of the page: matches by title or original title (case,
    accents, punctuation and small typos do not count); the one picked is returned as a
    candidate row, scored in the chosen mode, for the *Why this title* panel."""
    text = st.text_input(
        "Find a title",
        key=SEARCH,
        placeholder="A title or original title: amelie, spiderman no way home, 千と千尋",
        help="Case, accents, punctuation and small typos do not count. Part of the link (q=).",
    )
    if not text.strip():
        return None
    try:
        matches = data.search(
            context.root, context.version, text, filters.media_type, SEARCH_MATCHES
        )
    except WatchBuddyError as exc:
        st.warning(plain_markdown(exc))
        return None
    if matches.is_empty():
        st.info(
            f"No title matches {plain_markdown(repr(text.strip()))}: check the spelling or try "
            "fewer words."
        )
        return None
    labels = {_key_of(row): _match_label(row) for row in matches.iter_rows(named=True)}
    pick = st.radio(
        f"Titles matching {plain_markdown(repr(text.strip()))}",
        list(labels),
        index=None,
        key="search_pick",
        format_func=labels.__getitem__,
        help="Best match first, then most votes. Pick one to see it under *Why this title*.",
    )
    if pick is None:
        return None
    media_type, tmdb_id = pick.split(":")
    if st.session_state.get(SEARCH_SHOWN) != pick:  # a new pick: show it in the panel
        st.session_state[SEARCH_SHOWN] = st.session_state["detail_pick"] = pick
    st.caption("Shown under *Why this title* below.")
    return data.picked_titles(
        context.root,
        context.version,
        data.today(),
        filters.cache_key(),
        ((media_type, int(tmdb_id)),),
        filters,
    )


def _match_label(row: dict) -> str:
    """'Amélie (2001) · movie · original: Le Fabuleux Destin… · 11,000 votes · match 100'."""
    original = row["original_title"]
    also = f" · original: {original}" if original and original != row["title"] else ""
    # A radio option is Markdown: a title written by a stranger is shown as its characters.
    return plain_markdown(
        printable(
            f"{row['title']} ({row['year'] or '?'}) · {row['media_type']}{also} · "
            f"{row['vote_count'] or 0:,} votes · match {row['match_score']:.0f}",
            one_line=True,
        )
    )


def _score_bar(label: str | None, number_format: str, help_text: str | None = None) -> ColumnConfig:
    """A 0-1 score as a progress bar (every score column, here and in the detail panel)."""
    return st.column_config.ProgressColumn(
        label, min_value=0.0, max_value=1.0, format=number_format, help=help_text, width="small"
    )


def _display(frame: pl.DataFrame) -> None:
    """The results table; a click on a row picks the title for the detail panel."""
    event = st.dataframe(
        # As Arrow: Streamlit sends a pyarrow table as it is, and any other frame through
        # pandas first (~15 ms of every filter change, before the rows leave the server).
        # The oldest compatibility level: no string views, which the browser's Arrow lacks.
        frame.to_arrow(compat_level=pl.CompatLevel.oldest()),
        key="results",
        hide_index=True,
        on_select="rerun",
        selection_mode="single-row",
        column_order=[
            "poster",
            "title",
            "year",
            "media_type",
            "original_language",
            "genres",
            *([STREAMING_COLUMN] if STREAMING_COLUMN in frame.columns else []),
            "score",
            *(["similarity"] if frame["similarity"].max() else []),
            "quality_score",
            "obscurity_score",
            "mainstream_score",
            "freshness_score",
            "trend_score",
            "recent",
            "popularity_change_7d",
            "vote_average",
            "vote_count",
            "tmdb_url",
        ],
        column_config={
            STREAMING_COLUMN: st.column_config.ListColumn(
                "Streams on",
                width="medium",
                help=f"Where the title streams in the region, in TMDB's order. {ATTRIBUTION}.",
            ),
            "poster": st.column_config.ImageColumn("Poster", width="small"),
            "title": st.column_config.TextColumn("Title", width="medium"),
            "year": st.column_config.NumberColumn("Year", format="%d", width=50),
            "media_type": st.column_config.TextColumn("Type", width=55),
            "original_language": st.column_config.TextColumn("Lang", width=45),
            "genres": st.column_config.ListColumn("Genres", width="medium"),
            "score": _score_bar(
                "Score", "%.3f", "The mode's blend of the scores below and the genre match."
            ),
            "similarity": _score_bar("Similarity", "%.2f", SCORE_HELP["similarity"]),
            "quality_score": _score_bar("Quality", "%.2f", SCORE_HELP["quality"]),
            "obscurity_score": _score_bar("Obscurity", "%.2f", SCORE_HELP["obscurity"]),
            "mainstream_score": _score_bar("Mainstream", "%.2f", SCORE_HELP["mainstream"]),
            "freshness_score": _score_bar("Freshness", "%.2f", SCORE_HELP["freshness"]),
            "trend_score": _score_bar("Trend", "%.2f", SCORE_HELP["trend"]),
            "recent": st.column_config.LineChartColumn(
                "30 days",
                width="small",
                color="auto",
                help="Popularity on each of the last 30 days of TMDB's daily exports "
                "(green when rising, red when falling; blank without exports).",
            ),
            "popularity_change_7d": st.column_config.NumberColumn(
                "7 days",
                format="percent",
                help="Popularity change in 7 days: (now - then) / (then + 1).",
            ),
            "vote_average": st.column_config.NumberColumn("Rating", format="%.1f"),
            "vote_count": st.column_config.NumberColumn("Votes", format="localized"),
            "tmdb_url": st.column_config.LinkColumn("TMDB", display_text="open ↗"),
        },
    )
    rows = event.selection.rows if event is not None else []
    if rows:  # set before the picker below is created in this run
        st.session_state["detail_pick"] = _key_of(frame.row(rows[0], named=True))


def _number(value: float | None, spec: str) -> str:
    return "unknown" if value is None else format(value, spec)


def _key_of(row: dict) -> str:
    return f"{row['media_type']}:{row['tmdb_id']}"


def _more_like(key: str) -> None:
    """The "More like this" button: the like filter becomes this title, from the first row
    (a callback, so it runs before the sidebar's widgets are drawn again)."""
    st.session_state[KEYS["like"]] = [key]
    st.session_state[KEYS["offset"]] = 0


def _detail(
    frame: pl.DataFrame,
    filters: CandidateFilters,
    weights: dict[str, float],
    root: str,
    version: int,
) -> None:
    st.subheader("Why this title")
    rows = {_key_of(row): row for row in frame.iter_rows(named=True)}
    if st.session_state.get("detail_pick") not in rows:
        st.session_state["detail_pick"] = next(iter(rows))
    pick = st.selectbox(
        "Title",
        list(rows),
        key="detail_pick",
        format_func=lambda k: printable(f"{rows[k]['title']} ({rows[k]['year'] or '?'}, {k})"),
        help="Or click a row in the table.",
    )
    row = rows[pick]
    detail = (
        data.title_extras(root, version, row["media_type"], row["tmdb_id"], row["vote_count"]) or {}
    )
    poster, text = st.columns([1, 4])
    if row["poster"]:
        poster.image(row["poster"].replace("/w92", "/w185"), width=150)
    # Every value from the data is shown as literal text (`plain_markdown`): a title or
    # overview is written by strangers and must not draw links or fetch images.
    text.markdown(f"### {plain_markdown(row['title'])} ({row['year'] or 'year unknown'})")
    if detail.get("original_title") and detail["original_title"] != row["title"]:
        text.caption(f"Original title: {plain_markdown(detail['original_title'])}")
    genres = plain_markdown(", ".join(row["genres"])) or "no genres"
    text.write(
        f"{MEDIA_LABELS[row['media_type']].rstrip('s')} · language "
        f"{plain_markdown(row['original_language'] or 'unknown')} · {genres}"
        f" · rating {_number(row['vote_average'], '.1f')} from {_number(row['vote_count'], ',')}"
        f" votes · popularity {_number(row['popularity'], '.1f')}"
    )
    if detail.get("overview"):
        text.markdown(plain_markdown(detail["overview"]))
    _not_interested_button(text, row, root)
    if filters.region:
        _where_to_watch(row, filters.region, root, version)
    _history_chart(row, root, version)
    parts = pl.DataFrame(
        [
            {
                "component": name,
                "weight": weight,
                "value": row[COMPONENTS[name]],
                "contribution": weight * row[COMPONENTS[name]],
                "what it measures": SCORE_HELP[name],
            }
            for name, weight in weights.items()
        ]
    )
    st.write(
        f"In **{filters.mode.replace('_', ' ')}** mode the score is "
        f"**{row['score']:.3f}** = {row['explanation']}."
    )
    st.dataframe(
        parts,
        hide_index=True,
        column_config={
            "weight": st.column_config.NumberColumn(format="%.2f"),
            "value": _score_bar(None, "%.3f"),
            "contribution": st.column_config.NumberColumn(format="%.3f"),
        },
    )
    st.button(
        "More like this",
        key="more_like_this",
        on_click=_more_like,
        args=(pick,),
        help="List the titles alike to this one (shared keywords and genres, rare ones "
        "weighing more), blended with the discovery mode; the sidebar's More like clears it.",
    )
    st.caption(
        f"[TMDB page]({row['tmdb_url']}) · source "
        f"{plain_markdown(detail.get('source_name') or '?')} · "
        # Escaped like the rest: a time's colons ("06:52:23") would otherwise read as an
        # emoji code to Streamlit, whose browser side then loads its emoji table (260 KB).
        f"fetched {plain_markdown(detail.get('updated_at') or '?')} · votes refreshed "
        f"{plain_markdown(detail.get('votes_refreshed_at') or 'never')}"
    )


def _not_interested_button(where: Any, row: dict, root: str) -> None:
    """Mark the title not interested (the app's own list in `history`): it leaves every
    candidate list from the next query on, here and in `recommend`."""
    key = (row["media_type"], int(row["tmdb_id"]))
    if where.button(
        "Not interested",
        key=f"not_interested_{key[0]}_{key[1]}",
        help="Never show this title again (`watchbuddy not-interested remove` undoes it).",
    ):
        try:
            change(Warehouse(Path(root)), add=[key])
        except WatchBuddyError as exc:
            st.error(plain_markdown(exc))
            return
        st.session_state.pop("detail_pick", None)
        st.toast(f"{printable(row['title'])} will not be shown again.")
        st.rerun()


def _where_to_watch(row: dict, region: str, root: str, version: int) -> None:
    """The title's providers in the region, every way they offer it (logos when the image
    CDN is reachable; the names stand on their own), and TMDB's watch page: availability
    links there, never to a provider."""
    offers = data.title_availability(root, version, region, row["media_type"], row["tmdb_id"])
    url = watch_page_url(row["media_type"], row["tmdb_id"], region)
    st.markdown(f"**Where to watch in {region}** · [TMDB's watch page]({url})")
    if offers.is_empty():
        st.caption(f"No provider in {region} lists this title. {ATTRIBUTION}.")
        return
    st.dataframe(
        offers,
        hide_index=True,
        column_order=["logo_url", "provider_name", "monetization"],
        column_config={
            "logo_url": st.column_config.ImageColumn("", width="small"),
            "provider_name": st.column_config.TextColumn("Provider"),
            "monetization": st.column_config.TextColumn("Offered as"),
        },
    )
    st.caption(f"{ATTRIBUTION}.")


def _history_chart(row: dict, root: str, version: int) -> None:
    """The title's popularity on every landed export day, as a chart."""
    history = data.popularity_history(root, version, row["media_type"], row["tmdb_id"])
    if history.is_empty():
        st.caption("No popularity history: no landed daily ID export of TMDB lists this title yet.")
        return
    first, last = history["date"][0], history["date"][-1]  # oldest first
    st.caption(f"Popularity on each of {history.height:,} daily export days ({first} to {last}).")
    st.line_chart(history, x="date", y="popularity", height=200, y_label="popularity")


def render() -> None:
    context = page_context()
    st.title("Explore the candidate pool")
    stop_if_empty(context)
    languages = data.languages(context.root, context.version)
    streaming = _streaming_choices(context)
    _seed_widgets(languages)
    _name_liked(context)
    filters = _sidebar(languages, streaming)
    sidebar_filters = filters
    st.session_state[STATE] = replace(filters, exclude=frozenset())
    query = st.session_state.get(SEARCH, "")
    st.query_params.from_dict(
        {**params_from_filters(filters), **({SEARCH_PARAM: query} if query.strip() else {})}
    )
    by_name = _search_box(context, filters)
    # A provider filter without a region reads the default one (the link leaves it out).
    filters = with_default_region(filters, context.settings)
    result = _results(context, filters)
    frame = result.frame
    if frame.is_empty():
        st.info(
            f"No titles after the first {filters.offset:,}: lower *Skip first* to go back."
            if filters.offset
            else _nothing_matches(filters, result.notes)
        )
        _sidebar_boxes(context, sidebar_filters)
        if by_name is not None and not by_name.is_empty():
            _detail(by_name, filters, result.weights, context.root, context.version)
        footer(context)
        return
    _display(frame)
    _sidebar_boxes(context, sidebar_filters)
    if STREAMING_COLUMN in frame.columns:
        # TMDB's terms: wherever availability is shown, JustWatch is credited.
        st.caption(f"{ATTRIBUTION}. Streams on: {filters.region}, {_offered(filters)}.")
    if by_name is not None:  # the title picked by name first, as a row of the panel's list
        frame = pl.concat([by_name, frame], how="diagonal_relaxed")
    _detail(frame, filters, result.weights, context.root, context.version)
    footer(context)


def _sidebar_boxes(context: PageContext, filters: CandidateFilters) -> None:
    """The sidebar's boxes below the filters (history import, saved views), drawn after the
    grid: they stay where they are in the sidebar, and the rows are sent before their
    elements. A saved view applied here replaces the sidebar's filters and reruns."""
    _history_import(context.root)
    picked = saved_views.sidebar(context, filters)
    if picked is not None:
        for key in (*WIDGETS, STATE, NOTES):
            st.session_state.pop(key, None)
        st.session_state[STATE] = picked.filters
        st.session_state[NOTES] = (picked.filters, picked.notes)
        st.query_params.from_dict(params_from_filters(picked.filters))
        st.rerun()


def _csv(frame: pl.DataFrame) -> bytes:
    """The list as the download holds it: lists joined, no poster or sparkline."""
    lists = [c for c in ("genres", STREAMING_COLUMN) if c in frame.columns]
    return (
        frame.with_columns(pl.col(*lists).list.join(", "))
        .drop("poster", "from_persistent_store", "recent")
        .write_csv()
        .encode("utf-8")
    )


def _results(context: PageContext, filters: CandidateFilters) -> data.Result:
    """The link's notes, the query's result with its metrics and CSV download, and what the
    grid below shows of the list."""
    linked, notes = st.session_state.get(NOTES, (None, []))
    if linked == st.session_state[STATE]:  # until the filters are changed
        for note in notes:
            st.warning(f"From the link: {plain_markdown(note)}")
    started = time.perf_counter()
    try:
        result = data.candidates(
            context.root, context.version, data.today(), filters.cache_key(), filters
        )
    except WatchBuddyError as exc:
        st.error(plain_markdown(exc))
        st.stop()
    wall_ms = (time.perf_counter() - started) * 1000
    if NO_HISTORY in result.notes:
        st.info(NO_HISTORY)
    frame = result.frame
    count, timing, download = st.columns([2, 2, 1])
    count.metric("Titles", f"{frame.height:,}")
    timing.metric(
        "Query time",
        f"{result.query_ms:.0f} ms",
        help="Time the candidate query took; a repeat of the same filters is served from "
        f"the cache (this time: {wall_ms:.0f} ms).",
    )
    download.download_button(
        "Download CSV",
        functools.partial(_csv, frame),  # written when clicked, not on every rerun
        file_name="watchbuddy-candidates.csv",
        mime="text/csv",
    )
    if frame.is_empty():
        return result
    if filters.offset:
        st.caption(
            f"Rows {filters.offset + 1:,}–{filters.offset + frame.height:,} of the list "
            f"(the first {filters.offset:,} are skipped)."
        )
    elif frame.height < filters.limit:
        st.caption(
            f"Only {frame.height:,} {'title matches' if frame.height == 1 else 'titles match'} "
            f"(you asked for {filters.limit:,}). The "
            "recommender's TMDB fallback fills such gaps; the explorer shows the pool only."
        )
    return result


def _offered(filters: CandidateFilters) -> str:
    return ", ".join(MONETIZATION_LABELS.get(t, t) for t in filters.monetization)


render()
