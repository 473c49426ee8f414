"""The one title normalizer: how every comparison of titles by text sees a title (the
history import's Letterboxd matching, `--like "Inception 2010"`, title search).

Case, accents and punctuation are ignored: casefolded ("ß" as "ss"), compatibility
decomposition (NFKD) with the marks dropped ("Amélie" = "amelie"), the few Latin letters
that do not decompose spelled out ("ø" -> "o", "æ" -> "ae"), "&" read as "and", invisible
format characters dropped, anything that is not a letter or a digit a word break, words
separated by one space. "Crouching Tiger, Hidden Dragon" = "crouching tiger hidden dragon".

Vectorized over a Polars Series (`normalize_titles`), so a pool's 1.5M titles are
normalized in one pass; `normalize_title` is the same function on one text. Decomposition
is most of the cost and changes nothing in ASCII text, so only titles with a non-ASCII
character go through it (1.5M titles in about a quarter of the time).
"""

from __future__ import annotations

import polars as pl

# Letters NFKD leaves whole, spelled the way a keyboard without them types them (after
# lower-casing; "ß" is what casefolding would spell "ss").
SPELLED_OUT = {
    "ß": "ss",
    "ø": "o",
    "ł": "l",
    "đ": "d",
    "ð": "d",
    "ħ": "h",
    "ı": "i",
    "ŧ": "t",
    "æ": "ae",
    "œ": "oe",
    "þ": "th",
    "ŋ": "n",
    # Not a keyboard's spelling but casefolding's: a final sigma is a sigma ("ΟΔΥΣΣΕΥΣ"
    # lower-cases to "οδυσσευς", and "Σ" alone to "σ").
    "ς": "σ",
}
_NON_ASCII = r"[^\x00-\x7f]"


def _fold(column: pl.Expr) -> pl.Expr:
    return (
        column.str.to_lowercase()
        .str.replace_all("&", " and ", literal=True)
        .str.replace_all(r"\p{Cf}", "")
        .str.replace_all(r"[^\p{L}\p{N}]+", " ")
        .str.strip_chars()
    )


def _decomposed(column: pl.Expr) -> pl.Expr:
    lowered = column.str.to_lowercase().str.replace_many(
        list(SPELLED_OUT), list(SPELLED_OUT.values())
    )
    return lowered.str.normalize("NFKD").str.replace_all(r"\p{M}", "")


def normalize_titles(titles: pl.Series) -> pl.Series:
    """Each title's normalized form, in order (NULL stays NULL)."""
    frame = pl.DataFrame({"t": titles.cast(pl.String)}).with_row_index("i")
    wide = pl.col("t").str.contains(_NON_ASCII)
    ascii_part = frame.filter(~wide | pl.col("t").is_null()).select("i", key=_fold(pl.col("t")))
    other = frame.filter(wide).select("i", key=_fold(_decomposed(pl.col("t"))))
    return pl.concat([ascii_part, other]).sort("i").get_column("key").rename(titles.name)


def normalize_title(text: str | None) -> str:
    """`text` normalized as `normalize_titles` does it ("" for None or "")."""
    if not text:
        return ""
    return str(normalize_titles(pl.Series([text])).item() or "")
