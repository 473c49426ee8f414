"""`watchbuddy providers` against the fake TMDB on loopback: the availability it publishes is
exactly the fake's table, per region, after a fetch and after a rerun; a region TMDB fails
for keeps its previous fetch while another updates; a catalogue over TMDB's 10,000-result
cap is read completely; bad regions and providers are one line and exit 2; titles the pool
lacks land; the daily job skips without a region; `stats` shows each region's age."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from tests.conftest import fake_tmdb_settings, run_cli
from watchbuddy.devtools.fake_providers import FakeAvailability, FakeProvider
from watchbuddy.devtools.fake_tmdb import Catalogue, FakeTmdb
from watchbuddy.jobs.specs import providers_daily
from watchbuddy.pool.stats import pool_stats
from watchbuddy.settings import Settings
from watchbuddy.sources.tmdb.providers import fetch_providers
from watchbuddy.store.views import open_views
from watchbuddy.store.warehouse import Warehouse

START, END = dt.date(2024, 1, 1), dt.date(2025, 6, 30)
Offer = tuple[int, str, str, int]  # provider_id, monetization type, media type, tmdb_id


def small_catalogue(seed: int = 3) -> Catalogue:
    return Catalogue.generate(1200, 300, START, END, seed=seed)


def fetched(settings: Settings, region: str) -> set[Offer]:
    con = open_views(Warehouse(settings.warehouse), materialize=False)
    try:
        rows = con.sql(
            "SELECT provider_id, monetization_type, media_type, tmdb_id FROM availability "
            "WHERE region = $region",
            params={"region": region},
        ).fetchall()
    finally:
        con.close()
    return set(rows)


def query(settings: Settings, sql: str) -> list[tuple[Any, ...]]:
    con = open_views(Warehouse(settings.warehouse), materialize=False)
    try:
        return con.sql(sql).fetchall()
    finally:
        con.close()


def test_a_fetch_is_exactly_the_fakes_truth_and_a_rerun_replaces_it(tmp_path: Path) -> None:
    with FakeTmdb(small_catalogue()) as server:
        settings = fake_tmdb_settings(server, tmp_path, watch_regions=("US", "DE"))
        table = server.availability
        result = fetch_providers(settings)
        assert result.run.status == "ok", result.to_dict()
        for region in ("US", "DE"):
            truth = table.truth(region)
            assert truth and fetched(settings, region) == truth
        # The providers view: every provider the region lists, with TMDB's names, logos and
        # display priorities.
        listed = query(
            settings,
            "SELECT provider_id, provider_name, logo_path, display_priority FROM providers "
            "WHERE region = 'US' ORDER BY display_priority",
        )
        assert listed == [
            (p.id, p.name, p.logo_path, i) for i, p in enumerate(table.in_region("US"))
        ]
        first_rows = query(settings, "SELECT count(*) FROM availability")[0][0]

        table.bump()  # JustWatch's catalogues move on
        assert table.truth("US") != fetched(settings, "US")
        rerun = fetch_providers(settings)
        assert rerun.run.status == "ok"
        for region in ("US", "DE"):
            assert fetched(settings, region) == table.truth(region)
        # The rerun replaced each region's files: one file a region, no rows of the first fetch.
        manifest = Warehouse(settings.warehouse).read_manifest()
        assert len(manifest.files("availability")) == len(manifest.files("providers")) == 2
        total = query(settings, "SELECT count(*) FROM availability")[0][0]
        assert total == len(table.truth("US")) + len(table.truth("DE")) != first_rows
        runs = query(settings, "SELECT status FROM runs WHERE job = 'providers' ORDER BY 1")
        assert runs == [("ok",), ("ok",)]  # one record a run, its newest


def test_a_failed_region_keeps_its_previous_data_while_another_updates(tmp_path: Path) -> None:
    with FakeTmdb(small_catalogue()) as server:
        settings = fake_tmdb_settings(server, tmp_path, watch_regions=("US", "DE"))
        table = server.availability
        fetch_providers(settings)
        before_de = table.truth("DE")
        fetched_at_de = query(settings, "SELECT max(fetched_at) FROM providers WHERE region='DE'")
        table.bump()
        # Every discover page of Germany's catalogues answers malformed JSON.
        server.faults.update(
            {
                "malformed_at": {"path": "/discover/tv", "watch_region": "DE"},
                "malformed_at_times": 10**6,
            }
        )
        result = fetch_providers(settings)
        by_region = {r.region: r for r in result.regions}
        assert by_region["US"].status == "ok"
        assert by_region["DE"].status == "failed"
        assert "pages could not be read" in (by_region["DE"].problem or "")
        assert result.run.status == "partial"
        assert any("DE: failed" in m for m in result.run.messages)
        assert fetched(settings, "US") == table.truth("US")
        assert fetched(settings, "DE") == before_de != table.truth("DE")
        assert (
            query(settings, "SELECT max(fetched_at) FROM providers WHERE region='DE'")
            == fetched_at_de
        )


def test_a_catalogue_over_the_cap_is_fetched_completely(tmp_path: Path) -> None:
    """10,400 movies on one provider: TMDB serves 10,000 of a query and reports capped
    totals, so the fetch must split the catalogue by date to read it all."""
    catalogue = Catalogue.generate(10_400, 0, START, END, seed=5)
    everything = FakeProvider(8, "Netflix", (("flatrate", 1.0),), ("US",))
    availability = FakeAvailability(catalogue, (everything,))
    with FakeTmdb(catalogue, availability=availability) as server:
        settings = fake_tmdb_settings(server, tmp_path, watch_regions=("US",))
        result = fetch_providers(settings)
        assert result.run.status == "ok", result.to_dict()
        got = fetched(settings, "US")
        assert len(got) == 10_400 and got == availability.truth("US")
        assert result.run.pages > 500  # more than one query's worth: it was split


@pytest.mark.parametrize(
    ("args", "env", "says"),
    [
        (["--region", "XX"], {}, "Unknown watch region 'XX'"),
        ([], {"WATCHBUDDY_WATCH_REGIONS": ""}, "WATCHBUDDY_WATCH_REGIONS"),
        (
            ["--region", "US"],
            {"WATCHBUDDY_WATCH_PROVIDERS": "Netflix,Nosuchflix"},
            "Unknown streaming provider 'Nosuchflix'",
        ),
    ],
    ids=["unknown-region", "no-region", "unknown-provider"],
)
def test_bad_region_or_provider_is_one_line_and_exit_2(
    tmp_path: Path, args: list[str], env: dict[str, str], says: str
) -> None:
    with FakeTmdb(small_catalogue()) as server:
        done = run_cli(
            "providers",
            *args,
            cwd=tmp_path,
            env={
                "TMDB_API_KEY": server.api_key,
                "WATCHBUDDY_TMDB_BASE_URL": server.base_url,
                "WATCHBUDDY_WAREHOUSE": str(tmp_path / "warehouse"),
                "WATCHBUDDY_WATCH_REGIONS": "",
                "WATCHBUDDY_WATCH_PROVIDERS": "",
                **env,
            },
        )
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and says in lines[0] and "Traceback" not in done.stderr
    if "region" in args[:1] or args == []:
        assert "--region" in lines[0]
    if "Unknown watch region" in says:
        assert "US" in lines[0] and "DE" in lines[0]  # the valid ones are listed
    if "provider" in says:
        assert "Netflix (8)" in lines[0]


def test_providers_chosen_by_id_or_name_in_any_case(tmp_path: Path) -> None:
    with FakeTmdb(small_catalogue()) as server:
        settings = fake_tmdb_settings(
            server, tmp_path, watch_regions=("US",), watch_providers=("8", "disney PLUS")
        )
        result = fetch_providers(settings)
        assert set(result.regions[0].providers) == {"Disney Plus", "Netflix"}
        truth = {o for o in server.availability.truth("US") if o[0] in (8, 337)}
        assert fetched(settings, "US") == truth


def test_titles_the_pool_lacks_land_as_a_delta(tmp_path: Path) -> None:
    with FakeTmdb(small_catalogue()) as server:
        settings = fake_tmdb_settings(server, tmp_path, watch_regions=("US",))
        first = fetch_providers(settings)
        us = {(m, i) for _, _, m, i in server.availability.truth("US")}
        assert first.run.titles_new == len(us)
        settings = fake_tmdb_settings(server, tmp_path, watch_regions=("DE",))
        second = fetch_providers(settings)
        de = {(m, i) for _, _, m, i in server.availability.truth("DE")}
        assert second.run.titles_new == len(de - us) > 0
        pool = {
            (m, i): (title, source_name)
            for m, i, title, source_name in query(
                settings, "SELECT media_type, tmdb_id, title, source_name FROM pool"
            )
        }
        assert set(pool) == us | de
        for (media_type, tmdb_id), (title, source_name) in list(pool.items())[:50]:
            expected = server.catalogue.get(media_type, tmdb_id)
            assert expected is not None and title == expected.title
            assert source_name == f"providers/{media_type}"


def test_the_daily_job_skips_without_a_region_and_says_why(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, warehouse=tmp_path / "warehouse")
    summary = providers_daily(settings)
    assert summary.startswith("skipped") and "WATCHBUDDY_WATCH_REGIONS" in summary
    rows = query(settings, "SELECT job, status, messages FROM runs")
    assert rows[0][:2] == ("providers", "skipped")
    assert "WATCHBUDDY_WATCH_REGIONS" in rows[0][2][-1]


def test_stats_shows_each_regions_age_providers_and_titles(tmp_path: Path) -> None:
    with FakeTmdb(small_catalogue()) as server:
        settings = fake_tmdb_settings(server, tmp_path, watch_regions=("US", "DE"))
        fetch_providers(settings)
        warehouse = Warehouse(settings.warehouse)
        con = open_views(warehouse)
        try:
            regions = pool_stats(con, warehouse)["watch_regions"]
        finally:
            con.close()
        assert [r["region"] for r in regions] == ["DE", "US"]
        for row in regions:
            truth = server.availability.truth(row["region"])
            assert row["titles"] == len({(m, i) for _, _, m, i in truth})
            assert row["offers"] == len(truth)
            assert row["providers"] == len(server.availability.in_region(row["region"]))
            assert 0 <= row["age_hours"] < 1
        done = run_cli(
            "stats",
            cwd=tmp_path,
            env={"WATCHBUDDY_WAREHOUSE": str(settings.warehouse), "WATCHBUDDY_DATA_DIR": "data"},
        )
        assert done.returncode == 0, done.stderr
        assert (
            "Where titles stream (source of streaming data: JustWatch): DE fetched" in done.stdout
        )


@pytest.fixture(scope="module")
def fetched_us(tmp_path_factory: pytest.TempPathFactory) -> Any:
    tmp_path = tmp_path_factory.mktemp("providers")
    with FakeTmdb(small_catalogue(seed=9)) as server:
        settings = fake_tmdb_settings(server, tmp_path, watch_regions=("US",))
        fetch_providers(settings)
        yield server, settings, fetched(settings, "US")


@hypothesis_settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(index=st.integers(min_value=0, max_value=1499))
def test_every_titles_watch_providers_answer_agrees_with_the_fetch(
    fetched_us: Any, index: int
) -> None:
    """For any title, `/{media}/{id}/watch/providers` (what TMDB's watch page shows) lists
    for the US exactly the offers the fetch published for it."""
    server, _settings, offers = fetched_us
    titles = [t for m in ("movie", "tv") for t in server.catalogue.titles[m].values()]
    title = titles[index % len(titles)]
    body = httpx.get(
        f"{server.base_url}/{title.media_type}/{title.id}/watch/providers",
        params={"api_key": server.api_key},
    ).json()
    us = body["results"].get("US", {})
    answered = {
        (entry["provider_id"], kind)
        for kind in ("flatrate", "free", "ads", "rent", "buy")
        for entry in us.get(kind, [])
    }
    published = {(p, k) for p, k, m, i in offers if (m, i) == (title.media_type, title.id)}
    assert answered == published
    if us:
        assert us["link"].endswith(f"/{title.media_type}/{title.id}/watch?locale=US")


def test_the_json_report_names_each_region(tmp_path: Path) -> None:
    with FakeTmdb(small_catalogue()) as server:
        done = run_cli(
            "providers",
            "--region",
            "dk",
            "--json",
            cwd=tmp_path,
            env={
                "TMDB_API_KEY": server.api_key,
                "WATCHBUDDY_TMDB_BASE_URL": server.base_url,
                "WATCHBUDDY_WAREHOUSE": str(tmp_path / "warehouse"),
                "WATCHBUDDY_TMDB_RPS": "500",
            },
        )
        assert done.returncode == 0, done.stderr
        report = json.loads(done.stdout)
        assert report["status"] == "ok" and report["job"] == "providers"
        (region,) = report["regions"]
        assert region["region"] == "DK" and region["status"] == "ok"
        assert region["offers"] == len(server.availability.truth("DK"))


def test_the_pool_page_shows_each_regions_fetch_with_justwatch_credited(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from streamlit.testing.v1 import AppTest

    with FakeTmdb(small_catalogue()) as server:
        settings = fake_tmdb_settings(server, tmp_path, watch_regions=("US", "DE"))
        fetch_providers(settings)
        truth = server.availability.truth("US")
    monkeypatch.setenv("WATCHBUDDY_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("WATCHBUDDY_WAREHOUSE", str(settings.warehouse))
    monkeypatch.setenv("WATCHBUDDY_SCHEDULER_IN_APP", "false")
    monkeypatch.chdir(tmp_path)
    app = Path(__file__).resolve().parent.parent / "app.py"
    at = AppTest.from_file(str(app), default_timeout=120)
    at.run()
    at.switch_page("watchbuddy/explorer/page_pool.py").run()
    assert not at.exception, at.exception
    assert "Where titles stream" in [h.value for h in at.subheader]
    tables = [t.value for t in at.dataframe]
    regions = next(t for t in tables if "region" in t.columns and "offers" in t.columns)
    us = regions[regions["region"] == "US"].iloc[0]
    assert us["offers"] == len(truth) and us["providers"] == 10
    assert any("Source of streaming data: [JustWatch]" in c.value for c in at.caption)


def test_a_region_whose_provider_list_fails_is_kept_and_named(tmp_path: Path) -> None:
    with FakeTmdb(small_catalogue()) as server:
        settings = fake_tmdb_settings(server, tmp_path, watch_regions=("US", "DE"))
        fetch_providers(settings)
        before = {r: fetched(settings, r) for r in ("US", "DE")}
        server.availability.bump()
        server.faults.update(
            {
                "malformed_at": {"path": "/watch/providers/tv", "watch_region": "US"},
                "malformed_at_times": 10**6,
            }
        )
        result = fetch_providers(settings)
        by_region = {r.region: r for r in result.regions}
        assert by_region["US"].status == "failed"
        assert "provider list" in (by_region["US"].problem or "")
        assert fetched(settings, "US") == before["US"]
        assert fetched(settings, "DE") == server.availability.truth("DE") != before["DE"]
        assert result.run.status == "partial"


def test_a_result_with_a_value_out_of_range_is_rejected_but_stays_available(
    tmp_path: Path,
) -> None:
    catalogue = small_catalogue()
    with FakeTmdb(catalogue) as server:
        offers = server.availability.truth("US")
        _, _, media_type, tmdb_id = min(o for o in offers if o[2] == "movie")
        bad = catalogue.get(media_type, tmdb_id)
        assert bad is not None
        bad.vote_average = 11.0  # outside 0..10: the title record is refused
        catalogue.touch()
        settings = fake_tmdb_settings(server, tmp_path, watch_regions=("US",))
        result = fetch_providers(settings)
        assert result.run.status == "ok"
        assert fetched(settings, "US") == offers  # availability is about ids
        rejects = query(settings, "SELECT file, reason, raw FROM rejects")
        assert len(rejects) == 1 and rejects[0][0] == "TMDB /discover/movie"
        assert "vote" in rejects[0][1] and f'"id": {tmdb_id}' in rejects[0][2]
        pool = query(settings, f"SELECT count(*) FROM pool WHERE tmdb_id = {tmdb_id}")
        assert pool == [(0,)]
        assert any("not landed" in m for m in result.run.messages)


def test_tmdb_down_for_one_regions_catalogues_fails_that_region_only(tmp_path: Path) -> None:
    with FakeTmdb(small_catalogue()) as server:
        settings = fake_tmdb_settings(server, tmp_path, watch_regions=("DE", "US"))
        fetch_providers(settings)
        before = fetched(settings, "DE")
        server.availability.bump()
        server.faults.update(
            {
                "answer": 10**6,
                "answer_at": {"path": "/discover/movie", "watch_region": "DE"},
                "answer_status": 503,
                "answer_headers": {"Retry-After": "0"},
            }
        )
        result = fetch_providers(settings)
        assert [r.region for r in result.regions] == ["DE", "US"]
        de, us = result.regions
        assert de.status == "failed" and "TMDB is unavailable" in (de.problem or "")
        assert us.status == "ok" and result.run.status == "partial"
        assert fetched(settings, "DE") == before
        assert fetched(settings, "US") == server.availability.truth("US")
