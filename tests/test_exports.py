"""TMDB's daily ID exports: landing against the fake's export files over real HTTP."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import watchbuddy
from tests.conftest import fake_tmdb_settings, run_cli
from watchbuddy.devtools.fake_tmdb import Catalogue, FakeExports, FakeTmdb, export_file_name
from watchbuddy.errors import ExportsUnavailable
from watchbuddy.jobs.specs import job_spec
from watchbuddy.pool.stats import pool_stats
from watchbuddy.settings import Settings
from watchbuddy.sources.exports.land import land_exports, line_value
from watchbuddy.sources.tmdb.ingest import ingest_new_content
from watchbuddy.store.views import open_views
from watchbuddy.store.warehouse import Warehouse

DAY = dt.date(2026, 6, 15)  # the fake's today in most tests: fixed, so every run is the same
KINDS = [(m, a) for m in ("movie", "tv") for a in (False, True)]


def make_server(today: dt.date = DAY, **exports: Any) -> FakeTmdb:
    catalogue = Catalogue.generate(
        400, 120, today - dt.timedelta(days=300), today - dt.timedelta(days=1), seed=5
    )
    return FakeTmdb(catalogue, api_key="k", exports=FakeExports(catalogue, today=today, **exports))


@pytest.fixture
def server():
    with make_server() as tmdb:
        yield tmdb


def settings_for(server: FakeTmdb, tmp_path: Path, **extra: Any) -> Settings:
    return fake_tmdb_settings(server, tmp_path, exports_backfill_days=3, **extra)


def history(settings: Settings, media_type: str, day: dt.date, adult: bool) -> set[tuple]:
    con = watchbuddy.connect(settings.warehouse)
    rows = con.sql(
        "SELECT tmdb_id, popularity FROM popularity_history "
        "WHERE media_type = ? AND date = ? AND adult = ?",
        params=[media_type, day, adult],
    ).fetchall()
    assert len(rows) == len({r[0] for r in rows}), "an id twice on one day"
    return {(i, float(np.float32(p))) for i, p in rows}


def truth(server: FakeTmdb, media_type: str, day: dt.date, adult: bool) -> set[tuple]:
    lines = server.exports.truth(media_type, day, adult)
    return {(o["id"], float(np.float32(o["popularity"]))) for o in lines}


def records(settings: Settings) -> list[dict[str, Any]]:
    rel = watchbuddy.connect(settings.warehouse).sql(
        "SELECT * FROM exports ORDER BY export_date, media_type, adult"
    )
    return [dict(zip(rel.columns, r, strict=True)) for r in rel.fetchall()]


def days(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]


def test_exact_history_for_a_window_equals_the_fakes_truth(server, tmp_path):
    settings = settings_for(server, tmp_path)
    window = days(DAY - dt.timedelta(days=6), DAY)
    result = land_exports(settings, "all", since=window[0], until=window[-1], today=DAY)
    assert result.run.status == "ok" and len(result.landed) == len(window) * 4
    for day in window:
        for media_type, adult in KINDS:
            expected = truth(server, media_type, day, adult)
            assert expected, (media_type, day, adult)
            assert history(settings, media_type, day, adult) == expected
    for record in records(settings):
        assert record["status"] == "landed" and record["rejected"] == 0
        assert record["lines"] == record["accepted"] > 0
    runs = watchbuddy.connect(settings.warehouse).sql("SELECT job, status FROM runs").fetchall()
    assert runs == [("exports", "ok")]
    # Popularity rises for some titles and falls for others over the window.
    first, last = (dict(truth(server, "movie", d, False)) for d in (window[0], window[-1]))
    changes = [last[i] - first[i] for i in set(first) & set(last)]
    assert any(c > 0 for c in changes) and any(c < 0 for c in changes)


def test_rerun_lands_nothing_twice(server, tmp_path):
    settings = settings_for(server, tmp_path)
    first = land_exports(settings, "all", today=DAY)  # first run: the last 3 days
    assert [f.day for f in first.landed][::4] == days(DAY - dt.timedelta(days=2), DAY)
    files = Warehouse(settings.warehouse).read_manifest().files("popularity_history")
    again = land_exports(settings, "all", today=DAY)
    assert again.files == [] and again.run.status == "ok"
    explicit = land_exports(settings, "movie", since=DAY - dt.timedelta(days=2), today=DAY)
    assert explicit.files == []
    assert Warehouse(settings.warehouse).read_manifest().files("popularity_history") == files
    con = watchbuddy.connect(settings.warehouse)
    assert con.sql(
        "SELECT count(*) FROM (SELECT media_type, tmdb_id, date, adult FROM popularity_history "
        "GROUP BY ALL HAVING count(*) > 1)"
    ).fetchall() == [(0,)]
    # The next day, only the new day's files are fetched.
    server.exports.now = dt.datetime.combine(DAY + dt.timedelta(days=1), dt.time(10), dt.UTC)
    later = land_exports(settings, "all", today=DAY + dt.timedelta(days=1))
    assert {f.day for f in later.files} == {DAY + dt.timedelta(days=1)} and len(later.landed) == 4


def test_missing_day_is_recorded_and_retried_until_it_lands(server, tmp_path):
    settings = settings_for(server, tmp_path)
    exports = server.exports
    exports.now = dt.datetime.combine(DAY, dt.time(7, 30), dt.UTC)  # before publication
    gap = export_file_name("tv", DAY - dt.timedelta(days=1), adult=False)
    exports.withheld.add(gap)  # TMDB skipped a file
    result = land_exports(settings, "all", today=DAY)
    missing = {f.file for f in result.missing}
    assert missing == {gap} | {export_file_name(m, DAY, a) for m, a in KINDS}
    assert result.run.status == "partial"
    assert any(gap in note for note in result.run.messages)
    assert any("today's files not published yet" in note for note in result.run.messages)
    statuses = {
        (r["media_type"], r["export_date"], r["adult"]): r["status"] for r in records(settings)
    }
    assert statuses[("tv", DAY - dt.timedelta(days=1), False)] == "missing"
    assert statuses[("movie", DAY, False)] == "missing"
    assert history(settings, "tv", DAY - dt.timedelta(days=1), False) == set()

    exports.now = dt.datetime.combine(DAY, dt.time(8, 30), dt.UTC)  # published now
    exports.withheld.clear()
    retry = land_exports(settings, "all", today=DAY)
    assert {f.file for f in retry.files} == missing and not retry.missing
    assert retry.run.status == "ok"
    assert history(settings, "tv", DAY - dt.timedelta(days=1), False) == truth(
        server, "tv", DAY - dt.timedelta(days=1), False
    )
    assert all(r["status"] == "landed" for r in records(settings))
    assert land_exports(settings, "all", today=DAY).files == []


def test_a_missing_day_older_than_tmdb_keeps_is_not_retried(server, tmp_path):
    settings = settings_for(server, tmp_path)
    old = DAY - dt.timedelta(days=120)
    result = land_exports(settings, "movie", since=old, until=old, today=DAY)
    assert len(result.missing) == 2  # 403 AccessDenied: outside TMDB's 90 days
    server.exports.now = dt.datetime.combine(DAY, dt.time(12), dt.UTC)
    later = land_exports(settings, "movie", today=DAY)
    assert all(f.day != old for f in later.files)


def test_bad_lines_are_rejected_with_reasons_and_counts_add_up(server, tmp_path):
    settings = settings_for(server, tmp_path)
    name = export_file_name("movie", DAY, adult=False)
    good = server.exports.truth("movie", DAY)
    bad = [
        "{not json",
        "[1, 2]",
        '{"id": "12", "popularity": 1.5}',
        '{"popularity": 1.5}',
        '{"id": 0, "popularity": 1.5}',
        '{"id": 77, "popularity": -3}',
        '{"id": 78}',
        "",
        json.dumps(good[5]),  # an id listed again
    ]
    server.exports.bad_lines[name] = bad
    result = land_exports(settings, "movie", since=DAY, until=DAY, today=DAY)
    report = next(f for f in result.files if f.file == name)
    assert report.lines == len(good) + len(bad) == report.accepted + report.rejected
    assert report.rejected == len(bad) and report.accepted == len(good)
    assert history(settings, "movie", DAY, False) == truth(server, "movie", DAY, False)
    con = watchbuddy.connect(settings.warehouse)
    rows = con.sql("SELECT line, reason, raw FROM rejects WHERE file = ?", params=[name])
    reasons = sorted(r[1].split(" (")[0] for r in rows.fetchall())
    assert reasons == sorted(
        [
            "not JSON",
            "not a JSON object",
            "id is not a whole number",
            "no id",
            "id out of range",
            "popularity is negative, too large or not finite",
            "no popularity",
            "empty line",
            "id listed again",
        ]
    )
    record = next(r for r in records(settings) if not r["adult"])
    assert (record["lines"], record["accepted"], record["rejected"]) == (
        report.lines,
        report.accepted,
        report.rejected,
    )
    assert any("lines rejected" in m for m in result.run.messages)


def test_two_objects_on_a_line_and_a_blank_line_are_both_rejected(server, tmp_path):
    """pyarrow reads two objects on one line as two rows and skips a blank line, so a block
    with both has as many rows as lines: the blank line must still send it line by line."""
    settings = settings_for(server, tmp_path)
    name = export_file_name("tv", DAY, adult=False)
    good = server.exports.truth("tv", DAY)
    bad = ['{"id": 5001, "popularity": 1.5}{"id": 5002, "popularity": 2.5}', ""]
    server.exports.bad_lines[name] = bad
    result = land_exports(settings, "tv", since=DAY, until=DAY, today=DAY)
    report = next(f for f in result.files if f.file == name)
    assert (report.lines, report.accepted, report.rejected) == (len(good) + 2, len(good), 2)
    assert history(settings, "tv", DAY, False) == truth(server, "tv", DAY, False)
    rows = watchbuddy.connect(settings.warehouse).sql(
        "SELECT reason FROM rejects WHERE file = ?", params=[name]
    )
    assert sorted(r[0].split(" (")[0] for r in rows.fetchall()) == ["empty line", "not JSON"]


def test_line_rule_names_every_reason():
    assert line_value(b'{"id":1,"popularity":0.6}') == (1, 0.6)
    assert line_value(b'{"id":true,"popularity":1}') == "id is not a whole number"
    assert line_value(b'{"id":3,"popularity":"x"}') == "popularity is not a number"
    assert line_value(b'{"id":3,"popularity":1e39}').startswith("popularity is negative")
    assert line_value(b'{"id":2147483648,"popularity":1}').startswith("id out of range")


def test_new_and_removed_ids_show_in_the_days_they_happen(server, tmp_path):
    settings = settings_for(server, tmp_path)
    first_day = DAY - dt.timedelta(days=20)
    land_exports(settings, "movie", since=first_day, until=DAY, today=DAY)
    exports = server.exports
    params = exports.titles("movie")
    new = [p for p in params if p.first and first_day < p.first <= DAY]
    gone = [p for p in params if p.last and first_day < p.last <= DAY]
    assert new and gone
    con = watchbuddy.connect(settings.warehouse)

    def listed(tmdb_id: int) -> set[dt.date]:
        rows = con.sql(
            "SELECT date FROM popularity_history WHERE media_type = 'movie' AND tmdb_id = ? "
            "AND NOT adult",
            params=[tmdb_id],
        ).fetchall()
        return {r[0] for r in rows}

    for title in new:
        assert listed(title.id) == set(days(title.first, DAY))
    for title in gone:
        assert listed(title.id) == set(days(first_day, title.last - dt.timedelta(days=1)))


@pytest.mark.slow
def test_sigkill_mid_file_leaves_no_partial_day_and_a_rerun_lands_it_whole(tmp_path):
    day = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)  # the child's clock is real
    with make_server(today=dt.datetime.now(dt.UTC).date(), export_only={"movie": 30_000}) as tmdb:
        settings = settings_for(tmdb, tmp_path)
        name = export_file_name("movie", day, adult=False)
        tmdb.exports.chunk_delay = 0.05
        env = {
            **os.environ,
            "WATCHBUDDY_WAREHOUSE": str(settings.warehouse),
            "WATCHBUDDY_TMDB_EXPORTS_URL": tmdb.exports_url,
        }
        child = subprocess.Popen(
            [sys.executable, "-m", "watchbuddy", "exports", "movie", "--since", str(day)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while tmdb.exports.bytes_sent.get(name, 0) < 128 * 1024 and time.monotonic() < deadline:
            time.sleep(0.01)
        child.send_signal(signal.SIGKILL)
        child.wait()
        con = watchbuddy.connect(settings.warehouse)
        assert con.sql("SELECT count(*) FROM popularity_history").fetchall() == [(0,)]
        assert con.sql("SELECT count(*) FROM exports").fetchall() == [(0,)]
        assert con.sql("SELECT status FROM runs").fetchall() == [("running",)]

        tmdb.exports.chunk_delay = 0.0
        result = land_exports(settings, "movie", since=day, until=day)
        assert result.run.status == "ok"
        assert history(settings, "movie", day, False) == truth(tmdb, "movie", day, False)
        assert len(truth(tmdb, "movie", day, False)) > 25_000
        statuses = watchbuddy.connect(settings.warehouse).sql("SELECT status FROM runs")
        assert sorted(r[0] for r in statuses.fetchall()) == ["incomplete", "ok"]
        assert not list((settings.warehouse / "tmp").iterdir())


@pytest.mark.slow
def test_cli_json_and_one_line_errors(server, tmp_path):
    settings = settings_for(server, tmp_path)
    env = {
        "WATCHBUDDY_WAREHOUSE": str(settings.warehouse),
        "WATCHBUDDY_TMDB_EXPORTS_URL": server.exports_url,
    }
    day = DAY - dt.timedelta(days=1)
    done = run_cli(
        "exports", "tv", "--since", str(day), "--until", str(day), "--json", cwd=tmp_path, env=env
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["landed"] == 2 and report["run"]["job"] == "exports"
    assert report["title_days"] == len(truth(server, "tv", day, False)) + len(
        truth(server, "tv", day, True)
    )

    down = run_cli(
        "exports",
        "movie",
        cwd=tmp_path,
        env={**env, "WATCHBUDDY_TMDB_EXPORTS_URL": "http://127.0.0.1:9/p/exports"},
    )
    assert down.returncode != 0 and "Traceback" not in down.stderr
    assert down.stderr.count("\n") == 1 and "export files cannot be read" in down.stderr
    bad_url = run_cli(
        "exports", "movie", cwd=tmp_path, env={**env, "WATCHBUDDY_TMDB_EXPORTS_URL": "ftp://x"}
    )
    assert bad_url.returncode == 2 and "WATCHBUDDY_TMDB_EXPORTS_URL" in bad_url.stderr
    runs = watchbuddy.connect(settings.warehouse).sql("SELECT status FROM runs ORDER BY started_at")
    assert [r[0] for r in runs.fetchall()] == ["ok", "failed"]


def test_a_server_error_stops_the_run_and_keeps_what_landed(server, tmp_path):
    settings = settings_for(server, tmp_path)
    server.exports.bad_lines = {}
    server.exports.withheld.clear()
    original = server.exports.answer

    def failing(path: str):
        if "tv_series" in path:
            return 503, b"busy", "text/plain", path.rsplit("/", 1)[-1]
        return original(path)

    server.exports.answer = failing  # type: ignore[method-assign]
    with pytest.raises(ExportsUnavailable, match="HTTP 503"):
        land_exports(settings, "all", since=DAY, until=DAY, today=DAY)
    statuses = {(r["media_type"], r["adult"]): r["status"] for r in records(settings)}
    assert statuses == {("movie", False): "landed", ("movie", True): "landed"}
    runs = watchbuddy.connect(settings.warehouse).sql("SELECT status, messages FROM runs")
    ((status, messages),) = runs.fetchall()
    assert status == "failed" and "HTTP 503" in messages[-1]


def test_stats_show_newest_export_and_ids_the_pool_lacks(tmp_path):
    today = dt.datetime.now(dt.UTC).date()
    with make_server(today=today, export_only={"movie": 7}) as tmdb:
        settings = settings_for(tmdb, tmp_path)
        ingest_new_content(settings, "movie")
        land_exports(settings, "movie", since=today, until=today, today=today)
        warehouse = Warehouse(settings.warehouse)
        con = open_views(warehouse)
        try:
            stats = pool_stats(con, warehouse)
            pool_ids = {
                r[0]
                for r in con.sql("SELECT tmdb_id FROM pool WHERE media_type = 'movie'").fetchall()
            }
        finally:
            con.close()
        listed = {i for a in (False, True) for i, _ in truth(tmdb, "movie", today, a)}
        assert stats["newest_exports"] == {"movie": today}
        assert stats["export_ids_queued"] == {"movie": len(listed - pool_ids)}
        assert len(listed - pool_ids) >= 7
        done = run_cli("stats", cwd=tmp_path, env={"WATCHBUDDY_WAREHOUSE": str(settings.warehouse)})
        assert f"Newest daily ID export: movie {today}" in done.stdout


def test_the_exports_job_lands_all_media(server, tmp_path):
    settings = settings_for(server, tmp_path)
    server.exports.now = dt.datetime.now(dt.UTC).replace(hour=12)
    spec = job_spec("exports")
    assert spec.default_schedule == "0 9 * * *" and not spec.needs_tmdb
    summary = spec.run(settings)
    assert "files landed" in summary
    kinds = watchbuddy.connect(settings.warehouse).sql("SELECT DISTINCT media_type FROM exports")
    assert sorted(r[0] for r in kinds.fetchall()) == ["movie", "tv"]


def test_landed_exports_drive_pool_popularity_trend_and_removals(tmp_path):
    """End to end: titles ingested from the API, then exports landed for later days (the
    fake's clock runs ahead of the ingestion): the pool takes the newest export's popularity,
    computes the trend from the landed days, and flags titles the newest day no longer
    lists, which `recommend` then leaves out."""
    ahead = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=3)
    with make_server(today=ahead) as tmdb:
        settings = settings_for(tmdb, tmp_path)
        ingest_new_content(settings, "movie")
        land_exports(
            settings, "movie", since=ahead - dt.timedelta(days=10), until=ahead, today=ahead
        )
        con = watchbuddy.connect(settings.warehouse)
        pool = {
            r[0]: r[1:]
            for r in con.sql(
                "SELECT tmdb_id, popularity, popularity_change_7d, trend_score, "
                "removed_from_tmdb_at FROM pool WHERE media_type = 'movie'"
            ).fetchall()
        }
        newest = dict(truth(tmdb, "movie", ahead, False)) | dict(truth(tmdb, "movie", ahead, True))
        listed = [i for i in pool if i in newest]
        gone = [i for i in pool if i not in newest]
        assert listed and gone, "the fake lists most pool titles and drops a few"
        for tmdb_id in listed:
            popularity, _change, trend, removed = pool[tmdb_id]
            assert popularity == pytest.approx(newest[tmdb_id], rel=1e-6)
            assert removed is None and 0 <= trend <= 1
        changes = [pool[i][1] for i in listed if pool[i][1] is not None]
        assert any(c > 0 for c in changes) and any(c < 0 for c in changes)
        assert all(pool[i][3] is not None for i in gone)
        env = {"WATCHBUDDY_WAREHOUSE": str(settings.warehouse)}
        done = run_cli(
            "recommend",
            "--mode",
            "trending",
            "--media-type",
            "movie",
            "--min-votes",
            "0",
            "--no-fallback",
            "--limit",
            "1000",
            "--format",
            "json",
            cwd=tmp_path,
            env=env,
        )
        shown = json.loads(done.stdout)
        assert shown and not {r["tmdb_id"] for r in shown} & set(gone)
        scores = [r["score"] for r in shown]
        assert scores == sorted(scores, reverse=True)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"id":1,"popularity":2.0}\n', "is not a gzip file"),
        (gzip.compress(b'{"id":1,"popularity":2.0}\n' * 50_000)[:-4000], "ended before"),
    ],
    ids=["plain-json", "cut-off"],
)
def test_a_file_that_is_not_whole_gzip_stops_the_run_and_lands_nothing_of_it(
    server, tmp_path, body: bytes, reason: str
):
    settings = settings_for(server, tmp_path)
    server.exports.bad_lines = {}
    server.exports.withheld.clear()
    original = server.exports.answer

    def broken(path: str):
        if "tv_series" in path and "adult" not in path:
            return 200, body, "application/octet-stream", path.rsplit("/", 1)[-1]
        return original(path)

    server.exports.answer = broken  # type: ignore[method-assign]
    with pytest.raises(ExportsUnavailable, match=reason):
        land_exports(settings, "tv", since=DAY, until=DAY, today=DAY)
    con = watchbuddy.connect(settings.warehouse)
    assert con.sql("SELECT count(*) FROM popularity_history WHERE adult = false").fetchall() == [
        (0,)
    ]
