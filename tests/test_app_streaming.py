"""The Explore page's streaming filter through AppTest (issue 14): a region picker, the
providers by name, the JustWatch attribution wherever availability is shown, a link that
round-trips, and a note saying what to set up when there is no region."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from tests.streaming_support import US_PROVIDERS, publish_region
from tests.test_app import results, shown, start
from watchbuddy.pool.streaming import ATTRIBUTION
from watchbuddy.settings import Settings
from watchbuddy.sources.csv.land import bootstrap
from watchbuddy.store.views import open_views
from watchbuddy.store.warehouse import Warehouse


@pytest.fixture(scope="module")
def streaming_warehouse(tmp_path_factory: pytest.TempPathFactory, demo_dir: Path) -> Path:
    root = tmp_path_factory.mktemp("app-streaming") / "warehouse"
    bootstrap(Settings(data_dir=demo_dir, warehouse=root))
    warehouse = Warehouse(root)
    con = open_views(warehouse)
    # Titles with votes, so the default vote floor keeps some of them.
    keys = con.sql(
        "SELECT media_type, tmdb_id FROM pool WHERE vote_count >= 50 ORDER BY 1, 2"
    ).fetchall()
    con.close()
    rng = random.Random(5)
    rows = [
        (rng.choice([8, 9, 337]), "flatrate", m, i)
        for m, i in rng.sample(keys, min(len(keys), 400))
    ]
    publish_region(warehouse, "US", US_PROVIDERS, rows)
    return root


@pytest.fixture
def streaming_env(
    tmp_path: Path, streaming_warehouse: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    (tmp_path / "data").mkdir()
    monkeypatch.setenv("WATCHBUDDY_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("WATCHBUDDY_WAREHOUSE", str(streaming_warehouse))
    monkeypatch.setenv("WATCHBUDDY_SCHEDULER_IN_APP", "false")
    monkeypatch.setenv("WATCHBUDDY_WATCH_REGIONS", "US")
    monkeypatch.delenv("TMDB_API_KEY", raising=False)
    monkeypatch.delenv("TMDB_READ_ACCESS_TOKEN", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def captions(at) -> str:
    return "\n".join(c.value for c in at.caption) + "\n".join(m.value for m in at.markdown)


def test_a_provider_filter_shows_where_titles_stream_and_credits_justwatch(streaming_env):
    at = start()
    assert ATTRIBUTION not in captions(at)  # no region, no availability shown
    assert at.selectbox(key="f_region").options == ["default: US", "US"]
    picker = at.multiselect(key="f_provider")
    assert picker.options[:3] == ["Netflix", "Amazon Prime Video", "Disney Plus"]
    picker.select("Netflix").run()
    assert not at.exception, at.exception
    rows = results(at)
    assert rows.height > 0
    assert all("Netflix" in list(streams) for streams in rows["streaming_on"])
    assert ATTRIBUTION in captions(at)
    assert at.query_params == {"provider": "Netflix"}
    # The detail panel links to TMDB's watch page for the region, never to a provider.
    first = rows.row(0, named=True)
    watch = f"https://www.themoviedb.org/{first['media_type']}/{first['tmdb_id']}/watch?locale=US"
    assert any(watch in m.value for m in at.markdown)


def test_a_link_with_a_region_and_providers_round_trips(streaming_env):
    at = start(region="us", provider="prime video,Disney+", monetization="ads,flatrate")
    assert not at.exception, at.exception
    assert at.multiselect(key="f_provider").value == ["Amazon Prime Video", "Disney Plus"]
    assert at.selectbox(key="f_region").value == "US"
    rows = results(at)
    assert rows.height > 0
    assert all({"Amazon Prime Video", "Disney Plus"} & set(s) for s in rows["streaming_on"])
    assert ATTRIBUTION in captions(at)
    # Written back as the page reads it: canonical names, TMDB's order of types.
    assert at.query_params == {
        "region": "US",
        "provider": "Amazon Prime Video,Disney Plus",
        "monetization": "flatrate,ads",
    }
    again = start(**at.query_params)
    assert results(again)["tmdb_id"].to_list() == rows["tmdb_id"].to_list()


def test_an_unknown_provider_in_a_link_is_one_error_naming_the_valid_ones(streaming_env):
    at = start(region="US", provider="Nope")
    errors = [shown(e.value) for e in at.error]
    assert any("valid providers" in e and "Netflix (8)" in e for e in errors), errors


def test_without_a_region_the_sidebar_says_what_to_set_up(streaming_env, monkeypatch, tmp_path):
    monkeypatch.setenv("WATCHBUDDY_WAREHOUSE", str(tmp_path / "elsewhere"))
    monkeypatch.delenv("WATCHBUDDY_WATCH_REGIONS")
    (tmp_path / "data" / "movies.csv").write_text(
        "id,title,release_date,vote_count,vote_average\n1,Film,2000-01-01,500,7\n"
    )
    bootstrap(Settings(data_dir=tmp_path / "data", warehouse=tmp_path / "elsewhere"))
    at = start()
    assert any("set WATCHBUDDY_WATCH_REGIONS" in c.value for c in at.caption)
    assert any("watchbuddy providers" in c.value for c in at.caption)
