"""Ingestion never loses titles silently: TMDB's capped totals, requests lost to malformed
JSON, changes left for the next run, and titles TMDB no longer has. Real HTTP against the
fake TMDB server on loopback, real Parquet, real DuckDB."""

from __future__ import annotations

import datetime as dt
import json
import random
import re

import pyarrow.parquet as pq
import pytest

import watchbuddy
from tests.conftest import run_cli
from tests.test_ingest import (
    KEY,
    TODAY,
    checkpoint,
    cli_env,
    expected_keys,
    make_catalogue,
    pool_keys,
    settings_for,
)
from watchbuddy.devtools.fake_tmdb import Catalogue, FakeTmdb, Title
from watchbuddy.pool.candidates import CandidateFilters, get_candidates
from watchbuddy.sources.csv.land import bootstrap
from watchbuddy.sources.tmdb import ingest
from watchbuddy.sources.tmdb.ingest import ingest_new_content, refresh_recent_votes


@pytest.fixture
def server():
    with FakeTmdb(make_catalogue(), api_key=KEY) as tmdb:
        yield tmdb


def _titles(ids, day: dt.date, votes) -> list[Title]:
    """Cheap titles for big catalogues: one per id, released on `day`, votes from `votes`."""
    return [
        Title("movie", i, f"Title {i}", day, [18], "en", 1.0, 6.5, v, 90, f"tt{i}", ["a", "b", "c"])
        for i, v in zip(ids, votes, strict=True)
    ]


def busy_catalogue() -> tuple[Catalogue, dt.date]:
    """~25,000 movies: 10,500 spread over a month (no day at the cap, the month over it), one
    day with 14,000 (votes spread so that both open and closed vote ranges must be split),
    and a few hundred others up to yesterday."""
    rng = random.Random(3)
    ids = iter(range(5_000_000, 6_000_000))
    titles = []
    month_start = TODAY - dt.timedelta(days=80)
    for n in range(10_500):
        day = month_start + dt.timedelta(days=n % 30)
        titles += _titles([next(ids)], day, [rng.randint(0, 500)])
    busy_day = TODAY - dt.timedelta(days=20)
    votes = (
        [0] * 600
        + [v for v in range(1, 16) for _ in range(60)]  # 900 with 1..15
        + [v for v in range(16, 32) for _ in range(750)]  # 12,000 with 16..31: [16, 31] is over
        + [rng.randint(100, 1000) for _ in range(500)]
    )
    titles += _titles([next(ids) for _ in votes], busy_day, votes)
    for n in range(400):
        day = TODAY - dt.timedelta(days=1 + n % 150)
        titles += _titles([next(ids)], day, [rng.randint(0, 50)])
    catalogue = Catalogue()
    catalogue.add_many(titles)
    return catalogue, busy_day


@pytest.mark.parametrize("totals", ["capped", "true_results"])
def test_windows_and_days_at_tmdbs_capped_totals_are_split_until_every_title_lands(
    tmp_path, totals
):
    catalogue, busy_day = busy_catalogue()
    with FakeTmdb(catalogue, api_key=KEY, totals=totals) as server:
        settings = settings_for(server, tmp_path, details_per_run=0, tmdb_rps=2000.0)
        result = ingest_new_content(settings, "movie")
        keys = pool_keys(settings, "movie")
        assert len(keys) == len(set(keys)) == len(expected_keys(server, "movie"))
        assert set(keys) == expected_keys(server, "movie")
        assert result.run.status == "ok" and result.run.errors == 0
        assert checkpoint(settings, "movie") == TODAY - dt.timedelta(days=1)
        assert len(catalogue.window("movie", busy_day, busy_day)) >= 14_000


def test_a_day_and_vote_count_over_the_cap_is_reported_as_truncated_never_silent(tmp_path):
    same_day = TODAY - dt.timedelta(days=3)
    catalogue = Catalogue()
    catalogue.add_many(
        _titles(range(7_000_000, 7_010_030), same_day, [5] * 10_030)
        + _titles(range(7_100_000, 7_100_050), TODAY - dt.timedelta(days=30), [1] * 50)
    )
    with FakeTmdb(catalogue, api_key=KEY) as server:
        env = cli_env(
            server,
            tmp_path,
            WATCHBUDDY_TMDB_RPS="2000",
            WATCHBUDDY_DETAILS_PER_RUN="0",
            WATCHBUDDY_INGEST_START=(TODAY - dt.timedelta(days=60)).isoformat(),
        )
        done = run_cli("ingest", "movie", cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("movie: partial: 1 query truncated at TMDB's cap; ")
    message = (
        f"movie {same_day}, vote count 5: TMDB lists 10,000 or more titles for this one day "
        "and vote count and serves only the first 10,000; the rest were not fetched"
    )
    assert any(line.startswith(f"  note: {message}") for line in lines[1:])
    con = watchbuddy.connect(tmp_path / "wh")
    status, errors, messages = con.sql("SELECT status, errors, messages FROM runs").fetchall()[0]
    assert status == "partial" and any(m.startswith(message) for m in messages)
    assert errors == 0  # every request was answered: TMDB serves no more of this query
    assert con.sql("SELECT count(*) FROM pool").fetchall() == [(10_000 + 50,)]


def _page_keys(server: FakeTmdb, page: int, until: dt.date = TODAY) -> set[tuple]:
    window = server.catalogue.window("movie", None, until)
    return {("movie", t.id) for t in window[(page - 1) * 20 : page * 20]}


def test_a_page_lost_to_malformed_json_holds_the_checkpoint_and_is_read_next_run(server, tmp_path):
    settings = settings_for(server, tmp_path, ingest_start=TODAY - dt.timedelta(days=365))
    window = server.catalogue.window("movie", None, TODAY)
    lost = _page_keys(server, 3)
    server.faults.update(
        {"malformed_at": {"path": "/discover/movie", "page": 3}, "malformed_at_times": 2}
    )
    first = ingest_new_content(settings, "movie")
    assert first.run.status == "partial" and first.problems == ["1 page could not be read"]
    assert first.run.errors == 1 and first.run.retries >= 1
    assert any("page 3 of 13 could not be read" in m for m in first.run.messages)
    assert set(pool_keys(settings, "movie")) == expected_keys(server, "movie") - lost
    # Page 3 can only hold titles released on or after the last date of page 2.
    held = window[39].date
    assert checkpoint(settings, "movie") == held < window[-1].date

    second = ingest_new_content(settings, "movie")
    assert second.run.status == "ok" and second.window[0] == str(held - dt.timedelta(days=1))
    assert set(pool_keys(settings, "movie")) == expected_keys(server, "movie")
    assert checkpoint(settings, "movie") == window[-1].date

    # A lost first page holds the checkpoint where it was: it never moves backwards.
    before = checkpoint(settings, "movie")
    # (listed as changed long ago, so only discover can bring it)
    long_ago = TODAY - dt.timedelta(days=400)
    server.catalogue.add(
        Title("movie", 66_666_666, "Late", TODAY, [18], "da", 1.0, 7.0, 3, 90, "tt6", [], long_ago)
    )
    server.faults.update(
        {"malformed_at": {"path": "/discover/movie", "page": 1}, "malformed_at_times": 2}
    )
    third = ingest_new_content(settings, "movie")
    assert third.run.status == "partial" and checkpoint(settings, "movie") == before
    assert ("movie", 66_666_666) not in pool_keys(settings, "movie")
    fourth = ingest_new_content(settings, "movie")
    assert fourth.run.status == "ok" and ("movie", 66_666_666) in pool_keys(settings, "movie")


def test_lost_details_of_a_new_title_are_fetched_by_the_next_run(server, tmp_path):
    settings = settings_for(server, tmp_path)
    window = server.catalogue.window("movie", None, TODAY)
    title = window[10]  # among the first 50 new titles, which get details
    server.faults.update({"malformed_at": {"path": f"/movie/{title.id}"}, "malformed_at_times": 2})
    first = ingest_new_content(settings, "movie")
    assert first.run.status == "partial" and first.problems == [
        "details of 1 title could not be read"
    ]
    assert first.run.errors == 1 and checkpoint(settings, "movie") == title.date
    con = watchbuddy.connect(settings.warehouse)
    query = "SELECT status, keywords FROM pool WHERE media_type = 'movie' AND tmdb_id = ?"
    assert con.sql(query, params=[title.id]).fetchall() == [(None, [])]
    second = ingest_new_content(settings, "movie")
    assert second.run.status == "ok"
    con = watchbuddy.connect(settings.warehouse)
    assert con.sql(query, params=[title.id]).fetchall() == [("Released", title.keywords)]


def _changed(tmdb_id: int, released: dt.date, changed: dt.date) -> Title:
    return Title(
        "movie", tmdb_id, f"Changed {tmdb_id}", released, [18], "da", 1.0, 7.0, 12, 95, "tt1",
        ["late"], changed,
    )  # fmt: skip


def changes_read_until(settings) -> dt.date:
    con = watchbuddy.connect(settings.warehouse)
    return con.sql(
        "SELECT changes_read_until FROM checkpoints WHERE media_type = 'movie'"
    ).fetchall()[0][0]


def _detail_requests(server: FakeTmdb, ids: set[int], since: int) -> list[int]:
    paths = [path for _, path in list(server.log)[since:]]
    found = [re.fullmatch(r"/3/movie/(\d+)", p) for p in paths]
    return [int(m.group(1)) for m in found if m and int(m.group(1)) in ids]


def test_changes_are_read_again_until_every_day_is_read_and_fetched(server, tmp_path, monkeypatch):
    settings = settings_for(server, tmp_path)
    ingest_new_content(settings, "movie", today=TODAY - dt.timedelta(days=3))
    assert changes_read_until(settings) == TODAY - dt.timedelta(days=3)
    # Three titles TMDB added two days ago with old release dates; one run reads two.
    ids = {88_000_001, 88_000_002, 88_000_003}
    for tmdb_id in sorted(ids):
        server.catalogue.add(
            _changed(tmdb_id, TODAY - dt.timedelta(days=150), TODAY - dt.timedelta(days=2))
        )
    monkeypatch.setattr(ingest, "CHANGES_PER_RUN", 2)
    # ... and yesterday's change page cannot be read.
    yesterday = (TODAY - dt.timedelta(days=1)).isoformat()
    server.faults.update(
        {
            "malformed_at": {"path": "/movie/changes", "start_date": yesterday},
            "malformed_at_times": 2,
        }
    )
    second = ingest_new_content(settings, "movie")
    assert second.run.status == "partial" and second.problems == ["1 page could not be read"]
    assert any("the rest wait for the next run" in m for m in second.run.messages)
    assert any(f"movie changes of {yesterday}: page 1" in m for m in second.run.messages)
    landed = ids & {i for _, i in pool_keys(settings, "movie")}
    assert len(landed) == 2
    assert changes_read_until(settings) == TODAY - dt.timedelta(days=3)  # not moved

    log_start = len(server.log)
    third = ingest_new_content(settings, "movie")
    assert third.run.status == "ok"
    assert ids <= {i for _, i in pool_keys(settings, "movie")}
    # Read again from the same day, but the two fetched after their change day ended are
    # current: only the one left over is requested.
    assert _detail_requests(server, ids, log_start) == list(ids - landed)
    assert changes_read_until(settings) == TODAY


def test_changes_resume_from_the_last_run_day_for_old_checkpoint_records(server, tmp_path):
    settings = settings_for(server, tmp_path)
    ingest_new_content(settings, "movie", today=TODAY - dt.timedelta(days=5))
    # A checkpoint record written before `changes_read_until` existed reads it as NULL.
    for path in (settings.warehouse / "checkpoints").glob("*.parquet"):
        pq.write_table(pq.read_table(path).drop_columns(["changes_read_until"]), path)
    assert changes_read_until(settings) is None
    log_start = len(server.log)
    ingest_new_content(settings, "movie")
    # From the day of the last run (today) to today: one day, one page of changes.
    changes = [p for _, p in list(server.log)[log_start:] if p == "/3/movie/changes"]
    assert len(changes) == 1
    assert changes_read_until(settings) == TODAY


def test_titles_gone_from_tmdb_are_recorded_flagged_and_not_asked_again(server, tmp_path):
    settings = settings_for(server, tmp_path)
    # A demo title whose id is another, real title's on TMDB: never refreshed.
    (settings.data_dir / "synthetic_movies.csv").write_text(
        f"id,title,release_date,vote_count\n55555555,Demo,{TODAY - dt.timedelta(days=5)},3\n"
    )
    bootstrap(settings)
    ingest_new_content(settings, "movie")
    recent = server.catalogue.window("movie", TODAY - dt.timedelta(days=90), TODAY)
    gone = {t.id for t in recent[:3]}
    for tmdb_id in gone:
        server.catalogue.remove("movie", tmdb_id)

    log_start = len(server.log)
    first = refresh_recent_votes(settings, "movie", limit=1000)
    assert first.removed == 3 and first.run.status == "ok" and first.run.errors == 0
    assert first.refreshed == len(recent) - 3
    assert "3 titles removed from TMDB (HTTP 404)" in " ".join(first.run.messages)
    asked = [p for _, p in list(server.log)[log_start:]]
    assert "/3/movie/55555555" not in asked
    con = watchbuddy.connect(settings.warehouse)
    assert sorted(con.sql("SELECT tmdb_id, reason FROM removals").fetchall()) == sorted(
        (i, f"HTTP 404 from /movie/{i}") for i in gone
    )
    flagged = con.sql("SELECT tmdb_id FROM pool WHERE removed_from_tmdb_at IS NOT NULL")
    assert {r[0] for r in flagged.fetchall()} == gone

    log_start = len(server.log)
    second = refresh_recent_votes(settings, "movie", limit=1000)
    asked = {p for _, p in list(server.log)[log_start:]}
    assert second.candidates == len(recent) - 3 and second.removed == 0
    assert not asked & {f"/3/movie/{i}" for i in gone}

    filters = CandidateFilters(media_type="movie", min_votes=0, limit=1000)
    shown = get_candidates(filters, settings, fallback=False).frame["tmdb_id"].to_list()
    assert shown and not gone & set(shown)
    with_removed = CandidateFilters(
        media_type="movie", min_votes=0, limit=1000, include_removed=True
    )
    shown = get_candidates(with_removed, settings, fallback=False).frame["tmdb_id"].to_list()
    assert gone <= set(shown)


def test_a_lost_refresh_makes_the_run_partial_and_the_cli_says_so(server, tmp_path):
    env = cli_env(server, tmp_path)
    assert run_cli("ingest", "movie", cwd=tmp_path, env=env).returncode == 0
    recent = server.catalogue.window("movie", TODAY - dt.timedelta(days=90), TODAY)
    server.catalogue.remove("movie", recent[0].id)
    server.faults.update(
        {"malformed_at": {"path": f"/movie/{recent[1].id}"}, "malformed_at_times": 2}
    )
    done = run_cli("refresh-votes", "movie", "--limit", "1000", cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(
        "movie: partial: votes of 1 title could not be read; refreshed votes of "
        f"{len(recent) - 2:,} of {len(recent):,} recent titles, 1 removed from TMDB"
    )
    server.faults.update(
        {"malformed_at": {"path": f"/movie/{recent[1].id}"}, "malformed_at_times": 2}
    )
    done = run_cli("refresh-votes", "movie", "--limit", "1000", "--json", cwd=tmp_path, env=env)
    (run,) = json.loads(done.stdout)
    assert run["status"] == "partial" and run["errors"] == 1 and run["removed"] == 0
    assert run["problems"] == ["votes of 1 title could not be read"]
