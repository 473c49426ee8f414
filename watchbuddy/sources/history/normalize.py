"""The one title normalizer for matching by title: case, accents, punctuation and spacing
ignored ("Amélie" = "amelie", "Crouching Tiger, Hidden Dragon" = "crouching tiger hidden
dragon", "&" = "and"). Vectorized over a Polars Series, so the pool's titles are normalized
in one pass; `normalize_title` applies the same function to one text, `keys_among` picks
the pool titles a set of keys names.

Unicode decomposition (NFKD, to drop accents) is most of the cost and changes nothing in
ASCII text, so only the titles with a non-ASCII character go through it: 1.5M titles take
about a quarter of the time.

(The `search` lane's pool/search.py may bring its own; the two are to be unified.)"""

from __future__ import annotations

import polars as pl


def _folded(column: pl.Expr) -> pl.Expr:
    return (
        column.str.to_lowercase()
        .str.replace_all("&", " and ", literal=True)
        .str.replace_all(r"[^\p{L}\p{N}]+", " ")
        .str.strip_chars()
    )


def normalize_titles(titles: pl.Series) -> pl.Series:
    """Each title's match key, in order (NULL stays NULL)."""
    frame = pl.DataFrame({"t": titles.cast(pl.String)}).with_row_index("i")
    wide = pl.col("t").str.contains(r"[^\x00-\x7f]")
    ascii_part = frame.filter(~wide | pl.col("t").is_null()).select("i", key=_folded(pl.col("t")))
    other = frame.filter(wide).select(
        "i", key=_folded(pl.col("t").str.normalize("NFKD").str.replace_all(r"\p{M}", ""))
    )
    return pl.concat([ascii_part, other]).sort("i").get_column("key").rename(titles.name)


def keys_among(titles: pl.Series, wanted: pl.Series) -> pl.DataFrame:
    """(name, key) for the distinct titles whose key is one of `wanted`'s (each distinct
    title normalized once: most titles are also their original title)."""
    names = titles.cast(pl.String).drop_nulls().unique()
    return pl.DataFrame({"name": names, "key": normalize_titles(names)}).filter(
        pl.col("key").is_in(wanted.unique().implode())
    )


def normalize_title(text: str) -> str:
    return str(normalize_titles(pl.Series([text])).item())
