"""The TMDB client against the fake server on loopback: retries, errors, secrets."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time

import httpx
import pytest

from watchbuddy.devtools.fake_tmdb import Catalogue, FakeTmdb
from watchbuddy.errors import MissingCredential, TmdbAuthError, TmdbMalformed, TmdbUnavailable
from watchbuddy.settings import Secret, Settings
from watchbuddy.sources.tmdb.client import TmdbClient

KEY = "very-secret-key-1234"


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return Catalogue.generate(200, 50, dt.date(2024, 1, 1), dt.date(2024, 3, 1), seed=5)


@pytest.fixture
def tmdb(catalogue: Catalogue):
    with FakeTmdb(catalogue, api_key=KEY, read_token="v4-token-secret") as server:
        yield server


def settings_for(server: FakeTmdb, tmp_path, **extra) -> Settings:
    values = {
        "tmdb_api_key": Secret(KEY),
        "tmdb_base_url": server.base_url,
        "tmdb_rps": 200.0,
        "warehouse": tmp_path / "wh",
        "data_dir": tmp_path / "data",
    }
    values.update(extra)
    return Settings(**values)


def fetch(settings: Settings, path: str, **client_args):
    async def go():
        async with TmdbClient(settings, **client_args) as client:
            return await client.get(path), client.stats

    return asyncio.run(go())


def test_v3_key_and_v4_token_both_authenticate(tmdb: FakeTmdb, tmp_path) -> None:
    body, _ = fetch(settings_for(tmdb, tmp_path), "/genre/movie/list")
    assert {"id": 878, "name": "Science Fiction"} in body["genres"]
    token = settings_for(
        tmdb, tmp_path, tmdb_api_key=None, tmdb_read_access_token=Secret("v4-token-secret")
    )
    body, _ = fetch(token, "/genre/tv/list")
    assert {"id": 10765, "name": "Sci-Fi & Fantasy"} in body["genres"]


def test_bad_key_stops_with_one_clear_message_and_is_not_retried(tmdb, tmp_path) -> None:
    settings = settings_for(tmdb, tmp_path, tmdb_api_key=Secret("wrong-key"))
    before = tmdb.requests
    with pytest.raises(TmdbAuthError) as err:
        fetch(settings, "/genre/movie/list")
    assert str(err.value) == (
        "TMDB refused the credential (HTTP 401): check TMDB_API_KEY or TMDB_READ_ACCESS_TOKEN."
    )
    assert tmdb.requests - before == 1


def test_missing_credential_is_a_clear_error(tmp_path) -> None:
    with pytest.raises(MissingCredential, match="No TMDB credential"):
        TmdbClient(Settings(tmdb_base_url="http://127.0.0.1:9/3"))


@pytest.mark.parametrize("retry_after", [None, 0.2])
def test_429_bursts_are_retried_until_they_pass(tmdb, tmp_path, retry_after) -> None:
    tmdb.faults.update({"status_burst": 3, "burst_status": 429, "retry_after": retry_after})
    started = time.monotonic()
    body, stats = fetch(settings_for(tmdb, tmp_path), "/genre/movie/list")
    assert body["genres"] and stats.retries == 3
    if retry_after:
        assert time.monotonic() - started >= 3 * retry_after * 0.9  # Retry-After honoured


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_retried(tmdb, tmp_path, status) -> None:
    tmdb.faults.update({"status_burst": 2, "burst_status": status, "retry_after": None})
    body, stats = fetch(settings_for(tmdb, tmp_path), "/genre/movie/list")
    assert body["genres"] and stats.retries == 2


def test_timeouts_are_retried(tmdb, tmp_path) -> None:
    tmdb.faults.update({"hang": 1, "hang_seconds": 1.5})
    body, stats = fetch(
        settings_for(tmdb, tmp_path), "/genre/movie/list", timeout=httpx.Timeout(0.5)
    )
    assert body["genres"] and stats.retries == 1


def test_malformed_json_is_retried_once_then_raised_unlike_a_404(tmdb, tmp_path) -> None:
    tmdb.faults.update({"malformed": 1})
    body, stats = fetch(settings_for(tmdb, tmp_path), "/genre/movie/list")
    assert body["genres"] and stats.malformed == 0 and stats.retries == 1
    tmdb.faults.update({"malformed": 2})

    async def go():
        async with TmdbClient(settings_for(tmdb, tmp_path)) as client:
            with pytest.raises(TmdbMalformed) as err:
                await client.get("/genre/movie/list")
            return err.value, client.stats

    error, stats = asyncio.run(go())
    # A lost request, not a missing resource: the caller must not mistake it for a 404.
    assert error.path == "/genre/movie/list" and stats.malformed == 1 and stats.retries == 1
    assert stats.not_found == 0


def test_404_is_counted_and_skipped(tmdb, tmp_path) -> None:
    body, stats = fetch(settings_for(tmdb, tmp_path), "/movie/1")
    assert body is None and stats.not_found == 1


def test_tmdb_down_gives_up_with_a_clear_message(tmp_path) -> None:
    settings = Settings(tmdb_api_key=Secret(KEY), tmdb_base_url="http://127.0.0.1:9/3")
    with pytest.raises(TmdbUnavailable) as err:
        fetch(settings, "/genre/movie/list", max_attempts=2)
    assert "TMDB is unavailable" in str(err.value) and "connection failed" in str(err.value)


def test_client_rate_limit_is_respected(tmdb, tmp_path) -> None:
    settings = settings_for(tmdb, tmp_path, tmdb_rps=20.0)

    async def go():
        async with TmdbClient(settings) as client:
            await asyncio.gather(*(client.get("/genre/movie/list") for _ in range(30)))

    started = time.monotonic()
    asyncio.run(go())
    assert time.monotonic() - started >= (30 - 2) / 20 * 0.9  # burst of 2, then 20/s


def test_the_key_never_appears_in_logs_or_errors(tmdb, tmp_path, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    tmdb.faults.update({"malformed": 2})
    with pytest.raises(TmdbMalformed) as malformed:
        fetch(settings_for(tmdb, tmp_path), "/genre/movie/list")
    assert KEY not in str(malformed.value)
    with pytest.raises(TmdbUnavailable) as err:
        fetch(
            Settings(tmdb_api_key=Secret(KEY), tmdb_base_url="http://127.0.0.1:9/3"),
            "/genre/movie/list",
            max_attempts=1,
        )
    assert KEY not in caplog.text and KEY not in str(err.value)
    assert KEY not in repr(err.value)
