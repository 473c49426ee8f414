"""The rolling refresh (`refresh-titles`) against the fake TMDB server on loopback: its
order, its derived per-run number and budget, what lands, 404s, and that keeping the job's
schedule keeps every title under the age limit (simulated days, an injected clock)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import polars as pl
import pyarrow as pa
import pytest

import watchbuddy
from tests.conftest import fake_tmdb_settings, run_cli
from watchbuddy.devtools.fake_tmdb import Catalogue, FakeTmdb, Title
from watchbuddy.jobs.scheduler import refresh_pace
from watchbuddy.settings import Settings
from watchbuddy.sources.tmdb.ingest import api_title_rows, normalize
from watchbuddy.sources.tmdb.refresh_titles import Pace, plan_per_run, refresh_titles
from watchbuddy.store.schema import EXPORT_SCHEMA, POPULARITY_HISTORY_SCHEMA, TITLE_SCHEMA
from watchbuddy.store.views import open_views
from watchbuddy.store.warehouse import Warehouse

KEY = "refresh-test-key"
NOW = dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC)
# One run a day, a 180-day limit and a budget that never binds, unless a test says otherwise.
PACE = Pace(max_age_days=180, runs_per_day=1, daily_budget=100_000)


@pytest.fixture
def server():
    catalogue = Catalogue.generate(
        40, 20, dt.date(2020, 1, 1), dt.date(2025, 12, 31), seed=3, shared_ids=0
    )
    with FakeTmdb(catalogue, api_key=KEY) as tmdb:
        yield tmdb


def titles_of(server: FakeTmdb, media_type: str) -> list[Title]:
    return sorted(server.catalogue.titles[media_type].values(), key=lambda t: t.id)


def land(
    settings: Settings, titles: list[Title], fetched_at: dt.datetime, source: str = "tmdb"
) -> None:
    """Publish titles as if TMDB served them at `fetched_at` (or, with source 'csv', as if
    a CSV file of that time had them: never fetched from TMDB)."""
    warehouse = Warehouse(settings.warehouse)
    with warehouse.writer("test land") as writer:
        batch = writer.allocate_batch()
        paths = []
        for media_type in ("movie", "tv"):
            chosen = [t.summary() for t in titles if t.media_type == media_type]
            if not chosen:
                continue
            rows = api_title_rows(normalize(chosen, media_type), pl.lit("test"), batch, fetched_at)
            if source != "tmdb":
                rows = rows.set_column(
                    rows.schema.get_field_index("source"),
                    "source",
                    pa.array([source] * rows.num_rows, pa.string()),
                ).cast(TITLE_SCHEMA)
            name = f"test-{batch:06d}-{media_type}.parquet"
            paths.append(writer.stage_table("titles", rows, name))
        writer.commit(add={"titles": paths})


def publish_export(settings: Settings, media_type: str, day: dt.date, ids: list[int]) -> None:
    """A landed daily export file listing `ids`, the first the most popular: its rows in
    `popularity_history` and its 'landed' record in `exports`, written directly as the
    `exports` job writes them (its regular file only: no day is complete, so no title is
    flagged removed for being absent)."""
    record = pa.Table.from_pylist(
        [
            {
                "media_type": media_type,
                "export_date": day,
                "adult": False,
                "status": "landed",
                "url": f"test://{media_type}_ids_{day}.json.gz",
                "lines": len(ids),
                "accepted": len(ids),
                "rejected": 0,
                "bytes": 0,
                "landed_at": NOW,
                "run_id": "test",
                "message": None,
            }
        ],
        schema=EXPORT_SCHEMA,
    )
    rows = pa.table(
        {
            "media_type": [media_type] * len(ids),
            "tmdb_id": ids,
            "date": [day] * len(ids),
            "popularity": [float(len(ids) - n) for n in range(len(ids))],
            "adult": [False] * len(ids),
        },
        schema=POPULARITY_HISTORY_SCHEMA,
    )
    warehouse = Warehouse(settings.warehouse)
    with warehouse.writer("test export") as writer:
        batch = writer.allocate_batch()
        name = f"history-{batch:06d}-{media_type}.parquet"
        history = writer.stage_table("popularity_history", rows, name)
        landed = writer.stage_table("exports", record, f"export-{batch:06d}-{media_type}.parquet")
        writer.commit(add={"popularity_history": [history], "exports": [landed]})


def fetched(settings: Settings) -> dict[tuple[str, int], dt.datetime | None]:
    """When TMDB last served each title of the pool (the computed view: no pool file is
    written for every simulated run)."""
    con = open_views(Warehouse(settings.warehouse), materialize=False)
    try:
        rows = con.sql("SELECT media_type, tmdb_id, tmdb_fetched_at FROM pool").fetchall()
    finally:
        con.close()
    return {(m, i): at for m, i, at in rows}


def test_missing_export_ids_first_then_never_fetched_then_oldest(server, tmp_path):
    settings = fake_tmdb_settings(server, tmp_path)
    movies = titles_of(server, "movie")
    in_pool, absent = movies[:20], movies[20:26]
    # Fetched from TMDB 10..29 days before NOW, in id order: movies[0] is the oldest.
    for n, title in enumerate(in_pool[:15]):
        land(settings, [title], NOW - dt.timedelta(days=30 - n))
    # A CSV copied in today: its file time is new, but TMDB never served it to us.
    land(settings, in_pool[15:], NOW - dt.timedelta(hours=1), source="csv")
    publish_export(settings, "movie", dt.date(2026, 5, 31), [t.id for t in absent + in_pool])

    result = refresh_titles(settings, "movie", PACE, limit=len(absent) + 5 + 2, now=NOW)

    assert result.run.status == "ok", result.run.messages
    assert result.queued == {"missing": 6, "oldest": 7}
    assert result.fetched == 13 and result.new == 6
    now_fetched = {i for (m, i), at in fetched(settings).items() if at == NOW}
    expected = {t.id for t in absent} | {t.id for t in in_pool[15:]} | {t.id for t in in_pool[:2]}
    assert now_fetched == expected
    runs = (
        watchbuddy.connect(settings.warehouse)
        .sql("SELECT job, media_type, status, titles_new, titles_updated FROM runs")
        .fetchall()
    )
    assert ("refresh-titles", "movie", "ok", 6, 7) in runs


def test_keywords_and_imdb_ids_land_for_movies_and_shows(server, tmp_path):
    settings = fake_tmdb_settings(server, tmp_path)
    chosen = titles_of(server, "movie")[:3] + titles_of(server, "tv")[:3]
    land(settings, chosen, NOW - dt.timedelta(days=100))
    refresh_titles(settings, "all", PACE, limit=6, now=NOW)
    con = watchbuddy.connect(settings.warehouse)
    rows = con.sql(
        "SELECT media_type, tmdb_id, keywords, imdb_id, status, runtime FROM pool"
    ).fetchall()
    by_key = {(t.media_type, t.id): t for t in chosen}
    assert len(rows) == 6
    for media_type, tmdb_id, keywords, imdb_id, status, runtime in rows:
        title = by_key[media_type, tmdb_id]
        assert keywords == title.keywords
        assert imdb_id == title.imdb_id
        assert status is not None and runtime == title.runtime


def test_the_fake_serves_tmdbs_shapes_for_the_appends(server):
    movie, show = titles_of(server, "movie")[0], titles_of(server, "tv")[0]
    both = {"keywords", "external_ids"}
    movie_body, show_body = movie.details(both), show.details(both)
    assert [k["name"] for k in movie_body["keywords"]["keywords"]] == movie.keywords
    assert [k["name"] for k in show_body["keywords"]["results"]] == show.keywords
    assert movie_body["external_ids"]["imdb_id"] == movie.imdb_id == movie_body["imdb_id"]
    assert show_body["external_ids"]["imdb_id"] == show.imdb_id


def test_a_404_records_a_removal_and_the_title_is_not_asked_again(server, tmp_path):
    settings = fake_tmdb_settings(server, tmp_path)
    movies = titles_of(server, "movie")[:4]
    land(settings, movies, NOW - dt.timedelta(days=50))
    gone = movies[0]
    server.catalogue.remove("movie", gone.id)
    first = refresh_titles(settings, "movie", PACE, limit=4, now=NOW)
    assert first.removed == 1 and first.fetched == 3 and first.run.status == "ok"
    assert any("404" in m for m in first.run.messages)
    con = watchbuddy.connect(settings.warehouse)
    flagged = con.sql("SELECT tmdb_id FROM pool WHERE removed_from_tmdb_at IS NOT NULL")
    assert flagged.fetchall() == [(gone.id,)]
    second = refresh_titles(settings, "movie", PACE, limit=10, now=NOW + dt.timedelta(days=1))
    assert second.queued == {"missing": 0, "oldest": 3} and second.removed == 0


def test_a_rerun_is_idempotent_and_a_fetched_missing_id_is_no_longer_missing(server, tmp_path):
    settings = fake_tmdb_settings(server, tmp_path)
    movies = titles_of(server, "movie")
    land(settings, movies[:5], NOW - dt.timedelta(days=20))
    publish_export(settings, "movie", dt.date(2026, 5, 31), [t.id for t in movies[:8]])
    first = refresh_titles(settings, "movie", PACE, limit=8, now=NOW)
    assert first.queued == {"missing": 3, "oldest": 5}
    before = watchbuddy.connect(settings.warehouse).sql("SELECT * FROM pool ORDER BY ALL").pl()
    second = refresh_titles(settings, "movie", PACE, limit=8, now=NOW)
    assert second.queued == {"missing": 0, "oldest": 8} and second.new == 0
    after = watchbuddy.connect(settings.warehouse).sql("SELECT * FROM pool ORDER BY ALL").pl()
    assert after.height == before.height == 8
    same = ["media_type", "tmdb_id", "title", "keywords", "imdb_id", "tmdb_fetched_at"]
    assert after.select(same).equals(before.select(same))


def test_the_per_run_number_follows_pool_size_age_and_schedule():
    # 1.5M titles, 180 days, hourly runs: ceil(1.5M / (180 * 24)) = 348 a run, 8,352 a day.
    plan = plan_per_run(1_500_000, 0, 180, 24, 50_000)
    assert (plan.pace, plan.oldest, plan.new, plan.per_run) == (348, 348, 0, 348)
    assert plan.keeps_age and plan.to_dict()["per_day"] == 8_352
    # Missing ids get the rest of the run's share of the budget: 50,000 / 24 = 2,083.
    plan = plan_per_run(1_500_000, 10_000, 180, 24, 50_000)
    assert (plan.budget_per_run, plan.oldest, plan.new) == (2_083, 348, 1_735)
    # Twice the pool, twice the pace; half the limit, twice the pace; daily runs, 24 times.
    assert plan_per_run(3_000_000, 0, 180, 24, 10**6).pace == 695
    assert plan_per_run(1_500_000, 0, 90, 24, 10**6).pace == 695
    assert plan_per_run(1_500_000, 0, 180, 1, 10**6).pace == 8_334
    # --limit overrides: missing ids first.
    plan = plan_per_run(1_500_000, 10, 180, 24, 50_000, limit=25)
    assert (plan.new, plan.oldest, plan.per_run) == (10, 15, 25)


def test_the_budget_caps_a_run_and_says_the_age_limit_cannot_hold():
    plan = plan_per_run(1_500_000, 5_000, 180, 24, 4_800)
    assert plan.budget_per_run == 200 and plan.per_run == 200 and plan.new == 0
    assert not plan.keeps_age
    assert "WATCHBUDDY_REFRESH_TITLES_DAILY_BUDGET" in plan.why()
    # Within the budget the missing ids never squeeze out the age pace.
    plan = plan_per_run(10_000, 5_000, 10, 1, 1_500)
    assert (plan.oldest, plan.new) == (1_000, 500)


def test_runs_a_day_come_from_the_jobs_schedule(tmp_path):
    hourly = refresh_pace(Settings(warehouse=tmp_path))
    assert hourly == Pace(180, 24.0, 50_000)
    daily = refresh_pace(
        Settings(warehouse=tmp_path, schedule_refresh_titles="0 5 * * *", max_data_age_days=30)
    )
    assert (daily.runs_per_day, daily.max_age_days) == (1.0, 30)


@pytest.mark.slow
def test_keeping_the_schedule_keeps_every_title_under_the_limit(server, tmp_path):
    """A pool with a known age spread, then the derived number a run, R runs a day for
    twice the limit: before every run no title is older than the limit, and every title was
    fetched again."""
    settings = fake_tmdb_settings(server, tmp_path)
    limit_days, runs_a_day = 1, 6
    pace = Pace(limit_days, runs_a_day, 100_000)
    titles = titles_of(server, "movie")[:10] + titles_of(server, "tv")[:8]
    # Half fetched over the last half day (one every 1.3 hours), half just now.
    spread = titles[:9]
    for n, title in enumerate(spread):
        land(settings, [title], NOW - dt.timedelta(days=0.5 * (1 - n / len(spread))))
    land(settings, titles[9:], NOW)
    clock = NOW
    per_run = []
    for _ in range(2 * limit_days * runs_a_day):
        ages = [clock - at for at in fetched(settings).values() if at is not None]
        assert len(ages) == len(titles)
        assert max(ages) <= dt.timedelta(days=limit_days), f"too old at {clock}"
        result = refresh_titles(settings, "all", pace, now=clock)
        assert result.run.status == "ok"
        per_run.append(result.fetched)
        clock += dt.timedelta(days=1 / runs_a_day)
    # ceil(18 / (1 * 6)) = 3 a run, always
    assert set(per_run) == {3}
    assert all(at > NOW for at in fetched(settings).values())


@pytest.mark.slow
def test_cli_refresh_titles_json_stats_and_jobs_say_how_many_and_why(server, tmp_path):
    settings = fake_tmdb_settings(server, tmp_path)
    land(settings, titles_of(server, "movie")[:10], NOW - dt.timedelta(days=200))
    land(settings, titles_of(server, "tv")[:5], NOW, source="csv")
    env = {
        "WATCHBUDDY_WAREHOUSE": str(settings.warehouse),
        "TMDB_API_KEY": KEY,
        "WATCHBUDDY_TMDB_BASE_URL": server.base_url,
        "WATCHBUDDY_TMDB_RPS": "500",
        "WATCHBUDDY_MAX_DATA_AGE_DAYS": "1",
        "WATCHBUDDY_SCHEDULE_REFRESH_TITLES": "every 6h",
    }
    stats = json.loads(run_cli("stats", "--json", cwd=tmp_path, env=env).stdout)
    age = stats["tmdb_data_age"]
    assert (age["titles"], age["over_180_days"], age["never_fetched"]) == (15, 10, 5)
    assert age["over_limit"] == 15 and age["max_age_days"] == 1
    # 15 titles, 1 day, 4 runs a day: ceil(15 / 4) = 4 a run
    assert age["refresh_plan"]["per_run"] == 4 and "ceil(15 titles" in age["refresh_plan"]["why"]
    assert age["oldest_refresh_at"] is not None

    jobs = json.loads(run_cli("jobs", "--json", cwd=tmp_path, env=env).stdout)
    row = next(j for j in jobs["jobs"] if j["job"] == "refresh-titles")
    assert row["outlook"]["refresh_plan"]["per_run"] == 4
    assert (
        "refresh-titles: next run fetches 4 a run" in run_cli("jobs", cwd=tmp_path, env=env).stdout
    )

    done = run_cli("refresh-titles", "all", "--json", cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["status"] == "ok" and report["fetched"] == 4
    assert report["plan"]["pace"] == 4 and report["plan"]["runs_per_day"] == 4
    # The never-fetched shows first.
    con = watchbuddy.connect(Path(settings.warehouse))
    refreshed = con.sql(
        "SELECT media_type, count(*) FROM pool WHERE tmdb_fetched_at > now() - INTERVAL 1 HOUR "
        "GROUP BY ALL"
    ).fetchall()
    assert refreshed == [("tv", 4)]
