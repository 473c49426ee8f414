"""The landing query: CSV text in, canonical typed rows out, each with a reject reason or none.

Validation runs as SQL inside DuckDB's parallel CSV scan (the cell parsers are the macros in
`sql/cells.sql`), or over records Polars read (fast.py, which asks this query about every
cell it does not convert itself). We measured the same rules as Polars expressions over
the streamed batches at twice the CPU time (benchmarks/RESULTS.md), and landing speed is a
product target. File header names never reach the SQL text: the reader names columns c0..cN and
this module maps the ones a `ColumnPlan` picked to canonical fields.
"""

from __future__ import annotations

import json

import duckdb

from watchbuddy.sql import fill, literal, sql_file, statement
from watchbuddy.store.schema import ALIASES, ISO_DATE_TEXT, VALUE_RULES, ColumnPlan, genre_table

MAX_REASON_VALUE = 60
# No null spelling of cells.sql (`wb_is_null_token`) is longer: the fast path (fast.py)
# takes a longer cell for a value without asking the macro.
NULL_TOKEN_CHARS = 6
# How each field's text is prepared before parsing (default: `wb_clean`).
_PARSED = ("tmdb_id", "release_date", "vote_count", "vote_average", "popularity", "runtime")
_CLEANER = {"overview": "wb_clean_free_text", **{f: "wb_nullif_token" for f in _PARSED}}


def load_cell_macros(con: duckdb.DuckDBPyConnection) -> None:
    """Define the `wb_*` parsing macros, with the shipped genre tables filled in."""
    tables = genre_table()

    def as_map(table: dict[int, str]) -> str:
        # Our own constants (TMDB genre names), quoted all the same.
        items = ", ".join(f"{literal(str(k))}: {literal(v)}" for k, v in sorted(table.items()))
        return f"MAP {{{items}}}"

    con.execute(
        fill(
            sql_file("cells.sql"),
            movie_genres=as_map(tables["movie"]),
            tv_genres=as_map(tables["tv"]),
            iso_date_text=ISO_DATE_TEXT,
            null_token_chars=str(NULL_TOKEN_CHARS),
        )
    )


def landing_query(plan: ColumnPlan, decimal_comma: bool, rows: str | None = None) -> str:
    """sql/landing.sql's query, yielding canonical columns plus `_reason`, `_raw`, with
    the fragments for this file's column plan filled in (built here: they depend on which
    columns the file has and on the schema's rules).

    `rows` names a table of records already read (columns c0..cN as text, the fast path);
    by default the query reads the file itself, and leaves the parameters $path, $columns,
    $skip, $delim, $compression for the caller (the path may be an open descriptor's,
    which has no extension to tell gzip by).
    """
    comma = "true" if decimal_comma else "false"

    def raw(field: str) -> str:
        # By position, not name: a header may name two columns alike (see plan_columns).
        if field in plan.positions:
            return f"c{plan.positions[field]}"
        return "CAST(NULL AS VARCHAR)"

    # Numbers and dates are parsed straight from the text (the fast casts ignore spaces);
    # only the fields kept as text are cleaned, which halves the cost of a clean file.
    cleaned = ",\n        ".join(
        f"{_CLEANER.get(field, 'wb_clean')}({raw(field)}) AS t_{field}" for field in ALIASES
    )
    if plan.media_type is None:
        media_type = "wb_parse_media_type(t_media_type)"
    else:
        media_type = literal(plan.media_type)
    genres = (
        "wb_parse_genre_ids(t_genres, p_media_type)"
        if plan.genre_ids
        else "wb_parse_list(t_genres)"
    )
    file_has_media_column = "false" if plan.media_type is not None else "true"

    def shown(field: str) -> str:
        return f"left(t_{field}, {MAX_REASON_VALUE})"

    def out_of_rule(field: str, parsed: str) -> tuple[str, str]:
        """A cell given but not parsed, or parsed but out of range (schema.VALUE_RULES)."""
        rule = VALUE_RULES[field]
        return (
            f"t_{field} IS NOT NULL AND NOT coalesce({rule.sql_holds(parsed)}, false)",
            f"format({literal(rule.reason('{}'))}, {shown(field)})",
        )

    checks = [
        ("t_tmdb_id IS NULL", "'missing id'"),
        out_of_rule("tmdb_id", "p_id"),
        (f"{file_has_media_column} AND t_media_type IS NULL", "'missing media type'"),
        (
            "p_media_type IS NULL",
            f"format('media type ''{{}}'' is not movie or tv', {shown('media_type')})",
        ),
        ("p_title IS NULL", "'missing title'"),
        out_of_rule("release_date", "p_date"),
        out_of_rule("vote_count", "p_votes"),
        out_of_rule("vote_average", "p_rating"),
        out_of_rule("popularity", "p_popularity"),
        out_of_rule("runtime", "p_runtime"),
        (
            "t_adult IS NOT NULL AND p_adult IS NULL",
            f"format('adult ''{{}}'' is not true or false', {shown('adult')})",
        ),
        (
            "t_original_language IS NOT NULL AND p_language IS NULL",
            f"format('original language ''{{}}'' is not a language code', "
            f"{shown('original_language')})",
        ),
    ]
    reason = (
        "CASE\n"
        + "\n".join(f"            WHEN {condition} THEN {message}" for condition, message in checks)
        + "\n        END"
    )
    raw_fields = ", ".join(f"{literal(f)}: {raw(f)}" for f in plan.columns)
    return fill(
        statement("landing.sql", "landing"),
        rows=rows or statement("landing.sql", "csv_rows"),
        selected=", ".join(sorted({raw(f) for f in plan.columns})),
        cleaned=cleaned,
        media_type=media_type,
        decimal_comma=comma,
        reason=reason,
        genres=genres,
        raw_struct=f"{{{raw_fields}}}",
    )


def raw_with_file_names(raw_json: str | None, plan: ColumnPlan) -> str | None:
    """Re-key a reject's fields from canonical names to the names in the file's header."""
    if raw_json is None:
        return None
    fields = json.loads(raw_json)
    return json.dumps({plan.columns.get(k, k): v for k, v in fields.items()}, ensure_ascii=False)
