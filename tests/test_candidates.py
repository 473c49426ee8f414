"""The candidate provider: exact filters, discovery modes, stable pages, fresh after deltas."""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import run_cli
from watchbuddy.errors import ConfigError
from watchbuddy.jobs.scheduler import run_job
from watchbuddy.pool.candidates import (
    MODES,
    CandidateFilters,
    CandidateProvider,
    get_candidates,
    read_watched_file,
)
from watchbuddy.settings import Settings
from watchbuddy.sources.csv.land import bootstrap
from watchbuddy.store.genres import canonical
from watchbuddy.store.warehouse import Warehouse

TODAY = dt.date.today()


@pytest.fixture(scope="module")
def demo_provider(tmp_path_factory: pytest.TempPathFactory, demo_dir: Path) -> CandidateProvider:
    root = tmp_path_factory.mktemp("cand")
    bootstrap(Settings(data_dir=demo_dir, warehouse=root / "wh"))
    return CandidateProvider(Warehouse(root / "wh"))


def small_pool(settings: Settings) -> CandidateProvider:
    (settings.data_dir / "movies.csv").write_text(
        "id,title,release_date,genres,original_language,vote_count,vote_average,popularity\n"
        '1,Blockbuster,2010-05-01,"Action, Science Fiction",en,30000,8.4,80\n'
        '2,Hidden Gem,2012-03-01,"Drama, Science Fiction",da,150,8.2,3\n'
        "3,Mediocre,2015-01-01,Comedy,en,60,5.0,2\n"
        f"4,Upcoming,{TODAY + dt.timedelta(days=30)},Drama,en,40,7.0,5\n"
    )
    (settings.data_dir / "shows.csv").write_text(
        "id,name,first_air_date,genres,original_language,vote_count,vote_average,popularity\n"
        "1,Space Show,2019-01-01,Sci-Fi & Fantasy,en,900,8.0,20\n"
        "5,Quest Show,2020-01-01,Action & Adventure,fr,300,7.5,9\n"
    )
    bootstrap(settings)
    return CandidateProvider(Warehouse(settings.warehouse))


def titles(provider: CandidateProvider, **filters) -> list[str]:
    return provider.get(CandidateFilters(**filters)).frame["title"].to_list()


def test_obscure_ranks_the_gem_first_and_mainstream_the_blockbuster(settings):
    provider = small_pool(settings)
    assert titles(provider, mode="obscure", min_votes=50)[0] == "Hidden Gem"
    assert titles(provider, mode="mainstream", min_votes=50)[0] == "Blockbuster"


def test_genres_meet_across_movie_and_tv_names(settings):
    provider = small_pool(settings)
    scifi = set(titles(provider, genres=("Science Fiction",), min_votes=0))
    assert scifi == {"Blockbuster", "Hidden Gem", "Space Show"}
    assert set(titles(provider, genres=("Sci-Fi",), min_votes=0)) == scifi
    assert set(titles(provider, genres=("Sci-Fi & Fantasy",), min_votes=0)) == scifi
    both = titles(provider, genres=("Action", "Adventure"), genre_mode="all", min_votes=0)
    assert both == ["Quest Show"]  # "Action & Adventure" counts as Action and Adventure


def test_unreleased_titles_only_on_request(settings):
    provider = small_pool(settings)
    assert "Upcoming" not in titles(provider, min_votes=0)
    assert "Upcoming" in titles(provider, min_votes=0, include_unreleased=True)


def test_exclusions_by_key_never_by_id_alone(settings):
    provider = small_pool(settings)
    got = titles(provider, min_votes=0, exclude=frozenset({("movie", 1)}))
    assert "Blockbuster" not in got and "Space Show" in got  # tv 1 stays


def test_watched_list_files_trakt_and_plain(tmp_path, settings):
    provider = small_pool(settings)
    trakt = tmp_path / "trakt.csv"
    trakt.write_text(
        "watched_at,type,title,tmdb_id\n2024-01-01,movie,Blockbuster,1\n"
        "2024-01-02,show,Quest Show,5\n2024-01-03,episode,Ep,77\n"
        "2024-01-04,movie,Broken,\n"
    )
    watched = read_watched_file(trakt)
    assert watched.keys == frozenset({("movie", 1), ("tv", 5)})
    assert len(watched.unknown) == 2 and "line 4" in watched.unknown[0]
    got = titles(provider, min_votes=0, exclude=watched.keys)
    assert "Blockbuster" not in got and "Quest Show" not in got and "Space Show" in got
    plain = tmp_path / "letterboxd.csv"
    plain.write_text("Name,Year,tmdbId\nBlockbuster,2010,1\n")
    assert read_watched_file(plain).keys == frozenset({("movie", 1), ("tv", 1)})
    with pytest.raises(ConfigError, match="no TMDB id column"):
        bad = tmp_path / "bad.csv"
        bad.write_text("Name,Year\nX,2000\n")
        read_watched_file(bad)


def test_a_watched_list_takes_decimal_ids_only_and_never_blocks(tmp_path):
    hostile = tmp_path / "hostile.csv"
    hostile.write_text("tmdb_id\n12\n27205.0\n1e3\n0x10\ninf\n1e400\nnan\n-5\n99999999999\n")
    watched = read_watched_file(hostile)
    assert {tmdb_id for _, tmdb_id in watched.keys} == {12, 27205}
    assert len(watched.unknown) == 7
    fifo = tmp_path / "watched.csv"
    os.mkfifo(fifo)
    with pytest.raises(ConfigError, match="not a regular file"):
        read_watched_file(fifo)


def test_a_new_query_after_a_delta_reflects_it(settings):
    provider = small_pool(settings)
    assert "Late Addition" not in titles(provider, min_votes=0)
    (settings.data_dir / "more_movies.csv").write_text(
        "id,title,release_date,vote_count\n9,Late Addition,2001-01-01,5\n"
    )
    bootstrap(settings)
    assert "Late Addition" in titles(provider, min_votes=0)


@pytest.mark.parametrize(
    "bad",
    [
        {"mode": "nope"},
        {"genres": ("Nope",)},
        {"year_min": 2000, "year_max": 1990},
        {"limit": -1},
        {"min_rating": 11.0},
    ],
)
def test_bad_filters_are_clear_errors(demo_provider, bad):
    with pytest.raises(ConfigError):
        demo_provider.get(CandidateFilters(**bad))


filters_strategy = st.builds(
    CandidateFilters,
    media_type=st.sampled_from(["movie", "tv", "both"]),
    languages=st.lists(st.sampled_from(["en", "fr", "de", "ja", "da", "sv"]), max_size=2).map(
        tuple
    ),
    genres=st.lists(
        st.sampled_from(
            [
                "Drama",
                "Comedy",
                "Sci-Fi",
                "Action & Adventure",
                "Thriller",
                "Crime",
                "War & Politics",
            ]
        ),
        max_size=2,
    ).map(tuple),
    genre_mode=st.sampled_from(["any", "all"]),
    year_min=st.one_of(st.none(), st.integers(1900, 2030)),
    year_max=st.one_of(st.none(), st.integers(1900, 2030)),
    min_rating=st.one_of(st.none(), st.floats(0, 9)),
    min_votes=st.one_of(st.none(), st.integers(0, 300)),
    mode=st.sampled_from(list(MODES)),
    limit=st.integers(1, 60),
).filter(lambda f: f.year_min is None or f.year_max is None or f.year_min <= f.year_max)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(filters=filters_strategy)
def test_every_returned_row_satisfies_every_filter(demo_provider, filters):
    rows = demo_provider.get(filters).dicts()
    f = filters.validated()
    assert len(rows) <= f.limit
    for row in rows:
        assert f.media_type == "both" or row["media_type"] == f.media_type
        assert not f.languages or row["original_language"] in f.languages
        have = {c for g in row["genres"] for c in canonical(g)}
        if f.genres:
            assert (set(f.genres) <= have) if f.genre_mode == "all" else (set(f.genres) & have)
        assert f.year_min is None or row["year"] >= f.year_min
        assert f.year_max is None or row["year"] <= f.year_max
        assert f.min_rating is None or row["vote_average"] >= f.min_rating
        assert row["vote_count"] >= f.vote_floor
        assert 0 <= row["score"] <= 1 and row["from_persistent_store"]
    scores = [(-r["score"], -r["vote_count"], r["media_type"], r["tmdb_id"]) for r in rows]
    assert scores == sorted(scores)  # best first, ties broken deterministically


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(mode=st.sampled_from(list(MODES)), size=st.integers(5, 40))
def test_offset_pages_never_repeat_a_title(demo_provider, mode, size):
    seen: set[tuple[str, int]] = set()
    for page in range(4):
        rows = demo_provider.get(CandidateFilters(mode=mode, limit=size, offset=page * size))
        keys = set(zip(rows.frame["media_type"], rows.frame["tmdb_id"], strict=True))
        assert not keys & seen
        seen |= keys


def test_recommend_cli_formats_and_errors(tmp_path, demo_dir):
    env = {"WATCHBUDDY_DATA_DIR": str(demo_dir), "WATCHBUDDY_WAREHOUSE": str(tmp_path / "wh")}
    done = run_cli(
        "recommend",
        "--mode",
        "obscure",
        "--genre",
        "Drama",
        "--limit",
        "5",
        "--format",
        "json",
        cwd=tmp_path,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert len(rows) == 5 and {"score", "obscurity_score", "from_persistent_store"} <= set(rows[0])
    for args, needle in (
        (("--genre", "Nope"), "valid genres"),
        (("--language", "zz"), "has:"),
        (("--year-min", "2001", "--year-max", "1999"), "after"),
    ):
        bad = run_cli("recommend", *args, cwd=tmp_path, env=env)
        assert bad.returncode == 2 and needle in bad.stderr
        assert len(bad.stderr.strip().splitlines()) == 1
    short = run_cli(
        "recommend",
        "--language",
        "xx",
        "--mode",
        "mainstream",
        "--limit",
        "500",
        "--no-fallback",
        cwd=tmp_path,
        env=env,
    )
    assert short.returncode == 0 and "of the 500 asked for" in short.stderr


def test_fallback_asks_tmdb_lands_results_and_flags_them(settings):
    from watchbuddy.devtools.fake_tmdb import Catalogue, FakeTmdb
    from watchbuddy.settings import Secret

    small_pool(settings)  # 2 Danish/English sci-fi titles; ask for more than the pool has
    catalogue = Catalogue.generate(400, 100, dt.date(2000, 1, 1), TODAY, seed=3)
    with FakeTmdb(catalogue, api_key="k") as tmdb:
        online = Settings(
            data_dir=settings.data_dir,
            warehouse=settings.warehouse,
            tmdb_api_key=Secret("k"),
            tmdb_base_url=tmdb.base_url,
            tmdb_rps=500.0,
        )
        filters = CandidateFilters(
            genres=("Science Fiction",), languages=("en",), min_votes=0, limit=30
        )
        first = get_candidates(filters, online)
        frame = first.frame
        assert frame.height == 30
        from_tmdb = frame.filter(~frame["from_persistent_store"])
        assert from_tmdb.height > 0 and set(frame.filter(frame["from_persistent_store"])["title"])
        assert set(from_tmdb["original_language"]) == {"en"}
        assert all(
            {c for g in gs for c in canonical(g)} & {"Science Fiction"}
            for gs in from_tmdb["genres"]
        )
        assert any("came from TMDB" in n for n in first.notes)
        requests = tmdb.requests
        again = get_candidates(filters, online)  # now answered from the pool
        assert again.frame["from_persistent_store"].all() and tmdb.requests == requests
        assert set(again.frame["tmdb_id"]) == set(frame["tmdb_id"])
        # Discover's results carry no keywords: a keyword list does not ask TMDB at all.
        keyword = get_candidates(CandidateFilters(keywords=("heist",), limit=30), online)
        assert tmdb.requests == requests
        assert any("fallback was not asked" in n for n in keyword.notes), keyword.notes
    offline = get_candidates(CandidateFilters(languages=("fr",), min_votes=0, limit=500), settings)
    assert offline.short_by > 0 and "no TMDB credential" in offline.notes[0]
    off = get_candidates(
        CandidateFilters(languages=("fr",), min_votes=0, limit=500), online, fallback=False
    )
    assert "turned off" in off.notes[0]


def test_fallback_with_tmdb_down_returns_the_pool_and_says_why(settings):
    from watchbuddy.settings import Secret

    small_pool(settings)
    down = Settings(
        data_dir=settings.data_dir,
        warehouse=settings.warehouse,
        tmdb_api_key=Secret("k"),
        tmdb_base_url="http://127.0.0.1:9/3",
        tmdb_timeout=0.5,
    )
    result = get_candidates(CandidateFilters(min_votes=0, limit=100), down)
    assert result.frame.height == 5 and "TMDB fallback skipped" in result.notes[0]


def test_the_candidate_table_is_built_once_per_content_and_shared(demo_provider) -> None:
    warehouse = demo_provider.warehouse
    filters = CandidateFilters(mode="obscure", limit=30)
    first = demo_provider.get(filters).dicts()
    files = list((warehouse.root / "cache").glob("pool-*.parquet"))
    assert len(files) == 1
    built_at = files[0].stat().st_mtime_ns
    other = CandidateProvider(warehouse)  # another process would do the same
    assert other.get(filters).dicts() == first
    # a commit that adds only a run record needs no new table
    run_job("compact", Settings(data_dir=warehouse.root, warehouse=warehouse.root))
    assert other.get(filters).dicts() == first
    assert other.loaded_version == warehouse.read_manifest().version
    assert list((warehouse.root / "cache").glob("pool-*.parquet")) == files
    assert files[0].stat().st_mtime_ns == built_at


# (rating, votes) pairs a film lover ranks the same way whatever the mode: confidence, not a
# lucky handful of perfect votes, decides.
ATTESTED_OVER_LUCKY = [((8.2, 60), (10.0, 6)), ((8.3, 150), (10.0, 20))]


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    scenarios=st.lists(
        st.tuples(
            st.floats(0, 400, allow_nan=False),  # popularity, equal within a pair
            st.dates(dt.date(1930, 1, 1), TODAY),  # release date, equal within a pair
            st.sampled_from(["en", "da", "ko"]),
            st.sampled_from(["Drama", "Thriller, Crime", "Documentary"]),
        ),
        min_size=1,
        max_size=4,
    ),
    others=st.lists(
        st.tuples(st.floats(0, 10, allow_nan=False), st.integers(0, 50_000)), max_size=8
    ),
)
def test_a_well_attested_rating_outranks_a_lucky_ten_in_every_mode(tmp_path, scenarios, others):
    with tempfile.TemporaryDirectory(dir=tmp_path) as folder:
        root = Path(folder)
        (root / "data").mkdir()
        lines = [
            "id,title,release_date,original_language,genres,vote_average,vote_count,popularity"
        ]
        pairs = []
        for i, (pop, released, lang, genres) in enumerate(scenarios):
            for j, ((good_r, good_v), (lucky_r, lucky_v)) in enumerate(ATTESTED_OVER_LUCKY):
                good, lucky = 1000 + 10 * i + 2 * j, 1001 + 10 * i + 2 * j
                lines.append(
                    f'{good},Good {good},{released},{lang},"{genres}",{good_r},{good_v},{pop}'
                )
                lines.append(
                    f'{lucky},Lucky {lucky},{released},{lang},"{genres}",{lucky_r},{lucky_v},{pop}'
                )
                pairs.append((good, lucky))
        for k, (rating, votes) in enumerate(others):
            lines.append(f"{5000 + k},Other {k},2001-01-01,en,Drama,{rating},{votes},5")
        (root / "data" / "movies.csv").write_text("\n".join(lines) + "\n")
        bootstrap(Settings(data_dir=root / "data", warehouse=root / "wh"))
        provider = CandidateProvider(Warehouse(root / "wh"))
        for mode in MODES:
            for genres in ((), ("Drama",)):
                ranked = (
                    provider.get(
                        CandidateFilters(
                            mode=mode,
                            min_votes=0,
                            genres=genres,
                            include_unreleased=True,
                            limit=100,
                        )
                    )
                    .frame["tmdb_id"]
                    .to_list()
                )
                for good, lucky in pairs:
                    if good in ranked and lucky in ranked:
                        assert ranked.index(good) < ranked.index(lucky), (mode, good, lucky)


def test_a_list_from_demo_data_says_so(demo_provider):
    result = demo_provider.get(CandidateFilters(limit=5))
    assert "5 of these 5 titles are synthetic demo data" in result.notes[0]


def test_a_list_the_vote_floor_empties_says_so(settings):
    provider = small_pool(settings)
    result = provider.get(CandidateFilters(mode="mainstream", languages=("Danish",)))
    assert result.frame.is_empty()
    assert "1 title(s) match, but none has the mainstream mode's 500 votes" in result.notes[0]
    assert provider.get(CandidateFilters(mode="mainstream", languages=("da",), min_votes=0)).dicts()
