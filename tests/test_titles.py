"""The one title normalizer (watchbuddy/titles.py): one text and a column agree, and the
rule ignores case, accents and punctuation."""

from __future__ import annotations

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from watchbuddy.titles import normalize_title, normalize_titles


@given(st.text(max_size=40))
def test_one_title_is_normalized_as_a_column_of_titles_is(text: str) -> None:
    """`normalize_title` (one text: a --like, a search) and `normalize_titles` (a pool's
    column) are one rule, whatever the text."""
    assert normalize_title(text) == (normalize_titles(pl.Series([text, "x"]))[0] or "")


def test_the_normalizer_ignores_case_accents_and_punctuation() -> None:
    assert normalize_title("Amélie") == "amelie"
    assert normalize_title("Crouching Tiger, Hidden Dragon") == "crouching tiger hidden dragon"
    assert normalize_title("Fast & Furious") == "fast and furious"
    assert normalize_title("Ærø STRASSE Straße") == "aero strasse strasse"
    assert normalize_title("Spider\u2011Man:\u200b No Way Home") == "spider man no way home"
