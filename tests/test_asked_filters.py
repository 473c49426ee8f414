"""The filters people ask for (issue 15): genres left out, a runtime range, keywords in and
out, with or without a poster. Each is exact: every returned row satisfies every filter,
and a request returns every title of the pool that satisfies it (checked against the pool
view, with the rules written out again here in Python)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import run_cli
from watchbuddy.errors import ConfigError
from watchbuddy.explorer.query_params import (
    DEFAULTS,
    filters_from_params,
    params_from_filters,
    query_string,
    read_query_string,
)
from watchbuddy.pool.candidates import CandidateFilters, CandidateProvider
from watchbuddy.pool.filters import discover_queries
from watchbuddy.pool.languages import picker_label
from watchbuddy.settings import Settings
from watchbuddy.sources.csv.land import bootstrap
from watchbuddy.sources.tmdb.ingest import DATE_FIELD
from watchbuddy.store.genres import CANONICAL_NAMES, canonical
from watchbuddy.store.views import open_views
from watchbuddy.store.warehouse import Warehouse

# Everything else let through, so only the new filters decide.
OPEN = {"min_votes": 0, "include_adult": True, "include_unreleased": True, "include_removed": True}


@pytest.fixture(scope="module")
def pool(
    tmp_path_factory: pytest.TempPathFactory, demo_dir: Path
) -> tuple[CandidateProvider, pl.DataFrame]:
    root = tmp_path_factory.mktemp("asked") / "wh"
    bootstrap(Settings(data_dir=demo_dir, warehouse=root))
    con = open_views(Warehouse(root))
    rows = con.sql(
        "SELECT media_type, tmdb_id, genres, keywords, runtime, poster_path FROM pool"
    ).pl()
    con.close()
    return CandidateProvider(Warehouse(root)), rows


def keyword_of(text: str) -> str:
    return re.sub(r"[\t\n\f\r ]+", " ", text).strip(" ").lower()


def satisfies(row: dict, f: CandidateFilters) -> bool:
    """The new filters' rules, written out again (not the SQL's)."""
    have = {c for g in row["genres"] or [] for c in canonical(g)}
    if have & set(f.exclude_genres):
        return False
    runtime = row["runtime"] or None  # 0 is unknown, as NULL
    if f.runtime_min is not None and (runtime is None or runtime < f.runtime_min):
        return False
    if f.runtime_max is not None and (runtime is None or runtime > f.runtime_max):
        return False
    words = {keyword_of(k) for k in row["keywords"] or []}
    if f.keywords and not words & set(f.keywords):
        return False
    if words & set(f.exclude_keywords):
        return False
    poster = bool(row["poster_path"])
    return f.poster == "any" or poster == (f.poster == "with")


def vocabulary(rows: pl.DataFrame) -> list[str]:
    return sorted({k for ks in rows["keywords"].to_list() if ks for k in ks})[:40]


@st.composite
def requests(draw: st.DrawFn, words: list[str]) -> CandidateFilters:
    keyword = st.sampled_from(words).flatmap(
        lambda w: st.sampled_from([w, w.upper(), f"  {w.title()} "])
    ) | st.sampled_from(["no such keyword", "Time  Travel"])
    low = draw(st.none() | st.integers(0, 200))
    high = draw(st.none() | st.integers(low or 0, 260))
    return CandidateFilters(
        exclude_genres=tuple(draw(st.lists(st.sampled_from(CANONICAL_NAMES), max_size=3))),
        runtime_min=low,
        runtime_max=high,
        keywords=tuple(draw(st.lists(keyword, max_size=2))),
        exclude_keywords=tuple(draw(st.lists(keyword, max_size=2))),
        poster=draw(st.sampled_from(["any", "with", "without"])),
        media_type=draw(st.sampled_from(["movie", "tv", "both"])),
        limit=100_000,
        **OPEN,
    )


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_every_row_satisfies_every_new_filter_and_none_is_missing(pool, data) -> None:
    provider, rows = pool
    asked = data.draw(requests(vocabulary(rows)))
    got = provider.get(asked)
    f = got.filters
    keys = set(zip(got.frame["media_type"], got.frame["tmdb_id"], strict=True))
    expected = {
        (row["media_type"], row["tmdb_id"])
        for row in rows.iter_rows(named=True)
        if satisfies(row, f) and f.media_type in ("both", row["media_type"])
    }
    assert keys == expected
    assert got.frame.height == len(keys)  # each title once


def test_the_filters_have_titles_to_find(pool) -> None:
    """The demo pool has what the property test needs: titles with and without posters,
    runtimes and keywords, and Music titles to leave out."""
    provider, rows = pool
    assert rows["poster_path"].is_null().any() and rows["poster_path"].is_not_null().any()
    assert rows["keywords"].list.len().fill_null(0).gt(0).sum() > 1000
    music = provider.get(CandidateFilters(genres=("Music",), limit=10, **OPEN))
    assert music.frame.height == 10
    word = vocabulary(rows)[0]
    found = provider.get(CandidateFilters(keywords=(word.upper(),), limit=5, **OPEN))
    assert found.frame.height == 5
    short = provider.get(CandidateFilters(runtime_max=100, limit=200, **OPEN))
    runtimes = dict(
        zip(zip(rows["media_type"], rows["tmdb_id"], strict=True), rows["runtime"], strict=True)
    )
    for key in zip(short.frame["media_type"], short.frame["tmdb_id"], strict=True):
        assert runtimes[key] and runtimes[key] <= 100  # unknown (NULL or 0) left out


def test_keywords_are_normalized_and_commas_refused() -> None:
    f = CandidateFilters(keywords=(" Time\tTravel ", "time travel", "HEIST")).validated()
    assert f.keywords == ("time travel", "heist")
    with pytest.raises(ConfigError, match="comma"):
        CandidateFilters(exclude_keywords=("a,b",)).validated()
    with pytest.raises(ConfigError, match="runtime-min 150 is above runtime-max 90"):
        CandidateFilters(runtime_min=150, runtime_max=90).validated()
    with pytest.raises(ConfigError, match="Unknown genre"):
        CandidateFilters(exclude_genres=("Concerts",)).validated()
    with pytest.raises(ConfigError, match="use any, with or without"):
        CandidateFilters(poster="maybe").validated()  # type: ignore[arg-type]


def test_the_fallback_carries_what_tmdb_discover_can_express() -> None:
    f = CandidateFilters(
        exclude_genres=("Music", "Talk"),
        runtime_min=80,
        runtime_max=120,
        exclude_keywords=("concert",),
        poster="with",
    ).validated()
    queries = dict(discover_queries(f, dt.date(2024, 6, 1), DATE_FIELD))
    assert queries["movie"]["without_genres"] == "10402"  # Music; movies have no Talk
    assert queries["tv"]["without_genres"] == "10767"  # Talk; TV has no Music genre
    for params in queries.values():
        assert params["with_runtime.gte"] == 80 and params["with_runtime.lte"] == 120
        # keywords need TMDB keyword ids and a poster has no parameter: not forwarded
        assert not {"with_keywords", "without_keywords"} & set(params)
    # Discover's results carry no keywords, so with a keyword to have none could match:
    # no query is made at all.
    with_keyword = replace(f, keywords=("heist",))
    assert list(discover_queries(with_keyword, dt.date(2024, 6, 1), DATE_FIELD)) == []


def test_links_carry_the_new_filters_and_drop_an_empty_runtime_range() -> None:
    link = {
        "no_genre": "Music,Talk",
        "runtime_min": "60",
        "runtime_max": "120",
        "keyword": "Time Travel,heist",
        "no_keyword": "concert",
        "poster": "with",
    }
    parsed = filters_from_params(link)
    assert parsed.notes == []
    f = parsed.filters
    assert f.exclude_genres == ("Music", "Talk") and f.keywords == ("time travel", "heist")
    assert (f.runtime_min, f.runtime_max, f.poster) == (60, 120, "with")
    again, fields = read_query_string(query_string(f))
    assert again.filters == f and again.notes == []
    assert fields == {
        "exclude_genres",
        "runtime_min",
        "runtime_max",
        "keywords",
        "exclude_keywords",
        "poster",
    }
    assert params_from_filters(DEFAULTS) == {}
    empty = filters_from_params({"runtime_min": "150", "runtime_max": "90", "poster": "maybe"})
    assert empty.filters.runtime_min is None and empty.filters.runtime_max is None
    assert "Ignored runtime_min=150 and runtime_max=90: the range is empty." in empty.notes
    assert any(note.startswith("Ignored poster='maybe'") for note in empty.notes)


def test_the_language_picker_names_languages() -> None:
    assert picker_label("da") == "Danish (da)"
    assert picker_label("cn") == "Cantonese (cn)"
    assert picker_label("qq") == "qq"


def test_recommend_takes_the_new_options_and_refuses_bad_ones(tmp_path, demo_dir) -> None:
    env = {"WATCHBUDDY_DATA_DIR": str(demo_dir), "WATCHBUDDY_WAREHOUSE": str(tmp_path / "wh")}
    done = run_cli(
        "recommend",
        "--exclude-genre",
        "Music",
        "--exclude-genre",
        "Talk",
        "--runtime-max",
        "120",
        "--poster",
        "with",
        "--limit",
        "5",
        "--format",
        "json",
        "--no-fallback",
        cwd=tmp_path,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    for args, needle in (
        (("--runtime-min", "150", "--runtime-max", "90"), "above runtime-max"),
        (("--runtime-min", "-1"), "runtime-min must be from 0 to 100,000 minutes"),
        (("--exclude-genre", "Concerts"), "valid genres"),
        (("--keyword", "a,b"), "comma"),
        (("--poster", "maybe"), "maybe"),
    ):
        bad = run_cli("recommend", *args, "--no-fallback", cwd=tmp_path, env=env)
        assert bad.returncode == 2, (args, bad.stderr)
        assert needle in bad.stderr, (args, bad.stderr)
        assert len(bad.stderr.strip().splitlines()) == 1, bad.stderr


def test_keyword_tables_follow_a_new_version(settings: Settings) -> None:
    """The keyword tables are built on the first keyword query of a loaded table, and again
    for the next version's table."""
    (settings.data_dir / "movies.csv").write_text(
        "id,title,release_date,keywords,runtime,poster_path,vote_count\n"
        '1,Heist One,2001-01-01,"Heist, Time Travel",95,/a.jpg,10\n'
        "2,Quiet One,2002-01-01,,0,,10\n"
    )
    bootstrap(settings)
    provider = CandidateProvider(Warehouse(settings.warehouse))

    def titles(**asked) -> list[str]:
        return sorted(provider.get(CandidateFilters(**asked, **OPEN)).frame["title"])

    assert titles() == ["Heist One", "Quiet One"]  # no keyword asked: no keyword tables
    assert titles(keywords=("TIME TRAVEL",)) == ["Heist One"]
    assert titles(exclude_keywords=("heist",)) == ["Quiet One"]
    assert titles(runtime_min=0) == ["Heist One"]  # runtime 0 is unknown
    assert titles(poster="without") == ["Quiet One"]
    (settings.data_dir / "more.csv").write_text(
        "id,title,release_date,keywords,vote_count\n3,Heist Two,2003-01-01,heist,10\n"
    )
    bootstrap(settings)
    assert titles(keywords=("heist",)) == ["Heist One", "Heist Two"]
