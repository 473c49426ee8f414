"""Where it streams, end to end against the fake TMDB on loopback: `watchbuddy providers`
fetches a region, then `recommend --region --provider` returns exactly the titles the fake
says that provider offers at no extra cost (no more, no fewer), and the TMDB fallback asks
discover with the same provider parameters, so what it adds streams there too."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import watchbuddy
from tests.conftest import fake_tmdb_settings, run_cli
from tests.streaming_support import publish_region
from watchbuddy.devtools.fake_tmdb import Catalogue, FakeTmdb
from watchbuddy.pool.candidates import CandidateFilters, get_candidates
from watchbuddy.sources.tmdb.providers import fetch_providers
from watchbuddy.store.warehouse import Warehouse

START, END = dt.date(2024, 1, 1), dt.date(2025, 6, 30)
NO_EXTRA_COST = {"flatrate", "free", "ads"}  # the filter's default monetization


def test_a_fetched_region_filters_to_exactly_what_the_provider_offers(tmp_path: Path) -> None:
    with FakeTmdb(Catalogue.generate(900, 200, START, END, seed=11)) as server:
        settings = fake_tmdb_settings(server, tmp_path, watch_regions=("US",))
        assert fetch_providers(settings).run.status == "ok"
        provider = server.availability.in_region("US")[0]
        offered = {
            (media_type, tmdb_id)
            for pid, kind, media_type, tmdb_id in server.availability.truth("US")
            if pid == provider.id and kind in NO_EXTRA_COST
        }
        assert offered, "the fake's first US provider offers something at no extra cost"
        env = {
            "WATCHBUDDY_WAREHOUSE": str(settings.warehouse),
            "WATCHBUDDY_DATA_DIR": str(settings.data_dir),
            "WATCHBUDDY_AUTO_BOOTSTRAP": "false",
        }
        done = run_cli(
            "recommend",
            "--provider",
            provider.name.upper(),  # a name in any case; the region from the setting
            "--region",
            "us",
            "--min-votes",
            "0",
            "--include-adult",
            "--include-unreleased",
            "--include-removed",
            "--limit",
            "100000",
            "--no-fallback",
            "--format",
            "json",
            cwd=tmp_path,
            env=env,
        )
        assert done.returncode == 0, done.stderr
        rows = json.loads(done.stdout)
        assert {(r["media_type"], r["tmdb_id"]) for r in rows} == offered
        assert all(provider.name in r["streaming_on"] for r in rows)
        assert "Source of streaming data: JustWatch" in done.stderr


def test_the_fallback_asks_discover_for_the_same_providers(tmp_path: Path) -> None:
    """A pool that knows the region's availability but lacks its titles: the fallback's
    discover carries watch_region and the provider, so every title it lands streams there."""
    with FakeTmdb(Catalogue.generate(900, 200, START, END, seed=12)) as server:
        settings = fake_tmdb_settings(server, tmp_path, watch_regions=("US",))
        table = server.availability
        provider = table.in_region("US")[0]
        publish_region(
            Warehouse(settings.warehouse),
            "US",
            [(p.id, p.name, p.logo_path) for p in table.in_region("US")],
            table.truth("US"),
        )
        offered = {
            (media_type, tmdb_id)
            for pid, kind, media_type, tmdb_id in table.truth("US")
            if pid == provider.id and kind in NO_EXTRA_COST
        }
        result = get_candidates(
            CandidateFilters(
                region="US",
                providers=(str(provider.id),),
                min_votes=0,
                include_unreleased=True,
                limit=len(offered) + 50,
            ),
            settings,
        )
        got = set(zip(result.frame["media_type"], result.frame["tmdb_id"], strict=True))
        assert got, result.notes
        assert got <= offered
        assert not result.frame["from_persistent_store"].any()  # every row came from TMDB
        assert any("came from TMDB" in note for note in result.notes)
        # What the fallback landed (the pool held no title before): only the provider's.
        landed = watchbuddy.connect(settings.warehouse).sql("SELECT media_type, tmdb_id FROM pool")
        assert set(landed.fetchall()) <= offered
