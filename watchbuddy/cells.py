"""Vectorized parsers for the cell formats found in TMDB-derived CSVs.

Every parser takes a String expression (already stripped, with null tokens turned into
nulls) and returns a typed expression that is null when the cell cannot be parsed. The
validation step in `land` compares "was there a value" with "did it parse" to reject a
row with a reason, so a parser never has to decide whether a failure is fatal.
"""

from __future__ import annotations

import polars as pl

from watchbuddy.schema import MEDIA_TYPE_ALIASES, genre_table

NULL_TOKENS = [
    "",
    "nan",
    "NaN",
    "NAN",
    "None",
    "none",
    "null",
    "NULL",
    "Null",
    "N/A",
    "n/a",
    "NA",
    "\\N",
    "[]",
    "{}",
]
TRUE_TOKENS = ["true", "t", "yes", "y", "1", "1.0"]
FALSE_TOKENS = ["false", "f", "no", "n", "0", "0.0"]
# Date layouts seen in the wild, tried in order; ISO first because it is by far the most common.
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%m/%d/%Y", "%d.%m.%Y")


# Long free-text fields are only checked for emptiness: stripping and token-matching every
# overview costs more than the rest of validation together, and they carry no null tokens.
FREE_TEXT = frozenset({"overview"})


def clean_text(col: str) -> pl.Expr:
    """Strip whitespace and NUL bytes; null tokens ("", "NaN", "None", ...) become null."""
    if col in FREE_TEXT:
        text = pl.col(col)
        text = (
            pl.when(text.str.contains("\x00", literal=True))
            .then(text.str.replace_all("\x00", "", literal=True))
            .otherwise(text)
        )
        return pl.when(text.str.len_bytes() == 0).then(None).otherwise(text)
    text = pl.col(col).str.replace_all("\x00", "", literal=True).str.strip_chars()
    return pl.when(text.is_in(NULL_TOKENS)).then(None).otherwise(text)


def parse_int(expr: pl.Expr, decimal_comma: bool = False) -> pl.Expr:
    """'862', '862.0', '"1,234"' (thousands) or '1.234' (thousands, ';' files) -> Int64."""
    sep = "." if decimal_comma else ","
    grouped = rf"^\d{{1,3}}(\{sep}\d{{3}})+$"
    text = (
        pl.when(expr.str.contains(grouped))
        .then(expr.str.replace_all(sep, "", literal=True))
        .otherwise(expr.str.replace(",", ".", literal=True) if decimal_comma else expr)
    )
    whole = text.str.extract(r"^([+-]?\d+)(?:\.0*)?$", 1)
    return whole.cast(pl.Int64, strict=False)


def parse_float(expr: pl.Expr, decimal_comma: bool = False) -> pl.Expr:
    """'7.5', '7,5' (in ';'-delimited files), '1,234.5' -> Float64; 'inf'/'nan' are not numbers."""
    if decimal_comma:
        # In ';' files from European spreadsheets ',' is the decimal mark and '.' groups digits.
        text = (
            pl.when(expr.str.contains(",", literal=True))
            .then(expr.str.replace_all(".", "", literal=True).str.replace(",", ".", literal=True))
            .when(expr.str.contains(r"^[+-]?\d{1,3}(\.\d{3})+$"))
            .then(expr.str.replace_all(".", "", literal=True))
            .otherwise(expr)
        )
    else:
        text = (
            pl.when(expr.str.contains(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$"))
            .then(expr.str.replace_all(",", "", literal=True))
            .otherwise(expr)
        )
    numeric = text.str.contains(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
    return pl.when(numeric).then(text.cast(pl.Float64, strict=False))


def parse_bool(expr: pl.Expr) -> pl.Expr:
    lowered = expr.str.to_lowercase()
    return (
        pl.when(lowered.is_in(TRUE_TOKENS))
        .then(True)
        .when(lowered.is_in(FALSE_TOKENS))
        .then(False)
        .otherwise(None)
    )


def parse_date(expr: pl.Expr) -> pl.Expr:
    """ISO dates (optionally with a time part), 'YYYY/MM/DD', US 'M/D/YYYY', 'DD.MM.YYYY'."""
    date_part = expr.str.replace(r"^(\d{4}-\d{2}-\d{2})[T ].*$", "${1}")
    candidates = [date_part.str.to_date(fmt, strict=False) for fmt in DATE_FORMATS]
    return pl.coalesce(candidates)


def parse_media_type(expr: pl.Expr) -> pl.Expr:
    key = expr.str.to_lowercase().str.replace_all(r"[^a-z]", "")
    return key.replace_strict(MEDIA_TYPE_ALIASES, default=None, return_dtype=pl.String)


def parse_language(expr: pl.Expr) -> pl.Expr:
    """'en', 'EN', 'en-US', 'pt_BR' -> 'en' / 'pt'; anything else is not a language code."""
    code = expr.str.to_lowercase().str.extract(r"^([a-z]{2,3})(?:[-_][a-z0-9]+)?$", 1)
    return code


def parse_imdb_id(expr: pl.Expr) -> pl.Expr:
    """'tt0816692' stays; MovieLens-style '816692' becomes 'tt0816692'; anything else is null."""
    tt = expr.str.extract(r"^(tt\d{5,10})$", 1)
    digits = expr.str.extract(r"^(\d{1,10})(?:\.0+)?$", 1)
    return pl.coalesce(tt, pl.lit("tt") + digits.str.zfill(7))


def parse_list(expr: pl.Expr) -> pl.Expr:
    """Every list-cell layout seen in TMDB exports -> List[String] of trimmed, distinct names.

    'Action, Science Fiction' / 'Drama,Crime' / 'Adventure|Animation' / JSON
    '[{"id": 28, "name": "Action"}]' / Python '[{'id': 35, 'name': 'Comedy'}]' /
    "['Drama', 'Romance']". Genre-id lists ('[28, 35]') are handled by `parse_genre_ids`.
    """
    is_bracketed = expr.str.starts_with("[")
    has_names = expr.str.contains(r"""['"]name['"]\s*:""")
    named = expr.str.extract_all(r"""['"]name['"]\s*:\s*(?:"[^"]*"|'[^']*')""").list.eval(
        pl.element().str.replace(r"""^['"]name['"]\s*:\s*""", "").str.slice(1).str.head(-1)
    )
    quoted = expr.str.extract_all(r""""[^"]*"|'[^']*'""").list.eval(
        pl.element().str.slice(1).str.head(-1)
    )
    separated = expr.str.replace_all("|", ",", literal=True).str.split(",")
    items = (
        pl.when(is_bracketed & has_names)
        .then(named)
        .when(is_bracketed)
        .then(quoted)
        .otherwise(separated)
    )
    return _tidy(items)


def parse_genre_ids(expr: pl.Expr, media_type: pl.Expr) -> pl.Expr:
    """'[28, 35]' or '28|35' -> genre names through TMDB's table for the row's media type.

    Ids the table does not know are dropped: TMDB has retired ids (the legacy 35-entry list)
    that no longer name a current genre.
    """
    ids = expr.str.extract_all(r"\d+")
    tables = genre_table()
    movie = {str(k): v for k, v in tables["movie"].items()}
    tv = {str(k): v for k, v in tables["tv"].items()}
    as_movie = ids.list.eval(
        pl.element().replace_strict(movie, default=None, return_dtype=pl.String)
    )
    as_tv = ids.list.eval(pl.element().replace_strict(tv, default=None, return_dtype=pl.String))
    return _tidy(pl.when(media_type == "tv").then(as_tv).otherwise(as_movie))


def _tidy(items: pl.Expr) -> pl.Expr:
    """Trim items, drop empties and nulls, keep the first occurrence of each name."""
    cleaned = items.list.eval(
        pl.element().str.strip_chars().filter(pl.element().str.strip_chars().str.len_chars() > 0)
    )
    return cleaned.list.unique(maintain_order=True)


def first_number(expr: pl.Expr) -> pl.Expr:
    """'[48]', '48', '48.0', '[45, 60]' -> the first number as text (TV episode run times)."""
    return expr.str.extract(r"^\[?\s*(\d+(?:\.\d+)?)", 1)


# Fast paths: what almost every cell of a Kaggle dump looks like. `land.validate` uses the
# fast parser for a whole batch and falls back to the general one only when some non-null
# cell did not parse, which roughly halves the cost of landing a clean file.
def fast_int(expr: pl.Expr) -> pl.Expr:
    return expr.cast(pl.Int64, strict=False)


def fast_float(expr: pl.Expr) -> pl.Expr:
    value = expr.cast(pl.Float64, strict=False)
    return pl.when(value.is_finite()).then(value)


def fast_date(expr: pl.Expr) -> pl.Expr:
    return expr.str.to_date("%Y-%m-%d", strict=False)


def fast_list(expr: pl.Expr) -> pl.Expr:
    """Kaggle's 'Action, Science Fiction' layout; bracketed or '|' cells fail over to `parse_list`."""
    plain = ~expr.str.starts_with("[") & ~expr.str.contains("|", literal=True)
    items = expr.str.split(",").list.eval(pl.element().str.strip_chars())
    return pl.when(plain).then(_tidy(items))
