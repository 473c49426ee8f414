"""Incremental ingestion and vote refresh against the fake TMDB server on loopback."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import watchbuddy
from tests.conftest import fake_tmdb_settings, run_cli
from watchbuddy.devtools import fake_tmdb
from watchbuddy.devtools.fake_tmdb import Catalogue, FakeTmdb, Title
from watchbuddy.errors import TmdbAuthError
from watchbuddy.settings import Secret, Settings
from watchbuddy.sources.csv.land import bootstrap
from watchbuddy.sources.tmdb import ingest
from watchbuddy.sources.tmdb.ingest import ingest_new_content, refresh_recent_votes

KEY = "ingest-test-key"
# Ingestion's "today" is the UTC date (TMDB's dates are UTC): the local date differs from it
# for hours every day in most time zones, and expected windows would then miss a day.
TODAY = dt.datetime.now(dt.UTC).date()


def make_catalogue(movies: int = 300, shows: int = 120, days_ahead: int = 40) -> Catalogue:
    return Catalogue.generate(
        movies,
        shows,
        TODAY - dt.timedelta(days=200),
        TODAY + dt.timedelta(days=days_ahead),
        seed=9,
        shared_ids=25,
    )


@pytest.fixture
def server():
    with FakeTmdb(make_catalogue(), api_key=KEY) as tmdb:
        yield tmdb


def settings_for(server: FakeTmdb, tmp_path: Path, **extra) -> Settings:
    return fake_tmdb_settings(server, tmp_path, **extra)


def expected_keys(server: FakeTmdb, media_type: str, until: dt.date = TODAY) -> set[tuple]:
    return {(media_type, t.id) for t in server.catalogue.window(media_type, None, until)}


def pool_keys(settings: Settings, media_type: str | None = None) -> list[tuple]:
    con = watchbuddy.connect(settings.warehouse)
    where = f"WHERE media_type = '{media_type}'" if media_type else ""
    return con.sql(f"SELECT media_type, tmdb_id FROM pool {where}").fetchall()


def checkpoint(settings: Settings, media_type: str):
    rows = (
        watchbuddy.connect(settings.warehouse)
        .sql("SELECT last_release_date FROM checkpoints WHERE media_type = ?", params=[media_type])
        .fetchall()
    )
    return rows[0][0] if rows else None


def test_every_title_in_the_window_lands_exactly_once_and_rerun_adds_nothing(server, tmp_path):
    settings = settings_for(server, tmp_path)
    result = ingest_new_content(settings, "movie")
    keys = pool_keys(settings, "movie")
    assert len(keys) == len(set(keys)) == len(expected_keys(server, "movie"))
    assert set(keys) == expected_keys(server, "movie")
    assert result.run.titles_new == len(keys) and result.run.status == "ok"
    again = ingest_new_content(settings, "movie")
    assert again.run.titles_new == 0
    assert sorted(pool_keys(settings, "movie")) == sorted(keys)
    # The second run started from the checkpoint minus one day, not from the beginning.
    assert again.window[0] == (checkpoint(settings, "movie") - dt.timedelta(days=1)).isoformat()


def test_movie_and_show_with_the_same_id_both_land(server, tmp_path):
    settings = settings_for(server, tmp_path)
    for media_type in ("movie", "tv"):
        ingest_new_content(settings, media_type)
    keys = pool_keys(settings)
    movie_ids = {i for m, i in keys if m == "movie"}
    tv_ids = {i for m, i in keys if m == "tv"}
    assert movie_ids & tv_ids  # the catalogue shares 25 ids; those released both land
    assert set(keys) == expected_keys(server, "movie") | expected_keys(server, "tv")


def test_checkpoint_never_passes_today_even_with_future_releases(server, tmp_path):
    settings = settings_for(server, tmp_path)
    future = TODAY + dt.timedelta(days=40)
    result = ingest_new_content(settings, "movie", until=future)
    landed = dict(
        watchbuddy.connect(settings.warehouse)
        .sql("SELECT max(release_date) > current_date, count(*) FROM pool")
        .fetchall()
    )
    assert True in landed  # future-dated titles were fetched and landed...
    assert checkpoint(settings, "movie") <= TODAY  # ...but the checkpoint stops at today
    assert result.checkpoint_after <= TODAY.isoformat()


def test_windows_over_the_page_cap_are_split(server, tmp_path, monkeypatch):
    monkeypatch.setattr(fake_tmdb, "MAX_PAGE", 3)
    monkeypatch.setattr(ingest, "MAX_PAGE", 3)  # 60 titles a window at most
    settings = settings_for(server, tmp_path)
    ingest_new_content(settings, "movie")
    assert set(pool_keys(settings, "movie")) == expected_keys(server, "movie")


def test_new_titles_are_enriched_and_csv_fields_are_kept(server, tmp_path):
    settings = settings_for(server, tmp_path, details_per_run=1000)
    known, bare = server.catalogue.window("movie", None, TODAY)[:2]
    # `known` has a status in the CSV, so its details are not fetched again: the discover
    # row lacks keywords and runtime, and the pool keeps the CSV's. `bare` has none, so it is
    # enriched like a new title, and TMDB's newer details win over the CSV's.
    (settings.data_dir / "movies.csv").write_text(
        "id,title,release_date,keywords,runtime,status\n"
        f'{known.id},Old Title,{known.date},"from, the, csv",99,Released\n'
        f'{bare.id},Bare Title,{bare.date},"old, csv, words",77,\n'
    )
    bootstrap(settings)
    ingest_new_content(settings, "movie")
    con = watchbuddy.connect(settings.warehouse)
    row = con.sql(
        "SELECT title, keywords, runtime, source FROM pool WHERE tmdb_id = ? "
        "AND media_type = 'movie'",
        params=[known.id],
    ).fetchall()[0]
    assert row == (known.title, ["from", "the", "csv"], 99, "tmdb")  # merged, not blanked
    row = con.sql(
        "SELECT title, keywords, runtime, status FROM pool WHERE tmdb_id = ? "
        "AND media_type = 'movie'",
        params=[bare.id],
    ).fetchall()[0]
    assert row == (bare.title, bare.keywords, bare.runtime, "Released")
    enriched = con.sql(
        "SELECT count(*) FROM pool WHERE source = 'tmdb' AND imdb_id IS NOT NULL "
        "AND runtime IS NOT NULL AND len(keywords) = 3"
    ).fetchall()[0][0]
    assert enriched == len(expected_keys(server, "movie")) - 1


@pytest.mark.parametrize(("storm", "retry_after"), [(10, None), (30, 0.1)])
def test_a_429_storm_slows_the_run_but_loses_nothing(server, tmp_path, storm, retry_after):
    settings = settings_for(server, tmp_path)
    server.faults.update({"status_burst": storm, "burst_status": 429, "retry_after": retry_after})
    result = ingest_new_content(settings, "tv")
    assert result.run.retries >= storm
    assert set(pool_keys(settings, "tv")) == expected_keys(server, "tv")


def test_bad_credential_stops_with_one_message_and_records_a_failed_run(server, tmp_path):
    settings = settings_for(server, tmp_path, tmdb_api_key=Secret("wrong"))
    with pytest.raises(TmdbAuthError):
        ingest_new_content(settings, "movie")
    con = watchbuddy.connect(settings.warehouse)
    assert con.sql("SELECT status, messages FROM runs").fetchall() == [
        (
            "failed",
            [
                "TMDB refused the credential (HTTP 401): check TMDB_API_KEY or "
                "TMDB_READ_ACCESS_TOKEN."
            ],
        )
    ]
    assert checkpoint(settings, "movie") is None
    env = {
        "WATCHBUDDY_WAREHOUSE": str(settings.warehouse),
        "TMDB_API_KEY": "wrong",
        "WATCHBUDDY_TMDB_BASE_URL": server.base_url,
    }
    done = run_cli("ingest", "movie", cwd=tmp_path, env=env)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "Error: TMDB refused the credential (HTTP 401): check TMDB_API_KEY or "
        "TMDB_READ_ACCESS_TOKEN."
    ]


def test_tmdb_down_leaves_the_checkpoint_unchanged(tmp_path):
    with FakeTmdb(make_catalogue(), api_key=KEY) as tmdb:
        settings = settings_for(tmdb, tmp_path)
        ingest_new_content(settings, "movie")
        before = checkpoint(settings, "movie")
    env = {
        "WATCHBUDDY_WAREHOUSE": str(settings.warehouse),
        "TMDB_API_KEY": KEY,
        "WATCHBUDDY_TMDB_BASE_URL": "http://127.0.0.1:9/3",
        "WATCHBUDDY_TMDB_TIMEOUT": "1",
        "WATCHBUDDY_TMDB_ATTEMPTS": "2",  # the default six wait out about 45 s of backoff
    }
    done = run_cli("ingest", "movie", cwd=tmp_path, env=env)
    assert done.returncode == 1 and "TMDB is unavailable" in done.stderr
    assert "Traceback" not in done.stderr and KEY not in done.stderr
    assert checkpoint(settings, "movie") == before
    runs = (
        watchbuddy.connect(settings.warehouse)
        .sql("SELECT status FROM runs ORDER BY started_at")
        .fetchall()
    )
    assert runs == [("ok",), ("failed",)]


def test_no_credential_is_a_clear_cli_error(tmp_path):
    done = run_cli(
        "ingest", "all", cwd=tmp_path, env={"TMDB_API_KEY": "", "TMDB_READ_ACCESS_TOKEN": ""}
    )
    assert done.returncode == 2 and done.stderr.startswith("Error: No TMDB credential")


def test_sigkill_mid_run_keeps_checkpoint_and_next_run_completes_exactly(tmp_path):
    catalogue = make_catalogue(movies=1500, shows=10)
    with FakeTmdb(catalogue, api_key=KEY) as tmdb:
        settings = settings_for(tmdb, tmp_path)
        tmdb.faults.update({"latency": 0.05})
        env = {
            **os.environ,
            "WATCHBUDDY_WAREHOUSE": str(settings.warehouse),
            "TMDB_API_KEY": KEY,
            "WATCHBUDDY_TMDB_BASE_URL": tmdb.base_url,
            "WATCHBUDDY_INGEST_START": settings.ingest_start.isoformat(),
            "WATCHBUDDY_TMDB_RPS": "40",
        }
        child = subprocess.Popen(
            [sys.executable, "-m", "watchbuddy", "ingest", "movie"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while tmdb.requests < 20 and time.monotonic() < deadline:
            time.sleep(0.01)
        child.send_signal(signal.SIGKILL)
        child.wait()
        con = watchbuddy.connect(settings.warehouse)
        assert con.sql("SELECT count(*) FROM pool").fetchall() == [(0,)]
        assert con.sql("SELECT status FROM runs").fetchall() == [("running",)]
        assert checkpoint(settings, "movie") is None

        tmdb.faults.update({"latency": 0.0})
        result = ingest_new_content(settings, "movie")
        keys = pool_keys(settings, "movie")
        assert len(keys) == len(set(keys)) and set(keys) == expected_keys(tmdb, "movie")
        assert result.run.titles_new == len(keys)
        statuses = sorted(
            r[0]
            for r in watchbuddy.connect(settings.warehouse)
            .sql("SELECT status FROM runs")
            .fetchall()
        )
        assert statuses == ["incomplete", "ok"]


def test_vote_refresh_patches_recent_titles_least_recently_refreshed_first(server, tmp_path):
    settings = settings_for(server, tmp_path)
    ingest_new_content(settings, "movie")
    recent = [t for t in server.catalogue.window("movie", TODAY - dt.timedelta(days=90), TODAY)]
    for title in recent:
        title.vote_count += 1000
    gone = recent[0]
    server.catalogue.remove("movie", gone.id)  # deleted on TMDB since: a 404

    first = refresh_recent_votes(settings, "movie", limit=10)
    # A 404 is information (the title is recorded as removed), not an error.
    assert first.candidates == 10 and first.refreshed + first.removed >= 10
    second = refresh_recent_votes(settings, "movie", limit=len(recent))
    con = watchbuddy.connect(settings.warehouse)
    refreshed = dict(
        con.sql(
            "SELECT tmdb_id, vote_count FROM pool WHERE votes_refreshed_at IS NOT NULL"
        ).fetchall()
    )
    by_id = {t.id: t for t in recent}
    assert set(refreshed) == set(by_id) - {gone.id}
    assert all(refreshed[i] == by_id[i].vote_count for i in refreshed)
    older = con.sql(
        "SELECT count(*) FROM pool WHERE votes_refreshed_at IS NOT NULL "
        "AND release_date < current_date - 90"
    ).fetchall()[0][0]
    assert older == 0
    assert any("404" in m for m in first.run.messages + second.run.messages)


def cli_env(server: FakeTmdb, tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment a `watchbuddy` child process needs to ingest from `server`."""
    return {
        "WATCHBUDDY_WAREHOUSE": str(tmp_path / "wh"),
        "TMDB_API_KEY": KEY,
        "WATCHBUDDY_TMDB_BASE_URL": server.base_url,
        "WATCHBUDDY_TMDB_RPS": "500",
        "WATCHBUDDY_INGEST_START": (TODAY - dt.timedelta(days=365)).isoformat(),
        **extra,
    }


def test_cli_ingest_and_refresh_json(server, tmp_path):
    env = cli_env(server, tmp_path)
    done = run_cli("ingest", "all", "--json", cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    runs = json.loads(done.stdout)
    assert [r["media_type"] for r in runs] == ["movie", "tv"]
    assert all(r["status"] == "ok" and r["checkpoint_after"] <= TODAY.isoformat() for r in runs)
    done = run_cli("refresh-votes", "all", "--limit", "5", "--json", cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    assert [r["refreshed"] for r in json.loads(done.stdout)] == [5, 5]
    stats = json.loads(run_cli("stats", "--json", cwd=tmp_path, env=env).stdout)
    assert {c["media_type"] for c in stats["checkpoints"]} == {"movie", "tv"}
    assert {(r["job"], r["media_type"]) for r in stats["last_runs"]} == {
        ("ingest", "movie"),
        ("ingest", "tv"),
        ("refresh-votes", "movie"),
        ("refresh-votes", "tv"),
    }


def test_added_title_after_checkpoint_is_picked_up(server, tmp_path):
    settings = settings_for(server, tmp_path)
    ingest_new_content(settings, "movie")
    new = Title(
        "movie", 77_777_777, "Brand New", TODAY, [18], "da", 1.0, 7.0, 3, 90, "tt7777777", ["new"]
    )
    server.catalogue.add(new)
    result = ingest_new_content(settings, "movie")
    assert result.run.titles_new == 1
    assert ("movie", 77_777_777) in pool_keys(settings, "movie")


def _title(tmdb_id: int, name: str, released: dt.date, changed: dt.date) -> Title:
    return Title(
        "movie", tmdb_id, name, released, [18], "da", 1.0, 7.0, 12, 95, "tt1", ["late"], changed
    )


def test_titles_changed_on_tmdb_are_read_whatever_their_release_date(server, tmp_path):
    settings = settings_for(server, tmp_path)
    ingest_new_content(settings, "movie")
    old = next(t for t in server.catalogue.window("movie", None, TODAY - dt.timedelta(days=90)))
    # TMDB adds a title with an old release date, and renames an old one
    server.catalogue.add(_title(88_888_888, "Added Late", TODAY - dt.timedelta(days=150), TODAY))
    server.catalogue.add(_title(old.id, "Renamed On TMDB", old.date, TODAY))
    result = ingest_new_content(settings, "movie")
    assert result.run.titles_new == 1
    assert any("because TMDB changed them" in note for note in result.notes)
    rows = dict(
        watchbuddy.connect(settings.warehouse)
        .sql(
            "SELECT tmdb_id, title || ' via ' || source_name FROM pool WHERE tmdb_id IN (?, ?)",
            params=[88_888_888, old.id],
        )
        .fetchall()
    )
    assert rows == {
        88_888_888: "Added Late via changes/movie",
        old.id: "Renamed On TMDB via changes/movie",
    }
    assert checkpoint(settings, "movie") >= TODAY - dt.timedelta(days=1)  # not moved back
    again = ingest_new_content(settings, "movie", since=TODAY, until=TODAY)  # explicit window:
    assert not any("TMDB changed them" in note for note in again.notes)  # no /changes


def test_more_changes_than_a_run_reads_go_new_titles_first(server, tmp_path, monkeypatch):
    settings = settings_for(server, tmp_path)
    ingest_new_content(settings, "movie")
    olds = server.catalogue.window("movie", None, TODAY - dt.timedelta(days=90))[:4]
    for title in olds:
        server.catalogue.add(_title(title.id, f"Changed {title.id}", title.date, TODAY))
    server.catalogue.add(_title(99_999_999, "Brand New Old", TODAY - dt.timedelta(days=120), TODAY))
    monkeypatch.setattr(ingest, "CHANGES_PER_RUN", 2)
    result = ingest_new_content(settings, "movie")
    assert result.run.titles_new == 1  # the title the pool lacked came first
    assert any("the rest wait for the next run" in note for note in result.notes)
    assert ("movie", 99_999_999) in pool_keys(settings, "movie")
