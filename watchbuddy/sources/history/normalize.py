"""Titles named by a history file, matched to the pool's by their normalized form (the one
normalizer is `watchbuddy.titles`)."""

from __future__ import annotations

import polars as pl

from watchbuddy.titles import normalize_title as normalize_title
from watchbuddy.titles import normalize_titles as normalize_titles


def keys_among(titles: pl.Series, wanted: pl.Series) -> pl.DataFrame:
    """(name, key) for the distinct titles whose key is one of `wanted`'s (each distinct
    title normalized once: most titles are also their original title)."""
    names = titles.cast(pl.String).drop_nulls().unique()
    return pl.DataFrame({"name": names, "key": normalize_titles(names)}).filter(
        pl.col("key").is_in(wanted.unique().implode())
    )
