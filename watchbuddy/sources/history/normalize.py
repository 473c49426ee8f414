"""The one title normalizer for matching by title: case, accents, punctuation and spacing
ignored ("Amélie" = "amelie", "Crouching Tiger, Hidden Dragon" = "crouching tiger hidden
dragon", "&" = "and"). A Polars expression, so the pool's 1.5M titles are normalized in one
vectorized pass; `normalize_title` applies the same expression to one text.

(The `search` lane's pool/search.py may bring its own; the two are to be unified.)"""

from __future__ import annotations

import polars as pl


def title_key(column: pl.Expr) -> pl.Expr:
    return (
        column.str.normalize("NFKD")
        .str.replace_all(r"\p{M}", "")
        .str.to_lowercase()
        .str.replace_all("&", " and ")
        .str.replace_all(r"[^\p{L}\p{N}]+", " ")
        .str.strip_chars()
    )


def normalize_title(text: str) -> str:
    return str(pl.select(title_key(pl.lit(text, dtype=pl.String))).item())
