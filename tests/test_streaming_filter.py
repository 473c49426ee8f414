"""The provider filter (issue 14): only titles a region's availability lists for the asked
providers and monetization types, as many as exist; names, ids and aliases in any case;
clear errors for a region without data and an unknown provider; `streaming_on` per row;
the same provider parameters in the TMDB fallback's discover queries."""

from __future__ import annotations

import datetime as dt
import json
import random
import shutil
import threading
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import run_cli
from tests.streaming_support import US_PROVIDERS, publish_region
from watchbuddy import CandidateFilters as PublicFilters
from watchbuddy.errors import ConfigError, NoStreamingData, UnknownProvider
from watchbuddy.explorer.query_params import filters_from_params, params_from_filters
from watchbuddy.pool.candidates import (
    STREAMING_COLUMN,
    CandidateFilters,
    CandidateProvider,
    get_candidates,
)
from watchbuddy.pool.filters import MAX_LIST, discover_queries
from watchbuddy.pool.streaming import (
    ATTRIBUTION,
    DEFAULT_MONETIZATION,
    MONETIZATION_TYPES,
    PROVIDER_ALIASES,
    Provider,
    alias_table,
    find_provider,
    watch_page_url,
)
from watchbuddy.settings import Secret, Settings
from watchbuddy.sources.csv.land import bootstrap
from watchbuddy.sources.tmdb.ingest import DATE_FIELD
from watchbuddy.store.views import open_views
from watchbuddy.store.warehouse import Warehouse

DE_PROVIDERS = [(8, "Netflix", "/netflix.jpg"), (30, "WOW", "/wow.jpg")]
US_IDS = [p[0] for p in US_PROVIDERS]


@pytest.fixture(scope="module")
def streaming_pool(tmp_path_factory: pytest.TempPathFactory, demo_dir: Path) -> Path:
    """The demo pool with a random US and DE availability (some of it for titles the pool
    lacks, which no filter can return)."""
    root = tmp_path_factory.mktemp("streaming") / "wh"
    bootstrap(Settings(data_dir=demo_dir, warehouse=root))
    warehouse = Warehouse(root)
    con = open_views(warehouse)
    keys = con.sql("SELECT media_type, tmdb_id FROM pool ORDER BY 1, 2").fetchall()
    con.close()
    rng = random.Random(14)
    rows = [
        (rng.choice(US_IDS), rng.choice(MONETIZATION_TYPES), media, tmdb_id)
        for media, tmdb_id in rng.sample(keys, 3000)
        for _ in range(rng.randint(1, 3))
    ]
    rows += [(8, "flatrate", "movie", 900_000_000 + i) for i in range(20)]  # not in the pool
    publish_region(warehouse, "US", US_PROVIDERS, rows)
    de = [(8, "flatrate", media, tmdb_id) for media, tmdb_id in rng.sample(keys, 500)]
    publish_region(warehouse, "DE", DE_PROVIDERS, de)
    return root


@pytest.fixture(scope="module")
def provider(streaming_pool: Path) -> CandidateProvider:
    return CandidateProvider(Warehouse(streaming_pool))


def available(root: Path, region: str, ids: list[int], types: tuple[str, ...]) -> set:
    """The pool's titles the availability view lists: the filter's truth, straight in SQL."""
    con = open_views(Warehouse(root))
    try:
        rows = con.sql(
            "SELECT DISTINCT a.media_type, a.tmdb_id FROM availability AS a "
            "SEMI JOIN pool AS p ON p.media_type = a.media_type AND p.tmdb_id = a.tmdb_id "
            "WHERE a.region = $region AND list_contains($ids, a.provider_id) "
            "AND list_contains($types, a.monetization_type)",
            params={"region": region, "ids": ids, "types": list(types)},
        ).fetchall()
    finally:
        con.close()
    return set(rows)


EVERYTHING = {
    "min_votes": 0,
    "include_adult": True,
    "include_unreleased": True,
    "include_removed": True,
}


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    ids=st.lists(st.sampled_from(US_IDS), min_size=1, max_size=3, unique=True),
    types=st.lists(st.sampled_from(MONETIZATION_TYPES), max_size=3, unique=True),
    mode=st.sampled_from(["balanced", "obscure", "popular"]),
    media=st.sampled_from(["both", "movie", "tv"]),
    limit=st.integers(1, 40),
)
def test_every_row_is_available_and_none_is_missing(
    provider, streaming_pool, ids, types, mode, media, limit
):
    asked = CandidateFilters(
        region="US", providers=tuple(map(str, ids)), monetization=tuple(types), mode=mode
    )
    chosen = asked.validated().monetization  # none given: the default types
    truth = available(streaming_pool, "US", ids, chosen)
    names = {i: n for i, n, _ in US_PROVIDERS}
    page = provider.get(replace(asked, limit=limit, media_type=media))
    rows = page.frame
    keys = set(zip(rows["media_type"], rows["tmdb_id"], strict=True))
    assert keys <= truth
    # streaming_on names at least one asked provider, and only providers of the region
    for streams in rows[STREAMING_COLUMN]:
        assert set(streams) & {names[i] for i in ids}
        assert set(streams) <= set(names.values())
    # ... and as many as exist: every available title, with no other filter in the way
    whole = provider.get(
        CandidateFilters(
            region="US",
            providers=tuple(map(str, ids)),
            monetization=tuple(types),
            limit=MAX_LIST,
            **EVERYTHING,
        )
    )
    assert set(zip(whole.frame["media_type"], whole.frame["tmdb_id"], strict=True)) == truth
    assert whole.total == len(truth)


def test_no_monetization_means_what_a_subscriber_watches_free():
    assert CandidateFilters(monetization=()).validated().monetization == DEFAULT_MONETIZATION
    assert CandidateFilters(monetization=("BUY,rent",)).validated().monetization == (
        "rent",
        "buy",
    )
    with pytest.raises(ConfigError, match="Unknown monetization type 'stream'; valid types"):
        CandidateFilters(monetization=("stream",)).validated()


def test_names_are_case_insensitive_and_aliases_resolve(provider):
    listed = [Provider(i, n, logo) for i, n, logo in US_PROVIDERS]
    assert find_provider(listed, "netflix").provider_id == 8
    assert find_provider(listed, "  NETFLIX ").provider_id == 8
    assert find_provider(listed, "8").name == "Netflix"
    assert find_provider(listed, "prime video").name == "Amazon Prime Video"
    assert find_provider(listed, "Disney+").name == "Disney Plus"
    assert find_provider(listed, "apple tv+").name == "Apple TV Plus"
    assert find_provider(listed, "Apple TV").name == "Apple TV"  # the exact name wins
    assert find_provider(listed, "HBO Max").name == "Max"
    assert find_provider([Provider(384, "HBO Max")], "Max").name == "HBO Max"
    assert find_provider(listed, "Hulu") is None
    for alias, names in PROVIDER_ALIASES.items():
        assert alias.casefold() not in {n.casefold() for n in names if n != alias}, alias
    by_name = provider.get(
        CandidateFilters(region="us", providers=("PRIME VIDEO", "netflix"), **EVERYTHING)
    )
    by_id = provider.get(CandidateFilters(region="US", providers=("9", "8"), **EVERYTHING))
    assert by_name.filters.providers == ("9", "8")
    assert by_name.frame.equals(by_id.frame) and by_name.frame.height


def test_a_region_without_data_and_an_unknown_provider_say_what_is_valid(provider):
    with pytest.raises(NoStreamingData) as no_data:
        provider.get(CandidateFilters(region="FR", providers=("Netflix",)))
    assert "watchbuddy providers --region FR" in str(no_data.value)
    assert "regions with data: DE, US" in str(no_data.value)
    with pytest.raises(UnknownProvider) as unknown:
        provider.get(CandidateFilters(region="DE", providers=("Disney+",)))
    assert "'Disney+' for region DE" in str(unknown.value)
    assert "Netflix (8), WOW (30)" in str(unknown.value)
    with pytest.raises(ConfigError, match="not a country code"):
        provider.get(CandidateFilters(region="USA"))
    with pytest.raises(ConfigError, match="needs a region"):
        provider.get(CandidateFilters(providers=("Netflix",)))


def test_the_first_watch_region_is_the_default(streaming_pool, tmp_path):
    settings_de = Settings(data_dir=tmp_path, warehouse=streaming_pool, watch_regions=("DE", "US"))
    result = get_candidates(PublicFilters(providers=("wow",), **EVERYTHING), settings_de)
    assert result.filters.region == "DE" and result.filters.providers == ("30",)
    assert set(result.frame[STREAMING_COLUMN].explode()) <= {"Netflix", "WOW"}
    # Without a provider there is no default region, and no streaming column.
    plain = get_candidates(PublicFilters(limit=5), settings_de)
    assert plain.filters.region is None and STREAMING_COLUMN not in plain.frame.columns


def test_a_region_alone_filters_nothing_and_says_where_each_title_streams(provider):
    everything = provider.get(CandidateFilters(limit=MAX_LIST, **EVERYTHING)).frame
    regional = provider.get(CandidateFilters(region="DE", limit=MAX_LIST, **EVERYTHING)).frame
    assert regional.height == everything.height
    streaming = regional.filter(regional[STREAMING_COLUMN].list.len() > 0)
    assert 0 < streaming.height <= 500
    assert set(streaming[STREAMING_COLUMN].explode()) == {"Netflix"}


def test_a_new_fetch_is_seen_without_a_restart(tmp_path, demo_dir):
    root = tmp_path / "wh"
    bootstrap(Settings(data_dir=demo_dir, warehouse=root))
    warehouse = Warehouse(root)
    fresh = CandidateProvider(warehouse)
    with pytest.raises(NoStreamingData):
        fresh.get(CandidateFilters(region="US", providers=("Netflix",)))
    every = fresh.get(CandidateFilters(limit=MAX_LIST, **EVERYTHING)).frame
    movie = every.filter(every["media_type"] == "movie")["tmdb_id"][0]
    show = every.filter(every["media_type"] == "tv")["tmdb_id"][0]
    publish_region(warehouse, "US", US_PROVIDERS, [(8, "flatrate", "movie", movie)])
    netflix = CandidateFilters(region="US", providers=("Netflix",), **EVERYTHING)
    first = fresh.get(netflix).frame
    assert list(zip(first["media_type"], first["tmdb_id"], strict=True)) == [("movie", movie)]
    publish_region(warehouse, "US", US_PROVIDERS, [(8, "flatrate", "tv", show)])  # replaces
    again = fresh.get(netflix).frame
    assert list(zip(again["media_type"], again["tmdb_id"], strict=True)) == [("tv", show)]


# ---------------------------------------------------------------- the command line


def test_recommend_with_providers_shows_where_titles_stream(streaming_pool, tmp_path):
    env = {"WATCHBUDDY_WAREHOUSE": str(streaming_pool), "WATCHBUDDY_DATA_DIR": str(tmp_path)}
    asked = ["recommend", "--region", "US", "--provider", "Netflix", "--provider", "Prime Video"]
    table = run_cli(*asked, "--no-fallback", "--min-votes", "0", cwd=tmp_path, env=env)
    assert table.returncode == 0, table.stderr
    assert "streaming_on" in table.stdout and ATTRIBUTION in table.stdout
    shown = run_cli(*asked, "--format", "json", "--no-fallback", cwd=tmp_path, env=env)
    rows = json.loads(shown.stdout)
    assert rows and all({"Netflix", "Amazon Prime Video"} & set(r["streaming_on"]) for r in rows)
    assert ATTRIBUTION in shown.stderr
    csv = run_cli(
        *asked,
        "--monetization",
        "rent,buy",
        "--format",
        "csv",
        "--no-fallback",
        cwd=tmp_path,
        env=env,
    )
    assert csv.returncode == 0 and csv.stdout.splitlines()[0].endswith(",streaming_on")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--region", "FR", "--provider", "Netflix"], "watchbuddy providers --region FR"),
        (["--region", "US", "--provider", "Nope"], "valid providers"),
        (["--region", "USA"], "not a country code"),
        (["--provider", "Netflix"], "needs a region"),
        (["--monetization", "subscription"], "valid types: flatrate, free, ads, rent, buy"),
    ],
)
def test_bad_streaming_values_exit_2_with_one_line(streaming_pool, tmp_path, args, expected):
    env = {"WATCHBUDDY_WAREHOUSE": str(streaming_pool), "WATCHBUDDY_DATA_DIR": str(tmp_path)}
    result = run_cli("recommend", *args, "--no-fallback", cwd=tmp_path, env=env)
    assert result.returncode == 2, result.stderr
    assert expected in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


# ---------------------------------------------------------------- the TMDB fallback


def test_discover_queries_carry_the_provider_parameters():
    resolved = CandidateFilters(
        region="US", providers=("8", "9"), monetization=("flatrate", "ads"), media_type="tv"
    )
    [(media, params)] = discover_queries(resolved.validated(), dt.date(2026, 1, 1), DATE_FIELD)
    assert media == "tv"
    assert params["watch_region"] == "US"
    assert params["with_watch_providers"] == "8|9"
    assert params["with_watch_monetization_types"] == "flatrate|ads"
    [(_, plain)] = discover_queries(
        CandidateFilters(region="US", media_type="movie"), dt.date(2026, 1, 1), DATE_FIELD
    )
    assert not {k for k in plain if "watch" in k}


class Recorder(BaseHTTPRequestHandler):
    """A TMDB that remembers what discover was asked and answers with `results` (one
    page; none by default)."""

    asked: ClassVar[list[tuple[str, dict[str, str]]]] = []
    results: ClassVar[list[dict[str, Any]]] = []

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        Recorder.asked.append((url.path, {k: v[-1] for k, v in parse_qs(url.query).items()}))
        found = Recorder.results if url.path.endswith("/discover/movie") else []
        body = json.dumps(
            {"page": 1, "results": found, "total_pages": 1, "total_results": len(found)}
        )
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def recorder() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    Recorder.asked = []
    Recorder.results = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/3"
    finally:
        server.shutdown()
        server.server_close()


def test_the_fallback_asks_discover_with_the_same_providers(streaming_pool, tmp_path, recorder):
    online = Settings(
        data_dir=tmp_path,
        warehouse=streaming_pool,
        tmdb_api_key=Secret("k"),
        tmdb_base_url=recorder,
        tmdb_rps=500.0,
        watch_regions=("US",),
    )
    asked = PublicFilters(
        providers=("netflix", "Disney+"), monetization=("flatrate", "free"), limit=5000
    )
    result = get_candidates(asked, online)
    assert result.short_by  # the pool had fewer: TMDB was asked
    discovers = [q for path, q in Recorder.asked if "/discover/" in path]
    assert {path.rsplit("/", 1)[1] for path, _ in Recorder.asked} == {"movie", "tv"}
    assert discovers
    for query in discovers:
        assert query["watch_region"] == "US"
        assert query["with_watch_providers"] == "8|337"
        assert query["with_watch_monetization_types"] == "flatrate|free"


def test_fallback_titles_wait_for_the_next_fetch_and_a_note_says_so(
    streaming_pool, tmp_path, recorder
):
    """TMDB's discover lists a Netflix title the last fetch did not: it lands in the pool,
    but the filtered list shows only what the region's availability lists."""
    root = tmp_path / "wh"
    shutil.copytree(streaming_pool, root)
    Recorder.results = [
        {
            "id": 990_000_001,
            "title": "New on Netflix",
            "original_title": "New on Netflix",
            "original_language": "en",
            "release_date": "2020-05-01",
            "genre_ids": [18],
            "vote_average": 7.5,
            "vote_count": 900,
            "popularity": 12.0,
            "adult": False,
        }
    ]
    online = Settings(
        data_dir=tmp_path,
        warehouse=root,
        tmdb_api_key=Secret("k"),
        tmdb_base_url=recorder,
        tmdb_rps=500.0,
    )
    asked = PublicFilters(region="US", providers=("Netflix",), media_type="movie", limit=5000)
    result = get_candidates(asked, online)
    assert any("1 title(s) came from TMDB" in n for n in result.notes)
    assert any("after the next `watchbuddy providers --region US`" in n for n in result.notes)
    assert 990_000_001 not in result.frame["tmdb_id"].to_list()
    unfiltered = get_candidates(PublicFilters(min_votes=0, limit=5000), online, fallback=False)
    assert 990_000_001 in unfiltered.frame["tmdb_id"].to_list()


def test_the_watch_page_link_goes_to_tmdb():
    assert watch_page_url("tv", 1399, "DE") == "https://www.themoviedb.org/tv/1399/watch?locale=DE"


def test_the_readme_shows_the_aliases_and_the_attribution_rule():
    text = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    assert alias_table() in text
    assert ATTRIBUTION in text
    assert 'watchbuddy recommend --region US --provider Netflix --provider "Prime Video"' in text


def test_link_parameters_read_like_the_cli():
    parsed = filters_from_params(
        {"region": "us", "provider": "Netflix, prime video", "monetization": "RENT,stream"}
    )
    assert parsed.filters.region == "US"
    assert parsed.filters.providers == ("Netflix", "prime video")
    assert parsed.filters.monetization == ("rent",)
    assert parsed.notes == [
        "Ignored monetization 'stream': not one of flatrate, free, ads, rent, buy."
    ]
    bad = filters_from_params({"region": "USA"})
    assert bad.filters.region is None
    assert bad.notes == ["Ignored region='USA': not a two-letter country code."]
    assert params_from_filters(parsed.filters) == {
        "region": "US",
        "provider": "Netflix,prime video",
        "monetization": "rent",
    }
