"""A hostile TMDB: slow bodies, huge bodies, odd JSON shapes, redirects, and settings that
would make a run wait forever. Each ends a run with a reason (or refuses to start one),
never a hang, a memory blow-up or a traceback. The real client against the fake server."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

import watchbuddy
from tests.conftest import fake_tmdb_settings, run_cli
from watchbuddy.devtools.fake_tmdb import Catalogue, FakeTmdb
from watchbuddy.errors import ConfigError, TmdbError, TmdbUnavailable
from watchbuddy.settings import Settings, load_settings
from watchbuddy.sources.tmdb import client as tmdb_module
from watchbuddy.sources.tmdb.client import MAX_BODY_BYTES
from watchbuddy.sources.tmdb.ingest import ingest_new_content

TODAY = dt.datetime.now(dt.UTC).date()
DAY = (TODAY - dt.timedelta(days=2)).isoformat()
PAGE_1 = {"path": "/discover/movie", "page": "1"}
ITEM = {
    "adult": False,
    "genre_ids": [18],
    "id": 5,
    "original_language": "en",
    "overview": "x",
    "popularity": 1.0,
    "poster_path": None,
    "vote_average": 6.0,
    "vote_count": 3,
    "original_title": "T",
    "title": "T",
    "release_date": DAY,
}


@pytest.fixture
def tmdb():
    catalogue = Catalogue.generate(50, 10, TODAY - dt.timedelta(days=20), TODAY, seed=4)
    with FakeTmdb(catalogue, api_key="k") as server:
        yield server


@pytest.fixture
def quick_backoff(monkeypatch) -> None:
    """The backoff's scale is not these tests' business: keep a run of retries short."""
    monkeypatch.setattr(tmdb_module, "BACKOFF_BASE", 0.01)


def settings_for(server: FakeTmdb, tmp_path: Path, **extra) -> Settings:
    values = dict(tmdb_timeout=1.0, ingest_start=TODAY - dt.timedelta(days=20), details_per_run=0)
    return fake_tmdb_settings(server, tmp_path, **(values | extra))


def page(results, **envelope) -> str:
    body = {"page": 1, "results": results, "total_pages": 1, "total_results": 1}
    return json.dumps({**body, **envelope})


def runs(settings: Settings) -> list[tuple]:
    con = watchbuddy.connect(settings.warehouse)
    return con.sql("SELECT status, messages FROM runs").fetchall()


def pool_ids(settings: Settings) -> set[int]:
    con = watchbuddy.connect(settings.warehouse)
    return {r[0] for r in con.sql("SELECT tmdb_id FROM pool").fetchall()}


# ---------------------------------------------------------------- slowloris


@pytest.mark.timeout(60)
def test_a_body_trickling_in_is_cut_off_by_the_deadline_and_retried(
    tmdb, tmp_path, quick_backoff
) -> None:
    # One byte every 50 ms: no single read waits long, the whole answer would take minutes.
    tmdb.faults.update({"trickle": 2, "trickle_seconds": 0.05})
    settings = settings_for(tmdb, tmp_path)
    result = ingest_new_content(settings, "movie")
    assert result.run.status == "ok" and result.run.retries >= 2
    assert len(pool_ids(settings)) == len(tmdb.catalogue.window("movie", None, TODAY))


@pytest.mark.timeout(60)
def test_a_server_that_always_trickles_ends_the_run_failed_with_a_reason(
    tmdb, tmp_path, quick_backoff
) -> None:
    tmdb.faults.update({"trickle": 1_000_000, "trickle_seconds": 0.05})
    settings = settings_for(tmdb, tmp_path)
    with pytest.raises(TmdbUnavailable) as err:
        ingest_new_content(settings, "movie")
    assert "/discover/movie: timed out after 6 attempts" in str(err.value)
    [(status, messages)] = runs(settings)
    assert status == "failed" and "timed out" in messages[-1]


# ---------------------------------------------------------------- size


@pytest.mark.timeout(60)
@pytest.mark.parametrize("gzip", [True, False], ids=["gzip-bomb", "plain"])
def test_an_answer_past_the_size_cap_is_a_lost_page_and_is_not_read_whole(
    tmdb, tmp_path, gzip
) -> None:
    # Valid JSON (whitespace may follow a value), so only the cap refuses it. Gzipped, the
    # 20 MB of padding weigh about 20 KB on the wire.
    pad = MAX_BODY_BYTES + (4 << 20)
    body = page([ITEM])
    tmdb.faults.update(
        {"answer": 2, "answer_at": PAGE_1, "answer_body": body, "answer_pad": pad}
        | {"answer_gzip": gzip}
    )
    settings = settings_for(tmdb, tmp_path)
    result = ingest_new_content(settings, "movie")
    assert tmdb.faults.answer == 0  # asked twice: the first try, then one retry
    assert result.run.status == "partial" and result.problems == ["1 page could not be read"]
    limit = f"{MAX_BODY_BYTES >> 20} MB"
    assert any(
        f"page 1 could not be read (an answer over {limit} twice)" in m for m in result.run.messages
    ), result.run.messages
    assert 5 not in pool_ids(settings)


# ---------------------------------------------------------------- JSON shapes

DEEP = 200_000
LOST_PAGES = {
    "total_pages text": (page([], total_pages="many"), "total_pages"),
    "total_pages list": (page([], total_pages=[3]), "total_pages"),
    "total_pages overflows": (
        '{"page":1,"results":[],"total_pages":1e400,"total_results":1}',
        "total_pages",
    ),
    "total_pages negative": (page([ITEM], total_pages=-7, total_results=-1), "total_pages"),
    "total_results text": (page([], total_results="3"), "total_results"),
    "results text": (page("abc"), "results"),
    "results object": (page({"id": 5}), "results"),
    "no results": (json.dumps({"page": 1, "total_pages": 1, "total_results": 1}), "results"),
    "deeply nested": ('{"results":' + "[" * DEEP + "]" * DEEP + "}", "nested"),
    "a list": ("[1, 2]", "not a JSON object"),
    "huge number": ('{"results":[],"total_pages":1' + "0" * 5000 + ',"total_results":1}', "JSON"),
    "html": ("<html><body>Cloudflare error</body></html>", "malformed JSON"),
}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("shape", list(LOST_PAGES))
def test_a_page_of_the_wrong_shape_is_a_lost_page_with_a_reason(tmdb, tmp_path, shape) -> None:
    body, named = LOST_PAGES[shape]
    tmdb.faults.update({"answer": 2, "answer_at": PAGE_1, "answer_body": body})
    settings = settings_for(tmdb, tmp_path)
    result = ingest_new_content(settings, "movie")
    assert result.run.status == "partial" and result.problems == ["1 page could not be read"]
    [lost] = [m for m in result.run.messages if "page 1 could not be read" in m]
    assert named in lost
    assert 5 not in pool_ids(settings)


REJECTED_RECORDS = {
    "results that are not objects": ([1, 2, None], "is not a JSON object"),
    "genre ids nested": ([dict(ITEM, id=6, genre_ids=[[18]])], "genre_ids '[[18]]' is not"),
    "genre ids objects": ([dict(ITEM, id=6, genre_ids=[{"x": 1}])], "genre_ids"),
    "genre ids text": ([dict(ITEM, id=6, genre_ids="18")], "genre_ids"),
    "title list": ([dict(ITEM, id=6, title=["x"])], """title '["x"]' is not text"""),
    "language list": ([dict(ITEM, id=6, original_language=["en"])], "original_language"),
    "overview object": ([dict(ITEM, id=6, overview={"a": 1})], "overview"),
    "poster number": ([dict(ITEM, id=6, poster_path=7)], "poster_path"),
    "adult text": ([dict(ITEM, id=6, adult="false")], "adult"),
    "id list": ([dict(ITEM, id=[6])], "id '[6]'"),
}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("shape", list(REJECTED_RECORDS))
def test_a_record_of_the_wrong_shape_is_rejected_with_a_reason_and_the_rest_lands(
    tmdb, tmp_path, shape
) -> None:
    bad, reason = REJECTED_RECORDS[shape]
    body = page([ITEM, *bad], total_results=1 + len(bad))
    tmdb.faults.update({"answer": 1, "answer_at": PAGE_1, "answer_body": body})
    settings = settings_for(tmdb, tmp_path)
    result = ingest_new_content(settings, "movie")
    assert result.run.status == "ok"
    assert pool_ids(settings) == {5}
    con = watchbuddy.connect(settings.warehouse)
    rejects = con.sql("SELECT file, reason FROM rejects").fetchall()
    assert len(rejects) == len(bad)
    assert all(f == "TMDB /discover/movie" and reason in r for f, r in rejects), rejects
    assert any("not landed" in m for m in result.run.messages)


def test_a_details_answer_of_the_wrong_shape_is_rejected_and_the_title_lands(
    tmdb, tmp_path
) -> None:
    first = tmdb.catalogue.window("movie", None, TODAY)[0]
    details = dict(first.details({"keywords"}), keywords=[1], status=["Released"])
    tmdb.faults.update(
        {
            "answer": 1,
            "answer_at": {"path": f"/movie/{first.id}"},
            "answer_body": json.dumps(details),
        }
    )
    settings = settings_for(tmdb, tmp_path, details_per_run=500)
    result = ingest_new_content(settings, "movie")
    assert result.run.status == "ok" and first.id in pool_ids(settings)
    con = watchbuddy.connect(settings.warehouse)
    [(file, reason)] = con.sql("SELECT file, reason FROM rejects").fetchall()
    assert file == f"TMDB /movie/{first.id}" and "keywords" in reason


# ---------------------------------------------------------------- statuses


def test_a_4xx_with_a_deeply_nested_body_is_one_clear_error(tmdb, tmp_path) -> None:
    body = '{"status_message":' + "[" * DEEP + "]" * DEEP + "}"
    tmdb.faults.update({"answer": 1, "answer_status": 418, "answer_body": body})
    settings = settings_for(tmdb, tmp_path)
    with pytest.raises(
        TmdbError, match=r"^TMDB rejected /discover/movie with HTTP 418: JSON nested too deeply$"
    ):
        ingest_new_content(settings, "movie")
    [(status, _)] = runs(settings)
    assert status == "failed"


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_redirect_is_an_error_not_data_and_is_not_followed(tmdb, tmp_path, status) -> None:
    elsewhere = tmdb.base_url + "/elsewhere"
    tmdb.faults.update(
        {"answer": 1, "answer_at": PAGE_1, "answer_status": status, "answer_body": page([ITEM])}
        | {"answer_headers": {"Location": elsewhere}}
    )
    settings = settings_for(tmdb, tmp_path)
    with pytest.raises(TmdbError) as err:
        ingest_new_content(settings, "movie")
    assert f"HTTP {status}" in str(err.value) and "WATCHBUDDY_TMDB_BASE_URL" in str(err.value)
    assert "elsewhere" not in str(err.value)
    assert not any("elsewhere" in path for _, path in tmdb.log)  # never followed
    [(run_status, _)] = runs(settings)
    assert run_status == "failed" and pool_ids(settings) == set()


# ---------------------------------------------------------------- settings


@pytest.mark.parametrize(
    ("variable", "value", "words"),
    [
        ("WATCHBUDDY_TMDB_CONCURRENCY", "0", "from 1 to 64"),
        ("WATCHBUDDY_TMDB_CONCURRENCY", "65", "from 1 to 64"),
        ("WATCHBUDDY_TMDB_RPS", "1e-300", "from 0.1 to 10,000"),
        ("WATCHBUDDY_TMDB_RPS", "20000", "from 0.1 to 10,000"),
        ("WATCHBUDDY_TMDB_TIMEOUT", "0.01", "from 0.5 to 600"),
        ("WATCHBUDDY_TMDB_TIMEOUT", "1e9", "from 0.5 to 600"),
    ],
)
def test_tmdb_settings_out_of_their_range_are_refused_when_loading(
    tmp_path, variable, value, words
) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings({variable: value}, cwd=tmp_path)
    message = str(err.value)
    assert f"({variable})" in message and words in message and "\n" not in message


@pytest.mark.parametrize(
    ("variable", "value", "name", "expected"),
    [
        ("WATCHBUDDY_TMDB_CONCURRENCY", "1", "tmdb_concurrency", 1),
        ("WATCHBUDDY_TMDB_CONCURRENCY", "64", "tmdb_concurrency", 64),
        ("WATCHBUDDY_TMDB_RPS", "0.1", "tmdb_rps", 0.1),
        ("WATCHBUDDY_TMDB_RPS", "10000", "tmdb_rps", 10_000.0),
        ("WATCHBUDDY_TMDB_TIMEOUT", "0.5", "tmdb_timeout", 0.5),
        ("WATCHBUDDY_TMDB_TIMEOUT", "600", "tmdb_timeout", 600.0),
    ],
)
def test_tmdb_settings_at_the_ends_of_their_range_load(
    tmp_path, variable, value, name, expected
) -> None:
    assert getattr(load_settings({variable: value}, cwd=tmp_path), name) == expected


def test_a_zero_concurrency_is_one_line_from_the_command_line(tmp_path) -> None:
    (tmp_path / "watchbuddy.toml").write_text("tmdb_concurrency = 0\n")
    done = run_cli("stats", cwd=tmp_path, timeout=120)
    assert done.returncode == 2, done.stderr
    [line] = done.stderr.strip().splitlines()
    assert "tmdb_concurrency (WATCHBUDDY_TMDB_CONCURRENCY)" in line and "from 1 to 64" in line
