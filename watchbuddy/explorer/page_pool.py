"""Pool: what is in the pool (by media type, language, decade, genre), what is rising and
falling, how the scores are spread, how old the data is, and what each import landed or
rejected and why."""

from __future__ import annotations

import polars as pl
import streamlit as st

from watchbuddy.explorer import data
from watchbuddy.explorer.common import footer, page_context, stop_if_empty
from watchbuddy.pool.stats import MOVERS, MOVERS_MIN_POPULARITY, STALE_AFTER_DAYS

JUSTWATCH_URL = "https://www.justwatch.com"  # TMDB's terms: attribute availability to it
THIN_LANGUAGE_TITLES = 100  # below this a language gives the recommender little to choose from


def render() -> None:
    context = page_context()
    st.title("The pool")
    stop_if_empty(context)
    with st.spinner("Counting the pool…"):
        overview = data.pool_overview(context.root, context.version, data.today())
    by_media = dict(overview["by_media_type"].iter_rows())
    age = overview["age"].row(0, named=True)
    total = age["titles"]
    flags = data.pool_flags(context.root, context.version)
    cols = st.columns(6)
    cols[0].metric("Titles", f"{total:,}")
    cols[1].metric("Movies", f"{by_media.get('movie', 0):,}")
    cols[2].metric("Shows", f"{by_media.get('tv', 0):,}")
    cols[3].metric(
        "Synthetic (demo)",
        f"{flags['synthetic_titles']:,}",
        help="Titles made up by `watchbuddy demo-data`; a real record of the same title "
        "always replaces them.",
    )
    cols[4].metric(
        "Removed from TMDB",
        f"{flags['removed_titles']:,}",
        help="Titles TMDB answered 404 for after their newest record: kept and flagged "
        "(`removed_from_tmdb_at`), left out of candidate lists and vote refreshes.",
    )
    cols[5].metric(
        "Fetched over six months ago",
        f"{age['stale'] / total:.1%}" if total else "–",
        help=f"Titles whose record or vote refresh is older than {STALE_AFTER_DAYS} days. "
        "TMDB's terms ask that cached data be refreshed at least that often.",
    )

    st.subheader("Languages")
    languages: pl.DataFrame = overview["by_language"]
    thin = languages.filter(pl.col("titles") < THIN_LANGUAGE_TITLES).height
    st.caption(
        f"{languages.height:,} languages; {thin:,} have fewer than {THIN_LANGUAGE_TITLES} "
        "titles (thin: few candidates to recommend from)."
    )
    left, right = st.columns([3, 2])
    left.bar_chart(
        languages.head(30).unpivot(
            index="language", on=["movies", "shows"], variable_name="type", value_name="n"
        ),
        x="language",
        y="n",
        color="type",
        sort="-n",
        x_label="original language (top 30)",
        y_label="titles",
    )
    right.dataframe(languages, hide_index=True, height=350)

    left, right = st.columns(2)
    left.subheader("Decades")
    left.bar_chart(
        overview["by_decade"].with_columns(pl.col("decade").cast(pl.String) + "s"),
        x="decade",
        y="titles",
        color="media_type",
    )
    right.subheader("Genres")
    right.bar_chart(
        overview["by_genre"],
        x="genre",
        y="titles",
        color="media_type",
        horizontal=True,
        sort="-titles",
    )

    _movers(context.root, context.version)

    st.subheader("Score distributions")
    st.caption("Share of titles in each 0.05-wide band of each score.")
    histogram: pl.DataFrame = overview["score_histogram"]
    st.line_chart(
        histogram.with_columns(share=pl.col("titles") / pl.col("titles").sum().over("score"))
        .pivot(on="score", index="bin", values="share")
        .sort("bin")
        .fill_null(0),
        x="bin",
        x_label="score",
        y_label="share of titles",
    )

    st.subheader("Data age")
    st.caption(
        f"Months since each title's data was fetched (24 = two years or more); "
        f"{age['unknown_age']:,} titles have no fetch date."
    )
    st.bar_chart(overview["age_histogram"], x="months_since_fetch", y="titles")
    tmdb_age = data.tmdb_data_age(
        context.root, context.version, data.today(), data.refresh_pace(context.settings)
    )
    st.caption(
        "Age of the TMDB data itself (when TMDB last served the whole title; a vote refresh "
        "renews only the votes, and a title known only from CSV files was never fetched "
        f"from TMDB). {tmdb_age['over_limit']:,} titles are over the "
        f"{tmdb_age['max_age_days']}-day limit or never fetched."
    )
    st.bar_chart(
        pl.DataFrame(
            {
                "age": ["<30 days", "30-90", "90-180", ">180", "never fetched"],
                "titles": [
                    tmdb_age[k]
                    for k in (
                        "under_30_days",
                        "days_30_to_90",
                        "days_90_to_180",
                        "over_180_days",
                        "never_fetched",
                    )
                ],
            }
        ),
        x="age",
        y="titles",
        sort=False,
    )
    if tmdb_age["refresh_plan"]:
        st.caption(
            f"`refresh-titles` fetches {tmdb_age['refresh_plan']['why']}; at this pace the "
            f"oldest title is fetched again by {tmdb_age['oldest_refresh_at'] or '–'} (UTC)."
        )

    _streaming(context.root, context.version)

    st.subheader("Imports")
    st.dataframe(overview["imports"], hide_index=True)
    st.subheader("Rejected rows")
    reasons: pl.DataFrame = overview["reject_reasons"]
    if reasons.is_empty():
        st.write("No rows were rejected.")
    else:
        st.caption(f"{reasons['rows'].sum():,} rows rejected, by file and reason:")
        st.dataframe(reasons, hide_index=True)
        with st.expander("Rejected rows with their raw text (newest first, up to 1,000)"):
            st.dataframe(overview["reject_samples"], hide_index=True)
    footer(context)


def _streaming(root: str, version: int) -> None:
    """Each region's streaming availability: when it was fetched, providers and titles."""
    st.subheader("Where titles stream")
    regions = data.provider_regions(root, version, data.today())
    if not regions:
        st.caption(
            "No streaming availability yet: set `WATCHBUDDY_WATCH_REGIONS` (e.g. `US,DE`) and "
            "run `watchbuddy providers` (or wait for the daily `providers` job)."
        )
        return
    st.caption(
        "Each region's newest complete fetch of its providers' catalogues (`watchbuddy "
        "providers`, daily); offers count each provider, monetization type and title."
    )
    st.dataframe(
        pl.DataFrame(regions),
        hide_index=True,
        column_config={
            "age_hours": st.column_config.NumberColumn("Age (hours)", format="%.1f"),
        },
    )
    st.caption(f"Source of streaming data: [JustWatch]({JUSTWATCH_URL}).")


def _movers(root: str, version: int) -> None:
    """The titles whose popularity rose and fell most in 7 days (from the daily exports)."""
    st.subheader("Rising and falling")
    movers = data.movers(root, version)
    if movers["rising"].is_empty() and movers["falling"].is_empty():
        st.caption(
            "Nothing to show yet: this needs a week of TMDB's daily ID exports "
            "(`popularity_history`)."
        )
        return
    st.caption(
        f"The {MOVERS} titles whose popularity changed most in 7 days, among those with "
        f"popularity at least {MOVERS_MIN_POPULARITY:g} (change = (now - then) / (then + 1))."
    )
    columns = {
        "popularity": st.column_config.NumberColumn("Popularity", format="%.1f"),
        "popularity_change_7d": st.column_config.NumberColumn("7 days", format="percent"),
        "popularity_change_30d": st.column_config.NumberColumn("30 days", format="percent"),
        "trend_score": st.column_config.ProgressColumn(
            "Trend", min_value=0.0, max_value=1.0, format="%.2f"
        ),
    }
    left, right = st.columns(2)
    for where, name, label in ((left, "rising", "Rising"), (right, "falling", "Falling")):
        where.markdown(f"**{label}**")
        where.dataframe(movers[name], hide_index=True, column_config=columns)


render()
